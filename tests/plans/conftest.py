"""The case tests' fixtures (an organisation with staff, signed-in clients, factories)."""

from tests.cases.conftest import (  # noqa: F401
    caseworker,
    colleague,
    load,
    make_service,
    org,
    other_org,
    signed_in,
    supervisor,
)
