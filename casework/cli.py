"""Flask CLI: ``flask --app wsgi <group> <command>``. Each feature contributes its group.

The groups are registered by name and imported when a command runs: a gunicorn worker builds
the same app and never runs a command, so it never imports Alembic, the demo seeder or the
export engine for them (worker start-up, bench/worker_start.py).
"""

from __future__ import annotations

import importlib
from typing import Any

import click
from flask import Flask

# (name, module, attribute, help): click groups registered on the app's CLI.
COMMANDS = (
    ("db", "casework.migrate", "db_cli", "Database schema migrations."),
    ("keys", "casework.crypto.cli", "keys_cli", "Master keys: init, rotate, retire, status, check."),
    ("users", "casework.auth.cli", "users_cli", "User accounts."),
    ("audit", "casework.audit.cli", "audit_cli", "The tamper-evident audit log."),
    ("demo", "casework.demo", "demo_cli", "Demo accounts and synthetic cases (refused in production)."),
    ("export", "casework.exports.cli", "export_cli", "Anonymised research exports (CTDC microdata, protected aggregate tables)."),
    ("exports-storage", "casework.exports.storage", "storage_cli", "Stored export files: purge the expired ones."),
    (
        "retention",
        "casework.admin.retention_cli",
        "retention_cli",
        "Retention: erase closed cases after their organisation's retention period.",
    ),
    ("backup", "casework.backup", "backup_cli", "Backups: dump with a manifest of the keys it needs; restore and check."),
)


class LazyGroup(click.Group):
    """A command group whose module is imported on first use (a command, its help, completion)."""

    def __init__(self, name: str, module: str, attribute: str, help: str) -> None:  # noqa: A002 - click's name
        super().__init__(name=name, help=help)
        self._target = (module, attribute)
        self._group: click.Group | None = None

    def _real(self) -> click.Group:
        if self._group is None:
            module, attribute = self._target
            self._group = getattr(importlib.import_module(module), attribute)
        return self._group

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._real().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._real().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        # The group's own callback (and options) are the real group's.
        return self._real().invoke(ctx)

    def get_help(self, ctx: click.Context) -> str:
        return self._real().get_help(ctx)


def init_app(app: Flask) -> None:
    for name, module, attribute, help_text in COMMANDS:
        app.cli.add_command(LazyGroup(name, module, attribute, help_text))
    from casework.preflight import preflight_command

    app.cli.add_command(preflight_command)
