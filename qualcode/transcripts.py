"""Transcript import: files in many formats → normalised text + speaker-turn units.

Pipeline for one file::

    bytes ──decode──▶ str (NFC, \\n) ──reader──▶ plain text or caption cues
          ──layout──▶ turns (speaker label, timestamp, paragraphs)
          ──build───▶ stored text + units (start, end, speaker, role, respondent, timestamp)

Readers are registered in ``IMPORTERS`` (one function and one line per
format). Text-like readers (txt, md, docx, odt, rtf) return plain text whose
speaker layout is recognised by ``parse_turns``; caption readers (vtt, srt)
return cues, merged into turns by speaker.

The stored text is a tidy rendering of the transcript: every turn is
``Label: words`` (``[Label] words`` for bracket layouts), paragraphs are
separated by a blank line, hard-wrapped lines are joined, and timestamps are
removed (the first one of each unit is kept on the unit). A unit's span covers
only the spoken words of one paragraph: never the label, never surrounding
whitespace.

Nothing here prints; ``import_paths`` returns one ``FileResult`` per file.
"""

from __future__ import annotations

import codecs
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from qualcode.documents import sha256_bytes
from qualcode.errors import ImportFailed, InputError, QualcodeError

# A transcript larger than this is refused before it is read: a real interview
# transcript is well under 1 MB, and a file this large is almost always a
# wrong file (a media file, a database dump). Measured: a 50 MB transcript
# imports in a few seconds (docs/performance.md).
MAX_FILE_BYTES = 100 * 1024 * 1024

TEXT_SUFFIXES = (".txt", ".md", ".docx", ".odt", ".rtf")
CAPTION_SUFFIXES = (".vtt", ".srt")

# Labels that name a respondent generically; accepted as speaker labels even
# when they occur only once in a file.
GENERIC_RESPONDENT_LABELS = ("participant", "respondent", "interviewee", "p", "r", "a")
_GENERIC_SPEAKER = re.compile(r"(?i)^(?:speaker|spk|participant|respondent|p|r)\s*\d+$")

# Words seen in brackets at the start of a line that are transcription notes,
# not speakers.
_BRACKET_NOTES = {
    "laughs", "laughter", "laughing", "pause", "long pause", "inaudible", "crosstalk", "silence", "sighs",
    "sigh", "redacted", "unclear", "overlapping", "overtalking", "interruption", "coughs", "cough", "music",
    "noise", "background noise", "break", "end", "end of interview", "end of recording", "recording ends",
    "recording starts", "start", "applause", "pauses", "crying", "tearful",
}


@dataclass
class ParsedTranscript:
    """One file parsed: the text to store, its units (dicts for ``documents.add_document``),
    the source format (``txt``, ``docx``, …) and notices about the import."""

    text: str
    units: list[dict]
    source_format: str
    warnings: list[str] = field(default_factory=list)
    respondent_id: str | None = None


@dataclass
class FileResult:
    """What happened to one file: status is ``imported``, ``replaced``, ``unchanged`` or ``failed``.

    ``units`` and ``words`` count the whole document (interviewer included);
    ``respondent_units`` and ``respondent_words`` count respondent speech only,
    as ``qualcode respondents`` does.
    """

    path: str
    file: str
    status: str
    document: str | None = None
    respondent: str | None = None
    units: int = 0
    words: int = 0
    respondent_units: int = 0
    respondent_words: int = 0
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    findings: int = 0  # likely identifiers found by the anonymity check


@dataclass
class Turn:
    label: str | None
    kind: str | None  # "colon", "bracket", "otter" or None (no label)
    timestamp: float | None = None
    paragraphs: list[tuple[str, float | None]] = field(default_factory=list)


# ---------------------------------------------------------------------------
# decoding

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _binary_error(name: str, data: bytes) -> ImportFailed:
    if data.startswith(b"PK\x03\x04"):
        hint = "it is a zip package (a Word or OpenDocument file?); give it its real extension (.docx or .odt)"
    elif data.startswith(b"%PDF"):
        hint = "it is a PDF; export the transcript as .docx or .txt and import that"
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        hint = "it is an old Office file (.doc); open it in Word and save it as .docx"
    else:
        hint = "check that it is the transcript and not a media or program file"
    return ImportFailed(f"{name} is not a text file (it contains binary data): {hint}")


