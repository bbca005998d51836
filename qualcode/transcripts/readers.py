"""The format registry: one reader per file suffix. Adding a format = one module + one line in ``READERS``.
"""

from __future__ import annotations

from typing import Callable
from qualcode.transcripts.captions import read_srt, read_vtt
from qualcode.transcripts.docx import read_docx
from qualcode.transcripts.odt import read_odt
from qualcode.transcripts.rtf import read_rtf
from qualcode.transcripts.txt import read_txt


TEXT_SUFFIXES = (".txt", ".md", ".docx", ".odt", ".rtf")
CAPTION_SUFFIXES = (".vtt", ".srt")



# Format registry: suffix -> (reader, source format). Text readers return str,
# caption readers a list of cues.
READERS: dict[str, Callable] = {
    ".txt": read_txt,
    ".md": read_txt,
    ".docx": read_docx,
    ".odt": read_odt,
    ".rtf": read_rtf,
    ".vtt": read_vtt,
    ".srt": read_srt,
}
SUPPORTED_SUFFIXES = tuple(READERS)
