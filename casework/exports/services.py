"""Research exports: check the request against the supervisor's limits, run it, record it.

Every export is an :class:`ExportRun` (who, when, parameters, counts, sha256 of the file) and
an audit event carrying ids, codes and counts only. Services flush and never commit. A web
export's file is stored in the database, encrypted, until it expires (exports.storage); the
command line's ``--out`` file is written to a temporary name and renamed when complete.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from casework.audit import writer as audit
from casework.db import session, utcnow
from casework.exports import aggregates, anonymise, ctdc, reader, storage, tables
from casework.exports.models import ExportRun, ExportSettings

KIND_MICRODATA = "ctdc_microdata"
KIND_TABLE = "aggregate_table"
FILE_LIFETIME = storage.FILE_LIFETIME
PREVIEW_ROWS = 25
DEFAULT_DIMENSIONS = tuple(tables.DIMENSIONS)
MAX_K = 1000
MAX_THRESHOLD = 1000
Progress = Callable[[str, int, int], None]


class ExportRefused(ValueError):
    """The request is outside the limits or cannot be met; ``str(error)`` is for the user and
    ``field`` names the form field it is about (None: the request as a whole)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class SettingsConflict(RuntimeError):
    """The settings were changed by someone else since the form was loaded."""


@dataclass(frozen=True, slots=True)
class MicrodataRequest:
    k: int = anonymise.DEFAULT_K
    quasi_identifiers: tuple[str, ...] | None = None  # CTDC columns; None: every released column
    priority: tuple[str, ...] = ()  # CTDC columns to keep as complete as possible, in order
    allow_drop: bool = False
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class TableRequest:
    dimensions: tuple[str, ...] = ("year",)
    threshold: int = aggregates.DEFAULT_THRESHOLD
    rounding: str = "none"
    seed: int | None = None


# -- settings --------------------------------------------------------------------------------------
def current_settings() -> ExportSettings:
    """The export limits: the saved ones, or the defaults (not saved) if none were ever set."""
    settings = session.get(ExportSettings, 1)
    if settings is None:
        settings = ExportSettings(
            id=1,
            min_k=anonymise.DEFAULT_K,
            min_threshold=aggregates.DEFAULT_THRESHOLD,
            max_dimensions=2,
            allowed_dimensions=list(DEFAULT_DIMENSIONS),
        )
    return settings


def settings_version(settings: ExportSettings) -> int:
    """The version a settings form must send back (0 before the first save)."""
    return settings.version_id or 0


def update_settings(
    actor: Any,
    *,
    min_k: int,
    min_threshold: int,
    max_dimensions: int,
    allowed_dimensions: Sequence[str],
    version_id: int,
) -> ExportSettings:
    """Change the limits. Raises ExportRefused on a value out of range and SettingsConflict when
    ``version_id`` is not the saved version."""
    if not anonymise.MIN_K <= min_k <= MAX_K:
        raise ExportRefused(
            _("The minimum k must be between %(low)d and %(high)d.", low=anonymise.MIN_K, high=MAX_K), "min_k"
        )
    if not 1 <= min_threshold <= MAX_THRESHOLD:
        raise ExportRefused(
            _("The minimum threshold must be between 1 and %(high)d.", high=MAX_THRESHOLD), "min_threshold"
        )
    if not 1 <= max_dimensions <= aggregates.MAX_DIMENSIONS:
        raise ExportRefused(
            _("A table may have between 1 and %(high)d dimensions.", high=aggregates.MAX_DIMENSIONS), "max_dimensions"
        )
    unknown = set(allowed_dimensions) - set(tables.DIMENSIONS)
    if unknown:
        raise ExportRefused(_("Unknown dimension."), "allowed_dimensions")
    settings = current_settings()
    if settings_version(settings) != version_id:
        raise SettingsConflict()
    if settings.version_id is None:
        session.add(settings)
    settings.min_k = min_k
    settings.min_threshold = min_threshold
    settings.max_dimensions = max_dimensions
    settings.allowed_dimensions = [d for d in tables.DIMENSIONS if d in set(allowed_dimensions)]
    settings.updated_by_id = getattr(actor, "id", None)
    session.flush()
    audit.record(
        "export.settings",
        target_type="ExportSettings",
        target_id="1",
        details={
            "min_k": min_k,
            "min_threshold": min_threshold,
            "max_dimensions": max_dimensions,
            "allowed_dimensions": settings.allowed_dimensions,
        },
        actor=actor,
    )
    return settings