def decode_text(data: bytes, name: str) -> tuple[str, list[str]]:
    """Decode transcript bytes and normalise them; return (text, warnings).

    UTF-8 with or without BOM and UTF-16 with a BOM are decoded as such;
    other bytes fall back to Windows-1252 with a warning. Binary data and
    bytes that no supported encoding can decode raise ImportFailed.
    """
    warnings: list[str] = []
    if data.startswith(codecs.BOM_UTF8):
        encoding, body = "utf-8", data[3:]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, body = "utf-16", data
    elif b"\x00" in data:
        # UTF-16 without a BOM has a NUL in every other byte of ASCII text.
        sample = data[:4096]
        even_nuls, odd_nuls = sample[0::2].count(0), sample[1::2].count(0)
        half = max(1, len(sample) // 2)
        if odd_nuls > 0.4 * half and even_nuls < 0.05 * half:
            encoding, body = "utf-16-le", data
        elif even_nuls > 0.4 * half and odd_nuls < 0.05 * half:
            encoding, body = "utf-16-be", data
        else:
            raise _binary_error(name, data)
    else:
        encoding, body = "utf-8", data
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding != "utf-8" or body is not data:
            raise ImportFailed(
                f"{name}: line {_line_of(body, exc.start)} has bytes that are not valid {encoding.upper()};"
                " re-save the file as UTF-8 and import it again") from None
        try:
            text = body.decode("cp1252")
        except UnicodeDecodeError as exc2:
            raise ImportFailed(
                f"{name}: byte 0x{body[exc2.start]:02X} on line {_line_of(body, exc2.start)} is neither UTF-8 nor"
                " Windows-1252 text; open the file in a text editor, re-save it as UTF-8 and import it again") from None
        warnings.append(
            f"{name}: not valid UTF-8 (first at line {_line_of(body, exc.start)}); decoded as Windows-1252 —"
            " check accented letters and quotes")
    return normalise_text(text, name, warnings), warnings


def normalise_text(text: str, name: str, warnings: list[str] | None = None) -> str:
    """NFC, ``\\n`` line ends, no control characters (binary data raises ImportFailed)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n").replace("\f", "\n").replace("\x0b", "\n")
    controls = len(_CONTROL.findall(text))
    if controls:
        if controls > 0.01 * len(text) or "\x00" in text:
            raise _binary_error(name, text[:8].encode("utf-8", "replace"))
        text = _CONTROL.sub("", text)
        if warnings is not None:
            warnings.append(f"{name}: removed {controls} control character(s)")
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


# ---------------------------------------------------------------------------
# readers: bytes -> plain text (text formats) or cues (caption formats)

def read_txt(data: bytes, name: str, warnings: list[str]) -> str:
    text, notes = decode_text(data, name)
    warnings.extend(notes)
    return text


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _open_zip(data: bytes, name: str, member: str, kind: str, save_as: str) -> bytes:
    import io
    import zipfile

    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFailed(f"{name} is an old Word 97–2003 file, not {kind}; open it and save it as {save_as}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            return package.read(member)
    except zipfile.BadZipFile:
        raise ImportFailed(
            f"{name} is not a {kind} file (it is not a zip package); open it in a word processor and save it as"
            f" {save_as}, or give it its real extension") from None
    except KeyError:
        raise ImportFailed(f"{name} is a zip file but not a {kind} document (no {member}); save it as {save_as}") from None


def _parse_xml(xml: bytes, name: str, kind: str):
    from defusedxml import ElementTree

    try:
        return ElementTree.fromstring(xml)
    except Exception as exc:  # ParseError or a defusedxml refusal (entity expansion)
        raise ImportFailed(f"{name}: the {kind} content is damaged ({type(exc).__name__}); open and re-save the file") from None


def _docx_paragraph(paragraph) -> str:
    parts = []
    for element in paragraph.iter():
        tag = element.tag
        if tag == _W + "t":
            parts.append(element.text or "")
        elif tag == _W + "tab":
            parts.append("\t")
        elif tag in (_W + "br", _W + "cr"):
            parts.append("\n")
    return "".join(parts)


def _docx_blocks(container) -> Iterable[str]:
    for child in container:
        if child.tag == _W + "p":
            yield _docx_paragraph(child)
        elif child.tag == _W + "tbl":
            for row in child.iter(_W + "tr"):
                cells = [" ".join(_docx_paragraph(p) for p in cell.iter(_W + "p")).strip()
                         for cell in row.findall(_W + "tc")]
                cells = [c for c in cells if c]
                # A two-column "Speaker | Text" table is a common transcript template.
                if len(cells) == 2 and len(cells[0]) <= 40 and not cells[0].endswith(":"):
                    yield f"{cells[0]}: {cells[1]}"
                elif cells:
                    yield " ".join(cells)
        elif child.tag == _W + "sdt":
            content = child.find(_W + "sdtContent")
            if content is not None:
                yield from _docx_blocks(content)


def read_docx(data: bytes, name: str, warnings: list[str]) -> str:
    """Paragraphs (and table rows) of a Word .docx body, separated by blank lines."""
    root = _parse_xml(_open_zip(data, name, "word/document.xml", "Word .docx", ".docx"), name, "Word")
    body = root.find(_W + "body")
    if body is None:
        raise ImportFailed(f"{name}: the Word document has no body; open and re-save the file")
    text = "\n\n".join(p for p in _docx_blocks(body) if p.strip())
    return normalise_text(text, name, warnings)


_TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"


def _odt_inline(element, parts: list[str]) -> None:
    if element.text:
        parts.append(element.text)
    for child in element:
        tag = child.tag
        if tag == f"{{{_TEXT_NS}}}s":
            parts.append(" " * int(child.get(f"{{{_TEXT_NS}}}c", "1") or 1))
        elif tag == f"{{{_TEXT_NS}}}tab":
            parts.append("\t")
        elif tag == f"{{{_TEXT_NS}}}line-break":
            parts.append("\n")
        elif tag in (f"{{{_TEXT_NS}}}note", f"{{{_OFFICE_NS}}}annotation"):
            pass  # footnotes and comments are not part of the spoken text
        else:
            _odt_inline(child, parts)
        if child.tail:
            parts.append(child.tail)


def _odt_blocks(element) -> Iterable[str]:
    for child in element:
        if child.tag in (f"{{{_TEXT_NS}}}p", f"{{{_TEXT_NS}}}h"):
            parts: list[str] = []
            _odt_inline(child, parts)
            yield "".join(parts)
        elif child.tag not in (f"{{{_TEXT_NS}}}tracked-changes", f"{{{_TEXT_NS}}}sequence-decls"):
            yield from _odt_blocks(child)


def read_odt(data: bytes, name: str, warnings: list[str]) -> str:
    """Paragraphs and headings of an OpenDocument text, separated by blank lines."""
    root = _parse_xml(_open_zip(data, name, "content.xml", "OpenDocument .odt", ".odt"), name, "OpenDocument")
    body = root.find(f"{{{_OFFICE_NS}}}body")
    if body is None:
        raise ImportFailed(f"{name}: the OpenDocument file has no body; open and re-save the file")
    text = "\n\n".join(p for p in _odt_blocks(body) if p.strip())
    return normalise_text(text, name, warnings)


_RTF_CODEPAGE = re.compile(rb"\\ansicpg(\d+)")

# striprtf's tokenizer, except that plain text is matched in runs rather than
# one character at a time: the same output, about four times faster.
_RTF_TOKEN = re.compile(
    r"\\([a-z]{1,32})(-?\d{1,10})?[ ]?|\\'([0-9a-f]{2})|\\([^a-z])|([{}])|[\r\n]+|([^\\{}\r\n]+)",
    re.IGNORECASE,
)


def rtf_to_text(text: str, encoding: str = "cp1252", errors: str = "replace") -> str:
    """Plain text of an RTF document: striprtf's algorithm and tables, with a faster tokenizer."""
    from striprtf import striprtf

    text = striprtf.remove_pict_groups(text)
    text = striprtf.HYPERLINKS.sub("\\1(\\2)", text)
    destinations, specialchars, sectionchars = striprtf.destinations, striprtf.specialchars, striprtf.sectionchars
    fonttbl = {font_id: striprtf.charset_map.get(int(charset), encoding)
               for font_id, charset, _ in striprtf.FONTTABLE.findall(striprtf.font_table_group(text))}
    stack: list[tuple] = []
    default_font = current_font = None
    ignorable = suppress_output = in_document = False
    ucskip, curskip, depth = 1, 0, 0
    hexes = None
    out: list[str] = []
    for match in _RTF_TOKEN.finditer(text):
        word, arg, hex_pair, char, brace, run = match.groups()
        if hexes and not hex_pair:
            out.append(bytes.fromhex(hexes).decode(fonttbl.get(current_font, encoding), errors=errors))
            hexes = None
        if brace:
            curskip = 0
            if brace == "{":
                depth += 1
                in_document = True
                stack.append((ucskip, ignorable, suppress_output, current_font))
            else:
                depth -= 1
                if stack:
                    ucskip, ignorable, suppress_output, current_font = stack.pop()
                else:
                    ucskip, ignorable = 0, True
                if in_document and depth <= 0:
                    break  # text after the document group is discarded, as Word does
        elif char:
            curskip = 0
            if char in specialchars:
                if char in sectionchars:
                    current_font = default_font
                if not ignorable:
                    out.append(specialchars[char])
            elif char == "*":
                ignorable = True
        elif word:
            curskip = 0
            if word in destinations:
                ignorable = True
            elif word == "ansicpg":
                encoding = f"cp{arg}"
                try:
                    codecs.lookup(encoding)
                except LookupError:
                    encoding = "utf8"
            if ignorable or suppress_output:
                pass
            elif word in specialchars:
                out.append(specialchars[word])
            elif word == "uc":
                ucskip = int(arg)
            elif word == "u":
                if arg is not None:
                    code = int(arg)
                    out.append(chr(code + 0x10000 if code < 0 else code))
                curskip = ucskip
            elif word == "f":
                current_font = arg
            elif word == "deff":
                default_font = arg
            elif word in ("fonttbl", "colortbl"):
                suppress_output = True
        elif hex_pair:
            if curskip > 0:
                curskip -= 1
            elif not ignorable:
                hexes = hex_pair if not hexes else hexes + hex_pair
        elif run:
            if curskip > 0:
                skipped = min(curskip, len(run))
                run, curskip = run[skipped:], curskip - skipped
            if run and not ignorable and not suppress_output:
                out.append(run)
    if hexes:
        out.append(bytes.fromhex(hexes).decode(fonttbl.get(current_font, encoding), errors=errors))
    return "".join(out)


def read_rtf(data: bytes, name: str, warnings: list[str]) -> str:
    """Plain text of an RTF file; ``\\par`` ends a line."""
    start = data.lstrip()[:5]
    if start.startswith(codecs.BOM_UTF8):
        start = data.lstrip()[3:8]
    if start != b"{\\rtf":
        if b"\x00" in data[:4096]:
            raise _binary_error(name, data)
        raise ImportFailed(f"{name} is not an RTF file (it does not start with {{\\rtf); give it its real extension")
    match = _RTF_CODEPAGE.search(data[:2048])
    codepage = f"cp{match.group(1).decode()}" if match else "cp1252"
    try:
        codecs.lookup(codepage)
    except LookupError:
        codepage = "cp1252"
    # RTF is 7-bit with escapes; stray 8-bit bytes are read in the document's code page.
    source = data.decode(codepage, errors="replace")
    text = rtf_to_text(source, encoding=codepage)
    if "\ufffd" in text:
        warnings.append(f"{name}: some characters could not be decoded and were replaced by �")
    return normalise_text(text, name, warnings)


@dataclass
class Cue:
    start: float
    line: int
    lines: list[str]
    speaker: str | None = None


_VTT_TIME = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2})\.(\d{1,3})$")
_SRT_TIME = re.compile(r"^(\d{1,3}):(\d{1,2}):(\d{1,2}),(\d{1,3})$")
_TIMING = re.compile(r"^\s*(\S+)\s+-->\s+(\S+)")
_INLINE_TIME_TAG = re.compile(r"<\d{1,2}:\d{2}(?::\d{2})?\.\d{1,3}>")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
_TAG = re.compile(r"</?[a-zA-Z][^>]*>|<\d[^>]*>")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&nbsp;": "\u00a0", "&lrm;": "", "&rlm;": "", "&quot;": '"',
             "&apos;": "'"}
