"""The case summary as a PDF (fpdf2, pure Python), in a bundled Unicode font (DejaVu Sans).

The PDF holds exactly what :func:`casework.partners.summary.build` put in the Summary: it
never reads the case itself.
"""

from __future__ import annotations

from pathlib import Path

from flask_babel import gettext as _
from fpdf import FPDF

from casework.partners.summary import Summary

FONT_DIR = Path(__file__).resolve().parent.parent / "static" / "fonts"
FONT = "DejaVu"


class _SummaryPdf(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(format="A4")
        self.footer_text = footer_text
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 16, 18)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT, "", 8)
        self.cell(0, 8, f"{self.footer_text} · {self.page_no()}/{{nb}}", align="C")


def render(summary: Summary) -> bytes:
    """The PDF bytes of a summary."""
    pdf = _SummaryPdf(_("Confidential: for the named recipient only. Do not copy or pass on."))
    pdf.set_title(_("Case summary %(reference)s", reference=summary.reference))
    pdf.set_creator("casework")
    pdf.alias_nb_pages()
    pdf.add_page()
    width = pdf.epw
    pdf.set_font(FONT, "B", 15)
    pdf.multi_cell(
        width, 8, _("Case summary %(reference)s", reference=summary.reference), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font(FONT, "", 10)
    for label, value in (
        (_("For"), summary.recipient_label),
        (_("Basis"), summary.basis),
        (_("Prepared on"), summary.generated_on.isoformat()),
    ):
        pdf.multi_cell(width, 5.5, _("%(label)s: %(value)s", label=label, value=value), new_x="LMARGIN", new_y="NEXT")
    for section in summary.sections:
        pdf.ln(3)
        pdf.set_font(FONT, "B", 12)
        pdf.multi_cell(width, 7, section.title, new_x="LMARGIN", new_y="NEXT")
        if section.lines:
            pdf.set_font(FONT, "", 10)
            with pdf.table(col_widths=(38, 62), first_row_as_headings=False, line_height=5.5) as table:
                for line in section.lines:
                    row = table.row()
                    row.cell(line.label)
                    row.cell(line.value or "—")
        for text in section.texts:
            pdf.set_font(FONT, "B", 10)
            pdf.multi_cell(width, 5.5, text.label, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font(FONT, "", 10)
            pdf.multi_cell(width, 5.5, text.value or "—", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
