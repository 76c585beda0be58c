"""Redacted case summaries for a chosen recipient: the data behind the printable page and the PDF.

Which fields each recipient gets (nothing else is ever read into a summary):

* ``partner``: the field scope of one open referral of the case, and only while its basis is
  in force (the person's consent to share with that organisation, or an emergency override).
* ``law_enforcement``: only with the person's consent to cooperate with law enforcement in
  force, :data:`LAW_ENFORCEMENT_FIELDS`: who the person is (to identify a victim-witness) and
  how they were exploited (the offence). Never where they live or how to reach them (police
  reach the person through their caseworker, so a printout can never locate them), never
  document numbers, health, assistance, notes or the person's own account (the narrative):
  police take statements themselves, with their own safeguards.
* ``victim``: everything held about the person (a subject-access copy), unmasked.

Free text (notes, messages) for a recipient who may not see the person's names, contacts or
documents goes through :mod:`casework.partners.masking` first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from casework import access, vocab
from casework.auth.models import Organisation
from casework.cases.models import Case, CaseNote
from casework.consent import services as consent_services
from casework.db import session
from casework.partners import masking
from casework.partners import services as referral_services
from casework.partners.models import OPEN_STATUSES, Referral

RECIPIENTS = vocab.CodeList(
    "summary_recipients",
    vocab.Code("partner", _l("A partner organisation (through a referral)")),
    vocab.Code("law_enforcement", _l("Law enforcement")),
    vocab.Code("victim", _l("The person themself (everything held about them)")),
)
LAW_ENFORCEMENT_FIELDS = access.ALWAYS_VISIBLE | frozenset(
    {
        "given_name", "family_name", "aliases", "date_of_birth", "gender", "age_at_registration",
        "citizenship", "languages", "country_of_exploitation", "profile",
    }
)  # fmt: skip

# (field, label, how to show it) in the order a summary lists them.
PERSON_FIELDS: tuple[tuple[str, Any, str], ...] = (
    ("given_name", _l("Given name"), "text"),
    ("family_name", _l("Family name"), "text"),
    ("aliases", _l("Aliases"), "text"),
    ("date_of_birth", _l("Date of birth"), "date"),
    ("place_of_birth", _l("Place of birth"), "text"),
    ("gender", _l("Gender"), "genders"),
    ("age_at_registration", _l("Age at registration"), "text"),
    ("citizenship", _l("Citizenship"), "country"),
    ("languages", _l("Languages"), "text"),
    ("phone", _l("Phone number"), "text"),
    ("email", _l("Email address"), "text"),
    ("address", _l("Address"), "text"),
    ("document_type", _l("Identity document"), "document_types"),
    ("document_number", _l("Document number"), "text"),
    ("document_country", _l("Document issued by"), "country"),
    ("country_of_exploitation", _l("Country of exploitation"), "country"),
    ("identification_route", _l("Identified through"), "identification_routes"),
)
PROFILE_FIELDS: tuple[tuple[str, Any, str], ...] = (
    ("exploitation_types", _l("Forms of exploitation"), "exploitation_types"),
    ("labour_sectors", _l("Labour sectors"), "labour_sectors"),
    ("sexual_exploitation_types", _l("Sexual exploitation"), "sexual_exploitation_types"),
    ("means_of_control", _l("Means of control"), "means_of_control"),
    ("recruitment_type", _l("Recruitment"), "recruitment_types"),
    ("recruiter_relationships", _l("Relationship to the recruiter"), "recruiter_relationships"),
    ("abducted", _l("Abducted"), "bool"),
    ("exploitation_began_on", _l("Exploitation began"), "date"),
    ("exploitation_ended_on", _l("Exploitation ended"), "date"),
    ("origin_country", _l("Country of origin"), "country"),
    ("transit_countries", _l("Transit countries"), "countries"),
    ("exploitation_countries", _l("Countries of exploitation"), "countries"),
)


class SummaryRefused(Exception):
    """No summary for this recipient now; ``str(error)`` is a message for the user."""


@dataclass(slots=True)
class Line:
    label: str
    value: str


@dataclass(slots=True)
class Section:
    title: str
    lines: list[Line] = field(default_factory=list)
    texts: list[Line] = field(default_factory=list)  # free text: (heading, text)


@dataclass(slots=True)
class Summary:
    recipient: str
    recipient_label: str
    reference: str
    generated_on: date
    basis: str
    sections: list[Section]
    referral_id: uuid.UUID | None = None


def show(value: Any, how: str) -> str:
    """A stored value as a person reads it (codes as labels, dates ISO); "" when empty."""
    if value is None or isinstance(value, access.Redacted):
        return ""
    if how == "date":
        return value.isoformat() if isinstance(value, date) else str(value)
    if how == "bool":
        return _("Yes") if value else _("No")
    if how == "country":
        return vocab.country_name(str(value)) if isinstance(value, str) and len(value) == 2 else str(value)
    if how == "countries":
        return ", ".join(vocab.country_name(c) for c in value)
    if how == "text":
        return str(value)
    code_list = vocab.ALL_LISTS[how]
    if isinstance(value, (set, frozenset, list, tuple)):
        return ", ".join(code_list.label(c) for c in sorted(value, key=code_list.index))
    return code_list.label(str(value))


def person_section(case: Case, visible: frozenset[str]) -> Section:
    section = Section(_("The person"))
    for name, label, how in PERSON_FIELDS:
        if name in visible:
            section.lines.append(Line(str(label), show(getattr(case, name), how)))
    return section


def profile_section(case: Case, with_narrative: bool, rules: masking.MaskRules | None) -> Section | None:
    profile = case.profile
    if profile is None:
        return None
    section = Section(_("How the person was trafficked"))
    for name, label, how in PROFILE_FIELDS:
        section.lines.append(Line(str(label), show(getattr(profile, name), how)))
    if with_narrative and profile.narrative:
        text = str(profile.narrative)
        section.texts.append(Line(_("Account"), masking.mask_text(text, rules) if rules else text))  # type: ignore[arg-type]
    return section


def needs_section(case: Case, referral: Referral | None) -> Section:
    from casework.assistance.models import Service

    section = Section(_("Assistance needed"))
    if referral is not None:
        section.lines.append(Line(_("Referred for"), vocab.SERVICE_KINDS.label(referral.service_kind)))
    rows = session.execute(
        select(Service.kind, Service.status).where(
            Service.case_id == case.id, Service.status.in_(("needed", "referred"))
        )
    ).all()
    for kind, status in rows:
        section.lines.append(Line(vocab.SERVICE_KINDS.label(kind), vocab.SERVICE_STATUSES.label(status)))
    return section


def shared_notes_section(case: Case, rules: masking.MaskRules, recipient_org_id: uuid.UUID) -> Section:
    """The owner organisation's shared notes and the recipient's own: never another partner's."""
    section = Section(_("Notes shared by the organisations"))
    notes = session.execute(
        select(CaseNote)
        .where(
            CaseNote.case_id == case.id,
            CaseNote.shareable.is_(True),
            CaseNote.author_org_id.in_((case.owner_org_id, recipient_org_id)),
        )
        .order_by(CaseNote.created_at)
    ).scalars()
    for note in notes:
        section.texts.append(
            Line(note.created_at.date().isoformat(), masking.mask_text(str(note.body or ""), rules) or "")
        )
    return section