_ENTITY = re.compile("|".join(map(re.escape, _ENTITIES)))


def _seconds(value: str, pattern: re.Pattern, name: str, line: int, cue: int, expected: str) -> float:
    match = pattern.match(value)
    if not match:
        raise ImportFailed(
            f"{name}: line {line} (cue {cue}) has a malformed time '{value[:20]}' (expected {expected});"
            " correct it in a text editor and import again")
    hours, minutes, seconds, fraction = match.groups()
    if int(minutes) > 59 or int(seconds) > 59:
        raise ImportFailed(
            f"{name}: line {line} (cue {cue}) has an impossible time '{value[:20]}'; correct it and import again")
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(fraction.ljust(3, "0")) / 1000


def read_captions(data: bytes, name: str, warnings: list[str], *, srt: bool) -> list[Cue]:
    """Cues of a WebVTT or SubRip file, strictly checked (line-numbered errors).

    webvtt-py silently accepts broken timestamps and empty cues, so cues are
    parsed here to be able to name the line to fix.
    """
    text, notes = decode_text(data, name)
    warnings.extend(notes)
    lines = text.split("\n")
    pattern, expected = (_SRT_TIME, "HH:MM:SS,mmm") if srt else (_VTT_TIME, "HH:MM:SS.mmm")
    index = 0
    if not srt:
        while index < len(lines) and not lines[index].strip():
            index += 1
        if index >= len(lines) or not lines[index].startswith("WEBVTT"):
            hint = " (it looks like SubRip: rename it .srt)" if any(_SRT_TIME.match(t) for t in
                                                                      re.findall(r"\S+", text[:400])) else ""
            raise ImportFailed(f"{name}: line {index + 1} should start with WEBVTT; it is not a WebVTT file{hint}")
        # header: up to the first blank line
        while index < len(lines) and lines[index].strip():
            index += 1
    cues: list[Cue] = []
    current: Cue | None = None
    skipping_block = False
    for number in range(index, len(lines)):
        line = lines[number]
        stripped = line.strip()
        if "-->" in line:
            timing = _TIMING.match(line)
            cue_number = len(cues) + 1
            if current is not None and not current.lines:
                raise ImportFailed(
                    f"{name}: cue {len(cues)} (line {current.line}) has a time but no text; delete the empty cue"
                    " or add its text, then import again")
            if not timing:
                raise ImportFailed(f"{name}: line {number + 1} (cue {cue_number}) has a malformed cue timing;"
                                   f" it should read {expected} --> {expected}")
            start = _seconds(timing.group(1), pattern, name, number + 1, cue_number, expected)
            end = _seconds(timing.group(2), pattern, name, number + 1, cue_number, expected)
            if end < start:
                raise ImportFailed(f"{name}: line {number + 1} (cue {cue_number}) ends before it starts;"
                                   " correct the times and import again")
            current = Cue(start=start, line=number + 1, lines=[])
            cues.append(current)
            skipping_block = False
            continue
        if not stripped:
            if current is not None and not current.lines:
                raise ImportFailed(
                    f"{name}: cue {len(cues)} (line {current.line}) has a time but no text; delete the empty cue"
                    " or add its text, then import again")
            current = None
            skipping_block = False
            continue
        if current is not None:
            if srt and stripped.isdigit() and number + 1 < len(lines) and "-->" in lines[number + 1] and current.lines:
                continue  # the next cue's number, after a missing blank line
            current.lines.append(line)
            continue
        if skipping_block:
            continue
        # Outside a cue: a cue identifier / SRT index (followed by a timing line),
        # or a NOTE / STYLE / REGION block in WebVTT.
        following = lines[number + 1] if number + 1 < len(lines) else ""
        if "-->" in following:
            continue
        if not srt and stripped.split(None, 1)[0] in ("NOTE", "STYLE", "REGION"):
            skipping_block = True
            continue
        raise ImportFailed(
            f"{name}: line {number + 1} is text outside any cue (a missing or broken timing line above it?);"
            f" each cue needs a line {expected} --> {expected}")
    if current is not None and not current.lines:
        raise ImportFailed(f"{name}: cue {len(cues)} (line {current.line}) has a time but no text; delete the"
                           " empty cue or add its text, then import again")
    if not cues:
        raise ImportFailed(f"{name} has no cues; it is empty or not a {'SubRip' if srt else 'WebVTT'} file")
    return cues


