"""Loading the key ring at start-up, per environment.

* embedded default: `instance/keys.json`, generated with mode 0600 on first run;
* testing: a fresh in-memory ring per application;
* production: GRIEVANCE_KEYS_FILE or GRIEVANCE_KEYS, or start-up stops.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask

from config import ConfigError
from grievance import crypto
from grievance.instance_files import write_once


def load_ring(app: Flask, *, create: bool) -> crypto.KeyRing:
    if app.config.get("GRIEVANCE_KEYS"):
        return crypto.KeyRing.from_json(app.config["GRIEVANCE_KEYS"])
    path = app.config.get("GRIEVANCE_KEYS_FILE")
    if not path:
        if app.config.get("TESTING"):
            return crypto.KeyRing.generate()
        raise ConfigError("no encryption keys: set GRIEVANCE_KEYS_FILE or GRIEVANCE_KEYS")
    if not Path(path).exists() and create:
        # Every worker starting at once reads the same keys (see write_once).
        document = json.dumps(crypto.KeyRing.generate().to_document(), indent=2)
        write_once(Path(path), document)
    return crypto.KeyRing.load_file(path)


def init_app(app: Flask) -> None:
    try:
        ring = load_ring(app, create=bool(app.config.get("EMBEDDED")))
    except crypto.KeyConfigError as exc:
        raise ConfigError(str(exc)) from None
    app.extensions["grievance.keyring"] = ring
