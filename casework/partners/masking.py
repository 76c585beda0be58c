"""Masking victim identifiers inside free text (notes, messages, narratives).

A recipient who may not see a person's names, contacts or documents must not read them in a
note either. :func:`mask_text` replaces, whole-word and regardless of case and accents:

* the person's own names and aliases (each part of two letters or more), in any script;
* anything shaped like a phone number, an e-mail address or an identity-document number,
  plus the person's own document number however it is spaced.

Over-masking is preferred to a leak: a long run of digits is masked even if it was not a
phone number. Dates (2025-03-14, 14.03.2025) are left alone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _

NAME_SPLIT = re.compile(r"[\s,;/|()\"“”«»\-‐‑‒–—'’`´.]+")
EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+", re.UNICODE)
# An optional +/00 prefix, an optional bracketed area code, then digits in groups separated
# by single spaces, dots or hyphens. Digit counts are checked afterwards.
PHONE = re.compile(r"(?<![\w+])(?:\+|00)?[ \t]?(?:\(\d{1,5}\)[ \t.\-]?)?\d(?:[ \t.\-]?\d){5,17}(?![\w])")
DATE_LIKE = re.compile(r"^(?:\d{4}[.\-/]\d{1,2}[.\-/]\d{1,2}|\d{1,2}[.\-/]\d{1,2}[.\-/]\d{2,4})$")
# Letters and digits mixed (passport, ID card and permit numbers): 6-20 characters with at
# least four digits and one ASCII letter, e.g. A12345678, NIN-1234-5678, AB 1234567.
DOCUMENT = re.compile(
    r"(?<![\w\-])(?=(?:[A-Za-z\-]*\d){4})(?=[\w\-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9\-]{4,18}[A-Za-z0-9](?![\w\-])"
)
DOCUMENT_SPACED = re.compile(r"(?<!\w)[A-Z]{1,3}[ \t]\d{6,12}(?!\w)")
MIN_NAME_PART = 2


@dataclass(frozen=True, slots=True)
class MaskRules:
    """What to mask for one recipient."""

    names: tuple[str, ...] = ()
    phones: bool = True
    emails: bool = True
    documents: bool = True
    document_numbers: tuple[str, ...] = ()


def fold_char(char: str) -> str:
    """Case, accents and compatibility forms folded away, one character at a time."""
    decomposed = unicodedata.normalize("NFKD", char)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", stripped).casefold()


def _folded_with_map(text: str) -> tuple[str, list[int]]:
    """The folded text and, per folded character, the index of the original character."""
    folded: list[str] = []
    index: list[int] = []
    for position, char in enumerate(text):
        for piece in fold_char(char):
            folded.append(piece)
            index.append(position)
    return "".join(folded), index


def name_parts(names: Iterable[str | None]) -> list[str]:
    """Folded name parts worth masking, longest first (so 'Maria' wins over 'Mari')."""
    parts: set[str] = set()
    for name in names:
        if not name or not isinstance(name, str):
            continue
        for part in NAME_SPLIT.split(name):
            folded = "".join(fold_char(c) for c in part)
            if sum(1 for c in folded if c.isalnum()) >= MIN_NAME_PART:
                parts.add(folded)
    return sorted(parts, key=lambda p: (-len(p), p))


def _spans_of_names(text: str, parts: list[str]) -> list[tuple[int, int]]:
    if not parts:
        return []
    folded, index = _folded_with_map(text)
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(p) for p in parts) + r")(?!\w)")
    spans = []
    for match in pattern.finditer(folded):
        start = index[match.start()]
        end = index[match.end() - 1] + 1
        # A combining mark after the last letter belongs to it (decomposed input).
        while end < len(text) and unicodedata.combining(text[end]):
            end += 1
        spans.append((start, end))
    return spans


def _document_pattern(number: str) -> re.Pattern[str] | None:
    chars = [c for c in number if c.isalnum()]
    if len(chars) < 4:
        return None
    body = r"[\s.\-/]?".join(re.escape(c) for c in chars)
    return re.compile(r"(?<!\w)" + body + r"(?!\w)", re.IGNORECASE)


def _phone_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in PHONE.finditer(text):
        candidate = match.group(0).strip()
        digits = sum(c.isdigit() for c in candidate)
        if 7 <= digits <= 15 and not DATE_LIKE.match(candidate):
            start = match.start() + (len(match.group(0)) - len(match.group(0).lstrip()))
            spans.append((start, match.end()))
    return spans


def mask_text(text: str | None, rules: MaskRules) -> str | None:
    """``text`` with the identifiers ``rules`` names replaced by a bracketed placeholder."""
    if not text:
        return text
    spans: list[tuple[int, int, str]] = []
    if rules.emails:
        spans += [(m.start(), m.end(), _("[email withheld]")) for m in EMAIL.finditer(text)]
    for number in rules.document_numbers:
        pattern = _document_pattern(number) if number else None
        if pattern is not None:
            spans += [(m.start(), m.end(), _("[document withheld]")) for m in pattern.finditer(text)]
    if rules.documents:
        spans += [(m.start(), m.end(), _("[document withheld]")) for m in DOCUMENT.finditer(text)]
        spans += [(m.start(), m.end(), _("[document withheld]")) for m in DOCUMENT_SPACED.finditer(text)]
    if rules.phones:
        spans += [(s, e, _("[phone withheld]")) for s, e in _phone_spans(text)]
    spans += [(s, e, _("[name withheld]")) for s, e in _spans_of_names(text, name_parts(rules.names))]
    return _replace(text, spans)


def _replace(text: str, spans: list[tuple[int, int, str]]) -> str:
    """Apply spans, earliest first; an overlapping span merges into the one it overlaps."""
    if not spans:
        return text
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    merged: list[list[object]] = []
    for start, end, label in spans:
        if merged and start < merged[-1][1]:  # type: ignore[operator]
            merged[-1][1] = max(merged[-1][1], end)  # type: ignore[call-overload]
            continue
        merged.append([start, end, label])
    out = []
    cursor = 0
    for start, end, label in merged:
        out.append(text[cursor:start])  # type: ignore[misc]
        out.append(str(label))
        cursor = end  # type: ignore[assignment]
    out.append(text[cursor:])
    return "".join(out)


def rules_for(case: object, visible: frozenset[str]) -> MaskRules:
    """Mask what a recipient seeing ``visible`` fields of ``case`` may not see.

    ``case`` is the ORM case (its names are read here, server-side, to find them in the text;
    they never reach the recipient)."""

    def value(field: str) -> str | None:
        raw = getattr(case, field, None)
        return raw if isinstance(raw, str) else None

    hidden_names = [value(f) for f in ("given_name", "family_name", "aliases") if f not in visible]
    document = value("document_number")
    return MaskRules(
        names=tuple(n for n in hidden_names if n),
        phones="phone" not in visible,
        emails="email" not in visible,
        documents="document_number" not in visible,
        document_numbers=(document,) if document and "document_number" not in visible else (),
    )