def read_vtt(data: bytes, name: str, warnings: list[str]) -> list[Cue]:
    return read_captions(data, name, warnings, srt=False)


def read_srt(data: bytes, name: str, warnings: list[str]) -> list[Cue]:
    return read_captions(data, name, warnings, srt=True)


# Format registry: suffix -> (reader, source format). Text readers return str,
# caption readers a list of cues.
IMPORTERS: dict[str, Callable] = {
    ".txt": read_txt,
    ".md": read_txt,
    ".docx": read_docx,
    ".odt": read_odt,
    ".rtf": read_rtf,
    ".vtt": read_vtt,
    ".srt": read_srt,
}
SUPPORTED_SUFFIXES = tuple(IMPORTERS)


# ---------------------------------------------------------------------------
# layouts: plain text -> turns

_TS = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
_LABEL = r"(?P<label>[^\W\d_][\w.'’-]*(?:[ ](?![(\[]?\d{1,2}:\d)[\w.'’()-]+){0,3})"
# A timestamp opening a line: bracketed ([00:12], (1:02:03)) or with seconds
# (00:01:02). A bare "10:30" is left alone: in a diary it is part of the text.
_LEADING_TS = re.compile(
    rf"^(?:[\[(](?P<ts>{_TS})[\])]|(?P<bare>\d{{1,2}}:\d{{2}}:\d{{2}}(?:[.,]\d{{1,3}})?))(?:\s+|$)")
_COLON_LABEL = re.compile(
    rf"^(?:\*\*|__)?{_LABEL}(?:\s*[\[(]?(?P<ts>{_TS})[\])]?)?\s*(?:\*\*|__)?:(?:\*\*|__)?(?:\s+|$)")
_BRACKET_LABEL = re.compile(rf"^\[(?P<label>[^\W\d_][^\]\n]{{0,39}}?)(?:\s+(?P<ts>{_TS}))?\]\s*:?(?:\s+|$)")
_OTTER_LABEL = re.compile(rf"^{_LABEL}\s+(?P<ts>{_TS})\s*$")
# No whitespace in the pattern itself: "\s*" around it would make searching a
# long run of spaces quadratic. The whitespace around a match is trimmed below.
_INLINE_TS = re.compile(rf"[\[(]{_TS}[\])]")
_BULLET = re.compile(r"^(?:[-*•–]\s|\d{1,2}[.)]\s)")
_WORD = re.compile(r"\w+(?:['’]\w+)*")


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def parse_timestamp(value: str) -> float:
    """``'1:02:03.5'`` / ``'0:12'`` / ``'00:01:02,500'`` → seconds."""
    main, _, fraction = value.replace(",", ".").partition(".")
    seconds = 0
    for part in main.split(":"):
        seconds = seconds * 60 + int(part)
    return seconds + (float(f"0.{fraction}") if fraction else 0.0)


_NUMBERED = re.compile(r"\s*(?:\d+|\([^)]*\))$")


class Speakers:
    """Decides which labels are speakers and what role and respondent each has."""

    def __init__(self, interviewer_labels: Iterable[str], speaker_map: dict[str, str] | None,
                 respondent_id: str | None):
        self.interviewer = {label.strip().casefold() for label in interviewer_labels}
        self.map = {k.strip().casefold(): v.strip() for k, v in (speaker_map or {}).items()}
        self.respondent_id = respondent_id

    def is_interviewer(self, key: str) -> bool:
        """An interviewer label, also numbered or initialled: "Interviewer 2", "I1", "Int (JS)"."""
        return key in self.interviewer or _NUMBERED.sub("", key) in self.interviewer

    def known(self, label: str) -> bool:
        key = label.casefold()
        return (self.is_interviewer(key) or key in self.map or key in GENERIC_RESPONDENT_LABELS
                or bool(_GENERIC_SPEAKER.match(label))
                or (self.respondent_id is not None and key == self.respondent_id.casefold()))

    def resolve(self, label: str | None, labelled_file: bool) -> tuple[str, str | None]:
        """(role, respondent_id) of a turn with ``label`` (None: unlabelled text)."""
        if label is None:
            # Text before the first label of an interview is a header, not speech;
            # a file without labels is one respondent's monologue.
            return ("other", None) if labelled_file else ("respondent", self.respondent_id)
        key = label.casefold()
        mapped = self.map.get(key)
        if mapped is not None:
            if mapped.casefold() == "interviewer":
                return "interviewer", None
            if mapped.casefold() == "other":
                return "other", None
            return "respondent", mapped
        if self.is_interviewer(key):
            return "interviewer", None
        return "respondent", self.respondent_id


def _label_ok(label: str, kind: str) -> bool:
    words = label.split()
    if not words or len(words) > 4 or len(label) > 40:
        return False
    if kind == "bracket" and (not label[0].isupper() or label.casefold() in _BRACKET_NOTES):
        return False
    return True


def _scan_line(stripped: str):
    """(kind, label, timestamp, content) if the line could open a turn, else None."""
    match = _OTTER_LABEL.match(stripped)
    if match and _label_ok(match["label"], "otter"):
        return "otter", match["label"], match["ts"], ""
    rest, ts = stripped, None
    lead = _LEADING_TS.match(stripped)
    if lead:
        rest, ts = stripped[lead.end():], lead["ts"] or lead["bare"]
    for kind, pattern in (("colon", _COLON_LABEL), ("bracket", _BRACKET_LABEL)):
        match = pattern.match(rest)
        if match and _label_ok(match["label"].strip(), kind):
            return kind, match["label"].strip(), match["ts"] or ts, rest[match.end():]
    return None


def _join_lines(lines: list[str]) -> str:
    """Join the lines of one paragraph: hard wraps become spaces, list items keep their line."""
    out = lines[0]
    for line in lines[1:]:
        out += ("\n" if _BULLET.match(line) else " ") + line
    return out


def _strip_inline_timestamps(text: str) -> tuple[str, float | None]:
    match = _INLINE_TS.search(text)
    if not match:
        return text, None
    first = parse_timestamp(match.group(0)[1:-1])
    pieces = [piece.strip() for piece in _INLINE_TS.split(text)]
    return " ".join(piece for piece in pieces if piece), first


