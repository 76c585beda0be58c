"""Releases from the database: who is in them, what is never in them, what every mode releases
(checked independently for k over every released column), what is recorded and spent."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.db import session, utcnow
from casework.exports import columns, ctdc, policy, reader, services
from casework.exports.models import ExportPolicy, ExportRun
from tests.exports.checks import assert_k_anonymous, pycanon_k, read_csv
from tests.exports.seeding import seed_consented


def release(app, tmp_path, kind: str = "microdata", **request):
    out = tmp_path / f"{uuid.uuid4().hex}.csv"
    with app.app_context():
        build, run = {
            "microdata": (services.MicrodataRequest, services.run_microdata),
            "table": (services.TableRequest, services.run_table),
            "synthetic": (services.SyntheticRequest, services.run_synthetic),
            "dp_table": (services.DpTableRequest, services.run_dp_table),
        }[kind]
        done = run(build(**request), None, out=out, via="test")
        session.commit()
        run_id = done.id
    return out, run_id


def released_indexes(header: list[str], rows: list[list[str]]) -> list[int]:
    """The columns that are not -99 whole: every one of them must count for k."""
    return [i for i in range(len(header)) if any(row[i] != "-99" for row in rows)]


@pytest.fixture
def many(app, org):
    with app.app_context():
        seed_consented(org.id, 600, seed=5)
        session.commit()


def test_only_live_cases_of_the_dataset_with_active_research_consent_are_released(
    app, tmp_path, consented_case, make_case, make_consent, make_org, org
) -> None:
    today = date.today()
    for _ in range(11):
        consented_case(opened_on=date(2020, 5, 1))
    # Each excluded case has a registration year of its own, so its presence would show.
    consented_case(opened_on=date(2011, 1, 1), consent={"expires_on": today - timedelta(days=1)})
    consented_case(opened_on=date(2012, 1, 1), consent={"withdrawn_on": today - timedelta(days=1)})
    consented_case(opened_on=date(2013, 1, 1), consent={"decision": "refused"})
    consented_case(opened_on=date(2014, 1, 1), consent={"given_on": today + timedelta(days=3)})
    erased = consented_case(opened_on=date(2015, 1, 1))
    other_purpose = make_case(org, opened_on=date(2016, 1, 1))
    make_consent(other_purpose, "assistance")
    make_case(org, opened_on=date(2017, 1, 1))  # no consent at all
    other = make_org(name="Other agency")
    foreign = make_case(other, opened_on=date(2018, 1, 1))  # another organisation's dataset
    make_consent(foreign, "anonymised_research", given_on=today - timedelta(days=3))
    with app.app_context():
        from casework.cases.models import Case

        session.get(Case, erased.id).erased_at = utcnow()
        session.commit()
        assert reader.count_consented(session, today, org.id) == 11
    out, _run_id = release(app, tmp_path, dataset=org.id, view="all")
    _header, rows = read_csv(out.read_text(encoding="utf-8"))
    assert len(rows) == 11 and {row[0] for row in rows} == {"2020"}


def test_no_free_text_no_identifier_no_date_finer_than_the_year(app, tmp_path, consented_case, org) -> None:
    marker = f"ZQX{uuid.uuid4().hex[:10]}"
    cases = [
        consented_case(
            given_name=f"{marker}given",
            family_name=f"{marker}family",
            aliases=f"{marker}alias",
            phone=f"+1555{marker}",
            address=f"{marker} street",
            profile={"narrative": f"narrative {marker}"},
            consent={"notes": f"consent note {marker}"},
        )
        for _ in range(11)
    ]
    with app.app_context():
        from casework.cases.models import Case, CaseNote

        for case in cases:
            session.add(CaseNote(case_id=case.id, author_org_id=case.owner_org_id, body=f"note {marker}"))
        session.commit()
        references = [session.get(Case, case.id).reference for case in cases]
    for extended in (False, True):
        out, run_id = release(app, tmp_path, dataset=org.id, view="all", extended=extended)
        data = out.read_bytes()
        assert marker.encode() not in data
        for case, reference in zip(cases, references, strict=True):
            assert str(case.id).encode() not in data and case.id.hex.encode() not in data
            assert reference.encode() not in data
        assert not re.search(rb"\d{4}-\d{2}-\d{2}", data)
        header, rows = read_csv(data.decode("utf-8"))
        assert header == list(ctdc.HEADER) + (list(columns.EXTENDED_HEADER) if extended else [])
        assert all(len(row) == len(header) for row in rows)
        with app.app_context():
            run = session.get(ExportRun, run_id)
            assert marker not in str(run.parameters) + str(run.report)


@pytest.mark.parametrize(
    ("view", "chosen", "extended"),
    [
        ("core", (), False),
        ("core", (), True),
        ("all", (), False),
        ("all", (), True),
        ("custom", ("gender", "citizenship", "typeOfExploitConcatenated"), False),
    ],
)
def test_every_microdata_mode_is_k_anonymous_over_every_released_column(
    app, tmp_path, many, org, view, chosen, extended
) -> None:
    out, run_id = release(app, tmp_path, dataset=org.id, view=view, columns=chosen, extended=extended)
    text = out.read_text(encoding="utf-8")
    expected_header = ",".join((*ctdc.HEADER, *(columns.EXTENDED_HEADER if extended else ())))
    assert text.split("\n", 1)[0] == expected_header  # byte for byte
    header, rows = read_csv(text)
    assert len(rows) == 600
    shown = released_indexes(header, rows)
    assert_k_anonymous(rows, 11)  # over the whole row
    assert_k_anonymous(rows, 11, shown)
    assert pycanon_k(rows, header, [header[i] for i in shown]) >= 11
    with app.app_context():
        run = session.get(ExportRun, run_id)
        released = set(run.report["released_columns"])
    assert {header[i] for i in shown} <= released  # every released column is one the view names
    for i, name in enumerate(header):
        if name not in released:
            assert {row[i] for row in rows} == {"-99"}, f"{name} is not in the view yet released"


def test_a_derived_column_is_released_only_with_all_it_is_made_of(app, tmp_path, many, org) -> None:
    out, _ = release(app, tmp_path, dataset=org.id, view="custom", columns=("isForcedLabour", "gender"))
    header, rows = read_csv(out.read_text(encoding="utf-8"))
    for name in ("typeOfExploitConcatenated", "isSexAndLabour", "isSexualExploit", "majorityStatus"):
        assert {row[header.index(name)] for row in rows} == {"-99"}


def test_the_core_view_reports_what_it_kept_per_column(app, tmp_path, many, org) -> None:
    _, run_id = release(app, tmp_path, dataset=org.id, view="core")
    with app.app_context():
        run = session.get(ExportRun, run_id)
        per_column = run.report["per_column"]
        assert set(per_column) == set(columns.resolve("core"))
        for column in per_column.values():
            assert column["known"] >= column["lost"] >= 0
            assert column["kept_share"] == pytest.approx((column["known"] - column["lost"]) / column["known"])
        utility = run.report["utility"]
        assert set(utility) == {"1", "2", "3"} and 0 <= utility["2"]["mean"] <= 1
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "export.run")).scalars().one()
        assert event.details["sha256"] == run.file_sha256
        assert event.details["parameters"]["view"] == "core" and event.details["parameters"]["k"] == 11


def test_requests_outside_the_policy_are_refused(app, consented_case, org, export_limits) -> None:
    export_limits(min_k=15, allowed=["year", "gender"], max_dimensions=1)
    for _ in range(20):
        consented_case()
    with app.app_context():
        cases = [
            (services.MicrodataRequest(dataset=org.id, k=12), "k must be between 15"),
            (services.MicrodataRequest(dataset=org.id, k=15, view="custom", columns=("caseId",)), "Unknown column"),
            (services.MicrodataRequest(dataset=org.id, k=15, view="custom", columns=()), "Choose a view"),
            (
                services.MicrodataRequest(dataset=org.id, k=15, priority=("meansOfControlThreats",)),
                "must be one the view",
            ),
            (services.MicrodataRequest(dataset=uuid.uuid4(), k=15), "Unknown dataset"),
            (services.TableRequest(dataset=org.id, dimensions=("citizenship",)), "does not allow"),
            (services.TableRequest(dataset=org.id, dimensions=("year", "gender")), "At most 1"),
            (services.TableRequest(dataset=org.id, dimensions=("year",), threshold=9), "threshold must be between"),
        ]
        for request, message in cases:
            run = services.run_microdata if isinstance(request, services.MicrodataRequest) else services.run_table
            with pytest.raises(services.ExportRefused, match=message):
                run(request, None)
            session.rollback()
        assert session.execute(select(ExportRun)).first() is None


def test_tables_count_the_dataset_as_it_stood_at_the_start_of_the_month(
    app, tmp_path, consented_case, org, export_limits
) -> None:
    with app.app_context():
        seed_consented(org.id, 300, seed=9)
        session.commit()
    consented_case()  # created now: not in this month's tables
    out, run_id = release(app, tmp_path, "table", dataset=org.id, dimensions=("gender",))
    with app.app_context():
        run = session.get(ExportRun, run_id)
        assert run.rows_in == 300
        assert run.parameters["as_of"] == services.table_cutoff().isoformat()
    _, rows = read_csv(out.read_text(encoding="utf-8"))
    assert all(row[1] == "suppressed" or int(row[1]) >= 10 for row in rows)


def test_exploitation_type_and_assistance_tables_state_their_unit(app, consented_case, org) -> None:
    with app.app_context():
        assert services.tables.unit_of(("exploitation_type",)) == "case_exploitation_types"
        assert services.tables.unit_of(("year", "assistance_kind")) == "services"


def test_the_policy_is_validated_versioned_and_audited(app, supervisor, org) -> None:
    values = {
        "min_k": 15, "min_threshold": 20, "max_dimensions": 2, "allowed_dimensions": ["year"],
        "protection_width": 4, "noise_scale": 2.5, "rounding_base": 5, "epsilon_budget": 3.0, "delta_budget": 1e-5,
    }  # fmt: skip
    with app.app_context():
        actor = session.get(type(supervisor), supervisor.id)
        for name, bad, message in (
            ("min_k", 10, "cannot be lowered below 11"),
            ("min_threshold", 9, "cannot be lowered below 10"),
            ("protection_width", 1, "cannot be narrower"),
            ("noise_scale", 0.5, "cannot be lowered below"),
            ("rounding_base", 4, "Unknown rounding"),
            ("epsilon_budget", 1000.0, "between 0 and"),
        ):
            with pytest.raises(policy.PolicyRefused, match=message):
                policy.update_policy(actor, org.id, version_id=0, **{**values, name: bad})
        policy.update_policy(actor, org.id, version_id=0, **values)
        session.commit()
        with pytest.raises(policy.PolicyConflict):
            policy.update_policy(actor, org.id, version_id=0, **values)
        session.rollback()
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "export.policy")).scalars().one()
        assert event.details["min_k"] == 15 and event.target_id == str(org.id)


def test_the_database_refuses_a_policy_below_the_floors(app, org) -> None:
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        below = policy.default_policy(org.id)
        below.min_k = 2
        session.add(below)
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()


# -- differentially private releases -----------------------------------------------------------------
def test_a_private_table_spends_the_budget_and_records_it(app, tmp_path, many, org, export_limits) -> None:
    export_limits(epsilon_budget=1.5)
    out, run_id = release(app, tmp_path, "dp_table", dataset=org.id, dimensions=("year", "gender"), epsilon=1.0)
    with app.app_context():
        run = session.get(ExportRun, run_id)
        assert (run.epsilon, run.delta) == (1.0, 0.0)
        assert session.get(ExportPolicy, org.id).epsilon_spent == pytest.approx(1.0)
        assert "mean_absolute_error" in run.report["utility"]
    _, rows = read_csv(out.read_text(encoding="utf-8"))
    assert all(row[2] == "suppressed" or int(row[2]) >= 10 for row in rows)
    with app.app_context(), pytest.raises(services.ExportRefused, match="only ε = 0.50"):
        services.run_dp_table(services.DpTableRequest(dataset=org.id, dimensions=("year",), epsilon=1.0), None)
    with app.app_context():
        session.rollback()
        assert session.get(ExportPolicy, org.id).epsilon_spent == pytest.approx(1.0)  # nothing spent
        assert len(session.execute(select(ExportRun)).all()) == 1  # nothing released


def test_a_private_table_refuses_counts_of_services(app, many, org, export_limits) -> None:
    export_limits(epsilon_budget=5)
    with app.app_context(), pytest.raises(services.ExportRefused, match="count services"):
        services.run_dp_table(services.DpTableRequest(dataset=org.id, dimensions=("assistance_kind",)), None)


def test_no_budget_set_means_no_private_release(app, many, org) -> None:
    with app.app_context(), pytest.raises(services.ExportRefused, match="No privacy budget"):
        services.run_dp_table(services.DpTableRequest(dataset=org.id, dimensions=("year",)), None)


def test_private_synthetic_data_in_the_ctdc_layout(app, tmp_path, org, export_limits) -> None:
    export_limits(epsilon_budget=4)
    with app.app_context():
        seed_consented(org.id, 300, seed=13)
        session.commit()
    out, run_id = release(app, tmp_path, "synthetic", dataset=org.id, epsilon=2.0, view="custom",
                          columns=("gender", "ageBroad", "isForcedLabour", "isSexualExploit"))  # fmt: skip
    text = out.read_text(encoding="utf-8")
    assert text.split("\n", 1)[0] == ",".join(ctdc.HEADER)
    header, rows = read_csv(text)
    assert_k_anonymous(rows, 11)
    with app.app_context():
        run = session.get(ExportRun, run_id)
        assert run.kind == services.KIND_SYNTHETIC
        assert run.epsilon == 2.0 and run.delta == pytest.approx(services.dp.SYNTHETIC_DELTA)
        assert set(run.report["utility"]) == {"1", "2", "3"}
        assert session.get(ExportPolicy, org.id).epsilon_spent == pytest.approx(2.0)


def _burst(app, org, threads: int = 6) -> list[str]:
    """Releases of epsilon 1 at once, each on its own session, against a budget of 2."""
    outcomes: list[str] = []
    barrier = threading.Barrier(threads)

    def one() -> None:
        with app.app_context():
            barrier.wait()
            try:
                services.run_dp_table(
                    services.DpTableRequest(dataset=org.id, dimensions=("gender",), epsilon=1.0), None
                )
                session.commit()
                outcomes.append("done")
            except services.ExportRefused:
                session.rollback()
                outcomes.append("refused")

    workers = [threading.Thread(target=one) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return outcomes


def _check_burst(app, org, outcomes: list[str]) -> None:
    assert outcomes.count("done") == 2 and outcomes.count("refused") == 4
    with app.app_context():
        spent = session.get(ExportPolicy, org.id).epsilon_spent
        ledger = sum(r.epsilon for r in session.execute(select(ExportRun)).scalars())
        assert spent == pytest.approx(2.0) and ledger == pytest.approx(2.0)


def test_concurrent_private_releases_cannot_overspend(app, many, org, export_limits) -> None:
    export_limits(epsilon_budget=2.0)
    _check_burst(app, org, _burst(app, org))


@pytest.mark.postgres
def test_concurrent_private_releases_cannot_overspend_on_postgresql(app, org, export_limits) -> None:
    with app.app_context():
        seed_consented(org.id, 200, seed=3)
        session.commit()
    export_limits(epsilon_budget=2.0)
    _check_burst(app, org, _burst(app, org))


@pytest.mark.postgres
def test_microdata_and_tables_on_postgresql(app, tmp_path, org, make_case) -> None:
    with app.app_context():
        seed_consented(org.id, 300, seed=21, entered=datetime.now(UTC) - timedelta(days=40))
        session.commit()
    make_case(org)  # no consent
    out, _ = release(app, tmp_path, dataset=org.id, view="core", extended=True)
    header, rows = read_csv(out.read_text(encoding="utf-8"))
    assert len(rows) == 300
    assert_k_anonymous(rows, 11, released_indexes(header, rows))
    _, run_id = release(app, tmp_path, "table", dataset=org.id, dimensions=("age_band", "exploitation_type"))
    with app.app_context():
        assert session.get(ExportRun, run_id).rows_in >= 300
