"""A module-scoped world for the access matrix and the redaction sweep.

One app and one SQLite file per test module: organisations, one user per role, and one case
per *case relation* (own organisation assigned / unassigned, another organisation, referred to
the partner with or without an accepted, consented referral), each with one record of every
kind a URL can name (service, follow-up, consent, referral, note, document: a medical photo the
partner's referral shares, beside an identity scan it does not). The database file is copied
once as a template and restored after any request that may have changed it, and each test
gets a fresh client carrying a session captured from a real sign-in: tests stay independent
and cheap.
"""

from __future__ import annotations

import functools
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select

from casework import create_app
from casework.db import Base, get_db, session
from tests.conftest import PASSWORD, TEST_SETTINGS, CaseworkClient, totp_code_for

#: The signed-in users of the matrix: every role, and both organisations' administrators.
ROLES = ("admin", "admin_other", "operator", "supervisor", "caseworker", "partner", "researcher")
#: Which access.Role each matrix user has.
ROLE_OF = {
    "admin": "admin",
    "admin_other": "admin",
    "operator": "operator",
    "supervisor": "supervisor",
    "caseworker": "caseworker",
    "partner": "partner",
    "researcher": "researcher",
}

#: One case per relation the matrix tries (named from the point of view of the signed-in users
#: of the "own" organisation): what the case is and how it is shared.
CASE_RELATIONS = (
    "assignee",  # own organisation, assigned to the caseworker
    "owner_staff",  # own organisation, assigned to a colleague of the caseworker
    "owner_supervisor",  # own organisation, unassigned
    "break_glass",  # another organisation's, the supervisor holds an emergency access
    "partner",  # referred to the partner NGO: accepted, consent in force
    "second_partner",  # referred to the second partner NGO only
    "other_org",  # another organisation's
    "closed",  # own organisation, assigned to the caseworker, closed
    "erased",  # own organisation, assigned to the caseworker, erased
    "referred_pending",  # referred to the partner NGO, not answered yet
    "referred_no_consent",  # referred to the partner NGO, accepted, consent since withdrawn
)
OWN_CASES = frozenset(CASE_RELATIONS) - {"break_glass", "other_org"}
#: Who reads each case at all (the agreed reads, independent of casework.access: the matrix
#: checks that the relation table gives exactly these).
READERS: dict[str, frozenset[str]] = {
    "assignee": frozenset({"supervisor", "caseworker"}),
    "owner_staff": frozenset({"supervisor"}),
    "owner_supervisor": frozenset({"supervisor"}),
    "break_glass": frozenset({"supervisor"}),
    "partner": frozenset({"supervisor", "caseworker", "partner"}),
    "second_partner": frozenset({"supervisor", "caseworker"}),
    "other_org": frozenset(),
    "closed": frozenset({"supervisor", "caseworker"}),
    "erased": frozenset(),
    "referred_pending": frozenset({"supervisor", "caseworker"}),
    "referred_no_consent": frozenset({"supervisor", "caseworker"}),
}
#: A referral addressed to the partner is the partner's record: it sees and answers it while
#: pending (before the case opens to it) and sees that it ended when consent was withdrawn (the
#: case stays closed to it; the redaction sweep checks that no case field shows there).
REFERRAL_READERS: dict[str, frozenset[str]] = {
    **READERS,
    "referred_pending": frozenset({"supervisor", "caseworker", "partner"}),
    "referred_no_consent": frozenset({"supervisor", "caseworker", "partner"}),
}
#: Accounts an administration page can name, and which matrix users administer each.
USER_RELATIONS = ("own_user", "own_admin", "other_org_user")
ADMINISTERED_BY: dict[str, frozenset[str]] = {
    "own_user": frozenset({"admin"}),
    "own_admin": frozenset({"admin", "operator"}),
    "other_org_user": frozenset({"admin_other"}),
}