def parse_turns(text: str, speakers: Speakers) -> list[Turn]:
    """Recognise the speaker layout of plain text and split it into turns of paragraphs.

    A line opens a turn when it starts with a speaker label in the file's
    layout (``Name: …``, ``[Name] …`` or an Otter ``Name  0:12`` line). A
    label counts when it is a known label (interviewer labels, the speaker
    map, the respondent id, generic ones such as ``Speaker 2`` or ``P``) or
    opens at least two lines; only labels of the most frequent layout count,
    so ``[laughs]`` in a ``Name:`` transcript is text. Other lines continue
    the current paragraph (hard wraps) and blank lines end paragraphs.
    """
    lines = text.split("\n")
    scanned = []
    counts: dict[tuple[str, str], int] = {}
    for line in lines:
        stripped = line.strip()
        found = _scan_line(stripped) if stripped else None
        scanned.append((stripped, found))
        if found:
            key = (found[0], found[1].casefold())
            counts[key] = counts.get(key, 0) + 1
    accepted_by_kind: dict[str, set[str]] = {}
    weight: dict[str, int] = {}
    for (kind, key), count in counts.items():
        if count >= 2 or speakers.known(key):
            accepted_by_kind.setdefault(kind, set()).add(key)
            weight[kind] = weight.get(kind, 0) + count
    layout = max(weight, key=lambda k: (weight[k], k == "colon")) if weight else None
    accepted = accepted_by_kind.get(layout, set())

    turns: list[Turn] = []
    current: Turn | None = None
    paragraph: list[str] = []
    paragraph_ts: float | None = None
    pending_ts: float | None = None

    def flush() -> None:
        nonlocal paragraph, paragraph_ts
        if paragraph and current is not None:
            joined, inline_ts = _strip_inline_timestamps(_join_lines(paragraph))
            if joined:
                current.paragraphs.append((joined, paragraph_ts if paragraph_ts is not None else inline_ts))
        paragraph, paragraph_ts = [], None

    for stripped, found in scanned:
        if not stripped:
            flush()
            continue
        if found and found[0] == layout and found[1].casefold() in accepted:
            flush()
            kind, label, ts, content = found
            current = Turn(label=label, kind=kind,
                           timestamp=parse_timestamp(ts) if ts else pending_ts)
            pending_ts = None
            turns.append(current)
            if content.strip():
                paragraph = [content.strip()]
            continue
        lead = _LEADING_TS.match(stripped)
        content, ts = stripped, None
        if lead:
            content, ts = stripped[lead.end():].strip(), parse_timestamp(lead["ts"] or lead["bare"])
            if not content:  # a timestamp on its own line belongs to what follows
                flush()
                pending_ts = ts
                continue
        if current is None:
            current = Turn(label=None, kind=None)
            turns.append(current)
        if not paragraph:
            paragraph_ts = ts if ts is not None else pending_ts
            pending_ts = None
        paragraph.append(content)
    flush()
    # The first paragraph of a labelled turn carries the turn's timestamp.
    for turn in turns:
        if turn.timestamp is not None and turn.paragraphs:
            turn.paragraphs[0] = (turn.paragraphs[0][0], turn.timestamp)
    return [t for t in turns if t.paragraphs]


def _clean_cue_line(line: str) -> str:
    line = _INLINE_TIME_TAG.sub("", line)
    line = _TAG.sub("", line)
    if "&" in line:
        line = _ENTITY.sub(lambda m: _ENTITIES[m.group(0)], line)
    return " ".join(line.split())


def cue_turns(cues: list[Cue], speakers: Speakers) -> list[Turn]:
    """Merge caption cues into speaker turns.

    The speaker comes from a ``<v Name>`` voice tag (Teams) or a ``Name:``
    label at the start of the cue text (Zoom); a cue without either continues
    the previous speaker. Consecutive cues of one speaker become one turn.
    Captions with word-timing tags (YouTube) repeat the previous line at the
    top of the next cue; those repeats are dropped.
    """
    rolling = any(_INLINE_TIME_TAG.search(line) for cue in cues for line in cue.lines)
    prepared: list[tuple[str | None, str, float]] = []
    label_counts: dict[str, int] = {}
    recent: list[str] = []
    for cue in cues:
        voice = None
        for line in cue.lines:
            match = _VOICE.search(line)
            if match:
                voice = match.group(1).strip()
                break
        kept = []
        for raw in cue.lines:
            cleaned = _clean_cue_line(raw)
            if not cleaned:
                continue
            if rolling:
                if cleaned in recent:
                    continue
                recent = (recent + [cleaned])[-3:]
            kept.append(cleaned)
        text = " ".join(kept)
        if not text:
            continue
        label = voice
        if voice is None:
            match = _COLON_LABEL.match(text)
            if match and _label_ok(match["label"].strip(), "colon"):
                label = match["label"].strip()
                text = text[match.end():].strip()
                label_counts[label.casefold()] = label_counts.get(label.casefold(), 0) + 1
        prepared.append((label, text, cue.start, voice is not None))
    # A "Name:" prefix seen once and not a known label is speech ("Look: …"), not a speaker.
    accepted = {k for k, n in label_counts.items() if n >= 2 or speakers.known(k)}
    turns: list[Turn] = []
    previous_label: str | None = None
    for label, text, start, from_voice in prepared:
        if label is not None and not from_voice and label.casefold() not in accepted:
            text, label = f"{label}: {text}".strip(), None
        if label is None:
            label = previous_label
        if not text:
            continue
        if turns and turns[-1].label == label:
            merged, ts = turns[-1].paragraphs[0]
            turns[-1].paragraphs[0] = (f"{merged} {text}", ts)
        else:
            turns.append(Turn(label=label, kind="colon" if label else None, timestamp=start,
                              paragraphs=[(text, start)]))
        previous_label = label
    return turns


# ---------------------------------------------------------------------------
# turns -> stored text + units

def build_document(turns: list[Turn], speakers: Speakers) -> tuple[str, list[dict]]:
    """Render turns as the stored text and compute unit spans (labels outside the spans)."""
    labelled = any(t.label is not None for t in turns)
    pieces: list[str] = []
    position = 0
    units: list[dict] = []
    for turn_number, turn in enumerate(turns, start=1):
        if pieces:
            pieces.append("\n\n")
            position += 2
        if turn.label is not None:
            prefix = f"[{turn.label}] " if turn.kind == "bracket" else f"{turn.label}: "
            pieces.append(prefix)
            position += len(prefix)
        role, respondent_id = speakers.resolve(turn.label, labelled)
        for index, (paragraph, timestamp) in enumerate(turn.paragraphs):
            if index:
                pieces.append("\n\n")
                position += 2
            pieces.append(paragraph)
            units.append({"start": position, "end": position + len(paragraph), "speaker": turn.label,
                          "role": role, "respondent_id": respondent_id, "timestamp": timestamp,
                          "turn": turn_number})
            position += len(paragraph)
    pieces.append("\n")
    return "".join(pieces), units


