"""Decoding a transcript file's bytes into normalised text (encoding, NFC, line ends, control characters).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

from qualcode.errors import ImportFailed

# A transcript larger than this is refused before it is read: a real interview
# transcript is well under 1 MB, and a file this large is almost always a
# wrong file (a media file, a database dump). Measured: a 50 MB transcript
# imports in a few seconds (docs/performance.md).
MAX_FILE_BYTES = 100 * 1024 * 1024

# ---------------------------------------------------------------------------
# decoding

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def binary_error(name: str, data: bytes) -> ImportFailed:
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
            raise binary_error(name, data)
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
            raise binary_error(name, text[:8].encode("utf-8", "replace"))
        text = _CONTROL.sub("", text)
        if warnings is not None:
            warnings.append(f"{name}: removed {controls} control character(s)")
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text



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
