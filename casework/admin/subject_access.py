"""Subject access: everything held about one person, decrypted, for their caseworker to hand
over (a victim's right to their data). Built from the models, so a new column is included."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import with_polymorphic

from casework.auth.models import Organisation, User
from casework.cases.models import Case, CaseNote
from casework.consent.models import Consent, ConsentOverride
from casework.crypto import Erased
from casework.crypto.fields import encrypted_fields
from casework.db import session
from casework.documents.models import Document
from casework.partners.models import Referral

# Internal plumbing that says nothing about the person.
SKIPPED_COLUMNS = frozenset(
    {
        "wrapped_key",
        "wrapping_key_id",
        "key_destroyed_at",
        "version_id",
        "name_bidx",
        "name_dob_bidx",
        "document_bidx",
        "blob_id",
        "chunk_count",
    }
)


def plain(value: Any) -> Any:
    """A JSON-safe form of a stored value."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Erased):
        return "[erased]"
    return value


def row_dict(row: Any) -> dict[str, Any]:
    """Every plain column (ciphertext columns are replaced by their decrypted field)."""
    mapper = inspect(type(row))
    encrypted = encrypted_fields(type(row))
    ciphertext_attrs = {f.column_attr for f in encrypted.values()}
    out: dict[str, Any] = {}
    for attr in mapper.column_attrs:
        if attr.key in ciphertext_attrs or attr.key in SKIPPED_COLUMNS:
            continue
        out[attr.key] = plain(getattr(row, attr.key))
    for name in encrypted:
        out[name] = plain(getattr(row, name))
    return out


def collect(case: Case) -> dict[str, Any]:
    """Everything held about the person of ``case`` (the caller checked access)."""
    from casework.assistance.models import ReintegrationAssistance, Service

    org_names = dict(session.execute(select(Organisation.id, Organisation.name)).all())
    user_names = dict(session.execute(select(User.id, User.display_name)).all())

    def org(org_id: uuid.UUID | None) -> str | None:
        return org_names.get(org_id) if org_id else None

    record: dict[str, Any] = {"format": "casework subject access v1", "case": row_dict(case)}
    record["case"]["owner_organisation"] = org(case.owner_org_id)
    record["profile"] = row_dict(case.profile) if case.profile is not None else None
    services_query = (
        select(with_polymorphic(Service, "*")).where(Service.case_id == case.id).order_by(Service.created_at)
    )
    services = []
    for service in session.execute(services_query).scalars():
        item = row_dict(service)
        item["provider_organisation"] = org(service.provider_org_id)
        if isinstance(service, ReintegrationAssistance):
            item["follow_ups"] = [row_dict(f) for f in service.follow_ups]
        services.append(item)
    record["services"] = services
    consents = session.execute(
        select(Consent).where(Consent.case_id == case.id).order_by(Consent.given_on, Consent.recorded_at)
    ).scalars()
    record["consents"] = [
        {**row_dict(c), "organisation": org(c.organisation_id), "recorded_by": user_names.get(c.recorded_by_id)}
        for c in consents
    ]
    overrides = session.execute(select(ConsentOverride).where(ConsentOverride.case_id == case.id)).scalars()
    record["consent_overrides"] = [{**row_dict(o), "organisation": org(o.organisation_id)} for o in overrides]
    referrals = session.execute(
        select(Referral).where(Referral.case_id == case.id).order_by(Referral.created_at)
    ).scalars()
    record["referrals"] = [
        {**row_dict(r), "from_organisation": org(r.from_org_id), "to_organisation": org(r.to_org_id)} for r in referrals
    ]
    notes = session.execute(select(CaseNote).where(CaseNote.case_id == case.id).order_by(CaseNote.created_at)).scalars()
    record["notes"] = [{**row_dict(n), "author_organisation": org(n.author_org_id)} for n in notes]
    # The person's documents: what each is (kind, title, file name, type, size, dates); the
    # files themselves are downloaded one by one from the case's documents page.
    documents = session.execute(
        select(Document).where(Document.case_id == case.id).order_by(Document.uploaded_at)
    ).scalars()
    record["documents"] = [{**row_dict(d), "uploaded_by": user_names.get(d.uploaded_by_id)} for d in documents]
    return record


def to_json(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False, indent=2, default=plain).encode("utf-8")