# -- checks ----------------------------------------------------------------------------------------
def check_microdata(request: MicrodataRequest, settings: ExportSettings) -> None:
    """Raises ExportRefused when the request is outside the limits or the contract."""
    if not settings.min_k <= request.k <= MAX_K:
        raise ExportRefused(
            _("k must be between %(low)d (set by a supervisor) and %(high)d.", low=settings.min_k, high=MAX_K), "k"
        )
    released = set(ctdc.HEADER)
    if request.quasi_identifiers is not None:
        if set(request.quasi_identifiers) - released:
            raise ExportRefused(_("Unknown column."), "quasi_identifiers")
        missing = [c for c in ctdc.CONTRACT_MINIMUM_QI if c not in request.quasi_identifiers]
        if missing:
            raise ExportRefused(
                _("The quasi-identifiers must include at least: %(columns)s.", columns=", ".join(missing)),
                "quasi_identifiers",
            )
    if set(request.priority) - released:
        raise ExportRefused(_("Unknown column."), "priority")


def check_table(request: TableRequest, settings: ExportSettings) -> None:
    """Raises ExportRefused when the request is outside the limits."""
    dims = request.dimensions
    if not dims:
        raise ExportRefused(_("Choose at least one dimension."), "dimensions")
    if len(set(dims)) != len(dims) or set(dims) - set(tables.DIMENSIONS):
        raise ExportRefused(_("Unknown or repeated dimension."), "dimensions")
    if set(dims) - set(settings.allowed_dimensions):
        raise ExportRefused(_("A supervisor has not allowed one of these dimensions."), "dimensions")
    if len(dims) > min(settings.max_dimensions, aggregates.MAX_DIMENSIONS):
        raise ExportRefused(_("At most %(n)d dimensions.", n=settings.max_dimensions), "dimensions")
    if not settings.min_threshold <= request.threshold <= MAX_THRESHOLD:
        raise ExportRefused(
            _(
                "The threshold must be between %(low)d (set by a supervisor) and %(high)d.",
                low=settings.min_threshold,
                high=MAX_THRESHOLD,
            ),
            "threshold",
        )
    if request.rounding not in aggregates.ROUNDINGS:
        raise ExportRefused(_("Unknown rounding."), "rounding")


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


def _write(run: ExportRun, out: Path | None, chunks: Iterable[str]) -> tuple[str, int]:
    """To ``out`` (command line) or to the run's stored file, which every host serves."""
    return _write_atomically(out, chunks) if out is not None else storage.store(run.id, chunks)


def purge_expired_files() -> int:
    """Delete stored export files older than FILE_LIFETIME; returns how many."""
    return storage.purge_expired()


def preview(run: ExportRun, rows: int = PREVIEW_ROWS) -> list[list[str]] | None:
    """The first rows of a stored export file (it holds protected output only), or None."""
    if run.status != "done":
        return None
    return storage.preview(run.id, rows)


# -- runs ------------------------------------------------------------------------------------------
def _start(kind: str, parameters: dict[str, Any], actor: Any) -> ExportRun:
    run = ExportRun(kind=kind, parameters=parameters, requested_by_id=getattr(actor, "id", None), status="running")
    session.add(run)
    session.flush()
    return run


def _finish(run: ExportRun, sha256: str, size: int, details: dict[str, Any], actor: Any) -> None:
    run.status = "done"
    run.finished_at = utcnow()
    run.file_sha256 = sha256
    run.file_bytes = size
    session.flush()
    audit.record("export.run", target=run, details={"kind": run.kind, **details, "sha256": sha256}, actor=actor)


