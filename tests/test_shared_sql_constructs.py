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


PROCESS_WIDE_CACHES = frozenset({"cache", "lru_cache", "cached_property"})


def _decorator_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    names = set()
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, ast.Attribute):
            names.add(target.attr)
    return names


def process_cached_lazy_constructs(source: str) -> list[tuple[int, str]]:
    """(line, constructor) of each function cached for the whole process (``functools.cache``,
    ``lru_cache``, ``cached_property``) that builds a lazy SQL construct: what it returns is
    shared by every thread just as a module-level one is (casework.db.per_thread_cache is the
    cache for SQL)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _decorator_names(node) & PROCESS_WIDE_CACHES:
            found.extend((node.lineno, name) for name in sorted(_called_names(node) & LAZY_CONSTRUCTORS))
    return sorted(found)


def test_the_checker_finds_a_process_wide_cached_subquery() -> None:
    source = (
        "import functools\n"
        "@functools.cache\n"
        "def columns():\n"
        "    return select(Task).subquery()\n"
        "@per_thread_cache\n"
        "def fine():\n"
        "    return aliased(User)\n"
        "@lru_cache(maxsize=4)\n"
        "def names():\n"
        "    return aliased(User)\n"
    )
    assert process_cached_lazy_constructs(source) == [(3, "subquery"), (9, "aliased")]


def test_no_function_caches_an_alias_subquery_or_cte_for_the_whole_process() -> None:
    package = Path(casework.__file__).parent
    offenders = [
        f"{path.relative_to(package.parent)}:{line}: {name}()"
        for path in sorted(package.rglob("*.py"))
        for line, name in process_cached_lazy_constructs(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_hot_statement_builders_share_nothing_between_threads() -> None:
    """The case file's statement (with the partner role's aliased referrals and the consent
    rule's aliased later records) and the summary header's columns (a subquery) are built once
    per thread: the same objects again within a thread, never another thread's."""
    import threading

    from casework.access import Role, _load_case_statement
    from casework.cases.summary import _header_statement, header_columns

    def build() -> tuple[object, ...]:
        columns = header_columns()
        return (
            columns,
            _header_statement(),
            *(_load_case_statement(role, with_profile, columns) for role in Role for with_profile in (False, True)),
        )

    mine = build()
    assert all(a is b for a, b in zip(mine, build(), strict=True))
    theirs: list[tuple[object, ...]] = []
    thread = threading.Thread(target=lambda: theirs.append(build()))
    thread.start()
    thread.join()
    assert not any(a is b for a, b in zip(mine, theirs[0], strict=True))


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
