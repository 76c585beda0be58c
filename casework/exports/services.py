"""Research releases: check the request against the dataset's policy, run it, record it.

A release is of one organisation's dataset (its consented cases) and follows that
organisation's policy (casework.exports.policy), never below the system's floors. Four kinds:

- k-anonymous CTDC microdata (a column view; the 63-column contract file or the extended file);
- protected aggregate tables (hidden counts with protection intervals, cell-key perturbation,
  over the dataset as it stood at the start of the month);
- differentially private synthetic microdata in the CTDC layout, and
- differentially private tables; these two spend the dataset's privacy budget.

Every release is an :class:`ExportRun` (who, when, which dataset, parameters, counts, epsilon
and delta spent, sha256 of the file) and an audit event carrying ids, codes, counts and the
file's hash only. Services flush and never commit. The file is written to a temporary name and
renamed when complete, so a half-written file never exists under its final name (the command
line's ``--out``); a web release's file is stored in the database, encrypted, until it expires
(exports.storage), so every host serves its download.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import secrets
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from flask_babel import gettext as _
from sqlalchemy import select

from casework.audit import writer as audit
from casework.db import session, utcnow
from casework.exports import aggregates, anonymise, cellkey, columns, ctdc, dp, policy, reader, storage, tables, utility
from casework.exports.models import ExportPolicy, ExportRun

KIND_MICRODATA = "ctdc_microdata"
KIND_TABLE = "aggregate_table"
KIND_SYNTHETIC = "dp_synthetic"
KIND_DP_TABLE = "dp_table"
KINDS = (KIND_MICRODATA, KIND_TABLE, KIND_SYNTHETIC, KIND_DP_TABLE)
FILE_LIFETIME = storage.FILE_LIFETIME
PREVIEW_ROWS = 25
Progress = Callable[[str, int, int], None]


class ExportRefused(ValueError):
    """The request is outside the policy or cannot be met; ``str(error)`` is for the user and
    ``field`` names the form field it is about (None: the request as a whole)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class MicrodataRequest:
    dataset: uuid.UUID | None = None  # None: the only dataset there is
    k: int = policy.FLOOR_K
    view: str = "core"  # "core", "all" or "custom"
    columns: tuple[str, ...] = ()  # CTDC columns, for the custom view
    extended: bool = False
    priority: tuple[str, ...] = ()  # CTDC columns to keep as complete as possible, in order
    allow_drop: bool = False


@dataclass(frozen=True, slots=True)
class TableRequest:
    dataset: uuid.UUID | None = None
    dimensions: tuple[str, ...] = ("year",)
    threshold: int = policy.FLOOR_THRESHOLD


@dataclass(frozen=True, slots=True)
class SyntheticRequest:
    dataset: uuid.UUID | None = None
    epsilon: float = 1.0
    view: str = "core"
    columns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DpTableRequest:
    dataset: uuid.UUID | None = None
    dimensions: tuple[str, ...] = ("year",)
    epsilon: float = 1.0
    threshold: int = policy.FLOOR_THRESHOLD
    extra: dict[str, Any] = field(default_factory=dict)


# -- checks ----------------------------------------------------------------------------------------
def resolve_dataset(dataset: uuid.UUID | None) -> uuid.UUID:
    """The dataset asked for, or the only one there is. Raises ExportRefused."""
    known = [org_id for org_id, _name in policy.datasets()]
    if dataset is None:
        if len(known) == 1:
            return known[0]
        raise ExportRefused(_("Choose the dataset (the organisation whose cases to release)."), "dataset")
    if dataset not in known:
        raise ExportRefused(_("Unknown dataset."), "dataset")
    return dataset


def _check_k(k: int, rules: ExportPolicy) -> None:
    if not rules.min_k <= k <= policy.MAX_K:
        raise ExportRefused(
            _("k must be between %(low)d (the dataset's policy) and %(high)d.", low=rules.min_k, high=policy.MAX_K),
            "k",
        )


def _released(view: str, chosen: Sequence[str]) -> tuple[str, ...]:
    try:
        return columns.resolve(view, chosen)
    except columns.UnknownColumns as unknown:
        raise ExportRefused(_("Unknown column: %(names)s.", names=", ".join(unknown.columns)), "columns") from None
    except ValueError:
        raise ExportRefused(_("Choose a view, or at least one column."), "view") from None