def document_line(kind: str, title: Any, day: str) -> Line:
    """One document in a summary: its kind, title and date, never its content."""
    return Line(str(vocab.DOCUMENT_KINDS.label(kind)), f"{title or ''} ({day})")


def documents_section(case: Case, visible: frozenset[str]) -> Section | None:
    """The case's documents of the kinds ``visible`` shows (a referral's scope), or None."""
    from casework.documents.models import Document

    kinds = [kind for kind in access.DOCUMENT_KIND_SCOPES if access.document_field(kind) in visible]
    if not kinds:
        return None
    rows = session.execute(
        select(Document)
        .where(Document.case_id == case.id, Document.kind.in_(kinds), Document.service_id.is_(None))
        .order_by(Document.uploaded_at)
    ).scalars()
    lines = [document_line(d.kind, d.title, d.uploaded_at.date().isoformat()) for d in rows]
    return Section(_("Documents"), lines=lines) if lines else None


def visible_for_referral(referral: Referral) -> frozenset[str]:
    fields = set(access.ALWAYS_VISIBLE)
    for scope in referral.field_scope or ():
        fields |= access.SCOPE_TO_FIELDS.get(scope, frozenset())
    return frozenset(fields)


def build(case: Case, recipient: str, referral_id: uuid.UUID | None = None, on: date | None = None) -> Summary:
    """The summary of ``case`` for ``recipient``. Raises SummaryRefused (no consent in force,
    no such open referral of this case, unknown recipient)."""
    on = on or date.today()
    if recipient == "partner":
        return _for_partner(case, referral_id, on)
    if recipient == "law_enforcement":
        return _for_law_enforcement(case, on)
    if recipient == "victim":
        return _for_victim(case, on)
    raise SummaryRefused(_("Choose who the summary is for."))


