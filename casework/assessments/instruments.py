"""The assessment instruments and their scoring (documented in docs/case-plan-and-assessments.md).

Scored instruments (needs and vulnerability, risk and safety): every item is scored 0 to 3
(vocab.ASSESSMENT_SCORES, the score is the code's index); the total is the sum, out of 3 x the
number of items; the risk level (vocab.RISK_LEVELS) is

- high when the total reaches two thirds of the maximum, or any item scores 3 on the risk and
  safety instrument (one severe risk is enough to act on);
- medium when the total reaches one third of the maximum;
- low otherwise.

The identification and screening interview is not scored: each indicator is answered
(vocab.SCREENING_ANSWERS), and the interviewer records an outcome (vocab.SCREENING_OUTCOMES).
"""

from __future__ import annotations

from dataclasses import dataclass

from casework import vocab
from casework.vocab import CodeList


@dataclass(frozen=True)
class Instrument:
    kind: str
    items: CodeList
    answers: CodeList  # what each item is answered with
    scored: bool
    safety_plan: bool = False  # the instrument carries a safety plan
    severe_item_is_high: bool = False


INSTRUMENTS: dict[str, Instrument] = {
    "needs_vulnerability": Instrument("needs_vulnerability", vocab.NEEDS_ITEMS, vocab.ASSESSMENT_SCORES, True),
    "risk_safety": Instrument(
        "risk_safety", vocab.RISK_ITEMS, vocab.ASSESSMENT_SCORES, True, safety_plan=True, severe_item_is_high=True
    ),
    "screening": Instrument("screening", vocab.SCREENING_INDICATORS, vocab.SCREENING_ANSWERS, False),
}
MAX_ITEM_SCORE = len(vocab.ASSESSMENT_SCORES) - 1  # 3


def score(instrument: Instrument, answers: dict[str, str]) -> tuple[dict[str, int | str], int | None, int | None]:
    """(stored answers, total, maximum): scores as integers for a scored instrument, the answer
    codes otherwise (total and maximum None). ``answers`` must hold valid codes for every item."""
    if not instrument.scored:
        return dict(answers), None, None
    scores: dict[str, int | str] = {item: vocab.ASSESSMENT_SCORES.index(answers[item]) for item in answers}
    return scores, sum(int(v) for v in scores.values()), MAX_ITEM_SCORE * len(instrument.items)


def risk_level(
    instrument: Instrument, scores: dict[str, int | str], total: int | None, maximum: int | None
) -> str | None:
    """The level from a total (see the module's docstring); None for an unscored instrument."""
    if total is None or not maximum:
        return None
    if total * 3 >= maximum * 2 or (instrument.severe_item_is_high and MAX_ITEM_SCORE in scores.values()):
        return "high"
    if total * 3 >= maximum:
        return "medium"
    return "low"