def check_microdata(request: MicrodataRequest, rules: ExportPolicy) -> tuple[str, ...]:
    """The released attributes. Raises ExportRefused when the request is outside the policy."""
    _check_k(request.k, rules)
    released = _released(request.view, request.columns)
    shown = set(columns.released_columns(released, extended=False))
    if set(request.priority) - shown:
        raise ExportRefused(_("A column to keep complete must be one the view releases."), "priority")
    return released


def _check_dimensions(dimensions: Sequence[str], rules: ExportPolicy) -> None:
    if not dimensions:
        raise ExportRefused(_("Choose at least one dimension."), "dimensions")
    if len(set(dimensions)) != len(dimensions) or set(dimensions) - set(tables.DIMENSIONS):
        raise ExportRefused(_("Unknown or repeated dimension."), "dimensions")
    if set(dimensions) - set(rules.allowed_dimensions):
        raise ExportRefused(_("The dataset's policy does not allow one of these dimensions."), "dimensions")
    if len(dimensions) > min(rules.max_dimensions, aggregates.MAX_DIMENSIONS):
        raise ExportRefused(_("At most %(n)d dimensions.", n=rules.max_dimensions), "dimensions")


def _check_threshold(threshold: int, rules: ExportPolicy) -> None:
    if not rules.min_threshold <= threshold <= policy.MAX_THRESHOLD:
        raise ExportRefused(
            _(
                "The threshold must be between %(low)d (the dataset's policy) and %(high)d.",
                low=rules.min_threshold,
                high=policy.MAX_THRESHOLD,
            ),
            "threshold",
        )


def check_table(request: TableRequest, rules: ExportPolicy) -> None:
    """Raises ExportRefused when the request is outside the policy."""
    _check_dimensions(request.dimensions, rules)
    _check_threshold(request.threshold, rules)


def check_epsilon(epsilon: float, rules: ExportPolicy) -> None:
    """Raises ExportRefused when ``epsilon`` is out of range or more than the budget left (a
    first check, before any work; the spend itself is atomic, policy.spend)."""
    if not policy.MIN_RELEASE_EPSILON <= epsilon <= policy.MAX_RELEASE_EPSILON:
        raise ExportRefused(
            _(
                "ε must be between %(low)s and %(high)s.",
                low=f"{policy.MIN_RELEASE_EPSILON:g}",
                high=f"{policy.MAX_RELEASE_EPSILON:g}",
            ),
            "epsilon",
        )
    if epsilon > policy.remaining_epsilon(rules) + 1e-9:
        raise ExportRefused(policy.budget_message(rules, epsilon), "epsilon")


def table_cutoff(now: datetime | None = None) -> datetime:
    """Tables count the dataset as it stood at the start of the current month (UTC): between
    two requests of one month only withdrawals and erasures change it."""
    now = now or datetime.now(UTC)
    return datetime(now.year, now.month, 1, tzinfo=UTC)


