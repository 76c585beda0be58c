"""The duplicate check's scope is decided by the access policy: own organisation, live cases only."""

from sqlalchemy import select

from casework import access
from casework.auth.models import User
from casework.cases.models import Case
from casework.db import session


def test_duplicate_scope_is_the_organisation_for_staff_and_nothing_for_others(app, make_org, make_user, make_case):
    org, other = make_org(), make_org()
    caseworker = make_user("caseworker", org=org)
    partner = make_user("partner")
    researcher = make_user("researcher")
    colleague_case = make_case(org)  # not assigned to the caseworker: outside case_scope, inside this scope
    make_case(other)
    erased = make_case(org)
    with app.app_context():
        gone = session.get(Case, erased.id)
        gone.destroy_data_key()
        gone.erased_at = gone.key_destroyed_at
        session.commit()

        def ids(user_id):
            user = session.get(User, user_id)
            return set(session.execute(select(Case.id).where(access.duplicate_check_scope(user))).scalars())

        assert ids(caseworker.id) == {colleague_case.id}
        assert ids(partner.id) == set()
        assert ids(researcher.id) == set()
        # ...while the caseworker still may not open the colleague's case.
        user = session.get(User, caseworker.id)
        assert session.execute(select(Case.id).where(access.case_scope(user))).first() is None