def run_microdata(
    request: MicrodataRequest,
    actor: Any,
    *,
    out: Path | None = None,
    today: date | None = None,
    via: str = "web",
    progress: Progress | None = None,
) -> ExportRun:
    """Export the CTDC microdata of consented cases, k-anonymised, to ``out`` (default: the
    stored file of the run). Raises ExportRefused when outside the limits or when there are
    fewer consented cases than k."""
    check_microdata(request, current_settings())
    today = today or date.today()
    seed = request.seed if request.seed is not None else secrets.randbits(62)
    qi_columns = request.quasi_identifiers
    attributes = ctdc.attributes_for(qi_columns) if qi_columns is not None else ctdc.ATTRIBUTE_NAMES
    priority = list(dict.fromkeys(a for column in request.priority for a in ctdc.attributes_for([column])))
    priority = [a for a in priority if a in attributes]
    parameters = {
        "k": request.k,
        "quasi_identifiers": list(qi_columns) if qi_columns is not None else "all",
        "priority": list(request.priority),
        "allow_drop": request.allow_drop,
        "seed": seed,
        "on": today.isoformat(),
        "via": via,
    }
    run = _start(KIND_MICRODATA, parameters, actor)
    codes = reader.read_ctdc_codes(session, today, progress=progress)
    try:
        result = anonymise.anonymise(
            codes, ctdc.ATTRIBUTES, request.k, attributes, allow_drop=request.allow_drop, seed=seed, priority=priority
        )
    except anonymise.NotEnoughRows:
        raise ExportRefused(
            _(
                "There are %(n)d consented cases, fewer than k = %(k)d: nothing can be released.",
                n=codes.shape[0],
                k=request.k,
            )
        ) from None
    del codes
    report = result.report
    if progress is not None:
        progress("anonymise", report.rows_out, report.rows_in)
    run.rows_in, run.rows_out = report.rows_in, report.rows_out
    run.cells_suppressed = report.total_suppressed
    run.report = {
        **report.as_dict(),
        "loss": round(report.loss(), 6),
        "loss_all_columns": round(report.loss(len(ctdc.ATTRIBUTES)), 6),
        "columns": len(ctdc.HEADER),
    }

    def chunks() -> Iterable[str]:
        written = 0
        for text, rows in ctdc.csv_chunks(result.codes):
            yield text
            written += rows
            if progress is not None and rows:
                progress("write", written, report.rows_out)

    sha256, size = _write(run, out, chunks())
    _finish(
        run,
        sha256,
        size,
        {
            "k": request.k,
            "rows_in": report.rows_in,
            "rows_out": report.rows_out,
            "cells_suppressed": report.total_suppressed,
            "smallest_class": report.smallest_class,
        },
        actor,
    )
    return run


def run_table(
    request: TableRequest,
    actor: Any,
    *,
    out: Path | None = None,
    today: date | None = None,
    via: str = "web",
) -> ExportRun:
    """Export an aggregate table of consented cases with small-cell protection to ``out``
    (default: the stored file of the run). Raises ExportRefused when outside the limits."""
    check_table(request, current_settings())
    today = today or date.today()
    seed = request.seed if request.seed is not None else secrets.randbits(62)
    parameters = {
        "dimensions": list(request.dimensions),
        "threshold": request.threshold,
        "rounding": request.rounding,
        "seed": seed,
        "on": today.isoformat(),
        "via": via,
        "unit": tables.unit_of(request.dimensions),
    }
    categories, counts = tables.build_counts(session, request.dimensions, today)
    cells = 1
    for cats in categories:
        cells *= len(cats) + 1
    if cells > aggregates.MAX_CELLS:
        raise ExportRefused(_("This table would have too many cells; choose fewer dimensions."), "dimensions")
    run = _start(KIND_TABLE, parameters, actor)
    table = aggregates.protect(request.dimensions, categories, counts, request.threshold, request.rounding, seed)
    run.rows_in = int(counts.sum())
    run.rows_out = int(table.counts.size)
    run.cells_suppressed = table.cells_suppressed
    run.report = {
        "unit": parameters["unit"],
        "cells": int(table.counts.size),
        "cells_primary": table.cells_primary,
        "cells_suppressed": table.cells_suppressed,
        "cells_complementary": table.cells_suppressed - table.cells_primary,
        "threshold": request.threshold,
        "rounding": request.rounding,
    }

    def chunks() -> Iterable[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for i, row in enumerate(table.rows()):
            writer.writerow(row)
            if i % 10_000 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    sha256, size = _write(run, out, chunks())
    _finish(
        run,
        sha256,
        size,
        {
            "dimensions": list(request.dimensions),
            "threshold": request.threshold,
            "rounding": request.rounding,
            "cells": run.rows_out,
            "cells_suppressed": table.cells_suppressed,
        },
        actor,
    )
    return run


# -- reading runs ----------------------------------------------------------------------------------
def own_run(run_id: Any, user: Any) -> ExportRun | None:
    """The user's own export run, or None (someone else's run is not disclosed)."""
    run = session.get(ExportRun, run_id)
    if run is None or run.requested_by_id != getattr(user, "id", None):
        return None
    return run


def recent_runs(user: Any = None, limit: int = 20) -> list[ExportRun]:
    """Latest runs: the user's own, or everyone's when ``user`` is None (supervisor log)."""
    stmt = select(ExportRun).order_by(ExportRun.started_at.desc()).limit(limit)
    if user is not None:
        stmt = stmt.where(ExportRun.requested_by_id == user.id)
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


def rounding_label(name: str) -> str:
    return {
        "none": _("No rounding"),
        "random3": _("Random rounding to base 3"),
        "down10": _("Rounded down to a multiple of 10"),
    }.get(name, name)


__all__ = [
    "ExportRefused",
    "MicrodataRequest",
    "SettingsConflict",
    "TableRequest",
    "current_settings",
    "download",
    "run_microdata",
    "run_table",
    "update_settings",
]
