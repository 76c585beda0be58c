"""Links between features built side by side: fall back when an endpoint does not exist."""

from __future__ import annotations

from typing import Any

from flask import url_for
from werkzeug.routing import BuildError


def optional_url(endpoint: str, **values: Any) -> str | None:
    """``url_for`` or None when the endpoint (another feature's) is not there."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def case_file_url(case_id: Any, anchor: str = "") -> str:
    """The case file page (cases.view) at the tab showing ``anchor``, or this feature's consent
    page as a fallback."""
    if optional_url("cases.view", case_id=case_id) is None:
        url = url_for("consent.index", case_id=case_id)
        return f"{url}#{anchor}" if anchor else url
    from casework.cases.tabs import tab_url

    return tab_url(case_id, anchor or None)
