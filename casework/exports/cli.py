"""``flask --app wsgi export ...``: research releases from the command line.

The same checks, policy, budget, ExportRun and audit as the web interface (the actor is
recorded as the command line). There is no option to count fewer columns than are released,
nor to choose the row order: both are the system's. Progress goes to stderr; nothing about
any case is ever printed.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import click
from flask.cli import with_appcontext

from casework.db import session
from casework.exports import policy, services, tables
from casework.exports.models import ExportRun


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


def _columns(text: str | None) -> tuple[str, ...]:
    if text is None:
        return ()
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _dataset(text: str | None) -> uuid.UUID | None:
    """An organisation named or given by id; None: the only dataset there is."""
    if text is None:
        return None
    for org_id, name in policy.datasets():
        if text in (name, str(org_id)):
            return org_id
    raise click.ClickException(f"no dataset (organisation) named {text!r}")


def _run(action: Callable[[], ExportRun]) -> ExportRun:
    """Run a release; a refusal rolls back (nothing released, nothing spent) and is the message."""
    try:
        return action()
    except services.ExportRefused as refused:
        session.rollback()
        raise click.ClickException(str(refused)) from None


DATASET = click.option("--dataset", help="The organisation whose cases to release (name or id; default: the only one).")
OUT = click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path))
VIEW = click.option("--view", type=click.Choice(["core", "all"]), default="core", show_default=True)
COLUMNS = click.option("--columns", "chosen", help="CTDC columns to release, comma-separated (instead of --view).")


@click.group("export", help="Research releases (CTDC microdata, protected and private tables, private synthetic data).")
def export_cli() -> None:
    pass


@export_cli.command("ctdc")
@OUT
@DATASET
@click.option("--k", "k", type=int, default=policy.FLOOR_K, show_default=True, help="Smallest class size.")
@VIEW
@COLUMNS
@click.option("--extended", is_flag=True, help="Add the sub-region and period columns after the 63.")
@click.option("--priority", "priority", help="CTDC columns to keep as complete as possible, comma-separated.")
@click.option("--allow-drop", is_flag=True, help="Release nothing rather than fail when there are fewer cases than k.")
@with_appcontext
def ctdc_command(
    out: Path,
    dataset: str | None,
    k: int,
    view: str,
    chosen: str | None,
    extended: bool,
    priority: str | None,
    allow_drop: bool,
) -> None:
    """Write the k-anonymised CTDC microdata of a dataset's consented cases to OUT."""
    request = services.MicrodataRequest(
        dataset=_dataset(dataset),
        k=k,
        view="custom" if chosen else view,
        columns=_columns(chosen),
        extended=extended,
        priority=_columns(priority),
        allow_drop=allow_drop,
    )
    progress = _ProgressLine()
    try:
        run = _run(lambda: services.run_microdata(request, None, out=out, via="cli", progress=progress))
    finally:
        progress.close()
    session.commit()
    report = run.report or {}
    click.echo(
        f"{run.rows_out:,} rows (of {run.rows_in:,} consented cases) written to {out}; "
        f"k = {k}, smallest class {report.get('smallest_class')}, "
        f"{100 * report.get('loss', 0):.2f}% of the known values not released as they were; "
        f"sha256 {run.file_sha256}"
    )


@export_cli.command("aggregates")
@click.option("--by", "by", required=True, help=f"Dimensions, comma-separated: {', '.join(tables.DIMENSIONS)}.")
@OUT
@DATASET
@click.option("--threshold", type=int, default=policy.FLOOR_THRESHOLD, show_default=True)
@with_appcontext
def aggregates_command(by: str, out: Path, dataset: str | None, threshold: int) -> None:
    """Write a protected table of counts of a dataset's consented cases to OUT."""
    request = services.TableRequest(dataset=_dataset(dataset), dimensions=_columns(by), threshold=threshold)
    run = _run(lambda: services.run_table(request, None, out=out, via="cli"))
    session.commit()
    report = run.report or {}
    click.echo(
        f"{report.get('cells')} cells written to {out}: {report.get('cells_primary')} hidden as below "
        f"{threshold}, {report.get('cells_complementary')} more to protect them; "
        f"sha256 {run.file_sha256}"
    )


@export_cli.command("synthetic")
@OUT
@DATASET
@click.option("--epsilon", type=float, required=True, help="Privacy budget this release spends.")
@VIEW
@COLUMNS
@with_appcontext
def synthetic_command(out: Path, dataset: str | None, epsilon: float, view: str, chosen: str | None) -> None:
    """Write differentially private synthetic microdata (CTDC layout) of a dataset to OUT."""
    request = services.SyntheticRequest(
        dataset=_dataset(dataset), epsilon=epsilon, view="custom" if chosen else view, columns=_columns(chosen)
    )
    progress = _ProgressLine()
    try:
        run = _run(lambda: services.run_synthetic(request, None, out=out, via="cli", progress=progress))
    finally:
        progress.close()
    session.commit()
    click.echo(
        f"{run.rows_out:,} synthetic rows written to {out}; epsilon {run.epsilon:g}, "
        f"delta {run.delta:g} spent; sha256 {run.file_sha256}"
    )


@export_cli.command("dp-table")
@click.option("--by", "by", required=True, help="Dimensions, comma-separated (people, not services).")
@OUT
@DATASET
@click.option("--epsilon", type=float, required=True, help="Privacy budget this release spends.")
@click.option("--threshold", type=int, default=policy.FLOOR_THRESHOLD, show_default=True)
@with_appcontext
def dp_table_command(by: str, out: Path, dataset: str | None, epsilon: float, threshold: int) -> None:
    """Write a differentially private table of a dataset to OUT."""
    request = services.DpTableRequest(
        dataset=_dataset(dataset), dimensions=_columns(by), epsilon=epsilon, threshold=threshold
    )
    run = _run(lambda: services.run_dp_table(request, None, out=out, via="cli"))
    session.commit()
    click.echo(f"{run.rows_out} cells written to {out}; epsilon {run.epsilon:g} spent; sha256 {run.file_sha256}")
