"""The case summary as a PDF (fpdf2), in Noto fonts that cover the scripts people's names are
written in: Latin (Vietnamese too), Greek, Cyrillic, Arabic, Hebrew, Devanagari, Bengali and the
other Indic scripts, Myanmar, Khmer, Thai, Lao, Ethiopic, Georgian, Armenian.

* Complex scripts are shaped by HarfBuzz (``uharfbuzz``, through fpdf2's text shaping) and
  right-to-left text is laid out by the Unicode bidirectional algorithm.
* A character that none of the bundled fonts can draw (Chinese, say) stops the PDF with
  :class:`MissingGlyphs`: a summary with a blank where a name should be would be worse than
  none, so the person is told to print the page instead.
* Only the fonts a summary needs are embedded (subset), and nothing of this is loaded when the
  app starts: the views import this module on first use (fpdf2, HarfBuzz and the fonts cost a
  gunicorn worker a second and tens of megabytes it may never need).

The PDF holds exactly what :func:`casework.partners.summary.build` put in the Summary: it
never reads the case itself.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.fonts import TTFFont
from fpdf.output import OutputProducer

from casework.partners.summary import Summary

FONT_DIR = Path(__file__).resolve().parent.parent / "static" / "fonts" / "noto"


@dataclass(frozen=True, slots=True)
class FontFamily:
    name: str
    regular: Path
    bold: Path


def _family(name: str) -> FontFamily:
    return FontFamily(name, FONT_DIR / f"{name}-Regular.ttf", FONT_DIR / f"{name}-Bold.ttf")


# The first draws the interface's own text (and Latin, Greek, Cyrillic); the others are
# fallbacks, each for the script it is named after.
FONT_FAMILIES: tuple[FontFamily, ...] = tuple(
    _family(name)
    for name in (
        "NotoSans",
        "NotoSansArabic",
        "NotoSansHebrew",
        "NotoSansDevanagari",
        "NotoSansBengali",
        "NotoSansGurmukhi",
        "NotoSansGujarati",
        "NotoSansOriya",
        "NotoSansTamil",
        "NotoSansTelugu",
        "NotoSansKannada",
        "NotoSansMalayalam",
        "NotoSansSinhala",
        "NotoSansMyanmar",
        "NotoSansKhmer",
        "NotoSansThai",
        "NotoSansLao",
        "NotoSansEthiopic",
        "NotoSansGeorgian",
        "NotoSansArmenian",
    )
)
MAIN = FONT_FAMILIES[0]
# Characters that draw nothing by themselves (spaces, joiners, direction marks, controls): a font
# need not have them, the shaper and the layout deal with them.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


class MissingGlyphs(ValueError):
    """Characters none of the bundled fonts can draw; ``str(error)`` says which, for the user
    (it names the characters, so it is shown to the person who asked, never logged)."""

    def __init__(self, characters: Iterable[str]) -> None:
        self.characters = sorted(set(characters))
        described = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, '')}".strip() for c in self.characters)
        super().__init__(
            _(
                "The PDF has no font for these characters: %(characters)s. Print the printable page instead.",
                characters=described,
            )
        )


@cache
def _coverage(path: Path) -> frozenset[int]:
    """The code points a font file draws (read once per process, on first use)."""
    font = TTFont(str(path), lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


def families_for(texts: Iterable[str]) -> list[FontFamily]:
    """The font families that draw ``texts`` (the main one first). Raises MissingGlyphs."""
    needed = [MAIN]
    missing = []
    for char in set("".join(texts)):
        if unicodedata.category(char) in _INVISIBLE_CATEGORIES or ord(char) in _coverage(MAIN.regular):
            continue
        family = next((f for f in FONT_FAMILIES[1:] if ord(char) in _coverage(f.regular)), None)
        if family is None:
            missing.append(char)
        elif family not in needed:
            needed.append(family)
    if missing:
        raise MissingGlyphs(missing)
    return sorted(needed, key=FONT_FAMILIES.index)


def _align(text: str, rtl: bool = False) -> str:
    """Right-aligned when the page runs right to left (an Arabic interface), or when the text's
    first strong character is right-to-left (an Arabic name)."""
    if rtl:
        return "R"
    for char in text:
        direction = unicodedata.bidirectional(char)
        if direction in ("R", "AL"):
            return "R"
        if direction == "L":
            return "L"
    return "L"


class _CompleteToUnicode(OutputProducer):
    """fpdf2 maps each shaped glyph to the characters it stands for, so that text can be copied
    and searched. Where a cluster of characters is drawn as several glyphs (a Burmese vowel
    drawn before its consonant), the characters go with the first glyph and the others map to
    nothing; fpdf2 leaves them out of the map, and readers then take their glyph codes for
    characters (a name copied out came with stray control characters). Map them to nothing."""

    def _add_fonts(self, *args: Any, **kwargs: Any) -> Any:
        objects = super()._add_fonts(*args, **kwargs)
        for font in self.fpdf.fonts.values():
            if not isinstance(font, TTFFont):
                continue
            silent = sorted(code for glyph, code in font.subset.items() if glyph is not None and glyph.unicode == ())
            to_unicode = getattr(objects.get(font.i), "to_unicode", None)
            if not silent or to_unicode is None:
                continue
            block = "".join(_cmap_blocks([f"<{code:04X}> <>\n" for code in silent]))
            contents = to_unicode.content_stream().replace(
                b"endcodespacerange\n", b"endcodespacerange\n" + block.encode(), 1
            )
            to_unicode._contents = contents
            to_unicode.length = len(contents)
        return objects


def _cmap_blocks(entries: list[str]) -> Iterator[str]:
    for start in range(0, len(entries), 100):  # at most 100 entries a block (Adobe TN #5014)
        chunk = entries[start : start + 100]
        yield f"{len(chunk)} beginbfchar\n{''.join(chunk)}endbfchar\n"


class _SummaryPdf(FPDF):
    def __init__(self, footer_text: str, families: list[FontFamily]) -> None:
        super().__init__(format="A4")
        self.footer_text = footer_text
        # Bold only for the main font (headings and labels are in the interface's language);
        # names in another script, in bold, take their script's regular face (each font parsed
        # costs a tenth of a second or so).
        self.add_font(MAIN.name, "", str(MAIN.regular))
        self.add_font(MAIN.name, "B", str(MAIN.bold))
        for family in families[1:]:
            self.add_font(family.name, "", str(family.regular))
        self.set_fallback_fonts([f.name for f in families[1:]], exact_match=False)
        self.set_text_shaping(use_shaping_engine=True)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 16, 18)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(MAIN.name, "", 8)
        self.cell(0, 8, f"{self.footer_text} · {self.page_no()}/{{nb}}", align="C")


def _texts(summary: Summary, fixed: Iterable[str]) -> Iterator[str]:
    yield from fixed
    yield from (summary.reference, summary.recipient_label, summary.basis)
    for section in summary.sections:
        yield section.title
        for line in (*section.lines, *section.texts):
            yield line.label
            yield line.value or ""


def render(summary: Summary) -> bytes:
    """The PDF bytes of a summary. Raises MissingGlyphs (a character no bundled font draws)."""
    footer = _("Confidential: for the named recipient only. Do not copy or pass on.")
    title = _("Case summary %(reference)s", reference=summary.reference)
    heading = [(_("For"), summary.recipient_label), (_("Basis"), summary.basis)]
    heading.append((_("Prepared on"), summary.generated_on.isoformat()))
    heading_lines = [_("%(label)s: %(value)s", label=label, value=value) for label, value in heading]
    pdf = _SummaryPdf(footer, families_for(_texts(summary, [footer, title, *heading_lines, "—", "0123456789/"])))
    pdf.set_title(title)
    pdf.set_creator("casework")
    pdf.alias_nb_pages()
    pdf.add_page()
    width = pdf.epw
    # In a right-to-left interface the page runs from the right: everything is right-aligned
    # and each row's label stands to the right of its value.
    locale = get_locale()
    rtl = locale is not None and locale.text_direction == "rtl"

    def paragraph(text: str, height: float) -> None:
        pdf.multi_cell(width, height, text, new_x="LMARGIN", new_y="NEXT", align=_align(text, rtl))

    pdf.set_font(MAIN.name, "B", 15)
    paragraph(title, 8)
    pdf.set_font(MAIN.name, "", 10)
    for line in heading_lines:
        paragraph(line, 5.5)
    for section in summary.sections:
        pdf.ln(3)
        pdf.set_font(MAIN.name, "B", 12)
        paragraph(section.title, 7)
        if section.lines:
            pdf.set_font(MAIN.name, "", 10)
            widths = (62, 38) if rtl else (38, 62)
            with pdf.table(col_widths=widths, first_row_as_headings=False, line_height=5.5) as table:
                for line in section.lines:
                    row = table.row()
                    cells = (line.label, line.value or "—")
                    for cell in reversed(cells) if rtl else cells:
                        row.cell(cell, align=_align(cell, rtl))
        for text in section.texts:
            pdf.set_font(MAIN.name, "B", 10)
            paragraph(text.label, 5.5)
            pdf.set_font(MAIN.name, "", 10)
            paragraph(text.value or "—", 5.5)
    data = bytes(pdf.output(output_producer_class=_CompleteToUnicode))
    # fpdf2 notes what it could not draw; families_for() should have caught it all.
    undrawn = {chr(c) for font in pdf.fonts.values() for c in getattr(font, "missing_glyphs", ())}
    undrawn = {c for c in undrawn if unicodedata.category(c) not in _INVISIBLE_CATEGORIES}
    if undrawn:
        raise MissingGlyphs(undrawn)
    return data
