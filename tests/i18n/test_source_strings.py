"""Every translatable string is a literal inside _() / _l() / gettext / ngettext: a variable or an
f-string there is never extracted, so it would stay in English in every language."""

from __future__ import annotations

import ast

from jinja2 import Environment, nodes

from tests.i18n.catalogs import ROOT

GETTEXT_NAMES = {"_", "_l", "gettext", "lazy_gettext", "ngettext", "lazy_ngettext"}


def is_literal(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def test_python_passes_literals_to_gettext():
    dynamic = []
    for path in sorted((ROOT / "casework").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in GETTEXT_NAMES:
                literals = node.args[:2] if node.func.id.endswith("ngettext") else node.args[:1]
                if not literals or not all(is_literal(arg) for arg in literals):
                    dynamic.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)[:80]}")
    assert dynamic == []


def test_templates_pass_literals_to_gettext():
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)  # parsed only, never rendered
    dynamic = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for call in env.parse(path.read_text(encoding="utf-8")).find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name in GETTEXT_NAMES:
                first = call.args[0] if call.args else None
                if not (isinstance(first, nodes.Const) and isinstance(first.value, str)):
                    dynamic.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert dynamic == []
