"""The trafficking profile: how the person was recruited, controlled and exploited.

Multi-valued answers keep "not asked / not known" (None) apart from "none" (an empty set).
Saving the profile bumps the case's version, so two people editing the same case (identity or
profile) from the same version get a conflict instead of overwriting each other.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l

from casework import vocab
from casework.audit import writer
from casework.cases.models import Case, TraffickingProfile
from casework.cases.services import check_editable, flush_versioned
from casework.cases.validation import ErrorCollector, check_past_date
from casework.crypto import ERASED
from casework.db import session, utcnow

CODE_SETS: dict[str, vocab.CodeList] = {
    "exploitation_types": vocab.EXPLOITATION_TYPES,
    "labour_sectors": vocab.LABOUR_SECTORS,
    "sexual_exploitation_types": vocab.SEXUAL_EXPLOITATION_TYPES,
    "means_of_control": vocab.MEANS_OF_CONTROL,
    "recruiter_relationships": vocab.RECRUITER_RELATIONSHIPS,
}
COUNTRY_LISTS = ("transit_countries", "exploitation_countries")
NARRATIVE_MAX = 20_000
MAX_COUNTRIES = 20


@dataclass
class ProfileDetails:
    exploitation_types: frozenset[str] | None = None
    labour_sectors: frozenset[str] | None = None
    sexual_exploitation_types: frozenset[str] | None = None
    means_of_control: frozenset[str] | None = None
    recruitment_type: str | None = None
    recruiter_relationships: frozenset[str] | None = None
    abducted: bool | None = None
    age_at_recruitment: int | None = None
    age_at_exploitation_start: int | None = None
    exploitation_began_on: date | None = None
    exploitation_ended_on: date | None = None
    origin_country: str | None = None
    transit_countries: tuple[str, ...] | None = None
    exploitation_countries: tuple[str, ...] | None = None
    narrative: str | None = None

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_form(cls, form: Any) -> ProfileDetails:
        """From a ProfileForm (the form refuses "not asked" beside a ticked answer). With none
        ticked, "not asked" gives None and a clear box gives the empty set ("none"). Fields the
        form refused give None, so the rules can still be checked on the others."""
        values: dict[str, Any] = {}
        for name in CODE_SETS:
            ticked = frozenset(form[name].data or ())
            refused = bool(form[name].errors)
            values[name] = None if refused or (form[f"{name}_not_asked"].data and not ticked) else ticked
        for name in COUNTRY_LISTS:
            chosen = tuple(dict.fromkeys(entry.data for entry in form[name] if entry.data))
            refused = any(form[name].errors)
            values[name] = None if refused or (form[f"{name}_not_asked"].data and not chosen) else chosen
        abducted = None if form.abducted.errors else form.abducted.data
        values["abducted"] = {"yes": True, "no": False}.get(abducted or "")
        for name in (
            "recruitment_type",
            "age_at_recruitment",
            "age_at_exploitation_start",
            "exploitation_began_on",
            "exploitation_ended_on",
            "origin_country",
            "narrative",
        ):
            data = None if form[name].errors else form[name].data
            values[name] = None if data == "" else data
        return cls(**values)

    @classmethod
    def from_profile(cls, profile: TraffickingProfile | None) -> ProfileDetails:
        if profile is None:
            return cls()
        values = {name: getattr(profile, name) for name in cls.names()}
        if values["narrative"] is ERASED:
            values["narrative"] = None
        return cls(**values)

    def form_data(self) -> dict[str, Any]:
        """Initial data for a ProfileForm showing these values."""
        data: dict[str, Any] = {}
        for name in CODE_SETS:
            value = getattr(self, name)
            data[name] = sorted(value) if value else []
            data[f"{name}_not_asked"] = value is None
        for name in COUNTRY_LISTS:
            value = getattr(self, name)
            data[name] = list(value or ())
            data[f"{name}_not_asked"] = value is None
        data["abducted"] = {True: "yes", False: "no"}.get(self.abducted, "unknown")  # type: ignore[arg-type]
        for name in (
            "recruitment_type",
            "age_at_recruitment",
            "age_at_exploitation_start",
            "exploitation_began_on",
            "exploitation_ended_on",
            "origin_country",
            "narrative",
        ):
            value = getattr(self, name)
            data[name] = "" if value is None and name in ("recruitment_type", "origin_country") else value
        return data


def validate_profile(details: ProfileDetails, today: date | None = None) -> None:
    """Raises InputErrors naming each refused field."""
    today = today or date.today()
    errors = ErrorCollector()
    for name, code_list in CODE_SETS.items():
        errors.check_codes(name, getattr(details, name), code_list)
    for name in COUNTRY_LISTS:
        value = getattr(details, name)
        errors.check_codes(name, value, vocab.COUNTRIES)
        if value is not None and len(value) > MAX_COUNTRIES:
            errors.add(name, _l("List at most %(max)d countries.", max=MAX_COUNTRIES))
    errors.check_code("recruitment_type", details.recruitment_type, vocab.RECRUITMENT_TYPES)
    errors.check_code("origin_country", details.origin_country, vocab.COUNTRIES)
    for name in ("age_at_recruitment", "age_at_exploitation_start"):
        age = getattr(details, name)
        if age is not None and not 0 <= age <= 120:
            errors.add(name, _l("Enter an age from 0 to 120."))
    recruited, exploited = details.age_at_recruitment, details.age_at_exploitation_start
    if recruited is not None and exploited is not None and exploited < recruited:
        errors.add("age_at_exploitation_start", _l("This is younger than the age when recruited."))
    began, ended = details.exploitation_began_on, details.exploitation_ended_on
    for name, value in (("exploitation_began_on", began), ("exploitation_ended_on", ended)):
        if message := check_past_date(value, today):
            errors.add(name, message)
    if began is not None and ended is not None and ended < began:
        errors.add("exploitation_ended_on", _l("The end is before the beginning."))
    errors.check_text("narrative", details.narrative, NARRATIVE_MAX, multiline=True)
    errors.raise_if_any()


def update_profile(
    case: Case, details: ProfileDetails, expected_version: int | None, actor: Any, today: date | None = None
) -> list[str]:
    """Create or change the case's trafficking profile; returns the changed fields.

    Raises CaseErased, VersionConflict (checked first), InputErrors.
    """
    check_editable(case, expected_version)
    validate_profile(details, today)
    current = ProfileDetails.from_profile(case.profile)
    changed = [name for name in ProfileDetails.names() if getattr(current, name) != getattr(details, name)]
    if not changed:
        return []
    profile = case.profile
    if profile is None:
        profile = TraffickingProfile(case=case)
        session.add(profile)
    for name in changed:
        setattr(profile, name, getattr(details, name))
    case.updated_at = utcnow()  # bumps the case's version: the profile is part of the case
    flush_versioned()
    writer.record("case.profile_edit", target=case, case_id=case.id, actor=actor, details={"fields": sorted(changed)})
    return changed
