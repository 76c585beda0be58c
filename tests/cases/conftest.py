"""Fixtures of the case tests: an organisation with staff, form data, a query counter."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from casework.db import session


@pytest.fixture
def org(make_org: Callable[..., Any]) -> Any:
    return make_org("Lead agency A")


@pytest.fixture
def other_org(make_org: Callable[..., Any]) -> Any:
    return make_org("Lead agency B")


@pytest.fixture
def caseworker(make_user: Callable[..., Any], org: Any) -> Any:
    return make_user("caseworker", org=org, display_name="Carla Caseworker")


@pytest.fixture
def colleague(make_user: Callable[..., Any], org: Any) -> Any:
    return make_user("caseworker", org=org, display_name="Colin Colleague")


@pytest.fixture
def supervisor(make_user: Callable[..., Any], org: Any) -> Any:
    return make_user("supervisor", org=org, display_name="Sam Supervisor")


def registration_data(**overrides: Any) -> dict[str, Any]:
    """A complete, valid registration as a browser posts it."""
    data: dict[str, Any] = {
        "given_name": "Nguyễn Thị",
        "family_name": "Ánh",
        "aliases": "Anh, Annie",
        "date_of_birth": "2000-05-17",
        "place_of_birth": "Hải Phòng",
        "phone": "+84 912 345 678",
        "email": "anh@example.org",
        "address": "12 Rue des Lilas\n75011 Paris",
        "languages": "Vietnamese, some French",
        "document_type": "passport",
        "document_number": "C1234567",
        "document_country": "VN",
        "gender": "female",
        "age_at_registration": "",
        "citizenship": "VN",
        "country_of_exploitation": "FR",
        "identification_route": "ngo",
        "data_source": "case_management",
        "opened_on": "2025-02-03",
    }
    data.update(overrides)
    return data


@pytest.fixture
def count_cases(app: Flask) -> Callable[[], int]:
    from casework.cases.models import Case

    def count() -> int:
        with app.app_context():
            return session.execute(select(func.count(Case.id))).scalar_one()

    return count


@pytest.fixture
def load(app: Flask) -> Callable[..., Any]:
    """Read a row afresh (decrypted values included) outside any request."""

    def get(model: Any, row_id: Any) -> Any:
        row_id = uuid.UUID(row_id) if isinstance(row_id, str) else row_id
        with app.app_context():
            row = session.get(model, row_id)
            if row is not None:
                for name in ("given_name", "family_name", "date_of_birth", "document_number"):
                    if hasattr(row, name):
                        getattr(row, name)  # decrypt while the session is open
            return row

    return get


TODAY = date.today()


@pytest.fixture
def register(app: Flask) -> Callable[..., Any]:
    """Register a case through the service (blind indexes included), as ``actor``."""
    from casework.auth.models import User
    from casework.cases import services

    def do(actor: Any, assignee: Any = None, **overrides: Any) -> Any:
        values: dict[str, Any] = {
            "given_name": "Amina",
            "family_name": "Okafor",
            "date_of_birth": date(1999, 4, 2),
            "gender": "female",
            "citizenship": "NG",
            "country_of_exploitation": "IT",
            "data_source": "case_management",
            "opened_on": date(2025, 3, 14),
        }
        values.update(overrides)
        with app.test_request_context():
            user = session.get(User, actor.id)
            case = services.register_case(
                services.CaseDetails(**values),
                user,
                assignee_id=assignee.id if assignee is not None else None,
            )
            session.commit()
            return case

    return do


@pytest.fixture
def make_service(app: Flask) -> Callable[..., Any]:
    """An assistance record of ``kind`` for a case (directly, as the assistance forms would)."""
    from casework.assistance.models import SERVICE_MODELS

    def make(case: Any, kind: str = "shelter", status: str = "needed", provider: Any = None) -> Any:
        with app.app_context():
            service = SERVICE_MODELS[kind](
                case_id=case.id, status=status, provider_org_id=provider.id if provider is not None else None
            )
            session.add(service)
            session.commit()
            return service

    return make


@pytest.fixture
def signed_in(app: Flask, login: Callable[..., Any]) -> Callable[[Any], Any]:
    """A fresh test client signed in as ``user`` (several users can be signed in at once)."""

    def make(user: Any) -> Any:
        client = app.test_client()
        login(client, user)
        return client

    return make
