"""Plain text and Markdown transcripts.
"""

from __future__ import annotations
from qualcode.transcripts.text import decode_text



def read_txt(data: bytes, name: str, warnings: list[str]) -> str:
    text, notes = decode_text(data, name)
    warnings.extend(notes)
    return text
