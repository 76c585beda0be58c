"""``flask export ctdc|aggregates|synthetic|dp-table``."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from casework.db import session
from casework.exports import ctdc
from casework.exports.models import ExportPolicy, ExportRun
from tests.exports.checks import assert_k_anonymous, read_csv
from tests.exports.seeding import seed_consented


def test_export_ctdc_writes_a_k_anonymous_file_and_shows_progress(app, runner, tmp_path, org) -> None:
    with app.app_context():
        seed_consented(org.id, 200)
        session.commit()
    out = tmp_path / "ctdc.csv"
    result = runner.invoke(args=["export", "ctdc", "--out", str(out), "--view", "all"])
    assert result.exit_code == 0, result.output
    assert "read" in result.stderr and "write" in result.stderr
    assert "200 rows" in result.stdout
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(ctdc.HEADER)
    _header, rows = read_csv(text)
    assert len(rows) == 200
    assert_k_anonymous(rows, 11)
    with app.app_context():
        run = session.execute(select(ExportRun)).scalar_one()
        assert run.requested_by_id is None and run.parameters["via"] == "cli"
        assert run.organisation_id == org.id
        assert run.file_sha256 == hashlib.sha256(out.read_bytes()).hexdigest()


def test_a_dataset_is_named_when_there_are_several(app, runner, tmp_path, org, make_org) -> None:
    make_org(name="Second agency")
    out = tmp_path / "ctdc.csv"
    result = runner.invoke(args=["export", "ctdc", "--out", str(out)])
    assert result.exit_code != 0 and "Choose the dataset" in result.output
    result = runner.invoke(args=["export", "ctdc", "--out", str(out), "--dataset", "Nobody"])
    assert result.exit_code != 0 and "no dataset" in result.output
    assert not out.exists()


def test_export_aggregates(app, runner, tmp_path, org) -> None:
    with app.app_context():
        seed_consented(org.id, 400)
        session.commit()
    out = tmp_path / "table.csv"
    result = runner.invoke(args=["export", "aggregates", "--by", "year,gender", "--out", str(out)])
    assert result.exit_code == 0, result.output
    header, rows = read_csv(out.read_text(encoding="utf-8"))
    assert header == ["year", "gender", "count"]
    assert all(row[2] == "suppressed" or int(row[2]) >= 10 for row in rows)


def test_export_aggregates_refuses_an_unknown_dimension(runner, tmp_path, org) -> None:
    result = runner.invoke(args=["export", "aggregates", "--by", "name", "--out", str(tmp_path / "t.csv")])
    assert result.exit_code != 0
    assert "Unknown or repeated dimension" in result.output


def test_private_releases_from_the_command_line_spend_the_budget(app, runner, tmp_path, org, export_limits) -> None:
    with app.app_context():
        seed_consented(org.id, 300)
        session.commit()
    export_limits(epsilon_budget=1.0)
    out = tmp_path / "dp.csv"
    result = runner.invoke(args=["export", "dp-table", "--by", "gender", "--epsilon", "0.6", "--out", str(out)])
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["export", "dp-table", "--by", "gender", "--epsilon", "0.6", "--out", str(out) + "2"])
    assert again.exit_code != 0 and "nothing was released or spent" in again.output
    with app.app_context():
        assert session.get(ExportPolicy, org.id).epsilon_spent == 0.6
