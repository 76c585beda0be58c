"""Fixtures of this feature's tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.partners.world import World, build_world


@pytest.fixture
def world(app: Any, make_org: Any, make_user: Any, make_case: Any, login: Any) -> World:
    return build_world(app, make_org, make_user, make_case, login)
