"""Entry point for gunicorn (`wsgi:app`) and the CLI (`flask --app wsgi`)."""

import sys

from config import ConfigError
from grievance import create_app

try:
    app = create_app()
except ConfigError as exc:
    # One clear line, no traceback: the operator needs the name, not a stack.
    print(f"error: {exc}", file=sys.stderr)
    raise SystemExit(2) from None
