"""Residual-identifier check: find details an "anonymised" transcript still gives away.

``scan_text`` returns :class:`Finding` objects for e-mail addresses, phone
numbers, URLs, @handles, postcodes/ZIP codes, full dates, street addresses,
person names and the study's own identifiers list. A finding never carries
the matched text itself, only a masked form (``0163• ••• •••``), so it can be
printed and logged safely.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

KINDS = ("email", "phone", "url", "handle", "postcode", "date", "address", "name", "identifier")

MASK_CHAR = "\u2022"  # •


@dataclass(frozen=True)
class Finding:
    """One likely identifier: its kind, 1-based line and column, masked text and code-point span."""

    kind: str
    line: int
    column: int
    masked: str
    start: int
    end: int


def mask(text: str) -> str:
    """``text`` with all but its first letters/digits replaced by •; spaces and punctuation keep their shape.

    Short matches keep one character, longer ones up to four, so the masked
    form helps find the spot without giving the identifier away.
    """
    alnum_count = sum(1 for ch in text if ch.isalnum())
    keep = 1 if alnum_count <= 6 else 2 if alnum_count <= 10 else 4
    out = []
    for ch in text:
        if ch.isalnum():
            if keep > 0:
                out.append(ch)
                keep -= 1
            else:
                out.append(MASK_CHAR)
        else:
            out.append(ch)
    return "".join(out)


# -- structured patterns (compiled once) ------------------------------------

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")

_URL = re.compile(
    r"(?:\bhttps?://|\bwww\.)[^\s<>\"'()\[\]]+"
    r"|\b(?:[a-z0-9-]+\.)+(?:com|org|net|info|io|edu|gov|co\.uk|org\.uk|ac\.uk|gov\.uk|nhs\.uk|uk)\b(?:/[^\s<>\"'()\[\]]*)?",
    re.IGNORECASE,
)

# Phone candidates: digits with spaces, hyphens, dots or brackets between them,
# starting with +, 0 or ( — counted as a phone only with 9–15 digits, so
# years, small numbers, money and timestamps (which contain ':') never qualify.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?(?:\(0\)\s?)?|\(0?\d{2,5}\)\s?|0)\d[\d\s.-]{6,16}\d(?!\d)"
    r"|(?<![\w.-])\d{3}[-.]\d{3}[-.]\d{4}(?![\w-])"
)


def _phone_ok(match: str) -> bool:
    digits = sum(ch.isdigit() for ch in match)
    if not 9 <= digits <= 15:
        return False
    # 12.03.2019-like strings are dates, not phones
    if re.fullmatch(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}", match):
        return False
    return True


_HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z_][A-Za-z0-9_.]{1,29}[A-Za-z0-9_]")


@dataclass(frozen=True)
class _Span:
    kind: str
    start: int
    end: int


def _structured_spans(text: str) -> list[_Span]:
    spans: list[_Span] = []
    for m in _EMAIL.finditer(text):
        spans.append(_Span("email", m.start(), m.end()))
    for m in _URL.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in ".,;:!?":
            end -= 1
        spans.append(_Span("url", m.start(), end))
    for m in _PHONE.finditer(text):
        matched = m.group(0).rstrip(" .-")
        if _phone_ok(matched):
            spans.append(_Span("phone", m.start(), m.start() + len(matched)))
    for m in _HANDLE.finditer(text):
        spans.append(_Span("handle", m.start(), m.end()))
    return spans


def _identifier_spans(text: str, identifiers: list[str] | None) -> list[_Span]:
    if not identifiers:
        return []
    terms = sorted({t.strip() for t in identifiers if t and t.strip()}, key=len, reverse=True)
    if not terms:
        return []
    pattern = re.compile(
        r"(?<!\w)(?:" + "|".join(re.escape(t) for t in terms) + r")(?!\w)", re.IGNORECASE
    )
    return [_Span("identifier", m.start(), m.end()) for m in pattern.finditer(text)]


# Earlier kinds win when spans overlap: the study's own list first, then the
# most specific patterns.
_PRIORITY = {kind: rank for rank, kind in enumerate(
    ("identifier", "email", "url", "handle", "phone", "postcode", "date", "address", "name"))}


def _resolve_overlaps(spans: list[_Span]) -> list[_Span]:
    chosen: list[_Span] = []
    for span in sorted(spans, key=lambda s: (_PRIORITY[s.kind], s.start, -(s.end - s.start))):
        if all(span.end <= c.start or span.start >= c.end for c in chosen):
            chosen.append(span)
    return sorted(chosen, key=lambda s: (s.start, s.end))


def scan_text(text: str, *, identifiers: list[str] | None = None, language: str = "en") -> list[Finding]:
    """Likely residual identifiers in ``text``, in text order.

    ``identifiers`` is the study's list of real names and places, matched
    case-insensitively on word boundaries (reported as kind ``identifier``).
    ``language`` selects the name heuristic's vocabulary (English only for now).
    """
    spans = _identifier_spans(text, identifiers) + _structured_spans(text)
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    findings = []
    for span in _resolve_overlaps(spans):
        line_index = bisect.bisect_right(line_starts, span.start) - 1
        findings.append(Finding(
            kind=span.kind,
            line=line_index + 1,
            column=span.start - line_starts[line_index] + 1,
            masked=mask(text[span.start:span.end]),
            start=span.start,
            end=span.end,
        ))
    return findings
