"""`flask --app wsgi audit ...` (being built)."""

from __future__ import annotations

import click


@click.group("audit")
def audit_cli() -> None:
    pass
