"""Quotations for papers: chosen across respondents, trimmed, labelled.

A quotation is one coding's text as spoken by one respondent: the parts of
the coded span that lie in that respondent's units. Interviewer speech inside
a coded span is left out and marked "[…]"; speaker labels are never part of a
unit, so they never reach a quotation.
"""

from __future__ import annotations

import re
import sqlite3
import string
from dataclasses import dataclass, field

from qualcode.errors import InputError, NotFound

ELLIPSIS = "[…]"
DEFAULT_LABEL = "[{respondent}]"
FORMATS = ("xlsx", "docx", "md", "csv", "json")


@dataclass
class Quotation:
    coding_id: int
    theme_key: str
    theme: str
    code_key: str
    code: str
    path: str
    respondent_id: str
    label: str
    text: str
    document: str
    start: int
    end: int
    coder: str
    memo: str | None
    exemplar: bool
    attribute: str | None = None
    trimmed: bool = False


@dataclass
class QuoteResult:
    quotations: list[Quotation]
    coder: str
    themes: list[str]
    notices: list[str] = field(default_factory=list)

    def to_frame(self):
        import pandas as pd

        rows = [{
            "id": q.coding_id, "theme": q.theme, "path": q.path, "code": q.code_key, "respondent": q.respondent_id,
            "label": q.label, "text": q.text, "document": q.document, "start": q.start, "end": q.end,
            "coder": q.coder, "exemplar": q.exemplar, "memo": q.memo or "",
        } for q in self.quotations]
        if any(q.attribute is not None for q in self.quotations):
            for row, q in zip(rows, self.quotations):
                row["group"] = q.attribute
        columns = ["id", "theme", "path", "code", "respondent", "label", "text", "document", "start", "end",
                   "coder", "exemplar", "memo"]
        return pd.DataFrame(rows, columns=columns + (["group"] if rows and "group" in rows[0] else []))


# -- labels ---------------------------------------------------------------------