def relation_of(fixture: str, user: str) -> tuple[Any, Any]:
    """The access.Relation and access.CaseState a matrix user has to a fixture's case."""
    from casework.access import CaseState, Relation

    state = {"closed": CaseState.CLOSED, "erased": CaseState.ERASED}.get(fixture, CaseState.OPEN)
    role = ROLE_OF.get(user)
    own = fixture in OWN_CASES
    if role == "supervisor":
        relation = Relation.OWNER_SUPERVISOR if own else Relation.BREAK_GLASS if fixture == "break_glass" else None
    elif role == "caseworker" and own:
        relation = Relation.OWNER_STAFF if fixture in ("owner_staff", "owner_supervisor") else Relation.ASSIGNEE
    elif role == "partner" and fixture == "partner":
        relation = Relation.PARTNER
    else:
        relation = None
    return relation or Relation.NONE, state


#: Identifying values of each case: unique strings, so a page showing one is easy to spot.
SECRET_FIELDS = ("family_name", "aliases", "place_of_birth", "phone", "email", "address", "document_number")


def secret_value(relation: str, field_name: str) -> str:
    return f"Zq{field_name.replace('_', '').title()}{relation.replace('_', '').title()}"


def given_name(relation: str) -> str:
    return f"Given{relation.replace('_', '').title()}"


DATE_OF_BIRTH_FORMS = ("2001-02-03", "03/02/2001", "3 February 2001", "February 3, 2001")


@functools.cache
def hidden_values(role: str) -> dict[str, str]:
    """value -> what it is, for every value ``role`` must never see on any page (the redaction
    sweep: tests/security/test_access_matrix.py checks every page of every cell against it).

    - a partner whose referral's field scope is ("given_name", "age", ...) sees the given name
      of that case only: never its family name, contacts, address, document, date of birth, notes;
    - staff see the cases of their scope and nothing of the others (lists included);
    - administrators and researchers see no case content at all.
    """
    hidden: dict[str, str] = {}
    for relation in CASE_RELATIONS:
        staff_sees_all = role in READERS[relation] and role in ("supervisor", "caseworker")
        if staff_sees_all:
            continue
        partner_sees_scope = role == "partner" and role in READERS[relation]
        if not partner_sees_scope:
            hidden[given_name(relation)] = f"{relation}.given_name"
        # (document_title: the identity scan, which the partner's referral does not share)
        for name in (
            *SECRET_FIELDS,
            "note_body",
            "consent_notes",
            "break_glass_reason",
            "document_title",
            "goal",
            "safety_plan",
        ):
            hidden[secret_value(relation, name)] = f"{relation}.{name}"
    if role != "supervisor" and role != "caseworker":
        hidden.update({form: "date_of_birth" for form in DATE_OF_BIRTH_FORMS})
    return hidden


def shown_hidden_values(role: str, response: Any) -> list[str]:
    """What of ``hidden_values(role)`` a page (text or JSON) shows; a download is not read."""
    if not response.mimetype.startswith(("text/", "application/json")):
        return []
    body = response.get_data(as_text=True)
    return [what for value, what in hidden_values(role).items() if value in body]


