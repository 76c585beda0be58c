"""Benchmark of the CTDC research export (prints a table; not a test).

Two parts:

1. Anonymisation, in memory: N synthetic consented cases (default 1,000,000) as CTDC attribute
   codes, k-anonymised with k = 11 over every released column by the engine
   (casework.exports.anonymise), the naive baseline (whole rows of small classes set to -99)
   and anjana 1.2.3 (global generalisation + record suppression; on a sample when N is large,
   said so in the table). Time, peak memory (tracemalloc: numpy allocations included) and
   information loss (share of quasi-identifier cells set to -99 by anonymisation, dropped rows
   counting all their cells; age bands generalised to minor/adult counted apart) on the same
   rows, each output checked for k independently.
2. Database to file: ``flask --app wsgi export ctdc`` in a child process on a database with N
   consented cases (``--db URL``, or a temporary SQLite seeded here; ``--seed-mode demo`` uses
   casework.demo's realistic seeding with encryption, ``fast`` inserts only what the export
   reads). Wall time and the child's peak RSS.

Run: ``.venv/bin/python bench/export_bench.py [--rows 1000000] [--anjana-rows 100000]``.
Targets: export ≤ 60 s and ≤ 1 GB for 1,000,000 cases; anonymisation ≥ 20× faster than anjana
with no more loss; ≤ half the naive baseline's loss.
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

from casework.exports import anonymise, ctdc  # noqa: E402

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
    rows: int
    seconds: float
    peak_mb: float
    suppressed: float  # share of QI cells set to -99 (incl. dropped rows)
    generalised: float
    kept: int
    smallest: int
    note: str = ""


def smallest_class(codes: np.ndarray) -> int:
    """Independent of the engine: np.unique over whole rows."""
    if codes.shape[0] == 0:
        return 0
    _, counts = np.unique(np.ascontiguousarray(codes), axis=0, return_counts=True)
    return int(counts.min())


def loss_of(original: np.ndarray, released: np.ndarray, dropped: int) -> tuple[float, float]:
    """(suppressed share incl. dropped rows, generalised share) over original rows x columns."""
    total = (released.shape[0] + dropped) * original.shape[1]
    suppressed = int(np.count_nonzero((original != 0) & (released == 0))) + dropped * original.shape[1]
    generalised = int(np.count_nonzero((released != original) & (released != 0)))
    return suppressed / total, generalised / total


def measured(function: Any, *args: Any, **kwargs: Any) -> tuple[Any, float, float]:
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    result = function(*args, **kwargs)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, seconds, peak / 2**20


def run_engine(codes: np.ndarray, label: str, columns: list[str] | None = None) -> Row:
    result, seconds, peak = measured(anonymise.anonymise, codes, ctdc.ATTRIBUTES, K, seed=1)
    suppressed, generalised = loss_of(codes[result.source_rows], result.codes, 0)
    if columns is not None:
        worst = sorted(result.report.cells_suppressed.items(), key=lambda item: -item[1])[:8]
        columns.extend(f"{name} {100 * count / codes.shape[0]:.0f}%" for name, count in worst)
    return Row(label, codes.shape[0], seconds, peak, suppressed, generalised, result.codes.shape[0],
               smallest_class(result.codes))  # fmt: skip


def run_naive(codes: np.ndarray, label: str) -> Row:
    result, seconds, peak = measured(anonymise.naive_suppression, codes, ctdc.ATTRIBUTES, K, seed=1)
    suppressed, generalised = loss_of(codes[result.source_rows], result.codes, result.report.rows_dropped)
    return Row(label, codes.shape[0], seconds, peak, suppressed, generalised, result.codes.shape[0],
               smallest_class(result.codes))  # fmt: skip


def anjana_hierarchies() -> dict[str, dict[int, np.ndarray]]:
    """The same generalisations the engine may use: each code -> (coarser ->) missing (0)."""
    hierarchies = {}
    for attribute in ctdc.ATTRIBUTES:
        values = np.arange(attribute.cardinality)
        levels = {0: values}
        current = values
        for level in attribute.hierarchy:
            current = np.asarray(level)[current]
            levels[len(levels)] = current
        levels[len(levels)] = np.zeros_like(values)
        hierarchies[attribute.name] = levels
    return hierarchies


def run_anjana(codes: np.ndarray, supp_level: float, label: str) -> Row:
    import contextlib
    import io

    import pandas as pd
    from anjana.anonymity import k_anonymity

    names = list(ctdc.ATTRIBUTE_NAMES)
    frame = pd.DataFrame({name: codes[:, j].astype(np.int64) for j, name in enumerate(names)})
    hierarchies = anjana_hierarchies()
    with contextlib.redirect_stdout(io.StringIO()):
        out, seconds, peak = measured(k_anonymity, frame, [], names, K, supp_level, hierarchies)
    if len(out) == 0:
        return Row(label, codes.shape[0], seconds, peak, 1.0, 0.0, 0, 0, "no release")
    rows = out["index"].to_numpy() if "index" in out.columns else np.arange(len(out))
    released = out[names].to_numpy().astype(codes.dtype)
    dropped = codes.shape[0] - len(out)
    suppressed, generalised = loss_of(codes[rows], released, dropped)
    return Row(label, codes.shape[0], seconds, peak, suppressed, generalised, len(out), smallest_class(released))


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


def export_in_child(url: str, out: Path, keyring: Path) -> tuple[float, float, str]:
    """Run ``flask --app wsgi export ctdc`` in a child; (wall seconds, peak RSS MB, last line).

    The peak is the child's own high-water mark (VmHWM, polled until it exits): getrusage's
    figure for children would count this (large) process's pages shared before the exec.
    """
    env = {**os.environ, "CASEWORK_DATABASE_URL": url, "CASEWORK_KEYRING": str(keyring), "CASEWORK_ENV": "development"}
    flask = Path(sys.executable).with_name("flask")
    command = [str(flask), "--app", "wsgi", "export", "ctdc", "--out", str(out), "--k", str(K), "--seed", "1"]
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
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--anjana-rows", type=int, default=100_000, help="anjana's sample (0: skip anjana)")
    parser.add_argument("--anjana-supp", type=float, default=5.0, help="anjana's record suppression limit, %%")
    parser.add_argument("--generator", choices=("synthetic", "bench"), default="synthetic")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--db", help="database URL already holding the consented cases (skips seeding)")
    parser.add_argument("--db-path", type=Path, help="SQLite file to seed (kept afterwards; reused if it exists)")
    parser.add_argument("--seed-mode", choices=("fast", "demo"), default="fast")
    parser.add_argument("--skip-db", action="store_true")
    args = parser.parse_args()

    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(f"casework export benchmark — {machine}, numpy {np.__version__}, load average {os.getloadavg()[0]:.1f}")
    raw, described = generate_raw(args.rows, args.generator, args.seed)
    print(f"data: {args.rows:,} cases from {described}")
    codes = ctdc.encode(raw)
    unique = smallest_class(codes)
    print(f"quasi-identifiers: all {codes.shape[1]} released attributes (the 63 CTDC columns); k = {K}; "
          f"smallest class before anonymisation: {unique}")  # fmt: skip

    rows: list[Row] = []
    worst: list[str] = []
    rows.append(run_engine(codes, "engine", worst))
    rows.append(run_naive(codes, "naive baseline"))
    if args.anjana_rows:
        sample_n = min(args.anjana_rows, args.rows)
        sample = codes[np.random.default_rng(0).choice(args.rows, sample_n, replace=False)]
        label = "" if sample_n == args.rows else f" ({sample_n:,}-row sample)"
        rows.append(run_engine(sample, "engine" + label))
        rows.append(run_naive(sample, "naive baseline" + label))
        try:
            anjana_row = run_anjana(sample, args.anjana_supp, f"anjana 1.2.3{label}, supp {args.anjana_supp:g}%")
        except Exception as error:  # noqa: BLE001 - report, do not crash the benchmark
            anjana_row = Row(f"anjana{label}", sample_n, 0, 0, 1, 0, 0, 0, f"failed: {type(error).__name__}")
        rows.append(anjana_row)

    print()
    print(f"{'method':<46} {'rows':>9} {'time s':>8} {'peak MB':>8} {'-99 share':>9} {'generalised':>11} "
          f"{'rows kept':>9} {'min class':>9}")  # fmt: skip
    for r in rows:
        print(f"{r.method:<46} {r.rows:>9,} {r.seconds:>8.2f} {r.peak_mb:>8.0f} {100 * r.suppressed:>8.2f}% "
              f"{100 * r.generalised:>10.2f}% {r.kept:>9,} {r.smallest:>9} {r.note}")  # fmt: skip
    print()
    print("engine: columns most often set to -99 (share of rows): " + ", ".join(worst))
    engine, naive = rows[0], rows[1]
    print(f"engine vs naive (same {engine.rows:,} rows): loss {100 * engine.suppressed:.2f}% vs "
          f"{100 * naive.suppressed:.2f}% -> {'met' if engine.suppressed <= naive.suppressed / 2 else 'NOT met'} "
          "(target: at most half)")  # fmt: skip
    result(f"export: engine, {engine.rows:,} rows, k = {K}: seconds", f"{engine.seconds:.2f}")
    result(
        "export: engine -99 share / naive -99 share",
        f"{100 * engine.suppressed:.2f}% / {100 * naive.suppressed:.2f}%",
        "at most half",
        engine.suppressed <= naive.suppressed / 2,
    )
    if args.anjana_rows:
        same, anj = rows[2], rows[4]
        if anj.seconds:
            speed = anj.seconds / max(same.seconds, 1e-9)
            print(f"engine vs anjana (same {same.rows:,} rows): {speed:.0f}x faster -> "
                  f"{'met' if speed >= 20 else 'NOT met'} (target: >= 20x); loss {100 * same.suppressed:.2f}% vs "
                  f"{100 * anj.suppressed:.2f}% -> {'met' if same.suppressed <= anj.suppressed else 'NOT met'} "
                  "(target: no more loss)")  # fmt: skip
            result("export: engine speed vs anjana (same rows)", f"{speed:.0f}x", ">= 20x", speed >= 20)
            result(
                "export: engine -99 share / anjana -99 share (same rows)",
                f"{100 * same.suppressed:.2f}% / {100 * anj.suppressed:.2f}%",
                "no more loss",
                same.suppressed <= anj.suppressed,
            )

    if args.skip_db:
        return
    print()
    workdir = Path(tempfile.mkdtemp(prefix="casework-bench-"))
    keyring = workdir / "keyring.json"
    if args.db:
        url, seeded = args.db, "given database"
    else:
        path = args.db_path or workdir / "bench.sqlite3"
        url = f"sqlite:///{path}"
        if path.exists():
            seeded = f"existing {path}"
        else:
            os.environ["CASEWORK_KEYRING"] = str(keyring)
            seeded = seed_database(url, raw, args.seed_mode)
    print(f"database: {url.split('@')[-1]} — {seeded}")
    out = workdir / "ctdc.csv"
    seconds, peak_mb, summary = export_in_child(url, out, keyring)
    size_mb = out.stat().st_size / 2**20
    print(f"database to file (child process, incl. start-up): {seconds:.1f} s, peak RSS {peak_mb:.0f} MB, "
          f"file {size_mb:.0f} MB")  # fmt: skip
    print(f"  {summary}")
    print(f"  targets: <= 60 s -> {'met' if seconds <= 60 else 'NOT met'}; <= 1 GB -> "
          f"{'met' if peak_mb <= 1024 else 'NOT met'}")  # fmt: skip
    result(f"export: database to CTDC file, {args.rows:,} rows: seconds", f"{seconds:.1f}", "<= 60", seconds <= 60)
    result(f"export: database to CTDC file, {args.rows:,} rows: peak RSS MB", f"{peak_mb:.0f}", "<= 1024",
           peak_mb <= 1024)  # fmt: skip


def result(figure: str, value: str, target: str = "-", met: bool | None = None) -> None:
    """One ``RESULT|figure|value|target|met`` line, collected into bench/RESULTS.md by run_all.py."""
    verdict = "-" if met is None else ("yes" if met else "no")
    print(f"RESULT|{figure}|{value}|{target}|{verdict}")


if __name__ == "__main__":
    main()
