"""Shared helpers of the translation tests: the catalogs on disk and a fresh extraction."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "casework" / "translations"
LANGUAGES = ("fr", "es", "ar", "ru")
# The keywords scripts/i18n passes to pybabel (on top of Babel's defaults).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdifr]|\{(\w*)\}")


def po_path(language: str) -> Path:
    return TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"


def mo_path(language: str) -> Path:
    return TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo"


@lru_cache(maxsize=4)
def catalog(language: str) -> Catalog:
    with po_path(language).open("rb") as f:
        return read_po(f, locale=language)


def messages(language: str) -> list[Message]:
    """The catalog's live (not obsolete) messages, header excluded."""
    return [m for m in catalog(language) if m.id]


def forms(text: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if text is None:
        return ()
    return (text,) if isinstance(text, str) else tuple(text)


def placeholders(text: str) -> set[str]:
    return {named or brace for named, brace in PLACEHOLDER.findall(text)}


@lru_cache(maxsize=1)
def extracted_ids() -> frozenset[str | tuple[str, ...]]:
    """Every message id in the code and templates now, extracted as scripts/i18n does."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    ids: set[str | tuple[str, ...]] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        ids.add(message if isinstance(message, str) else tuple(message))
    return frozenset(ids)
