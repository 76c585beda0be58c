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

# (name, module, attribute): click groups registered on the app's CLI.
COMMANDS = (
    ("db", "casework.migrate", "db_cli"),
    ("keys", "casework.crypto.cli", "keys_cli"),
    ("users", "casework.auth.cli", "users_cli"),
    ("audit", "casework.audit.cli", "audit_cli"),
    ("demo", "casework.demo", "demo_cli"),
    ("export", "casework.exports.cli", "export_cli"),
    ("exports-storage", "casework.exports.storage", "storage_cli"),
    ("retention", "casework.admin.retention_cli", "retention_cli"),
    ("backup", "casework.backup", "backup_cli"),
    ("jobs", "casework.notifications.jobs", "jobs_cli"),
    ("tasks", "casework.tasks.cli", "tasks_cli"),
    ("cases", "casework.cases.names", "names_cli"),
)


class LazyGroup(click.Group):
    """A command group whose module is imported on first use (a command, its help, completion)."""

    def __init__(self, name: str, module: str, attribute: str) -> None:
        super().__init__(name=name)
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

    def get_short_help_str(self, limit: int = 45) -> str:
        # `flask --help` lists the groups: only then are they all imported.
        return self._real().get_short_help_str(limit)


def init_app(app: Flask) -> None:
    for name, module, attribute in COMMANDS:
        app.cli.add_command(LazyGroup(name, module, attribute))
    from casework.preflight import preflight_command

    app.cli.add_command(preflight_command)
