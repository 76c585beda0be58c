"""Kind-specific checks: dates in the wrong order or the future, numbers, amounts, currencies,
and the conditions between fields."""

from __future__ import annotations

import pytest

from tests.assistance.conftest import FUTURE, GOOD, TOMORROW, count_services, field_error

CASES = [
    # (kind, changes, field, part of the message)
    ("shelter", {"admitted_on": TOMORROW}, "admitted_on", "future"),
    ("shelter", {"admitted_on": "2025-04-10", "discharged_on": "2025-04-01"}, "discharged_on", "before admission"),
    ("shelter", {"discharged_on": "31/12/2024"}, "discharged_on", "real date"),
    ("shelter", {"admitted_on": "1850-01-01"}, "admitted_on", "between 1900 and 2100"),
    ("legal", {"permit_status": "applied"}, "permit_expires_on", "granted permit"),
    ("legal", {"permit_expires_on": "soon"}, "permit_expires_on", "real date"),
    ("legal", {"next_hearing_on": "next week"}, "next_hearing_on", "real date"),
    ("legal", {"proceeding_type": "none"}, "proceeding_outcome", "type of proceedings"),
    ("legal", {"proceeding_outcome": "hanged"}, "proceeding_outcome", "options listed"),
    ("legal", {"representative": "a" * 201}, "representative", "200"),
    ("medical", {"follow_up_on": "2025-04-01"}, "follow_up_on", "before the care started"),
    ("medical", {"follow_up_on": "3000-01-01"}, "follow_up_on", "between 1900 and 2100"),
    ("medical", {"details": "d" * 10_001}, "details", "10000"),
    ("medical", {"details": "bad\x07bell"}, "details", "control characters"),
    ("psychosocial", {"sessions_planned": "abc"}, "sessions_planned", "whole number"),
    ("psychosocial", {"sessions_planned": "1.5"}, "sessions_planned", "whole number"),
    ("psychosocial", {"sessions_planned": "1001"}, "sessions_planned", "0 to 1000"),
    ("psychosocial", {"sessions_attended": "-1"}, "sessions_attended", "0 to 1000"),
    ("psychosocial", {"sessions_planned": "3", "sessions_attended": "4"}, "sessions_attended", "than planned"),
    ("psychosocial", {"support_types": ["individual_counselling", "astrology"]}, "support_types", "options listed"),
    ("return", {"destination_country": "ZZ"}, "destination_country", "options listed"),
    ("return", {"risk_assessed_on": TOMORROW}, "risk_assessed_on", "future"),
    ("return", {"risk_level": ""}, "risk_assessed_on", "risk level"),
    ("return", {"risk_level": "extreme"}, "risk_level", "options listed"),
    ("return", {"escorted": "maybe"}, "escorted", "options listed"),
    ("return", {"reception_arranged": "no"}, "reception_organisation", "reception is arranged"),
    ("return", {"travel_date": "abc"}, "travel_date", "real date"),
    ("reintegration", {"grant_amount": "abc"}, "grant_amount", "amount in figures"),
    ("reintegration", {"grant_amount": "NaN"}, "grant_amount", "amount in figures"),
    ("reintegration", {"grant_amount": "Infinity"}, "grant_amount", "amount in figures"),
    ("reintegration", {"grant_amount": "-1"}, "grant_amount", "between 0"),
    ("reintegration", {"grant_amount": "1000000000.01"}, "grant_amount", "between 0"),
    ("reintegration", {"grant_amount": "10.555"}, "grant_amount", "two decimal"),
    ("reintegration", {"grant_currency": "EURO"}, "grant_currency", "three letters"),
    ("reintegration", {"grant_currency": "E1R"}, "grant_currency", "three letters"),
    ("reintegration", {"grant_currency": "XYZ"}, "grant_currency", "three letters"),
    ("reintegration", {"grant_currency": ""}, "grant_currency", "currency of the grant"),
    ("reintegration", {"plan_agreed_on": TOMORROW}, "plan_agreed_on", "future"),
    ("reintegration", {"components": []}, "components", "at least one"),
]


@pytest.mark.parametrize(("kind", "changes", "field", "message"), CASES)
def test_kind_rule_refuses(app, client, login, world, kind, changes, field, message):
    login(client, world.caseworker)
    response = client.post(f"/cases/{world.case.id}/assistance/{kind}/new", data={**GOOD[kind], **changes})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    error = field_error(page, field)
    assert error is not None, f"no error next to {field}"
    assert message.lower() in error.lower()
    assert count_services(app, world.case.id) == 0
    assert GOOD[kind]["notes"] in page


@pytest.mark.parametrize(
    ("kind", "changes"),
    [
        ("legal", {"permit_status": "permanent_permit_granted", "permit_expires_on": ""}),
        ("legal", {"proceeding_type": "", "proceeding_outcome": ""}),
        ("psychosocial", {"sessions_planned": "", "sessions_attended": "7"}),  # nothing planned: no bound
        ("psychosocial", {"sessions_planned": "0", "sessions_attended": "0"}),
        ("return", {"travel_date": FUTURE, "escorted": "", "reception_arranged": "", "reception_organisation": ""}),
        ("reintegration", {"grant_amount": "", "grant_currency": ""}),
        ("reintegration", {"grant_amount": "1000000000", "grant_currency": "usd"}),  # upper-cased
        ("reintegration", {"grant_amount": "0"}),
        ("shelter", {"started_on": "", "admitted_on": "", "discharged_on": "", "facility": ""}),
    ],
)
def test_kind_edge_values_are_accepted(app, client, login, world, load, kind, changes):
    login(client, world.caseworker)
    response = client.post(f"/cases/{world.case.id}/assistance/{kind}/new", data={**GOOD[kind], **changes})
    assert response.status_code == 302, field_error(response.get_data(as_text=True), "grant_currency")
    saved = load(response.headers["Location"].rsplit("/", 1)[-1])
    if kind == "reintegration" and changes.get("grant_currency") == "usd":
        assert saved.grant_currency == "USD"
    if kind == "shelter":
        assert saved.facility is None and saved.admitted_on is None