def parse_file(
    path: Path | str,
    *,
    interviewer_labels: Iterable[str],
    speaker_map: dict[str, str] | None = None,
    respondent_id: str | None = None,
    data: bytes | None = None,
    format_hint: str | None = None,
) -> ParsedTranscript:
    """Read one transcript file into stored text and units.

    ``speaker_map`` maps speaker labels (case-insensitive) to respondent ids,
    ``"interviewer"`` or ``"other"``; unmapped labels that are not interviewer
    labels belong to ``respondent_id``. ``data`` is the file's bytes when the
    caller has read them already; ``format_hint`` (``vtt``, ``txt``, …) reads
    the file as that format whatever its extension. Raises ImportFailed with
    a one-line message.
    """
    path = Path(path)
    name = path.name
    suffix = f".{format_hint.lower().lstrip('.')}" if format_hint else path.suffix.lower()
    reader = IMPORTERS.get(suffix)
    if reader is None:
        raise ImportFailed(f"{name}: unsupported format '{suffix or '(none)'}'; qualcode imports"
                           f" {', '.join(SUPPORTED_SUFFIXES)} — save the transcript in one of these")
    if data is None:
        data = read_bytes(path)
    if not data.strip():
        raise ImportFailed(f"{name} is empty; check that it is the right file (nothing was imported)")
    warnings: list[str] = []
    speakers = Speakers(interviewer_labels, speaker_map, respondent_id)
    try:
        content = reader(data, name, warnings)
        turns = cue_turns(content, speakers) if suffix in CAPTION_SUFFIXES else parse_turns(content, speakers)
    except QualcodeError:
        raise
    except Exception as exc:
        if os.environ.get("QUALCODE_DEBUG") == "1":
            raise
        raise ImportFailed(f"{name}: could not be read as {suffix[1:]} ({type(exc).__name__}); open and re-save"
                           " the file, or save it as .txt") from None
    if not turns:
        raise ImportFailed(f"{name} has no text (only blank lines, labels or markup); check that it is the right file")
    text, units = build_document(turns, speakers)
    respondent_labels = sorted({u["speaker"] for u in units if u["role"] == "respondent" and u["speaker"]
                                and u["speaker"].casefold() not in speakers.map})
    if len(respondent_labels) > 1:
        # Caption speaker labels are often real names: show them masked.
        shown = ", ".join(mask_label(label, respondent_id) for label in respondent_labels)
        warnings.append(f"{name}: {len(respondent_labels)} speakers ({shown}) are all assigned to respondent"
                        f" {respondent_id}; if they are different people or include the interviewer, map their"
                        f" labels (as written in the transcript) in a [speaker_map.{path.stem}] table in"
                        " qualcode.toml or with --speaker-map, then import the file again with --replace")
    used = {u["respondent_id"] for u in units} - {None}
    document_respondent = respondent_id
    if speakers.map and respondent_id not in used:
        # A focus group mapped to its participants has no respondent of its own.
        document_respondent = next(iter(used)) if len(used) == 1 else None
    return ParsedTranscript(text=text, units=units, source_format=suffix[1:], warnings=warnings,
                            respondent_id=document_respondent)


def is_generic_label(label: str) -> bool:
    """A label that names no one: ``Speaker 2``, ``P``, ``Respondent``, ``Interviewer 1``."""
    key = label.strip().casefold()
    return key in GENERIC_RESPONDENT_LABELS or bool(_GENERIC_SPEAKER.match(label.strip())) or \
        _NUMBERED.sub("", key) in ("interviewer", "int", "i", "q", "moderator", "facilitator")


def mask_label(label: str, respondent_id: str | None = None) -> str:
    """A speaker label fit for a message: generic labels and the respondent id as they are,
    anything else (often a real name from captions) masked to initials."""
    if is_generic_label(label) or (respondent_id is not None and label.casefold() == respondent_id.casefold()):
        return label
    from qualcode.anonymity import mask

    return mask(label, "name")


def read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImportFailed(f"{path}: cannot be read ({exc.strerror}); check the path and permissions") from None
    if size > MAX_FILE_BYTES:
        raise ImportFailed(f"{path.name} is {size / 1e6:.0f} MB, above the {MAX_FILE_BYTES // 2**20} MB limit for"
                           " one transcript; check it is a transcript, or split it into parts")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ImportFailed(f"{path}: cannot be read ({exc.strerror}); check the path and permissions") from None


# ---------------------------------------------------------------------------
# respondent ids, speaker maps, file discovery

def respondent_from_name(stem: str, id_rule: str) -> str:
    """The respondent id of a file stem under the project's id rule (``stem`` or a regex)."""
    if not id_rule or id_rule == "stem":
        return stem
    try:
        pattern = re.compile(id_rule)
    except re.error as exc:
        raise InputError(f"qualcode.toml: id_rule '{id_rule}' is not a valid regular expression ({exc});"
                         " fix it or use \"stem\"") from None
    match = pattern.search(stem)
    if not match:
        raise ImportFailed(f"{stem}: the file name does not match the respondent-id rule '{id_rule}';"
                           " rename the file or give the id with --respondent ID")
    value = match.groupdict().get("id") or match.group(0)
    if not value:
        raise ImportFailed(f"{stem}: the respondent-id rule '{id_rule}' matched an empty id; give --respondent ID")
    return value


def load_speaker_map_csv(path: Path | str) -> dict[str, dict[str, str]]:
    """``{document (name or stem): {speaker: respondent}}`` from a CSV with columns document,speaker,respondent."""
    from qualcode.respondents import read_csv_rows

    path = Path(path)
    header, rows = read_csv_rows(path, what="speaker")
    columns = {h.strip().casefold(): i for i, h in enumerate(header)}
    missing = [c for c in ("document", "speaker", "respondent") if c not in columns]
    if missing:
        raise InputError(f"{path.name}: missing column(s) {', '.join(missing)}; a speaker map needs the columns"
                         " document,speaker,respondent")
    result: dict[str, dict[str, str]] = {}
    for row_number, row in rows:
        document, speaker, respondent = (row[columns[c]].strip() if columns[c] < len(row) else ""
                                         for c in ("document", "speaker", "respondent"))
        if not (document and speaker and respondent):
            raise InputError(f"{path.name}: row {row_number} has an empty document, speaker or respondent;"
                             " fill it in or delete the row")
        result.setdefault(document, {})[speaker] = respondent
    return result


