"""The attacks of the disclosure review (issue 20), run against the real interfaces.

Each test failed on the code before the research-release work (the evidence is in the
branch's report); they go through the web forms and the command line as an attacker would.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import numpy as np
import pytest
from sqlalchemy import select

from casework import synthetic, vocab
from casework.db import session
from tests.exports.attacks import averaged_guess, strongest_attack
from tests.exports.checks import assert_k_anonymous, long_table_to_array, read_csv
from tests.exports.seeding import seed_consented

SETTINGS_FORM = {
    "min_k": "11",
    "min_threshold": "10",
    "max_dimensions": "2",
    "allowed_dimensions": ["year", "gender", "age_band", "citizenship", "country_of_exploitation"],
    "protection_width": "3",
    "noise_scale": "2",
    "rounding_base": "1",
    "epsilon_budget": "0",
    "version_id": "0",
}


def _saved_min_k(app, org) -> int | None:
    from casework.exports import policy

    with app.app_context():
        return policy.policy_for(org.id).min_k


# -- floors --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value"), [("min_k", "2"), ("min_k", "10"), ("min_threshold", "1"), ("min_threshold", "9")]
)
def test_a_supervisor_cannot_lower_a_floor_from_the_web_form(app, client, supervisor, login, org, field, value) -> None:
    login(client, supervisor)
    response = client.post("/exports/settings", data={**SETTINGS_FORM, field: value})
    assert response.status_code == 400
    assert b"cannot be lowered below" in response.data
    assert _saved_min_k(app, org) == 11


def test_after_a_lowering_attempt_a_researcher_still_cannot_export_below_k_11(
    client, supervisor, researcher, login, consented_case, org
) -> None:
    for _ in range(12):
        consented_case()
    login(client, supervisor)
    client.post("/exports/settings", data={**SETTINGS_FORM, "min_k": "2"})
    client.post("/auth/logout")
    login(client, researcher)
    response = client.post("/exports/microdata", data={"k": "5", "dataset": str(org.id), "view": "core"})
    assert response.status_code == 400
    assert b"Enter a number from 11" in response.data


def test_the_command_line_refuses_k_and_threshold_below_the_floors(
    client, runner, tmp_path, supervisor, login, consented_case
) -> None:
    for _ in range(12):
        consented_case()
    login(client, supervisor)
    client.post("/exports/settings", data={**SETTINGS_FORM, "min_k": "2", "min_threshold": "1"})
    out = tmp_path / "ctdc.csv"
    result = runner.invoke(args=["export", "ctdc", "--out", str(out), "--k", "5"])
    assert result.exit_code != 0 and "k must be between 11" in result.output
    assert not out.exists()
    table = tmp_path / "table.csv"
    result = runner.invoke(args=["export", "aggregates", "--by", "year", "--out", str(table), "--threshold", "3"])
    assert result.exit_code != 0 and "threshold must be between 10" in result.output
    assert not table.exists()


# -- holes of the command line ----------------------------------------------------------------------
def test_no_option_releases_a_column_without_counting_it(runner, tmp_path, consented_case) -> None:
    """``--qi`` with the contract's minimum list let Datasource single someone out."""
    for _ in range(11):
        consented_case()
    consented_case(data_source="hotline")  # the same person but for the data source
    out = tmp_path / "ctdc.csv"
    minimum = "yearOfRegistration,gender,ageBroad,majorityStatus,majorityStatusAtExploit,majorityEntry,citizenship,"
    minimum += "CountryOfExploitation,isForcedLabour,isSexualExploit,isOtherExploit,isSexAndLabour,isForcedMarriage,"
    minimum += "isForcedMilitary,isOrganRemoval,isSlaveryAndPractices,typeOfExploitConcatenated"
    result = runner.invoke(args=["export", "ctdc", "--out", str(out), "--k", "11", "--qi", minimum])
    if out.exists():
        _, rows = read_csv(out.read_text(encoding="utf-8"))
        assert_k_anonymous(rows, 11)
    assert result.exit_code != 0


def test_a_seed_does_not_fix_the_row_order(runner, tmp_path, consented_case) -> None:
    """A known ``--seed`` gave the same order every time (order then tracks registration)."""
    for year in [2020] * 15 + [2021] * 15:
        consented_case(opened_on=date(year, 3, 1))
    orders = []
    for attempt in range(2):
        out = tmp_path / f"ctdc{attempt}.csv"
        result = runner.invoke(args=["export", "ctdc", "--out", str(out), "--k", "11", "--seed", "1"])
        if result.exit_code != 0:
            assert "No such option" in result.output
            return
        orders.append(out.read_text(encoding="utf-8"))
    assert orders[0] != orders[1]


def test_two_exports_without_a_seed_are_shuffled_differently(runner, tmp_path, consented_case) -> None:
    for year in [2020] * 15 + [2021] * 15:
        consented_case(opened_on=date(year, 3, 1))
    texts = []
    for attempt in range(2):
        out = tmp_path / f"ctdc{attempt}.csv"
        assert runner.invoke(args=["export", "ctdc", "--out", str(out)]).exit_code == 0
        texts.append(out.read_text(encoding="utf-8"))
    assert texts[0] != texts[1]
    assert sorted(texts[0].splitlines()) == sorted(texts[1].splitlines())