@dataclass
class World:
    app: Flask
    db_path: Path
    template_path: Path
    users: dict[str, uuid.UUID]
    #: relation -> URL parameter -> value
    params: dict[str, dict[str, str]]
    #: URL parameters that do not depend on the case: org_id
    common: dict[str, str]
    #: user relation -> the id of such an account (user_id)
    accounts: dict[str, str]
    #: role -> an export run of that user (or the researcher's)
    exports: dict[str, str]
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    dirty: bool = False

    def restore(self) -> None:
        """Put the database back as it was built (after a request that may have changed it)."""
        get_db(self.app).engine.dispose()
        for suffix in ("-wal", "-shm"):
            Path(f"{self.db_path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(self.template_path, self.db_path)
        self.dirty = False

    def client(self, role: str | None) -> CaseworkClient:
        """A fresh client, signed in as ``role`` (None: anonymous)."""
        client: CaseworkClient = self.app.test_client()  # type: ignore[assignment]
        if role is not None:
            with client.session_transaction() as sess:
                sess.update(self.sessions[role])
        return client

    def audit_counts(self, case_id: str | None = None) -> tuple[int, int, int]:
        """(refused events, all events, events about ``case_id``) so far."""
        from casework.audit.models import AuditEvent

        about_case = AuditEvent.case_id == uuid.UUID(case_id) if case_id else AuditEvent.id.is_(None)
        with get_db(self.app).engine.connect() as connection:
            row = connection.execute(
                select(
                    func.count().filter(AuditEvent.outcome == "refused"),
                    func.count(),
                    func.count().filter(about_case),
                ).select_from(AuditEvent)
            ).one()
            return int(row[0]), int(row[1]), int(row[2])


def _build(
    app: Flask,
) -> tuple[dict[str, uuid.UUID], dict[str, dict[str, str]], dict[str, str], dict[str, str], dict[str, str]]:
    import pyotp

    from casework.admin import services as admin_services
    from casework.assessments.models import Assessment
    from casework.assistance.models import ReintegrationAssistance, ReintegrationFollowUp
    from casework.auth.models import Organisation, User
    from casework.cases.models import BreakGlassAccess, Case, CaseNote
    from casework.cases.references import next_reference
    from casework.consent.models import Consent
    from casework.db import utcnow
    from casework.exports.models import ExportRun
    from casework.partners.models import Referral
    from casework.plans.models import CaseApproval, PlanGoal
    from casework.tasks.models import Task

    with app.app_context():
        orgs = {
            "own": Organisation(name="Own Lead Agency", kind="lead_agency"),
            "other": Organisation(name="Other Lead Agency", kind="lead_agency"),
            "visitor": Organisation(name="Visiting Lead Agency", kind="lead_agency"),
            "partner": Organisation(name="Partner Shelter NGO", kind="partner_ngo"),
            "partner2": Organisation(name="Second Partner NGO", kind="partner_ngo"),
            "research": Organisation(name="Research Institute", kind="research"),
        }
        session.add_all(orgs.values())
        session.flush()
        home = {
            "admin": "own",
            "admin_other": "other",
            "operator": "own",
            "supervisor": "own",
            "caseworker": "own",
            "partner": "partner",
            "researcher": "research",
        }

        def account(email: str, role: str, org: str, name: str) -> User:
            user = admin_services.create_user(
                email=email,
                display_name=name,
                role=role,
                organisation=orgs[org],
                password=PASSWORD,
                must_change_password=False,
                actor=None,
            )
            if role in ("admin", "operator", "supervisor"):
                user.totp_secret = pyotp.random_base32()
                user.totp_enabled = True
            return user

        users = {role: account(f"{role}@matrix.example", ROLE_OF[role], home[role], f"Matrix {role}") for role in ROLES}
        colleague = account("colleague@matrix.example", "caseworker", "own", "Matrix colleague")
        own_admin = account("own-admin@matrix.example", "admin", "own", "Matrix second admin")
        other_worker = account("other-worker@matrix.example", "caseworker", "other", "Other worker")
        visitor = account("visitor@matrix.example", "supervisor", "visitor", "Visiting supervisor")
        session.flush()
        accounts = {
            "own_user": str(colleague.id),
            "own_admin": str(own_admin.id),
            "other_org_user": str(other_worker.id),
        }

        today = date.today()
        params: dict[str, dict[str, str]] = {}
        erased: list[Case] = []
        for relation in CASE_RELATIONS:
            owner = orgs["own"] if relation in OWN_CASES else orgs["other"]
            assignee = {
                "owner_staff": colleague,
                "owner_supervisor": None,
                "break_glass": other_worker,
                "other_org": other_worker,
            }.get(relation, users["caseworker"])
            case = Case(
                reference=next_reference(2025),
                owner_org_id=owner.id,
                assigned_to_id=assignee.id if assignee is not None else None,
                opened_on=date(2025, 3, 14),
                year_of_registration=2025,
                status="closed" if relation == "closed" else "open",
                closed_on=date(2025, 9, 1) if relation == "closed" else None,
                gender="female",
                age_at_registration=24,
                citizenship="NG",
                country_of_exploitation="IT",
                data_source="case_management",
            )
            session.add(case)
            case.given_name = f"Given{relation.replace('_', '').title()}"
            for name in SECRET_FIELDS:
                setattr(case, name, secret_value(relation, name))
            case.date_of_birth = date(2001, 2, 3)
            session.flush()

            to_partner = relation in ("partner", "referred_pending", "referred_no_consent")
            to_org = orgs["partner"] if to_partner else orgs["partner2"]
            sharing = Consent(
                case_id=case.id,
                purpose="referral_sharing",
                organisation_id=to_org.id,
                decision="granted",
                method="written",
                given_by="victim",
                given_on=today - timedelta(days=10),
                withdrawn_on=today - timedelta(days=1) if relation == "referred_no_consent" else None,
            )
            assistance = Consent(
                case_id=case.id,
                purpose="assistance",
                decision="granted",
                method="written",
                given_by="victim",
                given_on=today - timedelta(days=10),
            )
            session.add_all([sharing, assistance])
            session.flush()
            assistance.notes = secret_value(relation, "consent_notes")
            accepted = relation in ("partner", "second_partner", "referred_no_consent")
            referral = Referral(
                case_id=case.id,
                from_org_id=owner.id,
                to_org_id=to_org.id,
                service_kind="reintegration",
                consent_id=sharing.id,
                field_scope=frozenset({"given_name", "age", "documents_medical"}),
                status="accepted" if accepted else "pending",
            )
            session.add(referral)
            session.flush()
            service = ReintegrationAssistance(
                case_id=case.id,
                status="in_progress",
                provider_org_id=to_org.id,
                referral_id=referral.id,
                started_on=today - timedelta(days=5),
            )
            session.add(service)
            session.flush()
            follow_up = ReintegrationFollowUp(reintegration_id=service.id, visited_on=today - timedelta(days=1))
            session.add(follow_up)
            note = CaseNote(case_id=case.id, author_id=users["supervisor"].id, author_org_id=owner.id, shareable=True)
            session.add(note)
            session.flush()
            note.body = secret_value(relation, "note_body")
            follow_up.sustainability_score = 50
            # An emergency access in force on every case: the supervisor's own on the break-glass
            # case, a visiting organisation's supervisor's elsewhere (the owner may end it).
            grant = BreakGlassAccess(
                case_id=case.id,
                user_id=users["supervisor"].id if relation == "break_glass" else visitor.id,
                granted_at=utcnow(),
                expires_at=utcnow() + timedelta(days=3650),
            )
            session.add(grant)
            session.flush()
            grant.reason = secret_value(relation, "break_glass_reason")
            document = _store_document(case, "medical", "Medical photo", users["caseworker"])
            _store_document(case, "identity_document", secret_value(relation, "document_title"), users["caseworker"])
            goal = PlanGoal(case_id=case.id, domain="safety", created_by_id=users["caseworker"].id)
            approval = CaseApproval(
                case_id=case.id,
                kind="plan_review",
                requested_by_id=users["caseworker"].id,
                reviewed_on=today,
                next_review_on=today + timedelta(days=30),
            )
            assessment = Assessment(
                case_id=case.id,
                kind="risk_safety",
                version=1,
                assessed_on=today,
                answers={"debt": 2},
                total_score=2,
                max_score=24,
                risk_level="low",
                assessed_by_id=users["caseworker"].id,
            )
            session.add_all([goal, approval, assessment])
            session.flush()
            goal.description = secret_value(relation, "goal")
            assessment.safety_plan = secret_value(relation, "safety_plan")
            # A task about the partner's service (a partner sees it exactly as it sees the service).
            task = Task(case_id=case.id, title_code="visit", due_on=today, service_id=service.id, version_id=1)
            session.add(task)
            session.flush()
            task.title = secret_value(relation, "task_title")
            params[relation] = {
                "case_id": str(case.id),
                "goal_id": str(goal.id),
                "approval_id": str(approval.id),
                "assessment_id": str(assessment.id),
                "service_id": str(service.id),
                "follow_up_id": str(follow_up.id),
                "consent_id": str(assistance.id),
                "referral_id": str(referral.id),
                "note_id": str(note.id),
                "grant_id": str(grant.id),
                "document_id": str(document.id),
                "task_id": str(task.id),
                "kind": "reintegration",
            }
            if relation == "erased":
                erased.append(case)
        session.flush()
        for case in erased:
            case.destroy_data_key()
            case.erased_at = utcnow()
            case.erasure_reason = "Erased for the access matrix"
        exports: dict[str, str] = {}
        for role in ("researcher", "supervisor"):
            run = ExportRun(requested_by_id=users[role].id, kind="ctdc_microdata", parameters={}, status="done")
            session.add(run)
            session.flush()
            _store_export_file(run)
            exports[role] = str(run.id)
        for role in ROLES:
            exports.setdefault(role, exports["researcher"])
        common = {"org_id": str(orgs["partner2"].id)}
        session.commit()
        return {role: user.id for role, user in users.items()}, params, common, accounts, exports


def _store_document(case: Any, kind: str, title: str, uploader: Any) -> Any:
    """A document of the case, as the documents service would have stored it (a small PNG, so
    that its preview opens too)."""
    import io

    from PIL import Image

    from casework.crypto.chunks import seal_stream
    from casework.documents.models import Document
    from casework.documents.store import CHUNK_BYTES, store_for

    png = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 90, 0)).save(png, format="PNG")
    content = png.getvalue()
    document = Document(
        case_id=case.id, kind=kind, content_type="image/png", uploaded_by_id=uploader.id, version=1, size=len(content)
    )
    document.case = case
    session.add(document)
    document.title = title
    session.flush()
    store = store_for()
    for seq, sealed, _n in seal_stream(
        case.data_key(), document.id, document.blob_id, io.BytesIO(content), CHUNK_BYTES
    ):
        store.put_chunk(document.blob_id, seq, sealed)
        document.chunk_count = seq + 1
    return document


