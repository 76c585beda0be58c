"""Tolerant name search without names in clear: blind indexes of name pieces.

Each case's given name, family name and aliases are folded (case, accents) and split into
tokens; for each token the database holds, as HMAC-SHA256 under the owner organisation's
blind-index key (domain-separated by kind, truncated to 128 bits), in ``case_name_tokens``:

- ``t`` the whole token ("amara"),
- ``p`` its prefixes of PREFIX_MIN..PREFIX_MAX letters ("ama", "amar", "amara"; a longer
  token's prefixes stop at PREFIX_MAX letters, so row counts say little about name lengths),
- ``s`` a phonetic key (:func:`phonetic`, Soundex-style: "Amara"/"Amarah"/"Ammara" -> A560).

A search computes the same values for what was typed and ranks the cases in the user's scope
(``access.case_scope``): every typed token must match a token of the case, as a whole token
(3 points), a prefix (2) or a sound-alike (1); the exact full-name index adds 10. The leakage
(equal values within one organisation reveal shared names, prefixes and sound-alikes to whoever
reads the table without the key) and the false-positive rate are stated in the README;
``bench/name_search_bench.py`` measures the latter. ``flask cases reindex-names`` indexes cases
registered before this existed (names are encrypted: only the application can read them).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import ColumnElement, case, delete, func, select

from casework import access
from casework.cases.models import Case, CaseNameToken
from casework.crypto import blind_index
from casework.db import session

PREFIX_MIN = 3
PREFIX_MAX = 5
KINDS = {"t": "name-token", "p": "name-prefix", "s": "name-phonetic"}
WEIGHTS = {"t": 3, "p": 2, "s": 1}
EXACT_BONUS = 10
MAX_TOKENS = 12  # per case (names, aliases): beyond that, a name is not a name
_LETTERS = re.compile(r"[^a-z]")
_CODES = {
    **dict.fromkeys("bfpv", "1"),
    **dict.fromkeys("cgjkqsxz", "2"),
    **dict.fromkeys("dt", "3"),
    "l": "4",
    **dict.fromkeys("mn", "5"),
    "r": "6",
}


def tokens(*names: Any) -> list[str]:
    """Folded tokens of the given names (non-strings and blanks ignored), in order, unique."""
    seen: dict[str, None] = {}
    for name in names:
        if isinstance(name, str):
            for token in blind_index.normalise_name(name).split(" "):
                if token:
                    seen.setdefault(token, None)
    return list(seen)[:MAX_TOKENS]


def phonetic(token: str) -> str | None:
    """A Soundex code (first letter + three digits) of a folded token's Latin letters; None
    when it has none."""
    letters = _LETTERS.sub("", token)
    if not letters:
        return None
    digits = []
    previous = _CODES.get(letters[0], "")
    for letter in letters[1:]:
        code = _CODES.get(letter, "")
        if code and code != previous:
            digits.append(code)
        if letter not in "hw":
            previous = code
    return (letters[0] + "".join(digits) + "000")[:4]


def prefixes(token: str) -> list[str]:
    return [token[:n] for n in range(PREFIX_MIN, min(len(token), PREFIX_MAX) + 1)]


def keys_of(token: str, key: bytes) -> dict[str, set[str]]:
    """A stored token's blind indexes by kind."""
    values: dict[str, set[str]] = {"t": {blind_index.compute(KINDS["t"], token, key)}}
    values["p"] = {blind_index.compute(KINDS["p"], p, key) for p in prefixes(token)}
    sound = phonetic(token)
    values["s"] = {blind_index.compute(KINDS["s"], sound, key)} if sound else set()
    return values


def index_values(case_row: Case) -> dict[str, str]:
    """bidx -> kind of every blind index of the case's names (the strongest kind on a tie)."""
    key = blind_index.organisation_key(case_row.owner_org_id)
    values: dict[str, str] = {}
    for token in tokens(case_row.given_name, case_row.family_name, case_row.aliases):
        for kind in ("s", "p", "t"):  # the stronger kind last: it wins
            for value in keys_of(token, key)[kind]:
                values[value] = kind
    return values


def reindex(case_row: Case) -> None:
    """Replace the case's name tokens (after its names changed, or to back-fill). No flush of
    its own beyond the delete; the new rows are flushed with the session."""
    session.execute(delete(CaseNameToken).where(CaseNameToken.case_id == case_row.id))
    if case_row.erased_at is not None:
        return
    for value, kind in index_values(case_row).items():
        session.add(CaseNameToken(case_id=case_row.id, bidx=value, kind=kind))


def query_values(text: str, key: bytes) -> tuple[int, dict[str, tuple[int, int]]]:
    """The typed text's tokens and bidx -> (token number, weight) to look for."""
    wanted: dict[str, tuple[int, int]] = {}
    typed = tokens(text)
    for number, token in enumerate(typed):
        candidates = [("t", token)]
        if len(token) >= PREFIX_MIN:
            candidates.append(("p", token[:PREFIX_MAX]))
        sound = phonetic(token)
        if sound:
            candidates.append(("s", sound))
        for kind, value in candidates:
            wanted.setdefault(blind_index.compute(KINDS[kind], value, key), (number, WEIGHTS[kind]))
    return len(typed), wanted


def ranked_case_ids(user: Any, text: str, exact_name_bidx: str | None, limit: int) -> list[uuid.UUID]:
    """Case ids in ``user``'s scope whose names match every typed token, best first (two
    grouped queries in one statement)."""
    key = blind_index.organisation_key(user.organisation_id)
    count, wanted = query_values(text, key)
    if not count:
        return []
    number = case({value: n for value, (n, _) in wanted.items()}, value=CaseNameToken.bidx)
    weight = case({value: w for value, (_, w) in wanted.items()}, value=CaseNameToken.bidx)
    scope: ColumnElement[bool] = access.case_scope(user)
    per_token = (
        select(CaseNameToken.case_id.label("case_id"), number.label("n"), func.max(weight).label("w"))
        .join(Case, Case.id == CaseNameToken.case_id)
        .where(CaseNameToken.bidx.in_(list(wanted)), scope)
        .group_by(CaseNameToken.case_id, number)
        .subquery()
    )
    bonus = case((Case.name_bidx == exact_name_bidx, EXACT_BONUS), else_=0) if exact_name_bidx else 0
    score = (func.sum(per_token.c.w) + bonus).label("score")
    rows = session.execute(
        select(per_token.c.case_id, score)
        .join(Case, Case.id == per_token.c.case_id)
        .group_by(per_token.c.case_id, Case.name_bidx, Case.opened_on, Case.reference)
        .having(func.count() == count)
        .order_by(score.desc(), Case.opened_on.desc(), Case.reference.desc())
        .limit(limit)
    ).all()
    return [row[0] for row in rows]


@click.group("cases", help="Case maintenance.")
def names_cli() -> None:
    pass


@names_cli.command("reindex-names")
@click.option("--batch", default=500, show_default=True)
@with_appcontext
def reindex_command(batch: int) -> None:
    """(Re)build the tolerant-search tokens of every live case (idempotent; per batch)."""
    done = 0
    last: uuid.UUID | None = None
    while True:
        query = select(Case).where(Case.erased_at.is_(None)).order_by(Case.id).limit(batch)
        if last is not None:
            query = query.where(Case.id > last)
        cases = list(session.execute(query).scalars())
        if not cases:
            break
        for case_row in cases:
            reindex(case_row)
        session.commit()
        done += len(cases)
        last = cases[-1].id
    click.echo(f"cases indexed: {done}")
