"""``flask --app wsgi export ctdc|aggregates``: research exports from the command line.

The same checks, limits, ExportRun and audit as the web interface (the actor is recorded as
the command line). Progress goes to stderr; nothing about any case is ever printed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from casework.db import session
from casework.exports import aggregates, anonymise, services, tables


class _ProgressLine:
    """A progress line on stderr, rewritten in place: "read 350,000/1,000,000"."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage and self.stage:
            sys.stderr.write("\n")
        self.stage = stage
        elapsed = time.perf_counter() - self.started
        of = f"/{total:,}" if total else ""
        sys.stderr.write(f"\r{stage:<10} {done:,}{of}  ({elapsed:.1f} s)")
        sys.stderr.flush()

    def close(self) -> None:
        if self.stage:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _columns(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    return tuple(part.strip() for part in text.split(",") if part.strip())


@click.group("export", help="Anonymised research exports (CTDC microdata, protected aggregate tables).")
def export_cli() -> None:
    pass


@export_cli.command("ctdc")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--k", "k", type=int, default=anonymise.DEFAULT_K, show_default=True, help="Smallest class size.")
@click.option("--qi", "qi", help="Quasi-identifier CTDC columns, comma-separated (default: every released column).")
@click.option("--priority", "priority", help="CTDC columns to keep as complete as possible, comma-separated.")
@click.option("--seed", "seed", type=int, help="Random seed (the row order and the rows chosen to suppress).")
@click.option("--allow-drop", is_flag=True, help="Release nothing rather than fail when there are fewer cases than k.")
@with_appcontext
def ctdc_command(out: Path, k: int, qi: str | None, priority: str | None, seed: int | None, allow_drop: bool) -> None:
    """Write the k-anonymised CTDC microdata of consented cases to OUT."""
    request = services.MicrodataRequest(
        k=k, quasi_identifiers=_columns(qi), priority=_columns(priority) or (), allow_drop=allow_drop, seed=seed
    )
    progress = _ProgressLine()
    try:
        run = services.run_microdata(request, None, out=out, via="cli", progress=progress)
    except services.ExportRefused as refused:
        session.rollback()
        progress.close()
        raise click.ClickException(str(refused)) from None
    session.commit()
    progress.close()
    report = run.report or {}
    click.echo(
        f"{run.rows_out:,} rows (of {run.rows_in:,} consented cases) written to {out}; "
        f"k = {k}, smallest class {report.get('smallest_class')}, "
        f"{run.cells_suppressed:,} values set to -99 ({100 * report.get('loss_all_columns', 0):.2f}%); "
        f"sha256 {run.file_sha256}"
    )


@export_cli.command("aggregates")
@click.option("--by", "by", required=True, help=f"Dimensions, comma-separated: {', '.join(tables.DIMENSIONS)}.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--threshold", type=int, default=aggregates.DEFAULT_THRESHOLD, show_default=True)
@click.option("--rounding", type=click.Choice(aggregates.ROUNDINGS), default="none", show_default=True)
@click.option("--seed", "seed", type=int, help="Random seed (random rounding).")
@with_appcontext
def aggregates_command(by: str, out: Path, threshold: int, rounding: str, seed: int | None) -> None:
    """Write a protected table of counts of consented cases to OUT."""
    request = services.TableRequest(dimensions=_columns(by) or (), threshold=threshold, rounding=rounding, seed=seed)
    try:
        run = services.run_table(request, None, out=out, via="cli")
    except services.ExportRefused as refused:
        session.rollback()
        raise click.ClickException(str(refused)) from None
    session.commit()
    report = run.report or {}
    click.echo(
        f"{report.get('cells')} cells written to {out}: {report.get('cells_primary')} suppressed as below "
        f"{threshold}, {report.get('cells_complementary')} more to protect them; sha256 {run.file_sha256}"
    )
