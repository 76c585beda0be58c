"""Run every benchmark under bench/ and write one table of their figures to bench/RESULTS.md.

Convention: a benchmark prints its headline figures as lines
``RESULT|figure|value|target|met`` (met: yes, no or -); everything else it prints is shown as
it runs. This script runs each benchmark in turn (modest default sizes: the whole suite takes
about half an hour on 2 cores), collects those lines and writes them as a markdown table with
the machine they ran on. A benchmark that fails is reported in the table; nothing stops.

Run: ``scripts/bench`` or ``.venv/bin/python bench/run_all.py [--only load_test,crypto_bench]
[--cases N] [--load-cases N] [--quick]``
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


def machine() -> list[str]:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    postgres = subprocess.run(["psql", "--version"], capture_output=True, text=True, check=False).stdout.strip()  # noqa: S607
    return [
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- CPU: {cpu}, {os.cpu_count()} logical CPUs (nproc)",
        f"- memory: {memory}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.release()}",
        f"- PostgreSQL client: {postgres or 'not found'}",
    ]


def benchmarks(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    quick = args.quick
    cases = str(args.cases or (2_000 if quick else 20_000))
    load_cases = str(args.load_cases or (5_000 if quick else 100_000))
    return [
        ("crypto_bench", ["bench/crypto_bench.py", "--cases", cases]),
        ("pages_bench", ["bench/pages_bench.py", "--cases", cases, "--repeat", "10" if quick else "30"]),
        (
            "home_bench",
            ["bench/home_bench.py", "--sizes", "1000,10000" if quick else "1000,10000,100000"],
        ),
        ("name_search_bench", ["bench/name_search_bench.py"] + (["--people", "5000"] if quick else [])),
        (
            "export_bench",
            ["bench/export_bench.py"]
            + (["--rows-list", "20000", "--dp-rows", "3000", "--anjana-rows", "2000"] if quick else []),
        ),
        ("rewrap_bench", ["bench/rewrap_bench.py", "--cases", "5000" if quick else "20000"]),
        ("summary_pdf_bench", ["bench/summary_pdf_bench.py", "--repeat", "5" if quick else "20"]),
        ("documents_bench", ["bench/documents_bench.py"] + (["--sizes", "1,10"] if quick else [])),
        (
            "case_file_cpu",
            ["bench/case_file_cpu.py", "--cases", "1000" if quick else "3000", "--repeat", "100" if quick else "300"],
        ),
        (
            "load_test",
            ["bench/load_test.py", "--cases", load_cases]
            + (["--users", "10", "--duration", "15", "--throughput-seconds", "5"] if quick else []),
        ),
        ("fault_worker_kill", ["bench/fault_worker_kill.py"] + (["--seconds", "10"] if quick else [])),
        ("worker_start", ["bench/worker_start.py"] + (["--kills", "3", "--imports", "3"] if quick else [])),
    ]


def run(name: str, argv: list[str]) -> tuple[list[tuple[str, str, str, str]], str, float]:
    started = time.perf_counter()
    print(f"\n=== {name}: {' '.join(argv)}", flush=True)
    process = subprocess.Popen(  # noqa: S603 - our own scripts
        [sys.executable, *argv], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    results = []
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        if line.startswith("RESULT|"):
            parts = line.rstrip("\n").split("|")[1:]
            if len(parts) == 4:
                results.append((parts[0], parts[1], parts[2], parts[3]))
    status = process.wait()
    return results, "ok" if status == 0 else f"exit {status}", time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated benchmark names")
    parser.add_argument("--cases", type=int, help="cases for the single-process benchmarks")
    parser.add_argument("--load-cases", type=int, help="cases for the load test")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of every benchmark")
    parser.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    args = parser.parse_args()
    chosen = set(args.only.split(",")) if args.only else None
    rows: list[tuple[str, str, str, str, str]] = []
    runs: list[str] = []
    for name, argv in benchmarks(args):
        if chosen is not None and name not in chosen:
            continue
        if not (ROOT / argv[0]).exists():
            runs.append(f"- {name}: not present")
            continue
        results, status, seconds = run(name, argv)
        runs.append(f"- {name} ({status}, {seconds:.0f} s): `{' '.join(argv)}`")
        rows.extend((name, *result) for result in results)
        if status != "ok" and not results:
            rows.append((name, "did not finish", status, "-", "no"))
        elif not results:
            rows.append((name, "(prints no RESULT lines: see its output)", "-", "-", "-"))
    lines = [
        "# Benchmark results",
        "",
        "Written by `bench/run_all.py` (`scripts/bench`). Figures from one run on this machine:",
        "",
        *machine(),
        "",
        "| benchmark | figure | value | target | met? |",
        "|---|---|---|---|---|",
        *(f"| {b} | {f} | {v} | {t} | {m} |" for b, f, v, t, m in rows),
        "",
        "Runs:",
        "",
        *runs,
        "",
    ]
    args.out.write_text("\n".join(lines))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
