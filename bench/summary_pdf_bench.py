"""Time to make a case summary PDF (casework.partners.pdf), and what its first use costs a worker.

Three figures, each the median and 95th percentile of ``--repeat`` renders in one process:
a summary in Latin script only (one Noto font embedded), and one holding names in Burmese,
Khmer, Arabic, Cyrillic, Devanagari and Vietnamese (five fonts, HarfBuzz shaping, bidi); and,
in a fresh interpreter, the first import of the PDF module (fpdf2, HarfBuzz, fontTools), which
the app defers to the first PDF so that a gunicorn worker starts without it.

    .venv/bin/python bench/summary_pdf_bench.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from casework import create_app  # noqa: E402
from casework.crypto.keyring import Keyring  # noqa: E402
from casework.partners import summary as summaries  # noqa: E402

LATIN = {"Given name": "Amina", "Family name": "Okafor", "Place of birth": "Benin City", "Languages": "Edo, English"}
SCRIPTS = {
    "Burmese": "အောင်ဆန်းစုကြည်",
    "Khmer": "សុខ សុភា",
    "Arabic": "فاطمة الزهراء",
    "Cyrillic": "Анна Кузнецова",
    "Devanagari": "सीता देवी",
    "Vietnamese": "Nguyễn Thị Ánh",
}


def a_summary(values: dict[str, str]) -> summaries.Summary:
    lines = [summaries.Line(label, value) for label, value in values.items()]
    section = summaries.Section("The person", lines=lines, texts=list(lines))
    return summaries.Summary("victim", "The person", "CT-2026-000001", date(2026, 12, 4), "A copy", [section])


def timed(render, summary: summaries.Summary, repeat: int) -> tuple[float, float]:
    render(summary)  # the first render reads each font's character map once per process
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        render(summary)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def first_import_ms() -> float:
    script = (
        "import time, casework.partners.summary; t = time.perf_counter(); import casework.partners.pdf; "
        "print((time.perf_counter() - t) * 1000)"
    )
    samples = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)  # noqa: S603
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        keyring = Path(tmp) / "keyring.json"
        Keyring.generate().save(keyring)
        app = create_app(
            {
                "env": "testing",
                "secret_key": "bench-secret-key-that-is-long-enough-0123456789",
                "instance_path": Path(tmp),
                "database_url": f"sqlite:///{tmp}/bench.sqlite3",
                "keyring_path": keyring,
            }
        )
        with app.test_request_context():
            from casework.partners import pdf

            latin = timed(pdf.render, a_summary(LATIN), args.repeat)
            scripts = timed(pdf.render, a_summary(SCRIPTS), args.repeat)
    imported = first_import_ms()
    print(f"summary PDF, Latin only: median {latin[0]:.0f} ms, p95 {latin[1]:.0f} ms ({args.repeat} renders)")
    print(f"summary PDF, six scripts: median {scripts[0]:.0f} ms, p95 {scripts[1]:.0f} ms ({args.repeat} renders)")
    print(
        "first import of the PDF module (fpdf2, HarfBuzz, fontTools; the app already imported): "
        f"median {imported:.0f} ms of 3 fresh interpreters"
    )
    print(f"RESULT|summary PDF p95, Latin only|{latin[1]:.0f} ms|< 1000 ms|{'yes' if latin[1] < 1000 else 'no'}")
    print(f"RESULT|summary PDF p95, six scripts|{scripts[1]:.0f} ms|< 3000 ms|{'yes' if scripts[1] < 3000 else 'no'}")
    print(f"RESULT|PDF module first import (deferred from start-up)|{imported:.0f} ms|-|-")


if __name__ == "__main__":
    main()
