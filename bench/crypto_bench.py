"""Cost of casework's field encryption: insert and read N cases three ways, in one run.

(a) casework's ``Case`` with its ``EncryptedField`` descriptors (a data key per case, AES-256-GCM,
    associated data per table/column/row);
(b) the same table with plain columns (a mirror model on its own MetaData);
(c) the same table with ``sqlalchemy_utils.StringEncryptedType(..., AesGcmEngine)`` columns
    (one key for every row).

Same N, same synthetic data (casework.synthetic), same SQLite file, all inserts through the
ORM unit of work (``session.add_all`` + commit per 10,000), all reads as ``select(Model)`` in a
fresh session followed by reading every identifying field of every object.

    .venv/bin/python bench/crypto_bench.py [--cases N] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Date, MetaData, Table, Text, select
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy_utils import StringEncryptedType
from sqlalchemy_utils.types.encrypted.encrypted_type import AesGcmEngine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from casework import create_app  # noqa: E402
from casework.auth.models import Organisation  # noqa: E402
from casework.cases.models import Case  # noqa: E402
from casework.crypto.keyring import Keyring  # noqa: E402
from casework.db import Base, get_db  # noqa: E402
from casework.synthetic import SyntheticParameters, generate  # noqa: E402

IDENTIFYING = (
    "given_name", "family_name", "aliases", "date_of_birth", "place_of_birth", "phone", "email", "address",
    "languages", "document_type", "document_number", "document_country",
)  # fmt: skip
NAMES = ("given_name", "family_name")  # what a case list shows
BATCH = 10_000
ROUNDS = 3
UTILS_KEY = "bench-only-key-for-sqlalchemy-utils"


class PlainBase(DeclarativeBase):
    metadata = MetaData()


class UtilsBase(DeclarativeBase):
    metadata = MetaData()


def mirror_table(name: str, metadata: MetaData, identifying_type: Callable[[str], Any]) -> Table:
    """The ``cases`` table column for column (no foreign keys), identifying columns retyped."""
    columns = []
    for column in Case.__table__.columns:
        kind = identifying_type(column.name) if column.name in IDENTIFYING else column.type
        columns.append(
            Column(column.name, kind, primary_key=column.primary_key, nullable=column.nullable, index=column.index)
        )
    return Table(name, metadata, *columns)


def _plain_type(name: str) -> Any:
    return Date() if name == "date_of_birth" else Text()


def _utils_type(name: str) -> Any:
    return StringEncryptedType(Date if name == "date_of_birth" else Text, UTILS_KEY, AesGcmEngine)


class PlainCase(PlainBase):
    __table__ = mirror_table("bench_plain_cases", PlainBase.metadata, _plain_type)
    __mapper_args__ = {"version_id_col": __table__.c.version_id}


class UtilsCase(UtilsBase):
    __table__ = mirror_table("bench_utils_cases", UtilsBase.metadata, _utils_type)
    __mapper_args__ = {"version_id_col": __table__.c.version_id}


def case_values(n: int, seed: int) -> list[dict[str, Any]]:
    """Identifying and coded values of n synthetic cases (the same for every variant)."""
    data = generate(n, SyntheticParameters(seed=seed))
    dob = data.date_of_birth.tolist()
    opened = data.opened_on.tolist()
    rows = []
    for i in range(n):
        rows.append(
            {
                "reference": f"B-{i:07d}",
                "status": str(data.status[i]),
                "opened_on": opened[i],
                "year_of_registration": int(data.year[i]),
                "gender": str(data.gender[i]),
                "age_at_registration": int(data.age[i]) if data.age[i] >= 0 else None,
                "citizenship": str(data.citizenship[i]) or None,
                "country_of_exploitation": str(data.country_of_exploitation[i]) or None,
                "data_source": str(data.data_source[i]),
                "given_name": data.given_name[i],
                "family_name": data.family_name[i],
                "aliases": data.aliases[i],
                "date_of_birth": dob[i],
                "place_of_birth": data.place_of_birth[i],
                "phone": data.phone[i],
                "email": data.email[i],
                "address": data.address[i],
                "languages": data.languages[i],
                "document_type": data.document_type[i],
                "document_number": data.document_number[i],
                "document_country": data.document_country[i],
            }
        )
    return rows


def insert_all(
    make_session: Callable[[], Session], build: Callable[[dict[str, Any]], Any], values: list[dict[str, Any]]
) -> float:  # noqa: E501
    started = time.perf_counter()
    with make_session() as db:
        for start in range(0, len(values), BATCH):
            db.add_all([build(v) for v in values[start : start + BATCH]])
            db.commit()
    return time.perf_counter() - started


def read_all(make_session: Callable[[], Session], model: type, fields: tuple[str, ...]) -> tuple[float, float, int]:
    """Load every row as an object (fresh session) and read ``fields`` of each.
    Returns (wall seconds, CPU seconds of this process, non-NULL fields read)."""
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    with make_session() as db:
        objects = db.execute(select(model)).scalars().all()
        filled = 0
        for obj in objects:
            for name in fields:
                if getattr(obj, name) is not None:
                    filled += 1
    return time.perf_counter() - started, time.process_time() - cpu, filled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=SyntheticParameters().seed)
    parser.add_argument("--profile", action="store_true", help="cProfile the encrypted read")
    args = parser.parse_args()
    n = args.cases

    tmp = Path(tempfile.mkdtemp(prefix="casework-crypto-bench-"))
    keyring_path = tmp / "keyring.json"
    Keyring.generate().save(keyring_path)
    app = create_app(
        {
            "env": "testing",
            "instance_path": tmp / "instance",
            "database_url": f"sqlite:///{tmp / 'bench.sqlite3'}",
            "keyring_path": keyring_path,
            "secret_key": "bench-secret-key-that-is-long-enough-0123456789",
        }
    )
    engine = get_db(app).engine
    for metadata in (Base.metadata, PlainBase.metadata, UtilsBase.metadata):
        metadata.create_all(engine)
    print(f"generating {n:,} synthetic cases (seed {args.seed}) ...", file=sys.stderr)
    values = case_values(n, args.seed)
    now = datetime.now(UTC)

    with app.app_context():
        make_session = get_db(app).sessionmaker
        with make_session() as db:
            org = Organisation(name="Bench agency", kind="lead_agency")
            db.add(org)
            db.commit()
            org_id = org.id

        def common(v: dict[str, Any]) -> dict[str, Any]:
            return {"id": uuid.uuid4(), "owner_org_id": org_id, "created_at": now, "updated_at": now, **v}

        def build_plain(v: dict[str, Any]) -> Any:
            return PlainCase(**common(v))

        def build_utils(v: dict[str, Any]) -> Any:
            return UtilsCase(**common(v))

        def build_encrypted(v: dict[str, Any]) -> Case:
            return Case(**common(v))  # identifying keywords go through the EncryptedField descriptors

        variants = (
            ("plain columns", PlainCase, build_plain),
            ("casework EncryptedField", Case, build_encrypted),
            ("sqlalchemy-utils AesGcmEngine", UtilsCase, build_utils),
        )
        results: dict[str, dict[str, float]] = {label: {} for label, _, _ in variants}
        for label, _model, build in variants:
            print(f"{label}: insert ...", file=sys.stderr)
            results[label]["insert"] = insert_all(make_session, build, values)
        # Reads interleaved, best of ROUNDS: other load on the machine hits every variant alike.
        for round_number in range(ROUNDS):
            print(f"reads, round {round_number + 1} of {ROUNDS} ...", file=sys.stderr)
            for label, model, _build in variants:
                load_wall, load_cpu, _ = read_all(make_session, model, ())
                _, names_cpu, _ = read_all(make_session, model, NAMES)
                profile = args.profile and model is Case and round_number == 0
                profiler = cProfile.Profile() if profile else None
                if profiler is not None:
                    profiler.enable()
                wall, cpu, filled = read_all(make_session, model, IDENTIFYING)
                if profiler is not None:
                    profiler.disable()
                    out = io.StringIO()
                    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
                    print(out.getvalue(), file=sys.stderr)
                    continue  # a profiled round is not a measurement
                r = results[label]
                r["load"] = min(r.get("load", load_cpu), load_cpu)
                r["names"] = min(r.get("names", names_cpu), names_cpu)
                r["read"] = min(r.get("read", cpu), cpu)
                r["read_wall"] = min(r.get("read_wall", wall), wall)
                r["fields"] = filled

        check_same_values(make_session, values)

    plain = results["plain columns"]
    print(f"\ncrypto bench: {n:,} cases, SQLite file {tmp / 'bench.sqlite3'}, synthetic seed {args.seed}")
    print("insert: ORM add_all + commit per 10,000 (wall s); load: select(Model) into objects; names: load")
    print("and read given + family name (a case list); read: load and read every identifying field (12);")
    print(f"load/names/read in CPU seconds of this process, best of {ROUNDS} interleaved rounds\n")
    header = (
        f"{'variant':<32}{'insert s':>10}{'x plain':>9}{'load s':>9}{'names s':>9}{'x plain':>9}"
        f"{'read s':>9}{'x plain':>9}{'read wall s':>13}{'fields read':>13}"
    )
    print(header)
    print("-" * len(header))
    for label, r in results.items():
        print(
            f"{label:<32}{r['insert']:>10.2f}{r['insert'] / plain['insert']:>9.2f}{r['load']:>9.2f}"
            f"{r['names']:>9.2f}{r['names'] / plain['names']:>9.2f}"
            f"{r['read']:>9.2f}{r['read'] / plain['read']:>9.2f}{r['read_wall']:>13.2f}{int(r['fields']):>13,}"
        )
    ours, utils = results["casework EncryptedField"], results["sqlalchemy-utils AesGcmEngine"]
    print(
        f"\nencrypted read vs plain: {ours['read'] / plain['read']:.2f}x (target <= 1.5x); "
        f"sqlalchemy-utils read / casework read: {utils['read'] / ours['read']:.2f}x (target >= 3x)"
    )
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    read_ratio, utils_ratio = ours["read"] / plain["read"], utils["read"] / ours["read"]
    read_met, utils_met = "yes" if read_ratio <= 1.5 else "no", "yes" if utils_ratio >= 3 else "no"
    print(f"RESULT|crypto: encrypted read / plain read ({n:,} cases)|{read_ratio:.2f}x|<= 1.5x|{read_met}")
    print(f"RESULT|crypto: sqlalchemy-utils read / casework read|{utils_ratio:.2f}x|>= 3x|{utils_met}")
    print(f"RESULT|crypto: encrypted insert / plain insert|{ours['insert'] / plain['insert']:.2f}x|-|-")


def check_same_values(make_session: Callable[[], Session], values: list[dict[str, Any]]) -> None:
    """The three variants read back the same plaintext (a sample)."""
    with make_session() as db:
        for model in (PlainCase, Case, UtilsCase):
            for obj in db.execute(select(model).order_by(model.reference).limit(200)).scalars():
                expected = values[int(obj.reference[2:])]
                for name in IDENTIFYING:
                    got = getattr(obj, name)
                    if isinstance(got, datetime):  # sqlalchemy-utils may return a datetime for a Date
                        got = got.date()
                    if got != expected[name]:
                        raise SystemExit(f"{model.__name__}.{name} read back {got!r}, not {expected[name]!r}")
                    if name == "date_of_birth" and got is not None and not isinstance(got, date):
                        raise SystemExit(f"{model.__name__}.date_of_birth is {type(got).__name__}")


if __name__ == "__main__":
    main()