# -- files -----------------------------------------------------------------------------------------
def _write_atomically(path: Path, chunks: Iterable[str]) -> tuple[str, int]:
    """Write text chunks (UTF-8) to ``path`` via a temporary file; returns (sha256, bytes).
    (The command line's ``--out``; web exports are stored in the database: exports.storage.)"""
    digest = hashlib.sha256()
    size = 0
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        with open(temporary, "wb") as out:
            for text in chunks:
                data = text.encode("utf-8")
                digest.update(data)
                size += len(data)
                out.write(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return digest.hexdigest(), size


def purge_expired_files() -> int:
    """Delete stored export files older than FILE_LIFETIME; returns how many."""
    return storage.purge_expired()


def preview(run: ExportRun, rows: int = PREVIEW_ROWS) -> list[list[str]] | None:
    """The first rows of a stored export file (it holds protected output only), or None."""
    if run.status != "done":
        return None
    return storage.preview(run.id, rows)


# -- runs ------------------------------------------------------------------------------------------
def _start(kind: str, dataset: uuid.UUID, parameters: dict[str, Any], actor: Any) -> ExportRun:
    run = ExportRun(
        kind=kind,
        organisation_id=dataset,
        parameters=parameters,
        requested_by_id=getattr(actor, "id", None),
        status="running",
    )
    session.add(run)
    session.flush()
    return run


def _finish(run: ExportRun, sha256: str, size: int, actor: Any) -> None:
    """Mark the run done and audit it with its parameters, what it cost and the file's hash."""
    run.status = "done"
    run.finished_at = utcnow()
    run.file_sha256 = sha256
    run.file_bytes = size
    session.flush()
    details = {
        "kind": run.kind,
        "dataset": str(run.organisation_id),
        "parameters": {k: v for k, v in run.parameters.items() if k != "dataset"},
        "rows_in": run.rows_in,
        "rows_out": run.rows_out,
        "epsilon": run.epsilon,
        "delta": run.delta,
        "sha256": sha256,
    }
    audit.record("export.run", target=run, details=details, actor=actor)


def _read(dataset: uuid.UUID, today: date, progress: Progress | None) -> np.ndarray:
    return reader.read_ctdc_codes(session, today, progress=progress, organisation_id=dataset)


def _view_codes(codes: np.ndarray, released: Sequence[str], extended: bool) -> tuple[np.ndarray, list[Any]]:
    """The released attributes' columns (a copy, column-major) and their attributes."""
    by_name = {a.name: a for a in columns.attributes(extended)}
    positions = [ctdc.ATTRIBUTE_NAMES.index(name) for name in released]
    sub = np.empty((codes.shape[0], len(positions)), dtype=columns.code_dtype(extended), order="F")
    for p, j in enumerate(positions):
        sub[:, p] = codes[:, j]
    return sub, [by_name[name] for name in released]


def _write(run: ExportRun, out: Path | None, chunks: Iterable[str]) -> tuple[str, int]:
    """To ``out`` (command line) or to the run's stored file, which every host serves."""
    return _write_atomically(out, chunks) if out is not None else storage.store(run.id, chunks)


def _progress_chunks(pieces: Iterable[tuple[str, int]], total: int, progress: Progress | None) -> Iterable[str]:
    written = 0
    for text, rows in pieces:
        yield text
        written += rows
        if progress is not None and rows:
            progress("write", written, total)


def run_microdata(
    request: MicrodataRequest,
    actor: Any,
    *,
    out: Path | None = None,
    today: date | None = None,
    via: str = "web",
    progress: Progress | None = None,
) -> ExportRun:
    """Release the k-anonymised CTDC microdata of the dataset's consented cases (the view's
    columns; the extended file on request) to ``out`` (default: the run's stored file). Raises
    ExportRefused when outside the policy or when there are fewer consented cases than k."""
    dataset = resolve_dataset(request.dataset)
    rules = policy.policy_for(dataset)
    released = check_microdata(request, rules)
    today = today or date.today()
    shown = columns.released_columns(released, request.extended)
    priority = [a for a in ctdc.attributes_for(request.priority) if a in released] if request.priority else []
    parameters = {
        "dataset": str(dataset),
        "k": request.k,
        "view": request.view,
        "columns": list(shown),
        "extended": request.extended,
        "priority": list(request.priority),
        "allow_drop": request.allow_drop,
        "on": today.isoformat(),
        "via": via,
    }
    run = _start(KIND_MICRODATA, dataset, parameters, actor)
    codes = _read(dataset, today, progress)
    sub, attributes = _view_codes(codes, released, request.extended)
    del codes
    try:
        result = anonymise.anonymise(
            sub,
            attributes,
            request.k,
            allow_drop=request.allow_drop,
            priority=priority,
            objective="coarse" if request.extended else "exact",
        )
    except anonymise.NotEnoughRows:
        raise ExportRefused(
            _(
                "There are %(n)d consented cases, fewer than k = %(k)d: nothing can be released.",
                n=sub.shape[0],
                k=request.k,
            )
        ) from None
    report = result.report
    if progress is not None:
        progress("anonymise", report.rows_out, report.rows_in)
    cards = [a.cardinality for a in attributes]
    run.rows_in, run.rows_out = report.rows_in, report.rows_out
    run.cells_suppressed = report.total_suppressed
    run.report = {
        **report.as_dict(),
        "loss": round(report.loss(), 6),
        "per_column": report.per_column(),
        "released_columns": list(shown),
        "utility": utility.marginal_errors(sub[result.source_rows], result.codes, cards),
    }
    del sub
    pieces = columns.csv_chunks(result.codes, released, request.extended)
    sha256, size = _write(run, out, _progress_chunks(pieces, report.rows_out, progress))
    _finish(run, sha256, size, actor)
    return run


def _table_chunks(rows: Iterable[list[str]]) -> Iterable[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for i, row in enumerate(rows):
        writer.writerow(row)
        if i % 10_000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _table_shape_check(categories: Sequence[Sequence[str]]) -> None:
    entries = int(np.prod([len(c) + 1 for c in categories]))
    limit = aggregates.MAX_CELLS_3D if len(categories) == 3 else aggregates.MAX_CELLS
    if entries > limit:
        raise ExportRefused(_("This table would have too many cells; choose fewer dimensions."), "dimensions")


def run_table(
    request: TableRequest,
    actor: Any,
    *,
    out: Path | None = None,
    today: date | None = None,
    via: str = "web",
    now: datetime | None = None,
) -> ExportRun:
    """Release a protected table of the dataset's consented cases to ``out`` (default: the
    run's stored file). Raises ExportRefused when outside the policy."""
    dataset = resolve_dataset(request.dataset)
    rules = policy.policy_for(dataset)
    check_table(request, rules)
    today = today or date.today()
    cutoff = table_cutoff(now)
    unit = tables.unit_of(request.dimensions)
    categories = tuple(tables.categories_of(name, today) for name in request.dimensions)
    _table_shape_check(categories)
    parameters = {
        "dataset": str(dataset),
        "dimensions": list(request.dimensions),
        "threshold": request.threshold,
        "width": rules.protection_width,
        "noise_scale": rules.noise_scale,
        "rounding_base": rules.rounding_base,
        "as_of": cutoff.isoformat(),
        "on": today.isoformat(),
        "via": via,
        "unit": unit,
    }
    run = _start(KIND_TABLE, dataset, parameters, actor)
    categories, counts = tables.build_counts(session, request.dimensions, today, dataset, cutoff)
    full = aggregates.with_margins(counts)
    noise = cellkey.table_noise(dataset, unit, request.dimensions, categories, full, rules.noise_scale)
    table = aggregates.protect(
        request.dimensions,
        categories,
        counts,
        threshold=request.threshold,
        width=rules.protection_width,
        noise=noise,
        rounding_base=rules.rounding_base,
    )
    run.rows_in = int(counts.sum())
    run.rows_out = int(table.counts.size)
    run.cells_suppressed = table.cells_suppressed
    run.report = {
        "unit": unit,
        "cells": int(table.counts.size),
        "cells_primary": table.cells_primary,
        "cells_suppressed": table.cells_suppressed,
        "cells_complementary": table.cells_suppressed - table.cells_primary,
        "threshold": request.threshold,
        "width": rules.protection_width,
        "noise_scale": rules.noise_scale,
        "rounding_base": rules.rounding_base,
        "as_of": cutoff.date().isoformat(),
    }
    sha256, size = _write(run, out, _table_chunks(table.rows()))
    _finish(run, sha256, size, actor)
    return run


def _spend(run: ExportRun, dataset: uuid.UUID, epsilon: float, delta: float) -> None:
    try:
        policy.spend(dataset, epsilon, delta)
    except policy.BudgetExceeded as exceeded:
        raise ExportRefused(str(exceeded), "epsilon") from None
    run.epsilon, run.delta = epsilon, delta


def run_synthetic(
    request: SyntheticRequest,
    actor: Any,
    *,
    out: Path | None = None,
    today: date | None = None,
    via: str = "web",
    progress: Progress | None = None,
) -> ExportRun:
    """Release differentially private synthetic microdata of the dataset in the CTDC layout
    (then k-anonymised with the policy's k), spending ``request.epsilon`` and
    dp.SYNTHETIC_DELTA of its budget. Raises ExportRefused (nothing spent) when outside the
    policy or the budget."""
    dataset = resolve_dataset(request.dataset)
    rules = policy.policy_for(dataset)
    released = _released(request.view, request.columns)
    check_epsilon(request.epsilon, rules)
    delta = dp.SYNTHETIC_DELTA
    if delta > policy.remaining_delta(rules) + 1e-15:
        raise ExportRefused(_("The dataset's delta budget is spent: ask one of its supervisors."), "epsilon")
    today = today or date.today()
    shown = columns.released_columns(released, extended=False)
    parameters = {
        "dataset": str(dataset),
        "epsilon": request.epsilon,
        "delta": delta,
        "view": request.view,
        "columns": list(shown),
        "k": rules.min_k,
        "synthesiser": f"pac-synth DpAggregateSeeded, reporting length {dp.REPORTING_LENGTH}",
        "on": today.isoformat(),
        "via": via,
    }
    run = _start(KIND_SYNTHETIC, dataset, parameters, actor)
    codes = _read(dataset, today, progress)
    sub, attributes = _view_codes(codes, released, extended=False)
    del codes
    if sub.shape[0] < rules.min_k:
        raise ExportRefused(
            _(
                "There are %(n)d consented cases, fewer than k = %(k)d: nothing can be released.",
                n=sub.shape[0],
                k=rules.min_k,
            )  # fmt: skip
        )
    if progress is not None:
        progress("synthesise", 0, sub.shape[0])
    try:
        synthetic = dp.synthesise(sub, released, request.epsilon, delta)
    except dp.SynthesisFailed:
        raise ExportRefused(
            _("The synthesiser could not make data from this dataset with this ε: try a larger ε or more columns.")
        ) from None
    result = anonymise.anonymise(synthetic, attributes, rules.min_k, allow_drop=True)
    cards = [a.cardinality for a in attributes]
    run.rows_in, run.rows_out = int(sub.shape[0]), result.report.rows_out
    run.cells_suppressed = result.report.total_suppressed
    run.report = {
        "synthetic_rows": int(synthetic.shape[0]),
        "k": rules.min_k,
        "smallest_class": result.report.smallest_class,
        "released_columns": list(shown),
        "utility": utility.marginal_errors(sub, result.codes, cards),
    }
    _spend(run, dataset, request.epsilon, delta)
    pieces = columns.csv_chunks(result.codes, released, extended=False)
    sha256, size = _write(run, out, _progress_chunks(pieces, result.report.rows_out, progress))
    _finish(run, sha256, size, actor)
    return run


def run_dp_table(
    request: DpTableRequest,
    actor: Any,
    *,
    out: Path | None = None,
    today: date | None = None,
    via: str = "web",
) -> ExportRun:
    """Release a differentially private table of the dataset (discrete Laplace noise on every
    cell, counts below the threshold shown as hidden, the policy's rounding), spending
    ``request.epsilon``. Raises ExportRefused (nothing spent) when outside the policy."""
    dataset = resolve_dataset(request.dataset)
    rules = policy.policy_for(dataset)
    _check_dimensions(request.dimensions, rules)
    try:
        sensitivity = tables.sensitivity(request.dimensions)
    except ValueError:
        raise ExportRefused(
            _("Assistance dimensions count services, not people: they cannot be in a private table."), "dimensions"
        ) from None
    _check_threshold(request.threshold, rules)
    check_epsilon(request.epsilon, rules)
    today = today or date.today()
    categories = tuple(tables.categories_of(name, today) for name in request.dimensions)
    _table_shape_check(categories)
    parameters = {
        "dataset": str(dataset),
        "dimensions": list(request.dimensions),
        "epsilon": request.epsilon,
        "delta": 0.0,
        "sensitivity": sensitivity,
        "threshold": request.threshold,
        "rounding_base": rules.rounding_base,
        "mechanism": "OpenDP discrete Laplace",
        "on": today.isoformat(),
        "via": via,
        "unit": tables.unit_of(request.dimensions),
    }
    run = _start(KIND_DP_TABLE, dataset, parameters, actor)
    categories, counts = tables.build_counts(session, request.dimensions, today, dataset)
    noisy, _spent = dp.noisy_counts(counts, request.epsilon, sensitivity)
    published = np.clip(noisy, 0, None)
    full = aggregates.with_margins(published)
    hidden = full < request.threshold
    shown = aggregates.publish(full, np.zeros_like(full), request.threshold, rules.rounding_base)
    table = aggregates.ProtectedTable(
        tuple(request.dimensions),
        tuple(tuple(c) for c in categories),
        full,
        hidden,
        hidden,
        np.zeros(full.shape, dtype=bool),
        shown,
        0,
    )
    run.rows_in = int(counts.sum())
    run.rows_out = int(full.size)
    run.cells_suppressed = int(hidden.sum())
    run.report = {
        "unit": parameters["unit"],
        "cells": int(full.size),
        "cells_below_threshold": int(hidden.sum()),
        "threshold": request.threshold,
        "rounding_base": rules.rounding_base,
        "utility": utility.table_errors(counts, noisy),
    }
    _spend(run, dataset, request.epsilon, 0.0)
    sha256, size = _write(run, out, _table_chunks(table.rows()))
    _finish(run, sha256, size, actor)
    return run


# -- reading runs ----------------------------------------------------------------------------------
def own_run(run_id: Any, user: Any) -> ExportRun | None:
    """The user's own export run, or None (someone else's run is not disclosed)."""
    run = session.get(ExportRun, run_id)
    if run is None or run.requested_by_id != getattr(user, "id", None):
        return None
    return run


def recent_runs(user: Any = None, limit: int = 20, organisation_id: uuid.UUID | None = None) -> list[ExportRun]:
    """Latest runs: the user's own, or (``user`` None) those of a dataset (supervisor's log)."""
    stmt = select(ExportRun).order_by(ExportRun.started_at.desc()).limit(limit)
    if user is not None:
        stmt = stmt.where(ExportRun.requested_by_id == user.id)
    if organisation_id is not None:
        stmt = stmt.where(ExportRun.organisation_id == organisation_id)
    return list(session.execute(stmt).scalars())


def requester_names(runs: Iterable[ExportRun]) -> dict[Any, str]:
    """Display names of the people who requested ``runs`` (for the supervisor's log)."""
    from casework.auth.models import display_names

    return display_names(run.requested_by_id for run in runs)


def download(run: ExportRun, actor: Any) -> storage.StoredExport:
    """The stored file of a finished run, audited. Raises LookupError when it is not available
    (still running, failed, expired, or not the file the run wrote)."""
    stored = storage.find(run.id) if run.status == "done" else None
    if stored is None or stored.sha256 != run.file_sha256:
        raise LookupError("export file not available")
    run.downloaded_at = utcnow()
    audit.record("export.download", target=run, details={"kind": run.kind, "sha256": run.file_sha256}, actor=actor)
    return stored


def dimension_labels(names: Iterable[str]) -> str:
    """Dimension names as a readable, translated list."""
    return ", ".join(str(tables.DIMENSIONS[n].label) if n in tables.DIMENSIONS else n for n in names)


def status_label(status: str) -> str:
    return {"running": _("Running"), "done": _("Ready"), "failed": _("Failed")}.get(status, status)


def kind_label(run: ExportRun) -> str:
    """What a run released, for lists."""
    parameters = run.parameters or {}
    if run.kind == KIND_MICRODATA:
        return _("CTDC microdata, k = %(k)s", k=parameters.get("k"))
    if run.kind == KIND_SYNTHETIC:
        return _("Private synthetic microdata, ε = %(e)s", e=parameters.get("epsilon"))
    if run.kind == KIND_DP_TABLE:
        return _(
            "Private table by %(dims)s, ε = %(e)s",
            dims=dimension_labels(parameters.get("dimensions", [])),
            e=parameters.get("epsilon"),
        )
    return _("Table by %(dims)s", dims=dimension_labels(parameters.get("dimensions", [])))


__all__ = [
    "DpTableRequest",
    "ExportRefused",
    "MicrodataRequest",
    "SyntheticRequest",
    "TableRequest",
    "download",
    "run_dp_table",
    "run_microdata",
    "run_synthetic",
    "run_table",
]