# -- loss ----------------------------------------------------------------------------------------------
def test_loss_is_reported_per_column_as_a_share_of_known_values(app, runner, tmp_path, consented_case) -> None:
    """24% was reported where 37% of the known values were lost: cells missing before counted."""
    from casework.exports.models import ExportRun

    for i in range(22):
        consented_case(citizenship="NG" if i < 11 else None)
    consented_case(citizenship="UA")  # unique: its citizenship must go
    result = runner.invoke(args=["export", "ctdc", "--out", str(tmp_path / "c.csv")])
    assert result.exit_code == 0, result.output
    with app.app_context():
        run = session.execute(select(ExportRun)).scalar_one()
        column = run.report["per_column"]["citizenship"]
        assert column["known"] == 12  # 11 NG + 1 UA; the 11 without citizenship are not "lost"
        assert column["lost"] >= 1
        assert column["kept_share"] == pytest.approx((12 - column["lost"]) / 12)


# -- tables ----------------------------------------------------------------------------------------
@pytest.fixture
def seeded(app, org):
    """3,000 realistic consented cases of one organisation, entered last month."""
    with app.app_context():
        seed_consented(org.id, 3000, seed=11)
        session.commit()
    return synthetic.generate(3000, synthetic.SyntheticParameters(seed=11))


def _table(runner, tmp_path, by: str, name: str = "table") -> tuple[list[str], list[list[str]], str]:
    out = tmp_path / f"{name}.csv"
    result = runner.invoke(args=["export", "aggregates", "--by", by, "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    header, rows = read_csv(text)
    return header, rows, text


@pytest.mark.parametrize("by", ["gender,citizenship", "citizenship,exploitation_type"])
def test_integer_programming_recovers_no_hidden_count(runner, tmp_path, seeded, by) -> None:
    """With hidden cells >= 1 (zeros were published), HiGHS pinned single people down. The
    perturbation is keyed by this run's fresh keyring, so every run tries another key."""
    _, rows, _ = _table(runner, tmp_path, by)
    labels, entries = long_table_to_array(rows, 2)
    shape = (len(labels[0]), len(labels[1]))
    assert list(entries.values()).count("suppressed") > 0
    # Zeros are hidden like any small count, so nothing tells the attacker that a hidden count
    # holds someone; the attack tries both premises (hidden >= 0 and >= 1) anyway.
    assert "0" not in {value for value in entries.values() if value != "suppressed"}
    assert strongest_attack(shape, entries, "suppressed") == {}


def test_a_perturbation_that_let_the_published_counts_pin_a_row_no_longer_does(app, org, seeded) -> None:
    """One CI run's keyring perturbed citizenship by exploitation type so that a row's published
    total left its hidden counts no room: 8 counts pinned (to 0, most of them truly 0). The same
    kind of draw, fixed here: the noise of seed 6 pinned 7 hidden counts of this table, 2 of
    them to their true value, before the published table was checked as the attacker sees it."""
    from casework.exports import aggregates, cellkey, tables

    with app.app_context():
        dims = ("citizenship", "exploitation_type")
        categories, counts = tables.build_counts(session, dims, date.today(), org.id)
    full = aggregates.with_margins(counts)
    noise = cellkey.geometric(np.random.default_rng(6).random(full.shape), 2.0)
    table = aggregates.protect(dims, categories, counts, threshold=10, width=3, noise=noise)
    entries = {cell: table.text(cell) for cell in np.ndindex(full.shape)}
    assert strongest_attack(full.shape, entries, "suppressed") == {}


def test_one_new_case_changes_no_published_count(app, runner, tmp_path, seeded, consented_case) -> None:
    """The same table before and after one new case showed that person's year, gender and
    citizenship (+1 on exactly their totals)."""
    by = "year,gender"
    _, before, _ = _table(runner, tmp_path, by, "before")
    _, by_citizenship, _ = _table(runner, tmp_path, "citizenship", "c-before")
    consented_case(gender="male", citizenship="IS", opened_on=date.today())
    _, after, _ = _table(runner, tmp_path, by, "after")
    _, by_citizenship_after, _ = _table(runner, tmp_path, "citizenship", "c-after")
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert changed == []
    assert by_citizenship == by_citizenship_after


def test_thirty_repeated_requests_recover_no_exact_count(runner, tmp_path, seeded) -> None:
    """With random rounding chosen by the researcher, 30 requests recovered 87 of 88 counts."""
    data = seeded
    truth = Counter(
        (str(int(year)), str(vocab.GENDERS.get(g).ctdc) if g else vocab.MISSING)
        for year, g in zip(data.year, data.gender, strict=True)
    )
    releases = []
    for attempt in range(30):
        _, rows, _ = _table(runner, tmp_path, "year,gender", f"r{attempt}")
        releases.append({(row[0], row[1]): row[2] for row in rows})
    assert all(release == releases[0] for release in releases)  # nothing new to average
    guess = averaged_guess(releases)
    inner = {key: value for key, value in guess.items() if "Total" not in key and key in truth}
    assert len(inner) >= 10  # the male cells of early years are hidden, so are what protects them
    exact = sum(1 for key, value in inner.items() if value == truth[key])
    assert exact <= 0.6 * len(inner), f"{exact} of {len(inner)} published counts are exact"


def test_category_lists_do_not_depend_on_the_data(runner, tmp_path, seeded, consented_case) -> None:
    """A citizenship appeared in the table the first time someone had it."""
    _, rows, _ = _table(runner, tmp_path, "citizenship")
    listed = {row[0] for row in rows}
    assert {c.code for c in vocab.COUNTRIES} <= listed