def _map_for(name: str, stem: str, maps: dict[str, dict[str, str]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for key, mapping in maps.items():
        if key.casefold() in (name.casefold(), stem.casefold()):
            merged.update(mapping)
    return merged


# Notes that travel with a folder of transcripts but are not transcripts.
FOLDER_SKIP_STEMS = {"README", "LICENSE", "LICENCE", "CHANGELOG", "NOTES"}


def collect_files(paths: Iterable[Path | str]) -> list[Path]:
    """Files named directly (any suffix: unsupported ones fail later with a message) plus the
    supported files in named folders, recursively and in name order. In folders, hidden files,
    Office lock files (``~$…``) and README/LICENSE/NOTES files are skipped."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            found = [p for p in path.rglob("*")
                     if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
                     and not any(part.startswith(".") for part in p.relative_to(path).parts)
                     and not p.name.startswith("~$") and p.stem.upper() not in FOLDER_SKIP_STEMS]
            files.extend(sorted(found, key=lambda p: [s.casefold() for s in p.relative_to(path).parts]))
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{raw}: no such file or folder; check the path")
    return files


# ---------------------------------------------------------------------------
# the import itself

KIND_NAMES = {"email": "e-mail address", "phone": "phone number", "url": "web address", "handle": "@handle",
              "postcode": "postcode", "date": "full date", "address": "street address", "name": "person name",
              "identifier": "listed identifier"}


def _anonymity_warnings(name: str, parsed: ParsedTranscript, data: bytes, identifiers: list[str] | None,
                        language: str) -> list[str]:
    """One warning per likely identifier, placed in the file as the researcher has it (``SF4.txt:62:251:``,
    ``SF9.docx paragraph 14:``, ``TL1.vtt cue 12 (line 47):``), then its kind and masked text."""
    from qualcode.anonymity import scan_document

    return [f"{row['where']}: {KIND_NAMES.get(row['kind'], row['kind'])} {row['masked']}"
            for row in scan_document(name, parsed.text, source=data, source_format=parsed.source_format,
                                     units=parsed.units, identifiers=identifiers, language=language)]


def _has_codings(conn, document_id: int) -> bool:
    """Codings, reconciliation decisions or sample assignments refer to the document's positions."""
    return bool(
        conn.execute("SELECT 1 FROM codings WHERE document_id = ? LIMIT 1", (document_id,)).fetchone()
        or conn.execute("SELECT 1 FROM decisions WHERE document_id = ? LIMIT 1", (document_id,)).fetchone()
        or conn.execute("SELECT 1 FROM assignments a JOIN units u USING (unit_id) WHERE u.document_id = ? LIMIT 1",
                        (document_id,)).fetchone())


def delete_document(conn, document_id: int) -> None:
    """Remove a document that has no codings (units, sentences and assignments go with it)."""
    conn.execute("DELETE FROM documents WHERE document_id = ?", (document_id,))


def _unit_key(unit: dict) -> tuple:
    return (unit["start"], unit["end"], unit.get("speaker"), unit["role"], unit.get("respondent_id"),
            unit.get("timestamp"), unit.get("turn"))


def _stored_parse(conn, document_id: int) -> tuple:
    """What a document's parse looks like in the database: (text, units, respondent), comparable
    with :func:`_parsed_key`."""
    text, respondent_id = conn.execute("SELECT text, respondent_id FROM documents WHERE document_id = ?",
                                       (document_id,)).fetchone()
    units = [tuple(row) for row in conn.execute(
        "SELECT start, end, speaker, role, respondent_id, timestamp, turn FROM units WHERE document_id = ?"
        " ORDER BY seq", (document_id,))]
    return text, units, respondent_id


def _parsed_key(parsed: ParsedTranscript) -> tuple:
    return parsed.text, [_unit_key(u) for u in parsed.units], parsed.respondent_id


def _set_counts(result: FileResult, text: str, units: list[tuple[int, int, str]]) -> None:
    """Units and words of the whole document and of respondent speech only; units are (start, end, role)."""
    result.units = len(units)
    result.words = count_words("\n".join(text[start:end] for start, end, _ in units))
    spoken = [(start, end) for start, end, role in units if role == "respondent"]
    result.respondent_units = len(spoken)
    result.respondent_words = count_words("\n".join(text[start:end] for start, end in spoken))


CODED_REFUSAL = (
    "{name} already has codings, reconciliation decisions or units in a coding sample, whose positions refer to"
    " the stored text, so it cannot be {what}; {how}")


def import_file(
    project,
    path: Path,
    *,
    respondent: str | None = None,
    strict: bool = False,
    identifiers: list[str] | None = None,
    replace: bool = False,
    speaker_maps: dict[str, dict[str, str]] | None = None,
    seen: dict[str, Path] | None = None,
    format_hint: str | None = None,
) -> FileResult:
    """Import one file in its own transaction; never raises for a bad file (status ``failed``).

    A file already imported with the same bytes is ``unchanged``, unless
    ``replace`` and the current settings (speaker map, interviewer labels,
    id rule, ``respondent``) parse it differently from the stored document:
    then it is re-parsed and ``replaced``, like a changed file.
    """
    name = path.name
    result = FileResult(path=str(path), file=name, status="failed")
    try:
        resolved = path.resolve()
        if seen is not None:
            earlier = seen.get(name.casefold())
            if earlier is not None and earlier != resolved:
                raise ImportFailed(f"{name}: another file with this name ({earlier}) is in this import; documents"
                                   " are named by file name, so rename one of them")
            seen[name.casefold()] = resolved
        data = read_bytes(path)
        digest = sha256_bytes(data)
        conn = project.connect()
        existing = conn.execute(
            "SELECT document_id, sha256, source_path, respondent_id FROM documents WHERE name = ?", (name,)
        ).fetchone()
        same_bytes = existing is not None and existing["sha256"] == digest
        if existing is not None and not same_bytes and not replace:
            other_folder = existing["source_path"] and Path(existing["source_path"]).parent != resolved.parent
            where = f" from {Path(existing['source_path']).parent}" if other_folder else ""
            raise ImportFailed(
                f"{name} is already imported{where} with different content; to replace it run"
                f" `qualcode import --replace {path}`" + (" (or rename one of the files)" if other_folder else ""))

        def parse() -> ParsedTranscript:
            respondent_id = respondent or respondent_from_name(path.stem, project.id_rule)
            return parse_file(path, interviewer_labels=project.interviewer_labels,
                              speaker_map=_map_for(name, path.stem, speaker_maps or {}),
                              respondent_id=respondent_id, data=data, format_hint=format_hint)

        if same_bytes:
            stored = _stored_parse(conn, existing["document_id"])
            try:
                parsed = parse()
            except QualcodeError:
                if replace:
                    raise
                parsed = None  # the settings no longer fit the file; it stays as it was imported
            differs = parsed is not None and _parsed_key(parsed) != stored
            if not (replace and differs):
                result.status, result.document, result.respondent = "unchanged", name, existing["respondent_id"]
                _set_counts(result, stored[0], [(u[0], u[1], u[3]) for u in stored[1]])
                result.message = "already imported (same content)"
                if differs:
                    result.message += ("; the current settings (speaker map, interviewer labels, id rule,"
                                       " --respondent) read it differently: run"
                                       f" `qualcode import --replace {path}` to apply them")
                return result
        else:
            parsed = parse()
        result.warnings.extend(parsed.warnings)
        findings = _anonymity_warnings(name, parsed, data, identifiers, project.language)
        result.findings = len(findings)
        if findings and strict:
            result.warnings.extend(findings)
            first = findings[0].split(": ")[0]
            raise ImportFailed(f"{name}: {len(findings)} likely identifier(s), first at {first};"
                               " remove them from the transcript (see the warnings) or import without --strict")
        result.warnings.extend(findings)
        from qualcode import documents, store

        with project.transaction() as conn:
            replaced = False
            if existing is not None:
                if _has_codings(conn, existing["document_id"]):
                    if same_bytes:
                        how = (f"to attribute its speakers to respondents run `qualcode respondents assign {name}"
                               " RESPONDENT --speaker LABEL` (positions stay as they are)")
                        raise ImportFailed(CODED_REFUSAL.format(name=name, what="re-read with the current settings",
                                                                how=how))
                    raise ImportFailed(CODED_REFUSAL.format(
                        name=name, what="replaced", how="import the new version under another file name"))
                delete_document(conn, existing["document_id"])
                replaced = True
            documents.add_document(conn, name=name, text=parsed.text, source_format=parsed.source_format,
                                   units=parsed.units, sha256=digest, source_path=str(resolved),
                                   respondent_id=parsed.respondent_id)
            store.record_history(conn, "import", document=name, sha256=digest, units=len(parsed.units),
                                 replaced=replaced, format=parsed.source_format,
                                 **({"reason": "settings"} if same_bytes else {}))
        result.status = "replaced" if replaced else "imported"
        result.document, result.respondent = name, parsed.respondent_id
        _set_counts(result, parsed.text, [(u["start"], u["end"], u["role"]) for u in parsed.units])
        if same_bytes:
            result.message = "re-read with the current settings"
        elif replaced:
            result.message = "replaced the earlier version"
        if findings:
            result.message = (result.message + "; " if result.message else "") + \
                f"{len(findings)} possible identifier(s)"
    except QualcodeError as exc:
        result.status = "failed"
        result.message = str(exc)
    return result


class ImportInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``import_paths``: ``results`` holds the files finished before it (all saved);
    ``current`` is the file being imported, whose transaction was rolled back."""

    def __init__(self, results: list[FileResult], current: str | None):
        super().__init__()
        self.results = results
        self.current = current


def import_paths(
    project,
    paths: Iterable[Path | str],
    *,
    respondent: str | None = None,
    strict: bool = False,
    identifiers: list[str] | None = None,
    progress: Callable[[int, int, FileResult], None] | None = None,
    replace: bool = False,
    speaker_map: Path | str | dict[str, dict[str, str]] | None = None,
    format_hint: str | None = None,
) -> list[FileResult]:
    """Import transcript files and folders (recursively) into ``project``.

    Each file is one transaction: a failed file leaves nothing behind and does
    not stop the others. An identical file already imported is ``unchanged``;
    a changed file under an existing name fails unless ``replace`` (refused
    when the document has codings). With ``replace`` an identical file is
    re-parsed, and replaced if the current settings read it differently. ``respondent`` overrides the project's
    id rule; ``speaker_map`` is a CSV path (document,speaker,respondent) or a
    dict, merged over the project's ``[speaker_map.*]`` settings.
    ``identifiers`` (real names and places) feed the anonymity check and are
    never stored; with ``strict`` a file with findings is refused.
    ``progress(done, total, result)`` is called after each file.
    ``format_hint`` reads every file as that format (e.g. ``vtt`` for
    captions saved as .txt). Ctrl-C raises :class:`ImportInterrupted` (a
    KeyboardInterrupt) carrying the results of the files finished before it.
    """
    if format_hint is not None and f".{format_hint.lower().lstrip('.')}" not in IMPORTERS:
        raise InputError(f"unknown format '{format_hint}'; choose one of"
                         f" {', '.join(s[1:] for s in SUPPORTED_SUFFIXES)}")
    files = collect_files(paths)
    maps = dict(project.speaker_map)
    if isinstance(speaker_map, (str, Path)):
        extra = load_speaker_map_csv(speaker_map)
    else:
        extra = speaker_map or {}
    for key, mapping in extra.items():
        maps[key] = {**maps.get(key, {}), **mapping}
    results: list[FileResult] = []
    seen: dict[str, Path] = {}
    current: str | None = None
    try:
        for done, path in enumerate(files, start=1):
            current = path.name
            result = import_file(project, path, respondent=respondent, strict=strict, identifiers=identifiers,
                                 replace=replace, speaker_maps=maps, seen=seen, format_hint=format_hint)
            results.append(result)
            current = None
            if progress is not None:
                progress(done, len(files), result)
    except KeyboardInterrupt:
        raise ImportInterrupted(results, current) from None
    return results


RESULT_COLUMNS = ["file", "document", "respondent", "units", "respondent_units", "words", "respondent_words",
                  "status", "message"]


def results_frame(results: list[FileResult]):
    """The import results as a DataFrame with :data:`RESULT_COLUMNS`.

    ``units`` and ``words`` count the whole document (interviewer included);
    ``respondent_units`` and ``respondent_words`` respondent speech only, the
    way ``qualcode respondents`` counts.
    """
    import pandas as pd

    return pd.DataFrame(
        [{"file": r.file, "document": r.document or "", "respondent": r.respondent or "", "units": r.units,
          "respondent_units": r.respondent_units, "words": r.words, "respondent_words": r.respondent_words,
          "status": r.status, "message": r.message} for r in results],
        columns=RESULT_COLUMNS,
    )


def list_documents(conn):
    """One row per document: document, format, respondent, respondent_units, interviewer_units,
    other_units, words (all speech), respondent_words, imported_at, sha256 (first 12 hex digits).

    A DataFrame in natural name order (SF2 before SF10). ``respondent`` is the
    document's own respondent, empty for a focus group or a document imported
    without one (see ``qualcode respondents assign``). ``frame.attrs["unattributed"]``
    names the documents with respondent speech that belongs to no respondent.
    """
    import pandas as pd
    from natsort import natsorted

    rows = []
    unattributed: list[str] = []
    for document_id, name, source_format, respondent_id, imported_at, sha256 in conn.execute(
        "SELECT document_id, name, source_format, respondent_id, imported_at, sha256 FROM documents"
    ):
        text = conn.execute("SELECT text FROM documents WHERE document_id = ?", (document_id,)).fetchone()[0]
        units = conn.execute("SELECT start, end, role, respondent_id FROM units WHERE document_id = ? ORDER BY seq",
                             (document_id,)).fetchall()
        roles = [u[2] for u in units]
        counts = FileResult(path="", file=name, status="")
        _set_counts(counts, text, [(u[0], u[1], u[2]) for u in units])
        rows.append({"document": name, "format": source_format, "respondent": respondent_id or "",
                     "respondent_units": counts.respondent_units, "interviewer_units": roles.count("interviewer"),
                     "other_units": roles.count("other"), "words": counts.words,
                     "respondent_words": counts.respondent_words, "imported_at": imported_at,
                     "sha256": sha256[:12]})
        if any(role == "respondent" and respondent is None for _, _, role, respondent in units):
            unattributed.append(name)
        del text
    columns = ["document", "format", "respondent", "respondent_units", "interviewer_units", "other_units", "words",
               "respondent_words", "imported_at", "sha256"]
    frame = pd.DataFrame(natsorted(rows, key=lambda r: r["document"]), columns=columns)
    frame.attrs["unattributed"] = natsorted(unattributed)
    return frame

