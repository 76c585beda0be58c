"""No SQL construct that SQLAlchemy completes lazily is built at import time and shared.

A gunicorn worker runs several threads over the same modules. An ``aliased()`` class (or an
alias, subquery or CTE) builds its column collection the first time it is used; two threads
using a module-level one for the first time at once could compile a join against the plain
table instead of the alias, and the compiled-statement cache then served that broken SQL to
every later request of the worker. The load test found it in the consent section (hundreds of
failed case files in a minute); the race itself is too rare to provoke in a test, so this test
keeps such constructs inside functions, where each call builds its own.
"""

from __future__ import annotations

import ast
from pathlib import Path

import casework

LAZY_CONSTRUCTORS = frozenset({"aliased", "alias", "subquery", "cte", "lateral", "with_polymorphic"})


def _called_names(node: ast.AST) -> set[str]:
    names = set()
    for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
        if isinstance(call.func, ast.Name):
            names.add(call.func.id)
        elif isinstance(call.func, ast.Attribute):
            names.add(call.func.attr)
    return names


def module_level_lazy_constructs(source: str) -> list[tuple[int, str]]:
    """(line, constructor) of each module-level or class-level assignment that builds a lazy SQL
    construct (a class attribute is shared by every thread just the same)."""
    found = []
    statements = list(ast.parse(source).body)
    while statements:
        statement = statements.pop(0)
        if isinstance(statement, ast.ClassDef):
            statements.extend(statement.body)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
            for name in sorted(_called_names(statement.value) & LAZY_CONSTRUCTORS):
                found.append((statement.lineno, name))
    return sorted(found)


def test_the_checker_finds_a_module_level_alias() -> None:
    source = (
        "from sqlalchemy.orm import aliased\n"
        "RECORDER, WITHDRAWER = aliased(User, name='r'), aliased(User, name='w')\n"
        "RECENT = select(Case).subquery()\n"
        "def f():\n"
        "    local = aliased(User)\n"
        "class Queries:\n"
        "    LATEST = select(Case).cte()\n"
    )
    assert module_level_lazy_constructs(source) == [(2, "aliased"), (3, "subquery"), (7, "cte")]


def test_no_module_builds_a_shared_alias_subquery_or_cte() -> None:
    package = Path(casework.__file__).parent
    offenders = [
        f"{path.relative_to(package.parent)}:{line}: {name}()"
        for path in sorted(package.rglob("*.py"))
        for line, name in module_level_lazy_constructs(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
