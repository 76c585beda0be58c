"""``flask demo seed`` / ``demo users``: row counts, decryption through the ORM, blind-index
search, partner visibility, faithfulness to the generator, and no plaintext in the file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from casework import access, vocab
from casework.assistance.models import Service
from casework.auth import passwords
from casework.auth.models import Organisation, User
from casework.cases.models import Case, CaseNote, TraffickingProfile
from casework.consent.models import Consent
from casework.crypto.blind_index import document_index, name_index, organisation_key
from casework.db import get_db, session
from casework.demo.accounts import demo_email
from casework.partners.models import Referral
from casework.synthetic import NOTE_TEMPLATES, SyntheticParameters, generate

N = 300
SEED = 7


def _seed(runner, *extra: str) -> str:
    result = runner.invoke(args=["demo", "seed", "--cases", str(N), "--seed", str(SEED), *extra])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def seeded(app, runner):
    output = _seed(runner, "--workers", "1")
    return output


def _count(model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_seed_inserts_the_expected_rows(app, seeded):
    data = generate(N, SyntheticParameters(seed=SEED))
    with app.app_context():
        assert _count(Case) == N
        assert _count(TraffickingProfile) == N
        expected_consents = N + int((data.research_consent != "").sum()) + int(data.referred.sum())
        assert _count(Consent) == expected_consents
        expected_services = sum(int((draws.status != "").sum()) for draws in data.services.values())
        assert _count(Service) >= expected_services  # plus partner services added for referrals
        assert _count(CaseNote) == len(data.note_case)
        assert _count(Referral) == int(data.referred.sum()) > 0
        assert {u.role for u in session.execute(select(User)).scalars()} == {
            "admin", "supervisor", "caseworker", "partner", "researcher"
        }  # fmt: skip
        references = session.execute(select(Case.reference)).scalars().all()
        assert len(set(references)) == N


def test_seeded_cases_decrypt_through_the_orm_and_match_the_generator(app, seeded):
    data = generate(N, SyntheticParameters(seed=SEED))
    expected = Counter(
        (g, f, dob, doc)
        for g, f, dob, doc in zip(
            data.given_name, data.family_name, data.date_of_birth.tolist(), data.document_number, strict=True
        )
    )
    with app.app_context():
        cases = session.execute(select(Case)).scalars().all()
        found = Counter((c.given_name, c.family_name, c.date_of_birth, c.document_number) for c in cases)
        assert found == expected
        coded = Counter((c.gender, c.age_at_registration, c.citizenship, c.profile.means_of_control) for c in cases)
        codes = vocab.MEANS_OF_CONTROL
        want = Counter(
            (g, a if a >= 0 else None, cz or None, codes.codes_of(m) if m >= 0 else None)
            for g, a, cz, m in zip(
                data.gender.tolist(),
                data.age.tolist(),
                data.citizenship.tolist(),
                data.means_of_control.tolist(),
                strict=True,
            )
        )
        assert coded == want
        note = session.execute(select(CaseNote)).scalars().first()
        assert note.body in NOTE_TEMPLATES
        for case in cases[:50]:  # every encrypted field reads without error
            for field in ("aliases", "place_of_birth", "phone", "email", "address", "languages"):
                getattr(case, field)
            if case.profile.narrative is not None:
                assert case.profile.narrative.startswith("Recruited through")


def test_blind_index_search_finds_a_seeded_name_and_document(app, seeded):
    data = generate(N, SyntheticParameters(seed=SEED))
    with app.app_context():
        i = next(k for k, doc in enumerate(data.document_number) if doc)
        given, family = data.given_name[i], data.family_name[i]
        # a search as typed: different case and accents folded
        key = organisation_key(session.execute(select(Case.owner_org_id).limit(1)).scalar_one())
        hits = (
            session.execute(select(Case).where(Case.name_bidx == name_index(family.upper(), given, key)))
            .scalars()
            .all()
        )
        assert any(c.given_name == given and c.family_name == family for c in hits)
        by_document = (
            session.execute(
                select(Case).where(Case.document_bidx == document_index(data.document_number[i].lower(), key))
            )
            .scalars()
            .all()
        )
        assert [c.document_number for c in by_document] == [data.document_number[i]]


def test_partner_sees_referred_cases_and_caseworker_its_own(app, seeded):
    with app.app_context():
        partner = session.execute(select(User).where(User.role == "partner")).scalar_one()
        visible = session.execute(access.scoped_cases(partner)).scalars().all()
        assert visible
        referral = session.execute(select(Referral).where(Referral.case_id == visible[0].id)).scalars().first()
        assert referral.status == "accepted"
        assert (
            referral.consent.purpose == "referral_sharing"
            and referral.consent.organisation_id == partner.organisation_id
        )  # noqa: E501
        caseworker = session.execute(select(User).where(User.role == "caseworker")).scalar_one()
        own = session.execute(access.scoped_cases(caseworker)).scalars().all()
        assert 0.8 * N < len(own) <= N  # all but a few unassigned new cases
        researcher = session.execute(select(User).where(User.role == "researcher")).scalar_one()
        assert session.execute(access.scoped_cases(researcher)).first() is None


def test_database_file_holds_no_seeded_identifier_in_plaintext(app, seeded):
    data = generate(N, SyntheticParameters(seed=SEED))
    engine = get_db(app).engine
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    path = Path(app.config["CASEWORK"].database_url.removeprefix("sqlite:///"))
    content = path.read_bytes()
    assert len(content) > 100_000
    # long enough that random ciphertext cannot contain them by chance
    names = [n for n in data.given_name + data.family_name if len(n.encode()) >= 6]
    others = [v for v in data.document_number + data.phone + data.email + data.address if v]
    probes = sorted(set(names))[:40] + sorted(set(others))[:40] + list(NOTE_TEMPLATES[:3])
    assert len(probes) > 60
    assert any(not p.isascii() for p in probes)
    leaked = [p for p in probes if p.encode("utf-8") in content]
    assert leaked == []
    # and the check itself works: plaintext that is stored is found
    assert b"Demo Lead Agency" in content


def test_seeding_with_worker_processes_gives_the_same_data(app, runner):
    _seed(runner, "--workers", "2", "--chunk-size", "100")
    data = generate(N, SyntheticParameters(seed=SEED))
    with app.app_context():
        cases = session.execute(select(Case)).scalars().all()
        assert Counter(c.given_name for c in cases) == Counter(data.given_name)
        assert _count(Consent) == N + int((data.research_consent != "").sum()) + int(data.referred.sum())


def test_seeding_twice_adds_cases_with_new_references(app, runner, seeded):
    _seed(runner, "--workers", "1")
    with app.app_context():
        assert _count(Case) == 2 * N
        assert len(set(session.execute(select(Case.reference)).scalars())) == 2 * N
        assert _count(User) == 5  # accounts are not duplicated


def test_demo_users_prints_passwords_once_and_they_work(app, runner):
    result = runner.invoke(args=["demo", "users", "--totp"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if "password:" in line}
    assert set(lines) == {"admin", "supervisor", "caseworker", "partner", "researcher"}
    with app.app_context():
        for role, line in lines.items():
            password = line.split("password:")[1].split()[0]
            org = {"partner": "Demo Partner NGO", "researcher": "Demo Research Institute"}.get(role, "Demo Lead Agency")
            user = session.execute(select(User).where(User.email == demo_email(role, org))).scalar_one()
            assert passwords.verify_password(user.password_hash, password)
            assert user.totp_enabled is (role in ("admin", "supervisor"))
            if user.totp_enabled:
                assert str(user.totp_secret) in result.output
        kinds = {o.name: o.kind for o in session.execute(select(Organisation)).scalars()}
        assert kinds["Demo Partner NGO"] == "partner_ngo" and kinds["Demo Research Institute"] == "research"
    again = runner.invoke(args=["demo", "users"])
    assert again.exit_code == 0
    assert "password:" not in again.output and "exists" in again.output


def test_seed_refuses_a_bad_case_count(runner):
    result = runner.invoke(args=["demo", "seed", "--cases", "0"])
    assert result.exit_code != 0


def test_demo_commands_refuse_production(make_app, tmp_path):
    app = make_app(env="production", audit_anchor_path=tmp_path / "audit-anchor.log")
    runner = app.test_cli_runner()
    for args in (["demo", "seed", "--cases", "5"], ["demo", "users"]):
        result = runner.invoke(args=args)
        assert result.exit_code != 0
        assert "production" in result.output
    with app.app_context():
        assert _count(Case) == 0 and _count(User) == 0
