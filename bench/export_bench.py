"""Benchmark of the research releases (prints a table; not a test).

1. Anonymisation, in memory, on the skewed generator (casework.synthetic) at each of
   ``--rows-list`` (default 50,000 and 1,000,000 consented cases), k = 11: the engine on the
   CTDC core view (contract file and extended file) and on all 63 columns, beside the naive
   baseline, Mondrian and Datafly (bench/_baselines.py) and anjana 1.2.3 (on a sample when the
   table is large; said so). Time, peak memory (tracemalloc: numpy included), loss as the share
   of known values not released as they were (missing before anonymisation excluded), the
   worst-kept column's share, each output checked for k independently (np.unique over rows).
2. Differentially private releases on the core view at ``--dp-rows``: pac-synth synthetic data
   (then k-anonymised) and OpenDP tables at epsilon 1 and 4: mean and max total variation
   distance of 1-, 2- and 3-way marginals against the true data.
3. Database to file: ``flask --app wsgi export ctdc`` in a child process on a database with the
   largest N (``--db URL``/``--db-path``, or a temporary SQLite seeded here): wall time and the
   child's peak RSS, for the core view and all columns.

Run: ``.venv/bin/python bench/export_bench.py [--rows-list 50000,1000000]``.
Targets: the whole 1,000,000-case release from the database in <= 60 s and <= 1 GB; the core
view keeps >= 80% of the known values of each core column at 50,000 cases.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import _baselines  # noqa: E402

from casework.exports import anonymise, columns, ctdc  # noqa: E402

K = 11


# -- data --------------------------------------------------------------------------------------------
def generate_raw(n: int, generator: str, seed: int) -> tuple[dict[str, np.ndarray], str]:
    """N synthetic cases as raw export columns (all treated as consented), and a description."""
    if generator == "synthetic":
        try:
            from casework import synthetic
        except ImportError:
            generator = "bench"
        else:
            params = synthetic.SyntheticParameters(seed=seed)
            data = synthetic.generate(n, params)
            raw = {
                "year_of_registration": np.asarray(data.year, dtype=np.int64),
                "data_source": np.asarray(data.data_source, dtype=str),
                "gender": np.asarray(data.gender, dtype=str),
                "age_at_registration": np.asarray(data.age, dtype=np.int64),
                "citizenship": np.asarray(data.citizenship, dtype=str),
                "country_of_exploitation": np.asarray(data.country_of_exploitation, dtype=str),
                "age_at_exploitation_start": np.asarray(data.age_at_exploitation_start, dtype=np.int64),
                "age_at_recruitment": np.full(n, -1, dtype=np.int64),
                "means_of_control": np.asarray(data.means_of_control, dtype=np.int64),
                "exploitation_types": np.asarray(data.exploitation_types, dtype=np.int64),
                "labour_sectors": np.asarray(data.labour_sectors, dtype=np.int64),
                "sexual_exploitation_types": np.asarray(data.sexual_exploitation_types, dtype=np.int64),
                "recruiter_relationships": np.asarray(data.recruiter_relationships, dtype=np.int64),
                "abducted": np.asarray(data.abducted, dtype=np.int64),
            }
            return raw, f"casework.synthetic (seed {seed}; parameters in casework/synthetic/parameters.py)"
    import _ctdc_synthetic as ctdc_synthetic

    raw = ctdc_synthetic.generate(n, seed=seed)
    raw.pop("consent")
    return raw, f"bench/_ctdc_synthetic.py (seed {seed}): {ctdc_synthetic.describe()}"


# -- measurement ---------------------------------------------------------------------------------------
@dataclass
class Row:
    method: str
    view: str
    rows: int
    seconds: float
    peak_mb: float
    loss: float  # share of known values not released as they were
    worst: str  # the worst-kept column and its share
    smallest: int
    note: str = ""


def smallest_class(codes: np.ndarray) -> int:
    """Independent of the engine: np.unique over whole rows."""
    if codes.shape[0] == 0:
        return 0
    _, counts = np.unique(np.ascontiguousarray(codes), axis=0, return_counts=True)
    return int(counts.min())


def loss_of(original: np.ndarray, released: np.ndarray, names: list[str]) -> tuple[float, str, dict[str, float]]:
    """(share of known values not kept exactly, worst column, kept share per column); rows in
    the same order."""
    known = original != 0
    kept = known & (released == original)
    shares = {name: float(kept[:, j].sum() / max(known[:, j].sum(), 1)) for j, name in enumerate(names)}
    worst = min(shares, key=shares.get)
    return 1 - kept.sum() / max(known.sum(), 1), f"{worst} {100 * shares[worst]:.0f}%", shares


def measured(function: Any, *args: Any, **kwargs: Any) -> tuple[Any, float, float]:
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    result = function(*args, **kwargs)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, seconds, peak / 2**20


def view_codes(codes: np.ndarray, view: str, extended: bool) -> tuple[np.ndarray, list[Any]]:
    released = columns.resolve(view)
    by_name = {a.name: a for a in columns.attributes(extended)}
    idx = [ctdc.ATTRIBUTE_NAMES.index(name) for name in released]
    return np.asfortranarray(codes[:, idx].astype(columns.code_dtype(extended))), [by_name[n] for n in released]


def run_engine(
    codes: np.ndarray, attributes: list[Any], label: str, view: str, objective: str = "exact"
) -> tuple[Row, Any]:
    result, seconds, peak = measured(anonymise.anonymise, codes, attributes, K, seed=1, objective=objective)
    original = codes[result.source_rows]
    loss, worst, shares = loss_of(original, result.codes, [a.name for a in attributes])
    if objective == "coarse":
        per = result.report.per_column()
        worst_some = min(per, key=lambda c: per[c]["kept_some_share"])
        worst += f"; at least generalised: {worst_some} {100 * per[worst_some]['kept_some_share']:.0f}%"
    return Row(label, view, codes.shape[0], seconds, peak, loss, worst, smallest_class(result.codes)), (result, shares)


def run_baseline(function: Any, codes: np.ndarray, attributes: list[Any], label: str, view: str) -> Row:
    out, seconds, peak = measured(function, codes, attributes, K)
    loss, worst, _ = loss_of(codes, out, [a.name for a in attributes])
    return Row(label, view, codes.shape[0], seconds, peak, loss, worst, smallest_class(out))


def run_naive(codes: np.ndarray, attributes: list[Any], view: str) -> Row:
    result, seconds, peak = measured(anonymise.naive_suppression, codes, attributes, K)
    report = result.report
    loss = report.total_suppressed / max(report.total_known, 1)
    return Row("naive baseline", view, codes.shape[0], seconds, peak, loss, "", smallest_class(result.codes))


def anjana_hierarchies(attributes: list[Any]) -> dict[str, dict[int, np.ndarray]]:
    """The same generalisations the engine may use: each code -> (coarser ->) missing (0)."""
    from casework.exports.recode import level_tables

    hierarchies = {}
    for attribute in attributes:
        tables = level_tables(attribute)
        levels = {i: table for i, table in enumerate(tables)}
        levels[len(levels)] = np.zeros(attribute.cardinality, dtype=np.int64)
        hierarchies[attribute.name] = levels
    return hierarchies


def run_anjana(codes: np.ndarray, attributes: list[Any], supp_level: float, label: str, view: str) -> Row:
    import contextlib
    import io

    import pandas as pd
    from anjana.anonymity import k_anonymity

    names = [a.name for a in attributes]
    frame = pd.DataFrame({name: codes[:, j].astype(np.int64) for j, name in enumerate(names)})
    with contextlib.redirect_stdout(io.StringIO()):
        out, seconds, peak = measured(k_anonymity, frame, [], names, K, supp_level, anjana_hierarchies(attributes))
    if len(out) == 0:
        return Row(label, view, codes.shape[0], seconds, peak, 1.0, "", 0, "no release")
    rows = out.index.to_numpy()
    released = out[names].to_numpy().astype(np.int64)
    original = codes[rows].astype(np.int64)
    dropped_known = int((codes != 0).sum() - (original != 0).sum())
    kept = ((original != 0) & (released == original)).sum()
    loss = 1 - kept / max((codes != 0).sum(), 1)
    _, worst, _ = loss_of(original, released, names)
    note = f"{codes.shape[0] - len(out):,} rows dropped ({dropped_known:,} known values)"
    return Row(label, view, codes.shape[0], seconds, peak, loss, worst, smallest_class(released), note)


def dp_figures(codes: np.ndarray, epsilons: list[float]) -> list[str]:
    """Marginal errors of the private releases of the core view."""
    from casework.exports import dp, tables, utility

    sub, attributes = view_codes(codes, "core", extended=False)
    names = [a.name for a in attributes]
    cards = [a.cardinality for a in attributes]
    lines = []
    for epsilon in epsilons:
        started = time.perf_counter()
        synthetic = dp.synthesise(sub, names, epsilon, dp.SYNTHETIC_DELTA)
        released = anonymise.anonymise(synthetic, attributes, K, allow_drop=True).codes
        seconds = time.perf_counter() - started
        errors = utility.marginal_errors(sub, released, cards, np.random.default_rng(0))
        text = "; ".join(f"{o}-way mean {e['mean']:.3f} max {e['max']:.3f}" for o, e in errors.items())
        lines.append(f"synthetic (pac-synth, then k = {K}), epsilon {epsilon:g}: {text} ({seconds:.0f} s, "
                     f"{released.shape[0]:,} rows)")  # fmt: skip
        result(f"export: private synthetic data, epsilon {epsilon:g}: 1/2/3-way mean TVD",
               "/".join(f"{errors[o]['mean']:.3f}" for o in ("1", "2", "3")))  # fmt: skip
        year = codes[:, ctdc.ATTRIBUTE_NAMES.index("yearOfRegistration")].astype(np.int64)
        gender = codes[:, ctdc.ATTRIBUTE_NAMES.index("gender")].astype(np.int64)
        counts = np.zeros((256, len(ctdc.GENDER_LABELS)), dtype=np.int64)
        np.add.at(counts, (year, gender), 1)
        counts = counts[np.flatnonzero(counts.sum(axis=1))]
        noisy, _ = dp.noisy_counts(counts, epsilon, tables.sensitivity(("year", "gender")))
        table = utility.table_errors(counts, noisy)
        lines.append(f"private table year x gender, epsilon {epsilon:g}: mean absolute error per cell "
                     f"{table['mean_absolute_error']}, TVD of the table {table['table']}")  # fmt: skip
        result(f"export: private table year x gender, epsilon {epsilon:g}: mean absolute error",
               f"{table['mean_absolute_error']}")  # fmt: skip
    return lines


# -- database to file --------------------------------------------------------------------------------
def seed_database(url: str, raw: dict[str, np.ndarray], mode: str, extra_unconsented: float = 0.1) -> str:
    """Seed ``url`` with the cases of ``raw``, all with active research consent, plus a share of
    cases without it (the consent filter must skip them). Returns a description."""
    from casework import create_app
    from casework.db import Base, get_db

    instance = Path(tempfile.mkdtemp(prefix="casework-bench-instance-"))
    app = create_app({"database_url": url, "instance_path": instance, "env": "development"})
    with app.app_context():
        Base.metadata.create_all(get_db(app).engine)
        if mode == "demo":
            return _seed_demo(raw["year_of_registration"].size)
        return _seed_fast(raw, extra_unconsented)


def _seed_demo(n: int) -> str:
    from casework.demo import accounts
    from casework.demo.seed import seed_cases

    orgs = accounts.demo_organisations()
    accounts.ensure_demo_accounts(orgs)
    started = time.perf_counter()
    seed_cases(n, orgs, progress=lambda done, total: print(f"\r  seeding {done:,}/{total:,}", end="", flush=True))
    print()
    return f"casework.demo seed_cases({n:,}) in {time.perf_counter() - started:.0f} s (consent ~70%)"


def _seed_fast(raw: dict[str, np.ndarray], extra_unconsented: float) -> str:
    from sqlalchemy import insert

    from casework.auth.models import Organisation
    from casework.cases.models import Case, TraffickingProfile
    from casework.consent.models import Consent
    from casework.db import session

    n = raw["year_of_registration"].size
    extra = int(n * extra_unconsented)
    org = Organisation(name=f"Bench agency {uuid.uuid4().hex[:6]}", kind="lead_agency")
    session.add(org)
    session.commit()
    now = datetime.now(UTC)
    given = date.today() - timedelta(days=30)
    started = time.perf_counter()
    chunk = 20_000
    total = n + extra
    for start in range(0, total, chunk):
        cases, profiles, consents = [], [], []
        for i in range(start, min(start + chunk, total)):
            j = i % n
            case_id = uuid.uuid4()
            year = int(raw["year_of_registration"][j])
            cases.append({
                "id": case_id, "reference": f"B-{i:09d}", "owner_org_id": org.id, "status": "open",
                "opened_on": date(year, 6, 1), "created_at": now, "updated_at": now, "version_id": 1,
                "gender": str(raw["gender"][j]) or None,
                "age_at_registration": _or_none(int(raw["age_at_registration"][j])),
                "citizenship": str(raw["citizenship"][j]) or None,
                "country_of_exploitation": str(raw["country_of_exploitation"][j]) or None,
                "year_of_registration": year, "data_source": str(raw["data_source"][j]),
            })  # fmt: skip
            profile = {"id": uuid.uuid4(), "case_id": case_id, "updated_at": now}
            for name in ("means_of_control", "exploitation_types", "labour_sectors", "sexual_exploitation_types",
                         "recruiter_relationships", "age_at_exploitation_start", "age_at_recruitment"):  # fmt: skip
                value = int(raw[name][j])
                profile[name] = value if value >= 0 else None
            abducted = int(raw["abducted"][j])
            profile["abducted"] = None if abducted < 0 else bool(abducted)
            profiles.append(profile)
            if i < n:
                consents.append({
                    "id": uuid.uuid4(), "case_id": case_id, "purpose": "anonymised_research", "decision": "granted",
                    "method": "written", "given_by": "victim", "given_on": given, "recorded_at": now,
                })  # fmt: skip
        session.execute(insert(Case.__table__), cases)
        session.execute(insert(_raw_profile_table(TraffickingProfile)), profiles)
        if consents:
            session.execute(insert(Consent.__table__), consents)
        session.commit()
        print(f"\r  seeding {min(start + chunk, total):,}/{total:,}", end="", flush=True)
    print()
    return (
        f"fast Core inserts of the exported columns: {n:,} consented + {extra:,} without research consent, "
        f"{time.perf_counter() - started:.0f} s"
    )


def _or_none(value: int) -> int | None:
    return value if value >= 0 else None


def _raw_profile_table(model: Any) -> Any:
    """The profile table with its bitmask columns as plain integers (they arrive as masks)."""
    from sqlalchemy import BigInteger, Column, MetaData, Table

    table = model.__table__
    columns = [
        Column(c.name, BigInteger) if c.name in ("means_of_control", "exploitation_types", "labour_sectors",
                                                 "sexual_exploitation_types", "recruiter_relationships")
        else c._copy()
        for c in table.columns
    ]  # fmt: skip
    return Table(table.name, MetaData(), *columns)


def ensure_schema(url: str) -> None:
    """A benchmark database seeded by an older version: add what the export needs now (tables
    by create_all, columns of export_runs by ALTER TABLE)."""
    from sqlalchemy import inspect, text

    from casework.db import Base, import_all_models, make_engine

    import_all_models()
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    have = {c["name"] for c in inspect(engine).get_columns("export_runs")}
    with engine.begin() as connection:
        for name, kind in (("organisation_id", "CHAR(32)"), ("epsilon", "FLOAT"), ("delta", "FLOAT")):
            if name not in have:
                connection.execute(text(f"ALTER TABLE export_runs ADD COLUMN {name} {kind}"))
    engine.dispose()


def export_in_child(url: str, out: Path, keyring: Path, view: str = "all") -> tuple[float, float, str]:
    """Run ``flask --app wsgi export ctdc`` in a child; (wall seconds, peak RSS MB, last line).

    The peak is the child's own high-water mark (VmHWM, polled until it exits): getrusage's
    figure for children would count this (large) process's pages shared before the exec.
    """
    env = {**os.environ, "CASEWORK_DATABASE_URL": url, "CASEWORK_KEYRING": str(keyring), "CASEWORK_ENV": "development"}
    flask = Path(sys.executable).with_name("flask")
    command = [str(flask), "--app", "wsgi", "export", "ctdc", "--out", str(out), "--k", str(K), "--view", view]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout, stderr=stderr, text=True)  # noqa: S603
        peak_kb = 0
        status = Path(f"/proc/{child.pid}/status")
        while child.poll() is None:
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak_kb = max(peak_kb, int(line.split()[1]))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                pass
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        stdout.seek(0)
        stderr.seek(0)
        if child.returncode != 0:
            raise RuntimeError(stderr.read()[-2000:])
        summary = stdout.read().strip().splitlines()[-1]
    return seconds, peak_kb / 1024, summary


# -- main ----------------------------------------------------------------------------------------------
def print_rows(rows: list[Row]) -> None:
    head = f"{'method':<44} {'view':<14} {'rows':>9} {'time s':>8} {'peak MB':>8} {'loss':>7} {'min class':>9}"
    print(head + "  worst kept column")
    for r in rows:
        print(f"{r.method:<44} {r.view:<14} {r.rows:>9,} {r.seconds:>8.2f} {r.peak_mb:>8.0f} {100 * r.loss:>6.1f}% "
              f"{r.smallest:>9}  {r.worst} {r.note}")  # fmt: skip


def in_memory(n: int, args: argparse.Namespace) -> np.ndarray:
    raw, described = generate_raw(n, args.generator, args.seed)
    print(f"\ndata: {n:,} cases from {described}")
    codes = ctdc.encode(raw)
    rows: list[Row] = []
    core, core_attributes = view_codes(codes, "core", extended=False)
    extended, extended_attributes = view_codes(codes, "core", extended=True)
    row, (_, shares) = run_engine(core, core_attributes, "engine", "core")
    rows.append(row)
    row_ext, (ext_result, _) = run_engine(extended, extended_attributes, "engine, extended file", "core", "coarse")
    rows.append(row_ext)
    rows.append(run_naive(core, core_attributes, "core"))
    rows.append(run_baseline(_baselines.mondrian, core, core_attributes, "Mondrian", "core"))
    rows.append(run_baseline(_baselines.datafly, core, core_attributes, "Datafly (5% suppression)", "core"))
    if args.anjana_rows:
        sample_n = min(args.anjana_rows, n)
        sample = core[np.random.default_rng(0).choice(n, sample_n, replace=False)]
        label = "" if sample_n == n else f" ({sample_n:,}-row sample)"
        if sample_n != n:
            rows.append(run_engine(sample, core_attributes, f"engine{label}", "core")[0])
        try:
            rows.append(run_anjana(sample, core_attributes, args.anjana_supp, f"anjana 1.2.3{label}", "core"))
        except Exception as error:  # noqa: BLE001 - report, do not crash the benchmark
            rows.append(Row(f"anjana{label}", "core", sample_n, 0, 0, 1, "", 0, f"failed: {type(error).__name__}"))
    full_row, _ = run_engine(codes, list(ctdc.ATTRIBUTES), "engine", "all 63")
    rows.append(full_row)
    rows.append(run_naive(codes, list(ctdc.ATTRIBUTES), "all 63"))
    if n <= args.baseline_all_rows:
        rows.append(run_baseline(_baselines.mondrian, codes, list(ctdc.ATTRIBUTES), "Mondrian", "all 63"))
        rows.append(run_baseline(_baselines.datafly, codes, list(ctdc.ATTRIBUTES), "Datafly (5% suppression)",
                                 "all 63"))  # fmt: skip
    print()
    print_rows(rows)
    print("engine, core view, contract file: known values kept exactly per column: "
          + ", ".join(f"{name} {100 * share:.1f}%" for name, share in shares.items()))  # fmt: skip
    per = ext_result.report.per_column()
    kept = (f"{c} {100 * v['kept_share']:.1f}%/{100 * v['kept_some_share']:.1f}%" for c, v in per.items())
    print("engine, core view, extended file: kept exactly / at least generalised: " + ", ".join(kept))
    for r in rows:
        result(f"export {n:,}: {r.method}, {r.view}: loss of known values / seconds / peak MB",
               f"{100 * r.loss:.1f}% / {r.seconds:.2f} / {r.peak_mb:.0f}")  # fmt: skip
    worst_some = min(v["kept_some_share"] for v in per.values())
    result(f"export {n:,}: core view, extended file: worst column kept at least generalised",
           f"{100 * worst_some:.1f}%", ">= 80%", worst_some >= 0.8)  # fmt: skip
    worst_exact = min(shares.values())
    result(f"export {n:,}: core view, contract file: worst column kept exactly", f"{100 * worst_exact:.1f}%",
           ">= 80%", worst_exact >= 0.8)  # fmt: skip
    return codes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows-list", default="50000,1000000")
    parser.add_argument("--anjana-rows", type=int, default=5_000, help="anjana's sample (0: skip anjana)")
    parser.add_argument("--anjana-supp", type=float, default=5.0, help="anjana's record suppression limit, %%")
    parser.add_argument("--baseline-all-rows", type=int, default=50_000,
                        help="run Mondrian and Datafly on all 63 columns up to this many rows")  # fmt: skip
    parser.add_argument("--dp-rows", type=int, default=50_000, help="rows of the private releases (0: skip)")
    parser.add_argument("--generator", choices=("synthetic", "bench"), default="synthetic")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--db", help="database URL already holding the consented cases (skips seeding)")
    parser.add_argument("--db-path", type=Path, help="SQLite file to seed (kept afterwards; reused if it exists)")
    parser.add_argument("--seed-mode", choices=("fast", "demo"), default="fast")
    parser.add_argument("--skip-db", action="store_true")
    args = parser.parse_args()

    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(f"casework export benchmark — {machine}, numpy {np.__version__}, load average {os.getloadavg()[0]:.1f}; "
          f"k = {K}")  # fmt: skip
    sizes = [int(v) for v in args.rows_list.split(",") if v]
    codes = None
    for n in sizes:
        codes = in_memory(n, args)
    if args.dp_rows:
        raw, _ = generate_raw(args.dp_rows, args.generator, args.seed)
        print(f"\nprivate releases of the core view, {args.dp_rows:,} cases:")
        for line in dp_figures(ctdc.encode(raw), [1.0, 4.0]):
            print("  " + line)
    if args.skip_db or codes is None:
        return
    print()
    workdir = Path(tempfile.mkdtemp(prefix="casework-bench-"))
    keyring = workdir / "keyring.json"
    rows = max(sizes)
    if args.db:
        url, seeded = args.db, "given database"
    else:
        path = args.db_path or workdir / "bench.sqlite3"
        url = f"sqlite:///{path}"
        if path.exists():
            seeded = f"existing {path}"
            ensure_schema(url)
        else:
            os.environ["CASEWORK_KEYRING"] = str(keyring)
            raw, _ = generate_raw(rows, args.generator, args.seed)
            seeded = seed_database(url, raw, args.seed_mode)
    print(f"database: {url.split('@')[-1]} — {seeded}")
    for view in ("all", "core"):
        out = workdir / f"ctdc-{view}.csv"
        seconds, peak_mb, summary = export_in_child(url, out, keyring, view)
        print(f"database to file, view {view} (child process, incl. start-up): {seconds:.1f} s, peak RSS "
              f"{peak_mb:.0f} MB, file {out.stat().st_size / 2**20:.0f} MB")  # fmt: skip
        print(f"  {summary}")
        result(f"export: database to CTDC file, {rows:,} rows, view {view}: seconds", f"{seconds:.1f}", "<= 60",
               seconds <= 60)  # fmt: skip
        result(f"export: database to CTDC file, {rows:,} rows, view {view}: peak RSS MB", f"{peak_mb:.0f}", "<= 1024",
               peak_mb <= 1024)  # fmt: skip


def result(figure: str, value: str, target: str = "-", met: bool | None = None) -> None:
    """One ``RESULT|figure|value|target|met`` line, collected into bench/RESULTS.md by run_all.py."""
    verdict = "-" if met is None else ("yes" if met else "no")
    print(f"RESULT|{figure}|{value}|{target}|{verdict}")


if __name__ == "__main__":
    main()
