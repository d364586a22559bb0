"""Files the embedded default creates in instance/ on first start.

Several gunicorn workers start at once and each may find a file missing;
all of them must end up with the same content. The content is written to a
private temporary file first and then linked into place, which fails if
another process linked first: the file appears whole or not at all, and
the losers read the winner's.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_once(path: Path, content: str) -> str:
    """The content of `path` (mode 0600), creating it with `content` if absent."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(content)
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process created it first: theirs counts
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text(encoding="utf-8")
