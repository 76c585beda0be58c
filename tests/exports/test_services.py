"""Exports from the database: who is in them, what is never in them, what is recorded."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.db import session, utcnow
from casework.exports import ctdc, reader, services
from casework.exports.models import ExportRun
from tests.exports.checks import (
    assert_k_anonymous,
    long_table_to_array,
    pycanon_k,
    read_csv,
    recoverable_entries,
)

CONTRACT_MINIMUM = list(ctdc.CONTRACT_MINIMUM_QI)


def run_microdata(app, tmp_path, **request):
    out = tmp_path / f"{uuid.uuid4().hex}.csv"
    with app.app_context():
        run = services.run_microdata(services.MicrodataRequest(**request), None, out=out, via="test")
        session.commit()
        run_id = run.id
    return out, run_id


def test_only_live_cases_with_active_research_consent_are_exported(
    app, tmp_path, consented_case, make_case, make_consent, org, export_limits
) -> None:
    export_limits(min_k=2)
    today = date.today()
    for _ in range(3):
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
    with app.app_context():
        from casework.cases.models import Case

        session.get(Case, erased.id).erased_at = utcnow()
        session.commit()
        codes = reader.read_ctdc_codes(session, today)
        years = set(ctdc.decode(codes)[ctdc.HEADER.index("yearOfRegistration")].tolist())
        assert years == {"2020"}
        assert reader.count_consented(session, today) == 3
    out, _run_id = run_microdata(app, tmp_path, k=2)
    header, rows = read_csv(out.read_text(encoding="utf-8"))
    assert len(rows) == 3
    assert {row[0] for row in rows} == {"2020"}


def test_no_free_text_no_identifier_no_date_finer_than_the_year(
    app, tmp_path, consented_case, make_consent, export_limits
) -> None:
    export_limits(min_k=2)
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
        for _ in range(3)
    ]
    with app.app_context():
        from casework.cases.models import Case, CaseNote

        for case in cases:
            session.add(CaseNote(case_id=case.id, author_org_id=case.owner_org_id, body=f"note {marker}"))
        session.commit()
        references = [session.get(Case, case.id).reference for case in cases]
    out, run_id = run_microdata(app, tmp_path, k=2)
    data = out.read_bytes()
    assert marker.encode() not in data
    for case, reference in zip(cases, references, strict=True):
        assert str(case.id).encode() not in data
        assert case.id.hex.encode() not in data
        assert reference.encode() not in data
    assert not re.search(rb"\d{4}-\d{2}-\d{2}", data)
    header, rows = read_csv(data.decode("utf-8"))
    assert header == list(ctdc.HEADER)  # no column outside the contract
    assert all(len(row) == len(header) for row in rows)
    with app.app_context():
        run = session.get(ExportRun, run_id)
        assert marker not in str(run.parameters) + str(run.report)


def test_the_file_is_k_anonymous_and_recorded_with_its_checksum(app, tmp_path, consented_case, export_limits) -> None:
    export_limits(min_k=2)
    ages = [19, 19, 19, 25, 25, 25, 33, 61]
    citizenships = ["NG", "NG", "RO", "NG", "RO", "RO", "VN", "UA"]
    for age, citizenship in zip(ages, citizenships, strict=True):
        consented_case(age_at_registration=age, citizenship=citizenship)
    out, run_id = run_microdata(app, tmp_path, k=3)
    header, rows = read_csv(out.read_text(encoding="utf-8"))
    assert len(rows) == len(ages)
    assert_k_anonymous(rows, 3)
    assert pycanon_k(rows, header, header) >= 3
    with app.app_context():
        run = session.get(ExportRun, run_id)
        assert run.status == "done"
        assert run.file_sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
        assert run.rows_in == run.rows_out == len(ages)
        assert run.parameters["k"] == 3 and run.parameters["via"] == "test"
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "export.run")).scalar_one()
        assert event.target_id == str(run_id)
        assert event.details["rows_out"] == len(ages)
        assert event.details["sha256"] == run.file_sha256


def test_a_subset_of_quasi_identifiers_is_still_k_anonymous_over_them(
    app, tmp_path, consented_case, export_limits
) -> None:
    export_limits(min_k=2)
    for age in (19, 19, 25, 25, 25, 40):
        consented_case(age_at_registration=age)
    out, _run_id = run_microdata(app, tmp_path, k=2, quasi_identifiers=tuple(CONTRACT_MINIMUM))
    header, rows = read_csv(out.read_text(encoding="utf-8"))
    assert_k_anonymous(rows, 2, [header.index(c) for c in CONTRACT_MINIMUM])


def test_requests_outside_the_limits_are_refused(app, consented_case, export_limits) -> None:
    export_limits(min_k=5, min_threshold=10, max_dimensions=2, allowed=["year", "gender"])
    consented_case()
    with app.app_context():
        with pytest.raises(services.ExportRefused) as refused:
            services.run_microdata(services.MicrodataRequest(k=4), None)
        assert refused.value.field == "k"
        with pytest.raises(services.ExportRefused, match="at least"):
            services.run_microdata(services.MicrodataRequest(k=5, quasi_identifiers=("gender",)), None)
        with pytest.raises(services.ExportRefused):
            services.run_microdata(services.MicrodataRequest(k=5, priority=("caseId",)), None)
        with pytest.raises(services.ExportRefused) as refused:
            services.run_microdata(services.MicrodataRequest(k=5), None)  # 1 case < k
        assert refused.value.field is None
        for request in (
            services.TableRequest(dimensions=("citizenship",)),
            services.TableRequest(dimensions=("year", "gender"), threshold=9),
            services.TableRequest(dimensions=()),
            services.TableRequest(dimensions=("year", "year")),
            services.TableRequest(dimensions=("year",), rounding="up"),
        ):
            with pytest.raises(services.ExportRefused):
                services.run_table(request, None)
        session.rollback()
        assert session.execute(select(ExportRun)).first() is None


def test_tables_count_consented_cases_and_protect_their_margins(
    app, tmp_path, consented_case, make_case, org, export_limits
) -> None:
    export_limits(min_threshold=3)
    for gender, year, n in (("female", 2020, 7), ("male", 2020, 2), ("female", 2021, 5), ("male", 2021, 6)):
        for _ in range(n):
            consented_case(gender=gender, opened_on=date(year, 3, 1))
    for _ in range(4):
        make_case(org, gender="male", opened_on=date(2021, 3, 1))  # no consent: not counted
    out = tmp_path / "table.csv"
    with app.app_context():
        run = services.run_table(services.TableRequest(("year", "gender"), threshold=3), None, out=out)
        session.commit()
        assert run.rows_in == 20
        assert run.report["unit"] == "cases"
    header, rows = read_csv(out.read_text(encoding="utf-8"))
    assert header == ["year", "gender", "count"]
    labels, entries = long_table_to_array(rows, 2)
    shape = (len(labels[0]), len(labels[1]))
    assert entries[(labels[0].index("Total"), labels[1].index("Total"))] == "20"
    assert entries[(labels[0].index("2020"), labels[1].index("Male"))] == "suppressed"
    assert recoverable_entries(shape, entries, "suppressed") == []


def test_exploitation_type_and_assistance_tables_state_their_unit(app, consented_case, export_limits) -> None:
    export_limits(min_threshold=2)
    consented_case(profile={"exploitation_types": frozenset({"forced_labour", "sexual_exploitation"})})
    with app.app_context():
        run = services.run_table(services.TableRequest(("exploitation_type",), threshold=2), None)
        assert run.report["unit"] == "case_exploitation_types"
        assert run.rows_in == 2  # one case, two types
        run = services.run_table(services.TableRequest(("assistance_kind",), threshold=2), None)
        assert run.report["unit"] == "services"
        assert run.rows_in == 0


def test_settings_are_validated_versioned_and_audited(app, supervisor) -> None:
    with app.app_context():
        settings = services.current_settings()
        assert settings.min_k == 11 and services.settings_version(settings) == 0
        with pytest.raises(services.ExportRefused):
            services.update_settings(
                supervisor, min_k=1, min_threshold=10, max_dimensions=2, allowed_dimensions=[], version_id=0
            )
        services.update_settings(
            supervisor, min_k=15, min_threshold=12, max_dimensions=3, allowed_dimensions=["year"], version_id=0
        )
        session.commit()
        saved = services.current_settings()
        assert (saved.min_k, saved.min_threshold, saved.allowed_dimensions) == (15, 12, ["year"])
        with pytest.raises(services.SettingsConflict):
            services.update_settings(
                supervisor, min_k=20, min_threshold=12, max_dimensions=3, allowed_dimensions=[], version_id=0
            )
        session.rollback()
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "export.settings")).scalar_one()
        assert event.details["min_k"] == 15


@pytest.mark.postgres
def test_microdata_and_tables_on_postgresql(app, tmp_path, consented_case, make_case, org, export_limits) -> None:
    export_limits(min_k=2, min_threshold=2)
    for age in (20, 20, 20, 35, 35):
        consented_case(age_at_registration=age, profile={"abducted": None})
    make_case(org)  # no consent
    out, _run_id = run_microdata(app, tmp_path, k=2)
    header, rows = read_csv(out.read_text(encoding="utf-8"))
    assert len(rows) == 5
    assert_k_anonymous(rows, 2)
    with app.app_context():
        run = services.run_table(services.TableRequest(("age_band", "exploitation_type"), threshold=2), None)
        assert run.rows_in == 5
