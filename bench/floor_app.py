"""The deployment bench/load_test.py serves: the production app (``wsgi.app``) plus two
bench-only routes that tell what a case file costs before anything is rendered.

Both do a case file's first steps for the signed-in caseworker and then answer a static page
of a case file's size (no template, no sections, no forms):

- ``/bench/case-floor/<id>``: ``access.load_case`` as the case file calls it, that is the
  scoped case query with the trafficking profile and the view's audit event (chain-head lock,
  insert, commit): the work no rendering or data-access change can remove;
- ``/bench/case-query/<id>``: the same scoped query without the audit event (nothing of the
  case is shown, so there is no view to put on record).

Their throughput against ``/health`` is the best share of the ceiling a case file could reach
if its rendering and sections cost nothing. Nothing here is part of casework: wsgi.py,
scripts/run and scripts/serve never load this module; every other route is the production one.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from flask import Blueprint
from flask_login import current_user
from markupsafe import escape
from sqlalchemy.orm import joinedload

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from casework import access  # noqa: E402
from casework.access import Permission  # noqa: E402
from casework.cases.models import Case  # noqa: E402
from casework.db import session  # noqa: E402
from wsgi import app  # noqa: E402

# A rendered case file of the seeded data is about 13 KB (the load test's case files).
CASE_FILE_BYTES = 13_000
_FILLER = "<p>" + "static text of a case file's size " * (CASE_FILE_BYTES // 35) + "</p>"

bp = Blueprint("bench_floor", __name__, url_prefix="/bench")


def _static_page(case: Case) -> str:
    return f"<!doctype html><title>Case {escape(case.reference)}</title>{_FILLER}"


@bp.route("/case-floor/<uuid:case_id>")
@access.route(Permission.CASE_READ, case_route=True)
def case_floor(case_id: Any) -> tuple[str, int]:
    case = access.load_case(case_id, Permission.CASE_READ, with_profile=True).case
    return _static_page(case), 200


@bp.route("/case-query/<uuid:case_id>")
@access.route(Permission.CASE_READ, case_route=True)
def case_query(case_id: Any) -> tuple[str, int]:
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    query = access.scoped_cases(user).where(Case.id == case_id).options(joinedload(Case.profile))
    case = session.execute(query).unique().scalar_one_or_none()
    if case is None:
        return "not found", 404
    return _static_page(case), 200


app.register_blueprint(bp)
