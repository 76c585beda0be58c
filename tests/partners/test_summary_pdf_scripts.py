"""The summary PDF in the scripts people's names are written in: every name must come back out of
the PDF exactly (shaped, right to left where it is), and a character no bundled font has must stop
the PDF with a clear message instead of printing a blank."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest
from pdfminer.high_level import extract_pages
from pdfminer.layout import LTTextContainer, LTTextLine

from casework.partners import summary as summaries

NAMES = {
    "Burmese": "အောင်ဆန်းစုကြည်",
    "Khmer": "សុខ សុភា",
    "Arabic": "فاطمة الزهراء",
    "Arabic ligatures": "عبد الله سلام",
    "Cyrillic": "Анна Кузнецова",
    "Devanagari": "सीता देवी",
    "Vietnamese": "Nguyễn Thị Ánh",
}
RIGHT_TO_LEFT = {"Arabic", "Arabic ligatures"}
NOT_IN_ANY_FONT = "\U00013000"  # an Egyptian hieroglyph: no bundled font draws it


def extracted_lines(pdf: bytes) -> list[tuple[str, ...]]:
    """Each line of text as pdfminer reads it: the text of each glyph, in the order drawn."""
    lines = []
    for page in extract_pages(io.BytesIO(pdf)):
        for box in page:
            if isinstance(box, LTTextContainer):
                for line in box:
                    if isinstance(line, LTTextLine):
                        units = tuple(item.get_text() for item in line if item.get_text() != "\n")
                        if "".join(units).strip():
                            lines.append(units)
    return lines


def reads_back(lines: list[tuple[str, ...]], name: str, right_to_left: bool) -> int:
    """How many lines read ``name``. A PDF holds glyphs in the order they are drawn, so
    right-to-left text is held from its left end: a reader reverses the glyphs back (a ligature
    such as lam-alef is one glyph standing for two letters in reading order)."""
    return sum("".join(reversed(units) if right_to_left else units).strip() == name for units in lines)


def a_summary(values: dict[str, str]) -> summaries.Summary:
    lines = [summaries.Line(label, value) for label, value in values.items()]
    texts = [summaries.Line(label, value) for label, value in values.items()]
    section = summaries.Section("Names", lines=lines, texts=texts)
    return summaries.Summary("victim", "The person", "CT-2026-000001", date(2026, 12, 4), "Test", [section])


def test_every_script_reads_back_exactly(app):
    from casework.partners import pdf

    with app.test_request_context():
        data = pdf.render(a_summary(NAMES))
    lines = extracted_lines(data)
    for script, name in NAMES.items():
        # Once in the table (a value cell) and once as a paragraph (free text).
        found = reads_back(lines, name, script in RIGHT_TO_LEFT)
        assert found == 2, f"{script}: {name!r} not read back from {lines!r}"


def test_subject_access_copy_of_a_burmese_name_holds_the_name(world, make_case):
    given, family = NAMES["Burmese"], NAMES["Devanagari"]
    case = make_case(world.lead, assigned_to=world.caseworker, given_name=given, family_name=family)
    response = world.client_for(world.caseworker).get(f"/cases/{case.id}/summary.pdf?recipient=victim")
    assert response.status_code == 200
    lines = extracted_lines(response.data)
    assert reads_back(lines, given, False) and reads_back(lines, family, False), lines


def test_a_character_no_font_has_stops_the_pdf_with_a_clear_error(app):
    from casework.partners import pdf

    with app.test_request_context(), pytest.raises(pdf.MissingGlyphs) as refused:
        pdf.render(a_summary({"Name": f"Amina {NOT_IN_ANY_FONT}"}))
    assert "U+13000" in str(refused.value)


def test_the_pdf_route_answers_a_missing_glyph_with_a_page_not_a_blank(world, make_case):
    case = make_case(world.lead, assigned_to=world.caseworker, given_name="Amina", family_name=NOT_IN_ANY_FONT)
    response = world.client_for(world.caseworker).get(f"/cases/{case.id}/summary.pdf?recipient=victim")
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "U+13000" in page and "printable page" in page


def test_fonts_are_vendored_with_their_licence():
    from casework.partners import pdf

    for family in pdf.FONT_FAMILIES:
        for path in (family.regular, family.bold):
            assert path.is_file() and path.resolve().is_relative_to(pdf.FONT_DIR.resolve()), path
    assert (pdf.FONT_DIR / "OFL.txt").read_text().startswith("Copyright")


def test_app_import_loads_no_pdf_library(tmp_path, keyring_file):
    """A gunicorn worker starts without fpdf, harfbuzz or a font: the PDF code loads on first use."""
    script = textwrap.dedent(
        f"""
        import sys
        from casework import create_app
        create_app({{"env": "testing", "secret_key": "x" * 40, "instance_path": {str(tmp_path)!r},
                    "database_url": "sqlite:///{tmp_path}/db.sqlite3", "keyring_path": {str(keyring_file)!r}}})
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("fpdf", "uharfbuzz", "fontTools")))
        """
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=60, env={**os.environ}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def text_lines_with_boxes(pdf: bytes) -> list[tuple[str, float, float]]:
    """(text as drawn, left x, right x) of each line of the first page."""
    found = []
    for page in extract_pages(io.BytesIO(pdf)):
        for box in page:
            if isinstance(box, LTTextContainer):
                for line in box:
                    if isinstance(line, LTTextLine) and line.get_text().strip():
                        found.append((line.get_text().strip(), line.x0, line.x1))
        break
    return found


def test_an_arabic_summary_reads_right_to_left(app):
    """In Arabic the page runs from the right: the title and headings end at the right margin and
    each row's label stands to the right of its value."""
    from flask_babel import force_locale

    from casework.partners import pdf

    summary = a_summary({"Latin": "Maria Lopez"})
    with app.test_request_context(), force_locale("ar"):
        data = pdf.render(summary)
        title = pdf._("Case summary %(reference)s", reference=summary.reference)
    lines = text_lines_with_boxes(data)
    page_right = max(x1 for _text, _x0, x1 in lines)
    title_line = next((x0, x1) for text, x0, x1 in lines if summary.reference in text)
    assert page_right - title_line[1] < 2, (title, lines)  # the title ends at the right margin
    label = next(x0 for text, x0, _x1 in lines if text == "Latin")
    value = next(x0 for text, x0, _x1 in lines if text == "Maria Lopez")
    assert label > value, lines  # the label column is on the right


def test_a_russian_summary_reads_back_in_cyrillic(app):
    from flask_babel import force_locale

    from casework.partners import pdf

    summary = a_summary({"Latin": "Maria Lopez"})
    with app.test_request_context(), force_locale("ru"):
        data = pdf.render(summary)
        title = pdf._("Case summary %(reference)s", reference=summary.reference)
    assert title.startswith("Сводка") and reads_back(extracted_lines(data), title, False) == 1
