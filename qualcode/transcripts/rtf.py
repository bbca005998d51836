"""RTF transcripts: the text of an RTF file, with its code page.
"""

from __future__ import annotations

import codecs
import re

from qualcode.errors import ImportFailed
from qualcode.transcripts.text import binary_error, normalise_text

_RTF_CODEPAGE = re.compile(rb"\\ansicpg(\d+)")

# striprtf's tokenizer, except that plain text is matched in runs rather than
# one character at a time: the same output, about four times faster.
_RTF_TOKEN = re.compile(
    r"\\([a-z]{1,32})(-?\d{1,10})?[ ]?|\\'([0-9a-f]{2})|\\([^a-z])|([{}])|[\r\n]+|([^\\{}\r\n]+)",
    re.IGNORECASE,
)


def rtf_to_text(text: str, encoding: str = "cp1252", errors: str = "replace") -> str:
    """Plain text of an RTF document: striprtf's algorithm and tables, with a faster tokenizer."""
    # long: striprtf's tokenizer loop, kept in its shape so it can be compared with upstream line by line
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
            raise binary_error(name, data)
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
