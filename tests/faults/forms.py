"""Read a page's forms as a browser would submit them (field names and current values)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    action: str
    method: str
    values: dict[str, list[str]] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)  # every field name, in page order
    options: dict[str, list[str]] = field(default_factory=dict)  # select options / checkbox values

    def data(self) -> dict[str, list[str]]:
        return {name: list(values) for name, values in self.values.items()}


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def _add_name(self, name: str) -> None:
        assert self._form is not None
        if name not in self._form.names:
            self._form.names.append(name)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = Form(action=a.get("action", ""), method=a.get("method", "get").lower())
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                return
            self._add_name(name)
            if kind in ("checkbox", "radio"):
                self._form.options.setdefault(name, []).append(a.get("value", "on"))
                if "checked" not in a:
                    return
            self._form.values.setdefault(name, []).append(a.get("value", "on" if kind == "checkbox" else ""))
        elif tag == "select" and name:
            self._add_name(name)
            self._select = name
            self._form.values.setdefault(name, [])
        elif tag == "option" and self._select:
            self._form.options.setdefault(self._select, []).append(a.get("value", ""))
            if "selected" in a:
                self._form.values[self._select].append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._add_name(name)
            self._textarea, self._text = name, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea and self._form is not None:
            self._form.values[self._textarea] = ["".join(self._text)]
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text.append(data)


def forms_of(page: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(page)
    return parser.forms


def form_posting_to(page: str, path: str) -> Form:
    """The page's POST form whose action is ``path`` (or empty: the page itself)."""
    for form in forms_of(page):
        if form.method == "post" and form.action.split("?")[0] in ("", path):
            return form
    raise AssertionError(f"no form posting to {path}")
