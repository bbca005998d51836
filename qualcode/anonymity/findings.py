"""What the check reports: a ``Finding`` (kind, place, masked text, never the text itself) and ``mask``.
"""

from __future__ import annotations

from dataclasses import dataclass


KINDS = ("email", "phone", "url", "handle", "postcode", "date", "address", "name", "identifier")

NAME_METHODS = ("auto", "ner", "heuristic", "none")

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


# -- masking ------------------------------------------------------------------

def mask(text: str, kind: str = "") -> str:
    """``text`` with most letters and digits replaced by •; spaces and punctuation keep their shape.

    The first word keeps one character (two when the match is longer, up to
    four digits of a phone number's area code); names, addresses and listed
    identifiers keep only the initial letter of each word. The whole
    identifier is never shown.
    """
    alnum_total = sum(ch.isalnum() for ch in text)
    if alnum_total <= 5:
        keep_first = 1
    elif alnum_total <= 9:
        keep_first = 2
    else:
        keep_first = 4 if kind == "phone" else 2
    initials = kind in ("name", "address", "identifier")
    if initials:
        keep_first = 1  # names show initials only
    keep_first = min(keep_first, max(alnum_total - 1, 0))
    out: list[str] = []
    word_index = 0
    kept_in_word = 0
    previous_space = True
    for ch in text:
        if ch.isspace():
            if not previous_space:
                word_index += 1
                kept_in_word = 0
            previous_space = True
            out.append(ch)
            continue
        previous_space = False
        if not ch.isalnum():
            out.append(ch)
            continue
        if word_index == 0:
            keep = kept_in_word < keep_first
        else:
            keep = initials and kept_in_word == 0 and ch.isalpha()
        if keep:
            out.append(ch)
            kept_in_word += 1
        else:
            out.append(MASK_CHAR)
            kept_in_word += 1 if word_index else 0
    if MASK_CHAR not in out and alnum_total:
        # initials of one-letter words would show everything: hide the last one
        last = max(i for i, ch in enumerate(out) if ch.isalnum())
        out[last] = MASK_CHAR
    return "".join(out)


# -- structured patterns (compiled once) --------------------------------------


@dataclass(frozen=True)
class Span:
    kind: str
    start: int
    end: int
