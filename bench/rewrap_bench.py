"""How long step 3 of a master-key rotation takes: ``keys rewrap`` over N seeded cases.

Seeds N synthetic cases (casework.demo's seeding) into a temporary SQLite database, or into the
PostgreSQL database given with ``--database-url`` (its schema is dropped and created), adds and
activates a new master key (``keys add``, ``keys activate``), then times ``keys rewrap`` at the
default batch size and prints data keys per second and the longest batch (how long one batch
holds the key state's share lock, and so how long a ``keys activate`` could wait for it).

Run: ``.venv/bin/python bench/rewrap_bench.py [--cases 20000] [--database-url postgresql://...]``
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from casework import create_app  # noqa: E402
from casework.crypto import rotation  # noqa: E402
from casework.crypto.keyring import Keyring  # noqa: E402
from casework.db import Base, get_db, make_engine, session  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--database-url", help="a PostgreSQL database to use (its schema is replaced)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        keyring = directory / "keyring.json"
        Keyring.generate().save(keyring)
        url = args.database_url or f"sqlite:///{directory / 'rewrap.sqlite3'}"
        if url.startswith("postgres"):
            engine = make_engine(url)
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            engine.dispose()
        app = create_app(
            {
                "env": "testing",
                "secret_key": "bench-secret-key-that-is-long-enough-0123456789",
                "instance_path": directory / "instance",
                "database_url": url,
                "keyring_path": keyring,
            }
        )
        Base.metadata.create_all(get_db(app).engine)
        logging.getLogger("casework").setLevel(logging.WARNING)
        dialect = get_db(app).engine.dialect.name
        with app.app_context():
            from casework.demo import accounts
            from casework.demo import seed as seeding

            orgs = accounts.demo_organisations()
            accounts.ensure_demo_accounts(orgs, with_totp=True)
            session.commit()
            started = time.perf_counter()
            seeding.seed_cases(args.cases, orgs, workers=1)
            print(f"seeded {args.cases:,} cases in {time.perf_counter() - started:.0f} s", flush=True)
            new = rotation.add_key(session, keyring)
            rotation.activate(session, keyring, new)

            batches: list[float] = []
            last = [time.perf_counter()]

            def progress(_table: str, _done: int) -> None:
                now = time.perf_counter()
                batches.append(now - last[0])
                last[0] = now

            started = time.perf_counter()
            result = rotation.rewrap(session, keyring, args.batch_size, progress=progress)
            elapsed = time.perf_counter() - started
        get_db(app).engine.dispose()
    rate = result.total / elapsed
    longest = max(batches) * 1000 if batches else 0.0
    print(f"re-wrapped {result.total:,} data keys in {elapsed:.1f} s on {dialect}")
    print(f"RESULT|keys rewrap ({dialect}, {args.cases:,} cases): data keys per second|{rate:,.0f}/s|-|-")
    print(
        f"RESULT|keys rewrap ({dialect}): longest batch of {args.batch_size} (state share lock held)|"
        f"{longest:.0f} ms|-|-"
    )


if __name__ == "__main__":
    main()
