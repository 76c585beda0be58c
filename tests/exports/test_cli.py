"""``flask export ctdc`` and ``flask export aggregates``."""

from __future__ import annotations

import hashlib
from datetime import date

from sqlalchemy import select

from casework.db import session
from casework.exports import ctdc
from casework.exports.models import ExportRun
from tests.exports.checks import assert_k_anonymous, long_table_to_array, read_csv, recoverable_entries


def test_export_ctdc_writes_a_k_anonymous_file_and_shows_progress(
    app, runner, tmp_path, consented_case, export_limits
) -> None:
    export_limits(min_k=2)
    for age in (19, 19, 24, 24, 24, 52):
        consented_case(age_at_registration=age)
    out = tmp_path / "ctdc.csv"
    result = runner.invoke(args=["export", "ctdc", "--out", str(out), "--k", "3", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert "read" in result.stderr and "write" in result.stderr
    assert "6 rows" in result.stdout
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(ctdc.HEADER)
    header, rows = read_csv(text)
    assert len(rows) == 6
    assert_k_anonymous(rows, 3)
    with app.app_context():
        run = session.execute(select(ExportRun)).scalar_one()
        assert run.requested_by_id is None and run.parameters["via"] == "cli"
        assert run.file_sha256 == hashlib.sha256(out.read_bytes()).hexdigest()


def test_export_ctdc_refuses_k_below_the_limit_and_writes_nothing(runner, tmp_path, consented_case) -> None:
    consented_case()
    out = tmp_path / "ctdc.csv"
    result = runner.invoke(args=["export", "ctdc", "--out", str(out), "--k", "5"])
    assert result.exit_code != 0
    assert "k must be between 11" in result.output
    assert not out.exists()


def test_export_aggregates(app, runner, tmp_path, consented_case, export_limits) -> None:
    export_limits(min_threshold=3)
    for gender, year, n in (("female", 2022, 9), ("male", 2022, 1), ("female", 2023, 4), ("male", 2023, 5)):
        for _ in range(n):
            consented_case(gender=gender, opened_on=date(year, 6, 1))
    out = tmp_path / "table.csv"
    result = runner.invoke(args=["export", "aggregates", "--by", "year,gender", "--out", str(out), "--threshold", "3"])
    assert result.exit_code == 0, result.output
    header, rows = read_csv(out.read_text(encoding="utf-8"))
    assert header == ["year", "gender", "count"]
    labels, entries = long_table_to_array(rows, 2)
    assert recoverable_entries((len(labels[0]), len(labels[1])), entries, "suppressed") == []
    assert "1" not in {row[2] for row in rows}


def test_export_aggregates_refuses_an_unknown_dimension(runner, tmp_path) -> None:
    result = runner.invoke(args=["export", "aggregates", "--by", "name", "--out", str(tmp_path / "t.csv")])
    assert result.exit_code != 0
    assert "Unknown or repeated dimension" in result.output
