"""Row dicts for the demo seed: one synthetic case becomes rows of a dozen tables.

Identifying fields are encrypted exactly as :class:`casework.crypto.EncryptedField` does: under
the case's own data key, with associated data ``field_ad(table, column, row id)``; blind indexes
come from ``casework.crypto.blind_index``. No database access here (worker processes run it).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

import numpy as np

from casework import synthetic, vocab
from casework.assistance.models import (
    LegalAssistance,
    MedicalAssistance,
    PsychosocialSupport,
    ReintegrationAssistance,
    ReintegrationFollowUp,
    ReturnAssistance,
    Service,
    ShelterStay,
)
from casework.cases.models import Case, CaseNote, TraffickingProfile
from casework.cases.references import format_reference
from casework.consent.models import Consent
from casework.crypto import Keyring, new_data_key
from casework.crypto.blind_index import document_index, name_dob_index, name_index, organisation_key
from casework.crypto.fields import field_ad_prefix
from casework.demo.accounts import DemoOrganisations
from casework.partners.models import Referral

T = {
    "cases": Case.__table__,
    "profiles": TraffickingProfile.__table__,
    "consents": Consent.__table__,
    "referrals": Referral.__table__,
    "services": Service.__table__,
    "shelter": ShelterStay.__table__,
    "legal": LegalAssistance.__table__,
    "medical": MedicalAssistance.__table__,
    "psychosocial": PsychosocialSupport.__table__,
    "return": ReturnAssistance.__table__,
    "reintegration": ReintegrationAssistance.__table__,
    "follow_ups": ReintegrationFollowUp.__table__,
    "notes": CaseNote.__table__,
}
#: Insert order (foreign keys are enforced).
ORDER = tuple(T)
REFERRAL_SCOPES = (
    frozenset({"given_name", "age", "gender", "languages", "needs"}),
    frozenset({"given_name", "family_name", "age", "gender", "languages", "contact_phone", "needs"}),
    frozenset({"given_name", "age", "needs", "trafficking_profile", "case_notes_shared"}),
)
MEDICAL_DETAILS = "Assessment done; treatment plan agreed with the person."


class _Codes:
    """Bitmask -> frozenset, cached (a few hundred distinct masks per list)."""

    def __init__(self, code_list: vocab.CodeList) -> None:
        self.code_list = code_list
        self.cache: dict[int, frozenset[str]] = {}

    def __call__(self, mask: int) -> frozenset[str] | None:
        if mask < 0:
            return None
        codes = self.cache.get(mask)
        if codes is None:
            codes = self.cache[mask] = self.code_list.codes_of(mask) or frozenset()
        return codes


EXPLOITATION = _Codes(vocab.EXPLOITATION_TYPES)
SECTORS = _Codes(vocab.LABOUR_SECTORS)
SEXUAL = _Codes(vocab.SEXUAL_EXPLOITATION_TYPES)
CONTROL = _Codes(vocab.MEANS_OF_CONTROL)
RECRUITERS = _Codes(vocab.RECRUITER_RELATIONSHIPS)
MULTI = {
    "legal": _Codes(vocab.LEGAL_SERVICE_TYPES),
    "medical": _Codes(vocab.MEDICAL_CARE_TYPES),
    "psychosocial": _Codes(vocab.PSYCHOSOCIAL_SUPPORT_TYPES),
    "reintegration": _Codes(vocab.REINTEGRATION_COMPONENTS),
}


@lru_cache(maxsize=512)
def _label(code_list: vocab.CodeList, code: str) -> str:
    """The English label in lower case (narratives are demo text, written once in English)."""
    return code_list.label(code).lower()


def _at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _new_id() -> uuid.UUID:
    return uuid.uuid4()


_AD_PREFIXES: dict[tuple[str, str], bytes] = {}


def _ad_prefix(table: str, column: str) -> bytes:
    prefix = _AD_PREFIXES.get((table, column))
    if prefix is None:
        prefix = _AD_PREFIXES[(table, column)] = field_ad_prefix(table, column)
    return prefix


class Sealer:
    """Encrypts one case's values under its data key, bound to table, column and row, exactly
    as ``EncryptedField`` does: ``aead.seal(value, field_ad(table, column, row_id))``."""

    __slots__ = ("seal",)

    def __init__(self, seal: Callable[[bytes, bytes], bytes]) -> None:
        self.seal = seal

    def __call__(self, table: str, column: str, row_id: uuid.UUID, value: str | None) -> bytes | None:
        if value is None:
            return None
        # == field_ad(table, column, row_id), with the prefix looked up once per column
        return self.seal(value.encode("utf-8"), _ad_prefix(table, column) + str(row_id).encode())


class RowBuilder:
    """Turns the generator's arrays into row dicts, chunk by chunk."""

    def __init__(
        self,
        data: synthetic.SyntheticCases,
        orgs: DemoOrganisations,
        caseworkers: list[uuid.UUID],
        partner_user: uuid.UUID | None,
        keyring: Keyring,
        master_key_id: str,
        first_number: dict[int, int],
    ) -> None:
        self.data = data
        self.lead_id, self.partner_id = orgs.lead.id, orgs.partner.id
        self.partner_user = partner_user
        self.keyring = keyring
        # The deployment's active key when seeding began; each chunk's transaction checks it
        # is still the active one before storing (casework.demo.seed).
        self.master_key_id = master_key_id
        # Every demo case belongs to the lead organisation: its own blind-index key.
        self.blind_key = organisation_key(orgs.lead.id, keyring)
        rng = np.random.default_rng(data.parameters.seed + 1)  # assignment: separate stream
        assignee = rng.integers(0, len(caseworkers), data.n)
        unassigned = (data.status == "open") & (rng.random(data.n) < 0.05)
        self.assignee: list[uuid.UUID | None] = [
            None if free else caseworkers[k] for k, free in zip(assignee.tolist(), unassigned.tolist(), strict=True)
        ]
        self.scope = rng.integers(0, len(REFERRAL_SCOPES), data.n).tolist()
        # reference numbers: data is sorted by date, so numbers follow registration order
        offsets = np.zeros(data.n, dtype=np.int64)
        for year in np.unique(data.year).tolist():
            members = np.flatnonzero(data.year == year)
            offsets[members] = first_number[year] + np.arange(len(members))
        self.reference_number = offsets.tolist()
        self.notes_by_case: dict[int, list[int]] = {}
        for k, case in enumerate(data.note_case.tolist()):
            self.notes_by_case.setdefault(case, []).append(k)
        self.as_of = data.parameters.as_of

    def chunk(self, start: int, end: int) -> dict[str, list[dict[str, Any]]]:
        d = self.data
        sl = slice(start, end)
        col = {
            name: getattr(d, name)[sl].tolist()
            for name in (
                "opened_on", "year", "status", "closed_on", "data_source", "identification_route", "gender", "age",
                "citizenship", "country_of_exploitation", "exploitation_types", "labour_sectors",
                "sexual_exploitation_types", "means_of_control", "recruitment_type", "recruiter_relationships",
                "abducted", "age_at_exploitation_start", "exploitation_began_on", "exploitation_ended_on",
                "transit_country", "has_narrative", "date_of_birth", "assistance_consent", "research_consent",
                "research_withdrawn_after", "consent_method", "consent_given_by", "consent_offset", "referred",
                "referral_status", "referral_kind",
            )
        }  # fmt: skip
        fields = ("status", "start_offset", "duration", "detail", "mask", "number")
        per_kind = {
            kind: [
                dict(zip(fields, values, strict=True))
                for values in zip(*(getattr(draws, f)[sl].tolist() for f in fields), strict=True)
            ]  # noqa: E501
            for kind, draws in d.services.items()
        }
        names = tuple(col)
        cases = [dict(zip(names, values, strict=True)) for values in zip(*col.values(), strict=True)]
        rows: dict[str, list[dict[str, Any]]] = {key: [] for key in ORDER}
        for j, i in enumerate(range(start, end)):
            self._case(i, cases[j], {kind: draws[j] for kind, draws in per_kind.items()}, rows)
        return rows

    # -- one case ---------------------------------------------------------------------------------
    def _case(
        self, i: int, c: dict[str, Any], s: dict[str, dict[str, Any]], rows: dict[str, list[dict[str, Any]]]
    ) -> None:  # noqa: E501
        d = self.data
        case_id = _new_id()
        wrapped, wrapping_key_id, aead = new_data_key(self.keyring, "cases", case_id, self.master_key_id)
        enc = Sealer(aead.seal)
        opened: date = c["opened_on"]
        created = _at(opened)
        worker = self.assignee[i]
        given, family = d.given_name[i], d.family_name[i]
        dob: date | None = c["date_of_birth"]
        dob_iso = dob.isoformat() if dob is not None else None
        document = d.document_number[i]
        rows["cases"].append(
            {
                "id": case_id,
                "reference": format_reference(c["year"], self.reference_number[i]),
                "owner_org_id": self.lead_id,
                "assigned_to_id": worker,
                "created_by_id": worker,
                "status": c["status"],
                "opened_on": opened,
                "closed_on": c["closed_on"],
                "created_at": created,
                "updated_at": created,
                "version_id": 1,
                "wrapped_key": wrapped,
                "wrapping_key_id": wrapping_key_id,
                "given_name": enc("cases", "given_name", case_id, given),
                "family_name": enc("cases", "family_name", case_id, family),
                "aliases": enc("cases", "aliases", case_id, d.aliases[i]),
                "date_of_birth": enc("cases", "date_of_birth", case_id, dob_iso),
                "place_of_birth": enc("cases", "place_of_birth", case_id, d.place_of_birth[i]),
                "phone": enc("cases", "phone", case_id, d.phone[i]),
                "email": enc("cases", "email", case_id, d.email[i]),
                "address": enc("cases", "address", case_id, d.address[i]),
                "languages": enc("cases", "languages", case_id, d.languages[i]),
                "document_type": enc("cases", "document_type", case_id, d.document_type[i]),
                "document_number": enc("cases", "document_number", case_id, document),
                "document_country": enc("cases", "document_country", case_id, d.document_country[i]),
                "name_bidx": name_index(given, family, key=self.blind_key),
                "name_dob_bidx": name_dob_index(given, family, dob_iso, key=self.blind_key),
                "document_bidx": document_index(document, key=self.blind_key),
                "gender": c["gender"],
                "age_at_registration": c["age"] if c["age"] >= 0 else None,
                "citizenship": c["citizenship"] or None,
                "country_of_exploitation": c["country_of_exploitation"] or None,
                "year_of_registration": c["year"],
                "data_source": c["data_source"],
                "identification_route": c["identification_route"] or None,
            }
        )
        self._profile(case_id, c, enc, created, rows)
        referral_id = self._consents_and_referral(i, case_id, c, enc, worker, rows)
        self._services(i, case_id, c, s, enc, worker, referral_id, rows)
        for k in self.notes_by_case.get(i, ()):
            note_id = _new_id()
            day = min(opened + timedelta(days=int(d.note_offset[k])), self.as_of)
            text = synthetic.NOTE_TEMPLATES[int(d.note_template[k])]
            rows["notes"].append(
                {
                    "id": note_id,
                    "case_id": case_id,
                    "author_id": worker,
                    "author_org_id": self.lead_id,
                    "shareable": bool(d.note_shareable[k]),
                    "created_at": _at(day, 15),
                    "body": enc("case_notes", "body", note_id, text),
                }
            )

    def _profile(
        self,
        case_id: uuid.UUID,
        c: dict[str, Any],
        enc: Sealer,
        created: datetime,
        rows: dict[str, list[dict[str, Any]]],
    ) -> None:
        profile_id = _new_id()
        country = c["country_of_exploitation"]
        narrative = None
        if c["has_narrative"]:
            narrative = synthetic.NARRATIVE_TEMPLATE.format(
                recruitment=vocab.RECRUITMENT_TYPES.label(c["recruitment_type"] or "unknown").lower(),
                country=vocab.country_name(country, "en") if country else "an unrecorded country",
                exploitation=", ".join(
                    sorted(
                        vocab.EXPLOITATION_TYPES.label(x).lower() for x in EXPLOITATION(c["exploitation_types"]) or ()
                    )
                )
                or "not recorded",
                route=vocab.IDENTIFICATION_ROUTES.label(c["identification_route"] or "unknown").lower(),
            )
        rows["profiles"].append(
            {
                "id": profile_id,
                "case_id": case_id,
                "exploitation_types": EXPLOITATION(c["exploitation_types"]),
                "labour_sectors": SECTORS(c["labour_sectors"]),
                "sexual_exploitation_types": SEXUAL(c["sexual_exploitation_types"]),
                "means_of_control": CONTROL(c["means_of_control"]),
                "recruitment_type": c["recruitment_type"] or None,
                "recruiter_relationships": RECRUITERS(c["recruiter_relationships"]),
                "abducted": None if c["abducted"] < 0 else bool(c["abducted"]),
                "age_at_recruitment": None,
                "age_at_exploitation_start": c["age_at_exploitation_start"]
                if c["age_at_exploitation_start"] >= 0
                else None,  # noqa: E501
                "exploitation_began_on": c["exploitation_began_on"],
                "exploitation_ended_on": c["exploitation_ended_on"],
                "origin_country": c["citizenship"] or None,
                "transit_countries": (c["transit_country"],) if c["transit_country"] else None,
                "exploitation_countries": (country,) if country and country != vocab.UNKNOWN_COUNTRY else None,
                "updated_at": created,
                "narrative": enc("trafficking_profiles", "narrative", profile_id, narrative),
            }
        )

    def _consent(
        self,
        case_id: uuid.UUID,
        c: dict[str, Any],
        enc: Sealer,
        purpose: str,
        decision: str,
        given_on: date,
        recorder: uuid.UUID | None,
        organisation_id: uuid.UUID | None = None,
        withdrawn_on: date | None = None,
        giver_name: str | None = None,
    ) -> dict[str, Any]:
        consent_id = _new_id()
        return {
            "id": consent_id,
            "case_id": case_id,
            "purpose": purpose,
            "organisation_id": organisation_id,
            "decision": decision,
            "method": c["consent_method"],
            "given_by": c["consent_given_by"],
            "given_on": given_on,
            "expires_on": None,
            "recorded_by_id": recorder,
            "recorded_at": _at(given_on, 11),
            "withdrawn_on": withdrawn_on,
            "withdrawal_recorded_by_id": recorder if withdrawn_on else None,
            "withdrawal_recorded_at": _at(withdrawn_on, 11) if withdrawn_on else None,
            "giver_name": enc("consents", "giver_name", consent_id, giver_name),
            "notes": None,
        }

    def _consents_and_referral(
        self,
        i: int,
        case_id: uuid.UUID,
        c: dict[str, Any],
        enc: Sealer,
        worker: uuid.UUID | None,
        rows: dict[str, list[dict[str, Any]]],
    ) -> uuid.UUID | None:
        given_on = min(c["opened_on"] + timedelta(days=c["consent_offset"]), self.as_of)
        guardian = f"{self.data.family_name[i]} (guardian)" if c["consent_given_by"] == "guardian" else None
        consents = rows["consents"]
        consents.append(
            self._consent(case_id, c, enc, "assistance", c["assistance_consent"], given_on, worker, giver_name=guardian)
        )  # noqa: E501
        if c["research_consent"]:
            withdrawn = None
            if c["research_withdrawn_after"] >= 0:
                day = given_on + timedelta(days=c["research_withdrawn_after"])
                withdrawn = day if day <= self.as_of else self.as_of
            consents.append(
                self._consent(
                    case_id,
                    c,
                    enc,
                    "anonymised_research",
                    c["research_consent"],
                    given_on,
                    worker,
                    withdrawn_on=withdrawn,
                    giver_name=guardian,
                )
            )  # noqa: E501
        if not c["referred"]:
            return None
        sharing = self._consent(
            case_id,
            c,
            enc,
            "referral_sharing",
            "granted",
            given_on,
            worker,
            organisation_id=self.partner_id,
            giver_name=guardian,
        )  # noqa: E501
        consents.append(sharing)
        referral_id = _new_id()
        status = c["referral_status"]
        created = _at(given_on, 12)
        responded = _at(min(given_on + timedelta(days=2), self.as_of), 10) if status != "pending" else None
        rows["referrals"].append(
            {
                "id": referral_id,
                "case_id": case_id,
                "from_org_id": self.lead_id,
                "to_org_id": self.partner_id,
                "service_kind": c["referral_kind"],
                "consent_id": sharing["id"],
                "field_scope": REFERRAL_SCOPES[self.scope[i]],
                "status": status,
                "created_by_id": worker,
                "created_at": created,
                "responded_by_id": self.partner_user if responded else None,
                "responded_at": responded,
                "completed_at": _at(self.as_of, 10) if status == "completed" else None,
                "revoked_by_id": None,
                "revoked_at": None,
                "version_id": 1,
                "message": enc("referrals", "message", referral_id, "Please assess and support; interpreter needed."),
                "response_reason": None,
            }
        )
        return referral_id

    def _services(
        self,
        i: int,
        case_id: uuid.UUID,
        c: dict[str, Any],
        s: dict[str, dict[str, Any]],
        enc: Sealer,
        worker: uuid.UUID | None,
        referral_id: uuid.UUID | None,
        rows: dict[str, list[dict[str, Any]]],
    ) -> None:
        opened: date = c["opened_on"]
        for kind, draw in s.items():
            status = draw["status"]
            partner_service = referral_id is not None and kind == c["referral_kind"]
            if partner_service:
                status = {"pending": "referred", "accepted": "in_progress", "completed": "provided"}[
                    c["referral_status"]
                ]
            if not status:
                continue
            service_id = _new_id()
            started = ended = None
            if status in ("in_progress", "provided"):
                started = min(opened + timedelta(days=draw["start_offset"]), self.as_of)
                if status == "provided":
                    ended = min(started + timedelta(days=draw["duration"]), self.as_of)
            created = _at(min(opened + timedelta(days=draw["start_offset"]), self.as_of), 14)
            rows["services"].append(
                {
                    "id": service_id,
                    "case_id": case_id,
                    "kind": kind,
                    "status": status,
                    "provider_org_id": self.partner_id if partner_service else self.lead_id,
                    "referral_id": referral_id if partner_service else None,
                    "started_on": started,
                    "ended_on": ended,
                    "created_by_id": worker,
                    "created_at": created,
                    "updated_at": created,
                    "version_id": 1,
                    "notes": None,
                }
            )
            rows[kind].append(self._service_detail(i, kind, service_id, draw, c, started, ended, enc, worker, rows))

    def _service_detail(
        self,
        i: int,
        kind: str,
        service_id: uuid.UUID,
        draw: dict[str, Any],
        c: dict[str, Any],
        started: date | None,
        ended: date | None,
        enc: Sealer,
        worker: uuid.UUID | None,
        rows: dict[str, list[dict[str, Any]]],
    ) -> dict[str, Any]:
        detail, number = draw["detail"], draw["number"]
        codes = MULTI[kind](draw["mask"]) if kind in MULTI else None
        if kind == "shelter":
            facility = f"Shelter {number % 9 + 1 if number >= 0 else i % 9 + 1}"
            return {
                "id": service_id,
                "shelter_type": detail,
                "admitted_on": started,
                "discharged_on": ended,
                "facility": enc("shelter_stays", "facility", service_id, facility),
            }
        if kind == "legal":
            representation = codes is not None and "representation" in codes
            abroad = c["citizenship"] != c["country_of_exploitation"]
            return {
                "id": service_id,
                "legal_services": codes,
                "permit_status": detail if abroad else "not_needed",
                "permit_expires_on": None,
                "proceeding_type": "criminal" if representation else "none",
                "proceeding_outcome": ("conviction" if ended else "pending") if representation else None,
                "next_hearing_on": None,
                "representative": enc("legal_assistance", "representative", service_id, "Demo Legal Aid Clinic"),
            }
        if kind == "medical":
            return {
                "id": service_id,
                "care_types": codes,
                "referred_to": None,
                "follow_up_on": None,
                "details": enc("medical_assistance", "details", service_id, MEDICAL_DETAILS if started else None),
            }
        if kind == "psychosocial":
            attended = number if ended else (number // 2 if started else 0)
            return {"id": service_id, "support_types": codes, "sessions_planned": number, "sessions_attended": attended}
        if kind == "return":
            return {
                "id": service_id,
                "destination_country": c["citizenship"] or None,
                "travel_date": ended,
                "documents_status": detail,
                "escorted": bool(number % 2) if number >= 0 else None,
                "risk_level": vocab.RISK_LEVELS.codes[number % 3].code if number >= 0 else None,
                "risk_assessed_on": started,
                "reception_arranged": ended is not None,
                "reception_organisation": None,
                "destination_locality": enc(
                    "return_assistance", "destination_locality", service_id, self.data.place_of_birth[i]
                ),  # noqa: E501
            }
        # reintegration, with its follow-up visits once under way
        if started is not None:
            for visit in range(max(number, 0)):
                follow_up_id = _new_id()
                visited = min(started + timedelta(days=90 * (visit + 1)), self.as_of)
                rows["follow_ups"].append(
                    {
                        "id": follow_up_id,
                        "reintegration_id": service_id,
                        "visited_on": visited,
                        "sustainability_score": min(100, 40 + 15 * visit + (i % 20)),
                        "created_by_id": worker,
                        "created_at": _at(visited, 16),
                        "notes": enc("reintegration_follow_ups", "notes", follow_up_id, "Visit done; plan on track."),
                    }
                )
        return {
            "id": service_id,
            "components": codes,
            "plan_agreed_on": started,
            "grant_amount": Decimal(500 + 250 * (i % 7)) if started else None,
            "grant_currency": "EUR" if started else None,
        }
