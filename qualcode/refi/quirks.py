"""What real producers do that the standard does not say, and how positions
are mapped back to code points of the stored text.

=========== ==========================================================
Producer    Positions in ``PlainTextSelection`` (start, end exclusive)
=========== ==========================================================
the spec    code points over the source text
NVivo       UTF-16 code units (an emoji counts two), CR LF counts two
ATLAS.ti    code points, CR LF counts one
QualCoder   code points, CR LF counts one
MAXQDA      code points, CR LF counts one
=========== ==========================================================

The producer is read from ``Project/@origin``; when its name is not
conclusive, the selections' names (ATLAS.ti and QualCoder store the quoted
text) decide between the conventions (``read``). Source files are UTF-8 or
BOM-marked UTF-16; a BOM is dropped. docs/refi-qda.md has the evidence for
each line.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


# -- position conventions ----------------------------------------------------------------------

@dataclass(frozen=True)
class Counting:
    """How a producer counts positions over the raw plain text (after its BOM)."""

    utf16: bool  # UTF-16 code units (astral characters count two) instead of code points
    crlf_as_two: bool  # CR LF counts as two positions (False: as one)
    description: str


SPEC_COUNTING = Counting(False, True, "code points over the source text (the REFI-QDA rule)")
NVIVO_COUNTING = Counting(True, True, "NVivo: UTF-16 code units, CR LF counted as two")
ONE_CRLF_COUNTING = Counting(False, False, "code points, CR LF counted as one")


def counting_for_origin(origin: str | None) -> Counting:
    """The position convention of the program named in ``Project/@origin``."""
    text = (origin or "").lower()
    if "nvivo" in text:
        return NVIVO_COUNTING
    if "atlas.ti" in text or "atlas ti" in text or "atlasti" in text:
        return Counting(False, False, "ATLAS.ti: code points, CR LF counted as one")
    if "qualcoder" in text:
        return Counting(False, False, "QualCoder: code points, CR LF counted as one")
    if "maxqda" in text:
        return Counting(False, False, "MAXQDA: code points, CR LF counted as one")
    return SPEC_COUNTING


# Characters that may compose with the character before them under NFC although
# their combining class is 0 (Hangul vowel and final jamo, some Indic vowel parts).
_NFC_SECOND_STARTERS = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3)) | {
    0x09BE, 0x09D7, 0x0B3E, 0x0B56, 0x0B57, 0x0BBE, 0x0BD7, 0x0C56, 0x0CC2, 0x0CD5, 0x0CD6, 0x0D3E, 0x0D57,
    0x0DCF, 0x0DDF, 0x102E, 0x1B35, 0x3099, 0x309A,
}


def _nfc_boundary(ch: str) -> bool:
    """True when NFC never joins ``ch`` to what comes before it."""
    code = ord(ch)
    if code < 0x300:
        return True
    return unicodedata.combining(ch) == 0 and code not in _NFC_SECOND_STARTERS


@dataclass
class OffsetMap:
    """Stored text of a source and a map from producer positions to indices into it.

    ``positions[p]`` is the stored index for producer position ``p`` (0 … total),
    or None where ``p`` falls inside a character (half of a surrogate pair, or
    inside a sequence that NFC changed).
    """

    text: str
    positions: list[int | None]

    @property
    def total(self) -> int:
        return len(self.positions) - 1


def build_offset_map(raw: str, counting: Counting) -> OffsetMap:
    """Normalise ``raw`` (a source's text, BOM already removed) and map the producer's positions.

    Line ends become ``\\n`` (CR LF and lone CR), then the text is put in NFC.
    A position between CR and LF (when CR LF counts as two) maps to just
    before the line end.
    """
    positions: list[int | None] = []
    lf_chars: list[str] = []
    index = 0
    length = len(raw)
    while index < length:
        ch = raw[index]
        here = len(lf_chars)
        if ch == "\r":
            positions.append(here)
            if index + 1 < length and raw[index + 1] == "\n":
                if counting.crlf_as_two:
                    positions.append(here)
                index += 2
            else:
                index += 1
            lf_chars.append("\n")
            continue
        positions.append(here)
        if counting.utf16 and ord(ch) > 0xFFFF:
            positions.append(None)
        lf_chars.append(ch)
        index += 1
    positions.append(len(lf_chars))
    lf_text = "".join(lf_chars)
    if unicodedata.is_normalized("NFC", lf_text):
        return OffsetMap(lf_text, positions)
    # Normalise chunk by chunk so each chunk boundary keeps an exact position.
    chunk_starts = [i for i, ch in enumerate(lf_text) if i == 0 or _nfc_boundary(ch)] + [len(lf_text)]
    lf_to_stored: list[int | None] = [None] * (len(lf_text) + 1)
    pieces: list[str] = []
    stored_length = 0
    for start, end in zip(chunk_starts, chunk_starts[1:]):
        chunk = lf_text[start:end]
        normal = unicodedata.normalize("NFC", chunk)
        lf_to_stored[start] = stored_length
        if normal == chunk:
            for offset in range(1, end - start):
                lf_to_stored[start + offset] = stored_length + offset
        pieces.append(normal)
        stored_length += len(normal)
    lf_to_stored[len(lf_text)] = stored_length
    stored = "".join(pieces)
    if stored != unicodedata.normalize("NFC", lf_text):
        # The chunks were not independent: only the two ends of the text stay exact.
        stored = unicodedata.normalize("NFC", lf_text)
        lf_to_stored = [None] * (len(lf_text) + 1)
        lf_to_stored[0], lf_to_stored[-1] = 0, len(stored)
    return OffsetMap(stored, [None if p is None else lf_to_stored[p] for p in positions])


def squash(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def check_against_name(selected: str, name: str | None) -> bool | None:
    """Compare a mapped selection's text with the selection's name (ATLAS.ti keeps the quote's
    first ~100 characters there, ending in an ellipsis).

    Returns True (matches), False (a quotation-like name that does not match) or
    None (no name, or a name that is a label rather than a quotation).
    Whitespace runs compare as one space.
    """
    if not name or not name.strip():
        return None
    wanted = squash(name)
    have = squash(selected)
    for ellipsis in ("…", "..."):
        if wanted.endswith(ellipsis):
            prefix = wanted[: -len(ellipsis)].rstrip()
            if not prefix:
                return None
            return have.startswith(prefix)
    if wanted == have:
        return True
    # A name as long as the selection is a quotation, so a difference is a mismatch;
    # a shorter or longer one is a label someone typed ("Quotation 6:1").
    return False if len(wanted) == len(have) else None


def decode_source(data: bytes) -> str | None:
    """A source .txt as text, its BOM removed; None when it is neither UTF-8 nor BOM-marked UTF-16."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