def _store_export_file(run: Any) -> None:
    """Give a finished export run its file, as the exports service would have stored it."""
    from casework.exports import storage

    run.file_sha256, run.file_bytes = storage.store(run.id, ["caseId,gender\n", "1,-99\n"])


def _sign_in(app: Flask, role: str, user_id: uuid.UUID) -> dict[str, Any]:
    """Sign in through the real forms once; return the session to reuse in every test."""
    from casework.auth.models import User

    client: CaseworkClient = app.test_client()  # type: ignore[assignment]
    response = client.post("/auth/login", data={"email": f"{role}@matrix.example", "password": PASSWORD})
    if response.status_code == 302 and "/auth/two-factor" in response.headers["Location"]:
        with app.app_context():
            user = session.get(User, user_id)
        response = client.post("/auth/two-factor", data={"code": totp_code_for(app, user)})
    assert response.status_code == 302, f"{role} could not sign in"
    with client.session_transaction() as sess:
        return dict(sess)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, keyring_file: Path) -> Iterator[World]:
    directory = tmp_path_factory.mktemp("world")
    db_path = directory / "casework.sqlite3"
    app = create_app(
        {
            **TEST_SETTINGS,
            "instance_path": directory / "instance",
            "database_url": f"sqlite:///{db_path}",
            "keyring_path": keyring_file,
            # The matrix sends hundreds of requests from one address: no throttling here.
            "login_ip_max_attempts": 1_000_000,
            # Documents in the database file, which the world restores after every change.
            "document_store": "database",
        }
    )
    app.test_client_class = CaseworkClient
    engine = get_db(app).engine

    @event.listens_for(engine, "connect")
    def _no_fsync(dbapi_connection: Any, _record: Any) -> None:
        # A throwaway test database: durability is not needed, speed is.
        dbapi_connection.execute("PRAGMA synchronous=OFF")

    Base.metadata.create_all(engine)
    users, params, common, accounts, exports = _build(app)
    world = World(app, db_path, directory / "template.sqlite3", users, params, common, accounts, exports)
    world.sessions = {role: _sign_in(app, role, users[role]) for role in ROLES}
    get_db(app).engine.dispose()  # the last connection closing folds the WAL into the file
    shutil.copyfile(db_path, world.template_path)
    yield world
    get_db(app).engine.dispose()
