"""`flask --app wsgi export ...` (being built)."""

from __future__ import annotations

import click


@click.group("export")
def export_cli() -> None:
    pass
