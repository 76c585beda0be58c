"""Each kind of assistance: good input is saved (encrypted fields as ciphertext), bad input is
refused next to its field with a 400, nothing saved, and the user's input kept."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.assistance.conftest import (
    ENCRYPTED,
    GOOD,
    KINDS,
    LINE_FIELD,
    REQUIRED,
    TOMORROW,
    count_services,
    field_error,
    raw_column,
)


def new_url(case, kind):
    return f"/cases/{case.id}/assistance/{kind}/new"


def service_id_from(response):
    assert response.status_code == 302, response.status_code
    return response.headers["Location"].rsplit("/", 1)[-1]


def refused(app, client, case, kind, changes, field, message_part, remove=()):
    """Post GOOD[kind] with ``changes``; assert a 400, the message next to ``field``, nothing
    saved, and the user's other input still in the form."""
    data = {**GOOD[kind], **changes}
    for name in remove:
        data.pop(name)
    response = client.post(new_url(case, kind), data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    message = field_error(page, field)
    assert message is not None, f"no error next to {field}"
    assert message_part in message
    assert count_services(app, case.id) == 0
    kept = GOOD[kind]["notes"] if field != "notes" else GOOD[kind]["status"]
    assert kept in page  # the re-rendered form still holds the user's input
    return page


@pytest.fixture
def signed_in(client, login, world):
    login(client, world.caseworker)
    return client


@pytest.mark.parametrize("kind", KINDS)
def test_good_input_is_saved_and_sensitive_fields_are_ciphertext(app, signed_in, world, load, kind):
    response = signed_in.post(new_url(world.case, kind), data=GOOD[kind])
    service_id = service_id_from(response)
    saved = load(service_id)
    assert saved.kind == kind
    assert saved.status == GOOD[kind]["status"]
    assert saved.created_by_id == world.caseworker.id
    assert saved.notes == GOOD[kind]["notes"]
    assert saved.version_id == 1
    for field, table, column in [("notes", "services", "notes"), *ENCRYPTED[kind]]:
        assert getattr(saved, field) == GOOD[kind][field]
        stored = raw_column(app, table, column, saved.id)
        assert isinstance(stored, bytes)
        assert GOOD[kind][field].encode() not in stored
    # The service page shows what was saved.
    page = signed_in.get(f"/assistance/{service_id}").get_data(as_text=True)
    assert GOOD[kind]["notes"] in page


def test_kind_specific_values_round_trip(app, signed_in, world, load):
    ids = {kind: service_id_from(signed_in.post(new_url(world.case, kind), data=GOOD[kind])) for kind in KINDS}
    legal = load(ids["legal"])
    assert legal.legal_services == frozenset({"counselling", "residence_permit_application"})
    assert legal.permit_expires_on.isoformat() == GOOD["legal"]["permit_expires_on"]
    medical = load(ids["medical"])
    assert medical.care_types == frozenset({"primary_care", "dental"})
    assert medical.follow_up_on.isoformat() == GOOD["medical"]["follow_up_on"]  # a plan may be in the future
    psycho = load(ids["psychosocial"])
    assert (psycho.sessions_planned, psycho.sessions_attended) == (10, 4)
    ret = load(ids["return"])
    assert (ret.destination_country, ret.escorted, ret.reception_arranged) == ("NG", True, True)
    reint = load(ids["reintegration"])
    assert reint.grant_amount == Decimal("1250.50")
    assert reint.grant_currency == "EUR"
    shelter = load(ids["shelter"])
    assert shelter.shelter_type == "ngo_shelter"


@pytest.mark.parametrize("kind", KINDS)
def test_missing_status_is_refused(app, signed_in, world, kind):
    refused(app, signed_in, world.case, kind, {}, "status", "required", remove=("status",))


@pytest.mark.parametrize("kind", KINDS)
def test_missing_kind_field_is_refused(app, signed_in, world, kind):
    field = REQUIRED[kind]
    message = "at least one" if isinstance(GOOD[kind][field], list) else "required"
    refused(app, signed_in, world.case, kind, {}, field, message, remove=(field,))


@pytest.mark.parametrize("kind", KINDS)
def test_notes_too_long_are_refused(app, signed_in, world, kind):
    refused(app, signed_in, world.case, kind, {"notes": "x" * 10_001}, "notes", "10000")


@pytest.mark.parametrize("kind", KINDS)
def test_notes_of_exactly_the_limit_are_saved(app, signed_in, world, load, kind):
    response = signed_in.post(new_url(world.case, kind), data={**GOOD[kind], "notes": "é" * 10_000})
    assert load(service_id_from(response)).notes == "é" * 10_000


@pytest.mark.parametrize("kind", ["shelter", "legal", "medical", "return"])
def test_single_line_too_long_is_refused(app, signed_in, world, kind):
    field = LINE_FIELD[kind]
    refused(app, signed_in, world.case, kind, {field: "y" * 201}, field, "200")


@pytest.mark.parametrize("kind", KINDS)
def test_a_date_that_is_not_a_date_is_refused(app, signed_in, world, kind):
    page = refused(app, signed_in, world.case, kind, {"started_on": "abc"}, "started_on", "real date")
    assert 'value="abc"' in page


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_status_code_is_refused(app, signed_in, world, kind):
    refused(app, signed_in, world.case, kind, {"status": "teleported"}, "status", "options listed")


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_kind_code_is_refused(app, signed_in, world, kind):
    field = REQUIRED[kind]
    bad = ["counselling_x"] if isinstance(GOOD[kind][field], list) else "XX_not_a_code"
    refused(app, signed_in, world.case, kind, {field: bad}, field, "options listed")


@pytest.mark.parametrize("kind", KINDS)
def test_start_in_the_future_is_refused(app, signed_in, world, kind):
    refused(app, signed_in, world.case, kind, {"started_on": TOMORROW}, "started_on", "future")


@pytest.mark.parametrize("kind", KINDS)
def test_end_before_start_is_refused(app, signed_in, world, kind):
    changes = {"started_on": "2025-04-10", "ended_on": "2025-04-09"}
    refused(app, signed_in, world.case, kind, changes, "ended_on", "before the start")


@pytest.mark.parametrize("kind", KINDS)
def test_unicode_is_accepted_and_round_trips(app, signed_in, world, load, kind):
    text = "Ñandú — 中文 — مرحبا — 🙂\nsecond line"
    data = {**GOOD[kind], "notes": text}
    field = LINE_FIELD[kind]
    line_text = "Zoë Ødegård 北京" if field not in ("grant_currency", "notes") else None
    if line_text:
        data[field] = line_text
    service_id = service_id_from(signed_in.post(new_url(world.case, kind), data=data))
    saved = load(service_id)
    assert saved.notes == text
    if line_text:
        assert getattr(saved, field) == line_text
    page = signed_in.get(f"/assistance/{service_id}").get_data(as_text=True)
    assert "中文" in page and "🙂" in page


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x85"])
def test_control_characters_are_refused(app, signed_in, world, kind, char):
    refused(app, signed_in, world.case, kind, {"notes": f"before{char}after"}, "notes", "control characters")


@pytest.mark.parametrize("kind", ["shelter", "legal", "medical", "return"])
def test_newline_in_single_line_field_is_refused(app, signed_in, world, kind):
    field = LINE_FIELD[kind]
    refused(app, signed_in, world.case, kind, {field: "first\nsecond"}, field, "control characters")


def test_unknown_provider_is_refused(app, signed_in, world):
    for bad in (str(world.other_lead.id), "not-a-uuid"):
        changes = {"provider_org_id": bad}
        refused(app, signed_in, world.case, "shelter", changes, "provider_org_id", "organisations listed")


def test_without_csrf_token_nothing_is_saved(app, signed_in, world):
    response = signed_in.post(new_url(world.case, "shelter"), data=GOOD["shelter"], csrf=False)
    assert response.status_code == 400
    assert count_services(app, world.case.id) == 0


def test_unknown_kind_is_404(signed_in, world):
    assert signed_in.get(new_url(world.case, "spa-weekend")).status_code == 404
    assert signed_in.post(new_url(world.case, "spa-weekend"), data=GOOD["shelter"]).status_code == 404


def test_empty_form_shows_every_field_with_a_label(signed_in, world):
    for kind in KINDS:
        page = signed_in.get(new_url(world.case, kind)).get_data(as_text=True)
        for field in GOOD[kind]:
            assert f'name="{field}"' in page, (kind, field)
            if not isinstance(GOOD[kind][field], list):
                assert f'for="{field}"' in page, (kind, field)
