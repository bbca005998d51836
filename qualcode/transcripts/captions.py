"""Caption files (WebVTT from Zoom, Teams, YouTube; SubRip): cues with their times, and the caption markup grammar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qualcode.errors import ImportFailed
from qualcode.transcripts.text import decode_text

@dataclass
class Cue:
    start: float
    line: int
    lines: list[str]
    speaker: str | None = None


_VTT_TIME = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2})\.(\d{1,3})$")
_SRT_TIME = re.compile(r"^(\d{1,3}):(\d{1,2}):(\d{1,2}),(\d{1,3})$")
_TIMING = re.compile(r"^\s*(\S+)\s+-->\s+(\S+)")
INLINE_TIME_TAG = re.compile(r"<\d{1,2}:\d{2}(?::\d{2})?\.\d{1,3}>")
VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
TAG = re.compile(r"</?[a-zA-Z][^>]*>|<\d[^>]*>")
ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&nbsp;": "\u00a0", "&lrm;": "", "&rlm;": "", "&quot;": '"',
             "&apos;": "'"}
ENTITY = re.compile("|".join(map(re.escape, ENTITIES)))


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