def template_fields(template: str) -> list[str]:
    """The field names used by a label template; InputError if it is malformed."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InputError(f"the label template '{template}' is malformed ({exc}); write fields as {{name}}") from None
    names = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name or not re.fullmatch(r"[A-Za-z_][\w ]*", name) or spec or conversion:
            raise InputError(
                f"the label template '{template}' has an unusable field '{{{name}}}'; use plain names such as {{respondent}} or {{role}}"
            )
        names.append(name)
    return names


def make_label(template: str, respondent_id: str, attributes: dict[str, str | None], document: str | None = None) -> str:
    """Fill a label template for one respondent.

    Fields: respondent, number (the digits of the id: SF4 → 4), document, and
    any respondent attribute. A missing attribute is an error naming it.
    """
    values = {"respondent": respondent_id, "document": document or ""}
    digits = re.findall(r"\d+", respondent_id)
    values["number"] = digits[-1] if digits else respondent_id
    for name in template_fields(template):
        if name in values:
            continue
        value = attributes.get(name)
        if value is None or value == "":
            known = ", ".join(sorted(attributes)) or "none"
            raise InputError(
                f"label template needs attribute '{name}', which respondent {respondent_id} does not have"
                f" (their attributes: {known}); add it to the respondents CSV or change --label"
            )
        values[name] = value
    return template.format(**values)


# -- text -----------------------------------------------------------------------

_WORD = re.compile(r"\S+")


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def tidy(text: str) -> str:
    """Collapse runs of whitespace (line breaks of a wrapped transcript) into single spaces."""
    return re.sub(r"\s+", " ", text).strip()


def trim_to_words(text: str, max_words: int, language: str = "en") -> tuple[str, bool]:
    """Cut ``text`` at sentence boundaries to at most ``max_words`` words, marking cuts with "[…]".

    Whole sentences are kept from the start; the first sentence is always kept
    (a quotation is never cut mid-sentence). Text between kept parts that was
    already elided keeps its marker. Returns (text, whether anything was cut).
    """
    if max_words <= 0 or word_count(text) <= max_words:
        return text, False
    from qualcode.nlp import load_pipeline
    from qualcode.units import sentence_spans

    nlp = load_pipeline(language)
    spans = sentence_spans(text, nlp(text))
    kept_end, words = spans[0][1], 0
    for index, (start, end) in enumerate(spans):
        count = word_count(text[start:end])
        if index > 0 and words + count > max_words:
            break
        kept_end = end
        words += count
    # slice the original text so the respondent's words and spacing stay exactly as spoken
    result = text[spans[0][0]:kept_end].rstrip()
    if result.endswith(ELLIPSIS):
        return result, True
    return f"{result} {ELLIPSIS}", True


# -- selection --------------------------------------------------------------------

def collect_quotations(
    conn: sqlite3.Connection,
    *,
    coder: str | None = None,
    themes: list[str] | None = None,
    label: str = DEFAULT_LABEL,
    per_theme: int | None = None,
    max_words: int | None = None,
    exemplars_only: bool = False,
    by: str | None = None,
    verbatim: bool = False,
    language: str = "en",
) -> QuoteResult:
    """Quotations per theme, selected and presented for a paper.

    ``themes``: keys of codebook nodes (default: every top-level theme); each
    quotation is listed under the theme whose subtree holds its code.
    ``per_theme``: pick N per theme spread across respondents (see ``spread``).
    """
    from natsort import natsort_keygen

    from qualcode.codebook import load_tree
    from qualcode.codings import load_codings
    from qualcode.respondents import load_attributes
    from qualcode.units import load_units

    coder = _checked_coder(conn, coder, label=label, per_theme=per_theme, max_words=max_words)
    tree = load_tree(conn)
    theme_keys = list(themes) if themes else list(tree.roots)
    for key in theme_keys:
        tree.node(key)
    attributes = load_attributes(conn)
    if by is not None and not any(by in values for values in attributes.values()):
        raise InputError(f"no respondent attribute '{by}'; 'qualcode respondents' lists the attributes")
    exemplars = {r[0] for r in conn.execute("SELECT coding_id FROM exemplars")}
    respondent_units = load_units(conn, "paragraph", respondents_only=True)
    units_by_document: dict[int, list] = {}
    for unit in respondent_units:
        units_by_document.setdefault(unit.segments[0][0], []).append(unit)
    texts = {document_id: text for document_id, text in conn.execute("SELECT document_id, text FROM documents")}
    natural = natsort_keygen()

    quotations: list[Quotation] = []
    for theme_key in theme_keys:
        subtree = tree.descendants(theme_key)
        code_ids = [tree.by_key[k].code_id for k in subtree]
        for coding in load_codings(conn, coders=[coder], code_ids=code_ids):
            if exemplars_only and coding.coding_id not in exemplars:
                continue
            for respondent_id, parts in _respondent_parts(coding, units_by_document.get(coding.document_id, [])):
                text_full = texts[coding.document_id]
                if verbatim:
                    text = text_full[coding.start:coding.end]
                else:
                    text = f" {ELLIPSIS} ".join(_join_turn(text_full, group) for group in parts)
                trimmed = False
                if max_words and not verbatim:
                    text, trimmed = trim_to_words(text, max_words, language)
                attrs = attributes.get(respondent_id, {})
                node = tree.by_id.get(coding.code_id)
                quotations.append(Quotation(
                    coding_id=coding.coding_id, theme_key=theme_key, theme=tree.by_key[theme_key].label,
                    code_key=coding.code_key, code=node.label if node else coding.code_key,
                    path=tree.label_path(coding.code_key) if coding.code_key in tree else coding.code_key,
                    respondent_id=respondent_id,
                    label=make_label(label, respondent_id, attrs, coding.document),
                    text=text, document=coding.document, start=coding.start, end=coding.end, coder=coder,
                    memo=coding.memo, exemplar=coding.coding_id in exemplars,
                    attribute=(attrs.get(by) or "(none)") if by else None, trimmed=trimmed,
                ))

    order = {key: index for index, key in enumerate(theme_keys)}
    quotations.sort(key=lambda q: (order[q.theme_key], q.attribute or "", not q.exemplar, natural(q.respondent_id),
                                   q.document, q.start, q.coding_id))
    if per_theme is not None:
        quotations = _pick_per_theme(quotations, order, per_theme)
    notices = []
    if not quotations:
        notices.append(f"no quotations for coder '{coder}' under {', '.join(theme_keys) or 'any theme'}")
    return QuoteResult(quotations, coder, theme_keys, notices)


def _checked_coder(conn: sqlite3.Connection, coder: str | None, *, label: str, per_theme: int | None,
                   max_words: int | None) -> str:
    """The coder whose quotations are collected (the default coder when None), once the options are valid."""
    from qualcode import store
    from qualcode.codings import default_coder

    if coder is None:
        coder = default_coder(conn)
        if coder is None:
            names = store.coder_names(conn)
            if not names:
                raise NotFound("no codings in this project yet; apply a codebook or import codings first")
            raise InputError(f"several coders and no consensus; choose one with --coder ({', '.join(names)})")
    store.coder_id(conn, coder)
    if per_theme is not None and per_theme < 1:
        raise InputError("--per-theme must be at least 1")
    if max_words is not None and max_words < 1:
        raise InputError("--max-words must be at least 1")
    template_fields(label)
    return coder


def _pick_per_theme(quotations: list[Quotation], order: dict[str, int], per_theme: int) -> list[Quotation]:
    """``per_theme`` quotations per theme (and attribute value), spread across respondents."""
    selected = []
    groups: dict[tuple, list[Quotation]] = {}
    for quotation in quotations:
        groups.setdefault((order[quotation.theme_key], quotation.attribute or ""), []).append(quotation)
    quoted: dict[str, int] = {}
    used_text: set[tuple[str, int, int]] = set()
    for key in sorted(groups):
        selected.extend(spread(groups[key], per_theme, quoted=quoted, used_text=used_text))
    return selected


def _respondent_parts(coding, units) -> list[tuple[str, list[list[tuple[int, int]]]]]:
    """The coded span cut to respondent units: per respondent, groups of (start, end)
    pieces, one group per run of consecutive units of theirs (a turn, or turns
    not interrupted by someone else)."""
    from qualcode.units import parse_paragraph_key

    pieces: list[tuple[str, int, int, int]] = []
    for unit in units:
        _, start, end = unit.segments[0]
        index = parse_paragraph_key(unit.key)[1]  # paragraph number: a gap means someone else spoke
        if end <= coding.start:
            continue
        if start >= coding.end:
            break
        pieces.append((unit.respondent_id, index, max(start, coding.start), min(end, coding.end)))
    by_respondent: dict[str, list[list[tuple[int, int]]]] = {}
    last_index: dict[str, int] = {}
    for respondent_id, index, start, end in pieces:
        groups = by_respondent.setdefault(respondent_id, [])
        if groups and last_index[respondent_id] == index - 1:
            groups[-1].append((start, end))
        else:
            groups.append([(start, end)])
        last_index[respondent_id] = index
    return [(respondent_id, groups) for respondent_id, groups in by_respondent.items() if respondent_id]


def _join_turn(text: str, group: list[tuple[int, int]]) -> str:
    return " ".join(tidy(text[start:end]) for start, end in group)


def spread(
    candidates: list[Quotation],
    n: int,
    *,
    quoted: dict[str, int] | None = None,
    used_text: set[tuple[str, int, int]] | None = None,
) -> list[Quotation]:
    """Pick ``n`` quotations spread across respondents.

    Greedy and deterministic: each pick is the candidate whose respondent has
    been picked least often in this theme so far; ties go to exemplars, then
    to passages not already quoted under an earlier theme, then to
    respondents quoted least often across the earlier themes (``quoted``,
    updated in place), then to respondents in natural id order, then to
    document order. So no respondent appears twice in a theme before every
    respondent with a quotation there has appeared once, marked exemplars
    come first among equals, and the table as a whole draws on many voices
    rather than always starting from the lowest id.
    """
    from natsort import natsort_keygen

    natural = natsort_keygen()
    quoted = {} if quoted is None else quoted
    used_text = set() if used_text is None else used_text
    remaining = list(candidates)
    picks: dict[str, int] = {}
    chosen: list[Quotation] = []
    while remaining and len(chosen) < n:
        best = min(remaining, key=lambda q: (
            picks.get(q.respondent_id, 0), not q.exemplar, (q.document, q.start, q.end) in used_text,
            quoted.get(q.respondent_id, 0), natural(q.respondent_id), q.document, q.start, q.coding_id))
        remaining.remove(best)
        picks[best.respondent_id] = picks.get(best.respondent_id, 0) + 1
        quoted[best.respondent_id] = quoted.get(best.respondent_id, 0) + 1
        used_text.add((best.document, best.start, best.end))
        chosen.append(best)
    return chosen


# -- exemplars ------------------------------------------------------------------------

def mark_exemplar(conn: sqlite3.Connection, coding_id: int, marked: bool = True) -> bool:
    """Flag (or unflag) a coding as an exemplar quotation; returns whether anything changed."""
    from qualcode import store

    if conn.execute("SELECT 1 FROM codings WHERE coding_id = ?", (coding_id,)).fetchone() is None:
        raise NotFound(f"no coding with id {coding_id}; 'qualcode quotes --format csv' and 'qualcode codings list' show ids")
    if marked:
        changed = conn.execute("INSERT OR IGNORE INTO exemplars (coding_id, marked_at) VALUES (?, ?)",
                               (coding_id, store.now())).rowcount
    else:
        changed = conn.execute("DELETE FROM exemplars WHERE coding_id = ?", (coding_id,)).rowcount
    if changed:
        store.record_history(conn, "exemplar" if marked else "unexemplar", coding_id=coding_id)
    return bool(changed)


# -- writers -----------------------------------------------------------------------------

def write_quotes(result: QuoteResult, out, *, force: bool = False, split: bool = False) -> None:
    """Write the quotations to xlsx, docx, md, csv or json (by suffix)."""
    from pathlib import Path

    from qualcode.exports import atomic_write, format_from_path, table_to_text, write_xlsx

    out = Path(out)
    fmt = format_from_path(out)
    if fmt not in FORMATS:
        raise InputError(f"cannot write quotations as '{out.suffix}'; use .xlsx, .docx, .md, .csv or .json")
    df = result.to_frame()
    with atomic_write(out, force) as tmp:
        if fmt in ("csv", "json"):
            tmp.write_text(table_to_text(df, fmt), encoding="utf-8")
        elif fmt == "md":
            tmp.write_text(quotes_markdown(result), encoding="utf-8")
        elif fmt == "xlsx":
            if split and len(df):
                sheets = {theme: part.drop(columns=["theme"]) for theme, part in df.groupby("theme", sort=False)}
            else:
                sheets = {"Quotations": df}
            write_xlsx(sheets, tmp)
        else:
            _write_docx(result, tmp)


def quotes_markdown(result: QuoteResult) -> str:
    """Quotations grouped by theme, as block quotes ready to paste into a manuscript."""
    lines: list[str] = []
    current = None
    for q in result.quotations:
        heading = q.theme + (f" — {q.attribute}" if q.attribute is not None else "")
        if heading != current:
            if lines:
                lines.append("")
            lines.append(f"## {heading}")
            current = heading
        lines.append("")
        lines.append(f"> {q.text} {_bracketed(q.label)}")
    return "\n".join(lines) + "\n" if lines else ""


def _bracketed(label: str) -> str:
    """A label set off from the quotation: "[SF4]" stays, "Support worker 2" becomes "(Support worker 2)"."""
    label = label.strip()
    if label[:1] in "[(" and label[-1:] in "])":
        return label
    return f"({label})"


def _write_docx(result: QuoteResult, path) -> None:
    """A Word table: a shaded theme row, then one row per quotation (quotation | label)."""
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    table = document.add_table(rows=1, cols=2)
    table.style = "Table Grid"
    header = table.rows[0].cells
    for cell, text in zip(header, ("Quotation", "Participant")):
        cell.text = ""
        cell.paragraphs[0].add_run(text).bold = True
    current = None
    for q in result.quotations:
        heading = q.theme + (f" — {q.attribute}" if q.attribute is not None else "")
        if heading != current:
            row = table.add_row().cells
            merged = row[0].merge(row[1])
            merged.text = ""
            merged.paragraphs[0].add_run(heading).bold = True
            shading = OxmlElement("w:shd")
            shading.set(qn("w:val"), "clear")
            shading.set(qn("w:fill"), "E7E6E6")
            merged._tc.get_or_add_tcPr().append(shading)
            current = heading
        row = table.add_row().cells
        row[0].text = ""
        row[0].paragraphs[0].add_run(q.text).italic = True
        row[1].text = q.label
    document.save(path)
