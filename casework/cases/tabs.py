"""The case file's sections as tab pages (``/cases/<id>?tab=plan``): plain links, no script,
so a phone shows one section at a time under the summary header."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l

from casework.i18n import once_per_language

#: tab -> its label, in the order of the navigation. "overview" is the default.
TABS: dict[str, Any] = {
    "overview": _l("Overview"),
    "profile": _l("Trafficking profile"),
    "plan": _l("Case plan"),
    "assessments": _l("Assessments"),
    "assistance": _l("Assistance"),
    "consents": _l("Consent"),
    "referrals": _l("Referrals"),
    "notes": _l("Notes"),
    "management": _l("Case management"),
}
DEFAULT_TAB = "overview"
#: anchors of sections that earlier links and redirects name -> the tab that shows them
ANCHOR_TABS = {"identity": "overview", "coded": "overview", "case-actions": "management", "closure": "management"}


def tab_labels() -> dict[str, str]:
    """Every tab's label in the request's language (the same for every case file)."""
    labels = once_per_language("tab labels", lambda: {name: str(label) for name, label in TABS.items()})
    return dict(labels)  # a copy: the cached one is shared by every request


def tab_of(value: str | None) -> str:
    """The tab a query parameter names (an unknown value: the overview)."""
    return value if value in TABS else DEFAULT_TAB


def tab_url(case_id: Any, anchor: str | None = None) -> str:
    """The case file at the tab showing ``anchor`` (a section id or a tab name), at the anchor."""
    tab = ANCHOR_TABS.get(anchor or "", anchor if anchor in TABS else DEFAULT_TAB)
    values: dict[str, Any] = {"case_id": case_id, "_anchor": anchor or None}
    if tab != DEFAULT_TAB:
        values["tab"] = tab
    return url_for("cases.view", **values)
