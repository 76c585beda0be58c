"""`flask --app wsgi retention ...` (being built)."""

from __future__ import annotations

import click


@click.group("retention")
def retention_cli() -> None:
    pass
