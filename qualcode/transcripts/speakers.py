"""The speaker-label grammar and turn merging, shared by the importer and the anonymity check.

Text layouts (``Name: words``, ``[Name 00:01] words``, Otter's ``Name  0:01`` line) are
recognised by ``parse_turns``; caption cues are merged into turns by speaker by ``cue_turns``;
``build_document`` renders turns as the stored text with one unit per paragraph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable
from qualcode.transcripts.captions import Cue, ENTITIES, ENTITY, INLINE_TIME_TAG, TAG, VOICE


# Labels that name a respondent generically; accepted as speaker labels even
# when they occur only once in a file.
GENERIC_RESPONDENT_LABELS = ("participant", "respondent", "interviewee", "p", "r", "a")
GENERIC_SPEAKER = re.compile(r"(?i)^(?:speaker|spk|participant|respondent|p|r)\s*\d+$")

# Words seen in brackets at the start of a line that are transcription notes,
# not speakers.
_BRACKET_NOTES = {
    "laughs", "laughter", "laughing", "pause", "long pause", "inaudible", "crosstalk", "silence", "sighs",
    "sigh", "redacted", "unclear", "overlapping", "overtalking", "interruption", "coughs", "cough", "music",
    "noise", "background noise", "break", "end", "end of interview", "end of recording", "recording ends",
    "recording starts", "start", "applause", "pauses", "crying", "tearful",
}

@dataclass
class Turn:
    label: str | None
    kind: str | None  # "colon", "bracket", "otter" or None (no label)
    timestamp: float | None = None
    paragraphs: list[tuple[str, float | None]] = field(default_factory=list)


# ---------------------------------------------------------------------------
# layouts: plain text -> turns

_TS = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
_LABEL = r"(?P<label>[^\W\d_][\w.'’-]*(?:[ ](?![(\[]?\d{1,2}:\d)[\w.'’()-]+){0,3})"
# A timestamp opening a line: bracketed ([00:12], (1:02:03)) or with seconds
# (00:01:02). A bare "10:30" is left alone: in a diary it is part of the text.
_LEADING_TS = re.compile(
    rf"^(?:[\[(](?P<ts>{_TS})[\])]|(?P<bare>\d{{1,2}}:\d{{2}}:\d{{2}}(?:[.,]\d{{1,3}})?))(?:\s+|$)")
COLON_LABEL = re.compile(
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
                or bool(GENERIC_SPEAKER.match(label))
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


def label_ok(label: str, kind: str) -> bool:
    words = label.split()
    if not words or len(words) > 4 or len(label) > 40:
        return False
    if kind == "bracket" and (not label[0].isupper() or label.casefold() in _BRACKET_NOTES):
        return False
    return True


def _scan_line(stripped: str):
    """(kind, label, timestamp, content) if the line could open a turn, else None."""
    match = _OTTER_LABEL.match(stripped)
    if match and label_ok(match["label"], "otter"):
        return "otter", match["label"], match["ts"], ""
    rest, ts = stripped, None
    lead = _LEADING_TS.match(stripped)
    if lead:
        rest, ts = stripped[lead.end():], lead["ts"] or lead["bare"]
    for kind, pattern in (("colon", COLON_LABEL), ("bracket", _BRACKET_LABEL)):
        match = pattern.match(rest)
        if match and label_ok(match["label"].strip(), kind):
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


def clean_cue_line(line: str) -> str:
    line = INLINE_TIME_TAG.sub("", line)
    line = TAG.sub("", line)
    if "&" in line:
        line = ENTITY.sub(lambda m: ENTITIES[m.group(0)], line)
    return " ".join(line.split())


def cue_turns(cues: list[Cue], speakers: Speakers) -> list[Turn]:
    """Merge caption cues into speaker turns.

    The speaker comes from a ``<v Name>`` voice tag (Teams) or a ``Name:``
    label at the start of the cue text (Zoom); a cue without either continues
    the previous speaker. Consecutive cues of one speaker become one turn.
    Captions with word-timing tags (YouTube) repeat the previous line at the
    top of the next cue; those repeats are dropped.
    """
    rolling = any(INLINE_TIME_TAG.search(line) for cue in cues for line in cue.lines)
    prepared: list[tuple[str | None, str, float]] = []
    label_counts: dict[str, int] = {}
    recent: list[str] = []
    for cue in cues:
        voice = None
        for line in cue.lines:
            match = VOICE.search(line)
            if match:
                voice = match.group(1).strip()
                break
        kept = []
        for raw in cue.lines:
            cleaned = clean_cue_line(raw)
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
            match = COLON_LABEL.match(text)
            if match and label_ok(match["label"].strip(), "colon"):
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


def is_generic_label(label: str) -> bool:
    """A label that names no one: ``Speaker 2``, ``P``, ``Respondent``, ``Interviewer 1``."""
    key = label.strip().casefold()
    return key in GENERIC_RESPONDENT_LABELS or bool(GENERIC_SPEAKER.match(label.strip())) or \
        _NUMBERED.sub("", key) in ("interviewer", "int", "i", "q", "moderator", "facilitator")


def mask_label(label: str, respondent_id: str | None = None) -> str:
    """A speaker label fit for a message: generic labels and the respondent id as they are,
    anything else (often a real name from captions) masked to initials."""
    if is_generic_label(label) or (respondent_id is not None and label.casefold() == respondent_id.casefold()):
        return label
    from qualcode.anonymity.findings import mask

    return mask(label, "name")