def _for_partner(case: Case, referral_id: uuid.UUID | None, on: date) -> Summary:
    referral = None
    if referral_id is not None:
        referral = session.execute(
            select(Referral).where(Referral.id == referral_id, Referral.case_id == case.id)
        ).scalar_one_or_none()
    if referral is None or referral.status not in OPEN_STATUSES:
        raise SummaryRefused(_("Choose an open referral of this case."))
    if not referral_services.basis_in_force(referral, on):
        raise SummaryRefused(_("The person's consent to share with this organisation is not in force."))
    visible = visible_for_referral(referral)
    rules = masking.rules_for(case, visible)
    org_name = session.get(Organisation, referral.to_org_id).name  # type: ignore[union-attr]
    if referral.consent_id is not None and referral.consent is not None:
        basis = _(
            "Consent to share with %(org)s, given on %(day)s.", org=org_name, day=referral.consent.given_on.isoformat()
        )
    else:
        expires = referral.override.expires_on.isoformat() if referral.override else ""
        basis = _("Emergency override without consent (until %(day)s), for %(org)s.", day=expires, org=org_name)
    sections = [person_section(case, visible)]
    if "needs" in visible:
        sections.append(needs_section(case, referral))
    if "profile" in visible:
        profile = profile_section(case, with_narrative=False, rules=rules)
        if profile is not None:
            sections.append(profile)
    if "shared_notes" in visible:
        sections.append(shared_notes_section(case, rules, referral.to_org_id))
    shared_documents = documents_section(case, visible)
    if shared_documents is not None:
        sections.append(shared_documents)
    if referral.message:
        sections.append(
            Section(_("Referral"), texts=[Line(_("Message"), masking.mask_text(str(referral.message), rules) or "")])
        )
    return Summary("partner", str(RECIPIENTS.label("partner")), case.reference, on, basis, sections, referral.id)


def _for_law_enforcement(case: Case, on: date) -> Summary:
    consent = consent_services.active_consent(case.id, "law_enforcement_cooperation", on=on)
    if consent is None:
        raise SummaryRefused(_("The person's consent to cooperate with law enforcement is not in force."))
    sections = [person_section(case, LAW_ENFORCEMENT_FIELDS)]
    profile = profile_section(case, with_narrative=False, rules=None)
    if profile is not None:
        sections.append(profile)
    basis = _("Consent to cooperate with law enforcement, given on %(day)s.", day=consent.given_on.isoformat())
    return Summary("law_enforcement", str(RECIPIENTS.label("law_enforcement")), case.reference, on, basis, sections)


def _for_victim(case: Case, on: date) -> Summary:
    from casework.admin import subject_access

    record = subject_access.collect(case)
    sections = [person_section(case, access.ALL_CASE_FIELDS)]
    profile = profile_section(case, with_narrative=True, rules=None)
    if profile is not None:
        sections.append(profile)
    services = Section(_("Assistance"))
    for item in record["services"]:
        heading = f"{vocab.SERVICE_KINDS.label(item['kind'])} · {vocab.SERVICE_STATUSES.label(item['status'])}"
        dates = " – ".join(d for d in (item.get("started_on"), item.get("ended_on")) if d)
        services.texts.append(Line(heading, "; ".join(t for t in (dates, item.get("notes") or "") if t)))
    consents = Section(_("Consents"))
    for item in record["consents"]:
        heading = _(
            "%(label)s: %(value)s",
            label=vocab.CONSENT_PURPOSES.label(item["purpose"]),
            value=vocab.CONSENT_DECISIONS.label(item["decision"]),
        )
        detail = _("given on %(day)s", day=item["given_on"])
        if item.get("organisation"):
            detail += f" · {item['organisation']}"
        if item.get("withdrawn_on"):
            detail += " · " + _("withdrawn on %(day)s", day=item["withdrawn_on"])
        consents.texts.append(Line(heading, detail))
    referrals = Section(_("Referrals"))
    for item in record["referrals"]:
        heading = f"{item['to_organisation']} · {vocab.SERVICE_KINDS.label(item['service_kind'])}"
        referrals.texts.append(
            Line(heading, f"{vocab.REFERRAL_STATUSES.label(item['status'])} · {item['created_at'][:10]}")
        )
    notes = Section(_("Notes"))
    for item in record["notes"]:
        notes.texts.append(Line(item["created_at"][:10], item.get("body") or ""))
    documents = Section(_("Documents"))
    for item in record["documents"]:
        documents.lines.append(document_line(item["kind"], item.get("title"), item["uploaded_at"][:10]))
    sections += [s for s in (services, consents, referrals, notes, documents) if s.texts or s.lines]
    basis = _("A copy for the person of everything held about them.")
    return Summary("victim", str(RECIPIENTS.label("victim")), case.reference, on, basis, sections)
