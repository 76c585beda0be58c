"""The dashboard tests reuse the case fixtures (organisation, staff, services, query counter)."""

from tests.cases.conftest import (  # noqa: F401 - imported fixtures are registered here
    caseworker,
    colleague,
    make_service,
    org,
    other_org,
    supervisor,
)
