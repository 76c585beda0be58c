"""Hand translations in and out of a catalogue as tab-separated lines (used by scripts/i18n).

todo LANG          print each untranslated message: msgid, a tab, and the plural's msgid
                   after " ||| " for plural messages
fill LANG FILE     read lines "msgid<TAB>translation" (plural forms joined by " ||| ",
                   as many as the language has) and write them into LANG's catalogue;
                   refuses a line whose placeholders differ from the msgid's
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parents[1] / "casework" / "translations" / "{lang}" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdifr]|\{(\w*)\}")
SEP = " ||| "


def _placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


def todo(lang: str) -> None:
    with Path(str(PO).format(lang=lang)).open("rb") as f:
        catalog = read_po(f, locale=lang)
    for m in catalog:
        if not m.id:
            continue
        forms = (m.string,) if isinstance(m.string, str) else tuple(m.string)
        if m.fuzzy or not all(s.strip() for s in forms):
            print(m.id if isinstance(m.id, str) else SEP.join(m.id))


def fill(lang: str, source: str) -> None:
    path = Path(str(PO).format(lang=lang))
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang)
    wrong = []
    for line in Path(source).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        msgid, _, text = line.partition("\t")
        message = catalog.get(msgid.split(SEP)[0])
        if message is None:
            wrong.append(f"not in the catalogue: {msgid}")
            continue
        ids = (message.id,) if isinstance(message.id, str) else tuple(message.id)
        forms = text.split(SEP)
        expected = set().union(*(_placeholders(i) for i in ids))
        if message.pluralizable and len(forms) != catalog.num_plurals:
            wrong.append(f"{catalog.num_plurals} forms needed: {msgid}")
        elif any(_placeholders(s) != expected for s in forms) or not all(s.strip() for s in forms):
            wrong.append(f"placeholders differ or empty: {msgid}")
        else:
            message.string = tuple(forms) if message.pluralizable else forms[0]
            message.flags.discard("fuzzy")
    if wrong:
        sys.exit("\n".join(wrong))
    with path.open("wb") as f:
        write_po(f, catalog)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "todo":
        todo(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "fill":
        fill(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
