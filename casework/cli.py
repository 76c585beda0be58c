"""Flask CLI: ``flask --app wsgi <group> <command>``. Each feature contributes its group."""

from __future__ import annotations

import importlib

from flask import Flask

# (module, attribute): click groups or commands registered on the app's CLI.
COMMANDS = (
    ("casework.migrate", "db_cli"),
    ("casework.crypto.cli", "keys_cli"),
    ("casework.auth.cli", "users_cli"),
    ("casework.audit.cli", "audit_cli"),
    ("casework.demo", "demo_cli"),
    ("casework.exports.cli", "export_cli"),
    ("casework.admin.retention_cli", "retention_cli"),
)


def init_app(app: Flask) -> None:
    for module_name, attribute in COMMANDS:
        module = importlib.import_module(module_name)
        app.cli.add_command(getattr(module, attribute))
