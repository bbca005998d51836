"""The participant characteristics table: n (%) per attribute value, mean (range) for numbers.

The denominator is the respondents with transcript text (as for theme counts,
see docs/counts.md); ``include_all`` counts every respondent in the project
instead (e.g. before transcripts are imported).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from qualcode.errors import InputError, NotFound

@dataclass
class ParticipantsTable:
    """``table`` (tidy): characteristic, category, n, pct, mean, min, max, summary.

    ``display()`` gives the layout papers print: Characteristic / Category /
    a summary column headed with the denominator.
    """

    table: object  # pandas.DataFrame
    denominator: int
    respondents: list[str]
    left_out: list[str]
    notices: list[str] = field(default_factory=list)

    @property
    def summary_header(self) -> str:
        return f"Participants (N = {self.denominator})"

    def display(self):
        display = self.table[["characteristic", "category", "summary"]].copy()
        previous = None
        for index, name in enumerate(display["characteristic"].tolist()):
            if name == previous:
                display.at[index, "characteristic"] = ""
            previous = name
        return display.rename(columns={"characteristic": "Characteristic", "category": "Category",
                                       "summary": self.summary_header})


def _as_number(value) -> float | None:
    try:
        number = float(str(value).strip().replace(",", "."))
    except (TypeError, ValueError):
        return None
    return number if number == number else None


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def participant_table(
    conn: sqlite3.Connection,
    *,
    by: list[str] | None = None,
    include_all: bool = False,
) -> ParticipantsTable:
    """n (%) of respondents for each value of each attribute in ``by`` (default: all, in import
    order); numeric attributes (every recorded value a number) as mean (range). Missing values
    are counted as 'not recorded'."""
    import pandas as pd
    from natsort import natsorted

    from qualcode.respondents import attribute_names, load_attributes
    # the same label and rounding as the theme counts' groups, so the two tables agree
    from qualcode.themes import NOT_RECORDED, percent, percent_text

    attributes = load_attributes(conn)
    with_text = {r[0] for r in conn.execute(
        "SELECT DISTINCT respondent_id FROM units WHERE role = 'respondent' AND respondent_id IS NOT NULL")}
    if include_all:
        respondents = natsorted(set(attributes) | with_text)
        left_out: list[str] = []
    else:
        respondents = natsorted(with_text)
        left_out = natsorted(set(attributes) - with_text)
    if not respondents:
        raise InputError("no respondents to describe; import transcripts (or add --all to describe respondents.csv)")
    known = attribute_names(conn)
    names = known if not by else list(by)
    for name in names:
        if name not in known:
            raise NotFound(f"no respondent attribute '{name}' (known attributes: {', '.join(known) or 'none'})")
    if not names:
        raise InputError("the respondents have no attributes; import them with 'qualcode respondents import FILE.csv'")
    total = len(respondents)
    rows = []
    for name in names:
        values = {r: attributes.get(r, {}).get(name) for r in respondents}
        recorded = {r: v for r, v in values.items() if v is not None and str(v).strip() != ""}
        missing = total - len(recorded)
        numbers = [_as_number(v) for v in recorded.values()]
        if recorded and all(n is not None for n in numbers):
            mean = sum(numbers) / len(numbers)
            low, high = min(numbers), max(numbers)
            summary = f"{mean:.1f} ({_format_number(low)}–{_format_number(high)})"
            if missing:
                summary += f"; n = {len(numbers)}"
            rows.append({"characteristic": name, "category": "mean (range)", "n": len(numbers),
                         "pct": percent(len(numbers), total, 1), "mean": round(mean, 2), "min": low, "max": high,
                         "summary": summary})
        else:
            counts: dict[str, int] = {}
            for value in recorded.values():
                counts[str(value).strip()] = counts.get(str(value).strip(), 0) + 1
            for value in natsorted(counts):
                rows.append({"characteristic": name, "category": value, "n": counts[value],
                             "pct": percent(counts[value], total, 1), "mean": None, "min": None, "max": None,
                             "summary": f"{counts[value]} ({percent_text(counts[value], total)})"})
        if missing:
            rows.append({"characteristic": name, "category": NOT_RECORDED, "n": missing,
                         "pct": percent(missing, total, 1), "mean": None, "min": None, "max": None,
                         "summary": f"{missing} ({percent_text(missing, total)})"})
    table = pd.DataFrame(rows, columns=["characteristic", "category", "n", "pct", "mean", "min", "max", "summary"])
    notices = []
    if left_out:
        notices.append(f"left out of the denominator (no respondent text): {', '.join(left_out)}")
    return ParticipantsTable(table=table, denominator=total, respondents=respondents, left_out=left_out,
                             notices=notices)
