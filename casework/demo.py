"""``flask --app wsgi demo seed`` (being built)."""

from __future__ import annotations

import click


@click.group("demo")
def demo_cli() -> None:
    pass
