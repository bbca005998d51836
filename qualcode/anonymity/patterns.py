"""Structured identifiers: e-mail addresses, URLs, phone numbers, @handles, postcodes and ZIP codes,
full dates, street addresses, NHS numbers and the study's own identifiers list.
"""

from __future__ import annotations

import re
from qualcode.anonymity.findings import Span


_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")

_URL = re.compile(
    r"(?:\bhttps?://|\bwww\.)[^\s<>\"'()\[\]{}]+"
    # A bare domain starts only at the start of a dotted word, and its labels never give
    # back characters (possessive ++), so a long run like a.a.a.a… is scanned in linear time.
    r"|(?<![\w.@-])(?:[a-z0-9-]+\.)++(?:com|org|net|info|io|edu|gov|uk|ly|me)\b"
    r"(?:/[^\s<>\"'()\[\]{}]*)?",
    re.IGNORECASE,
)

# Phone candidates: digits with spaces, hyphens, dots or brackets between them,
# starting with +, 0 or a bracketed area code — counted as a phone only with
# 9–15 digits, so years, small numbers, money and timestamps (which hold ':')
# never qualify. US style 555-123-4567 needs its exact grouping.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?(?:\(0\)\s?)?|\(0?\d{2,5}\)\s?|0)\d[\d\s.-]{4,16}\d(?!\d)"
    r"|(?<![\w.-])\d{3}[-.]\d{3}[-.]\d{4}(?![\w-])"
)
_DATE_LIKE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")
_ZIP_PLUS_4 = re.compile(r"\d{5}-\d{4}")


def _phone_ok(candidate: str) -> bool:
    digits = sum(ch.isdigit() for ch in candidate)
    if not 9 <= digits <= 15:
        return False
    # 12.03.2019 is a date and 02139-4307 a ZIP+4 code, not phone numbers
    return not (_DATE_LIKE.fullmatch(candidate) or _ZIP_PLUS_4.fullmatch(candidate))


_HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z_][A-Za-z0-9_.]{0,29}[A-Za-z0-9_]")

# UK postcodes: outward code, optional space, inward code (digit + two letters
# that the Royal Mail uses). Upper case only: lower-case lookalikes are rarer
# as postcodes than as other things.
_UK_POSTCODE = re.compile(
    r"\b(?:[A-PR-UWYZ][A-HK-Y]?\d[A-HJKMNPR-Y\d]?|[A-PR-UWYZ]\d[A-HJKPSTUW]|[A-PR-UWYZ][A-HK-Y]\d[ABEHMNPRVWXY])"
    r"\s?\d[ABD-HJLNP-UW-Z]{2}\b"
)
# US ZIP codes only with a state abbreviation, the word ZIP, or ZIP+4: five
# bare digits are far more often counts or sums.
_US_STATES = (
    "AK|AL|AR|AZ|CA|CO|CT|DC|DE|FL|GA|HI|IA|ID|IL|IN|KS|KY|LA|MA|MD|ME|MI|MN|MO|MS|MT|NC|ND|NE|NH|NJ|NM|NV|NY"
    "|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VA|VT|WA|WI|WV|WY"
)
_US_ZIP = re.compile(
    rf"\b(?:{_US_STATES}),?\s+\d{{5}}(?:-\d{{4}})?\b"
    r"|(?i:\bzip(?:\s*code)?:?\s+)(?P<zip>\d{5}(?:-\d{4})?)\b"
    r"|\b\d{5}-\d{4}\b"
)

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DAY = r"(?:3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:1[89]|20)\d{2}"
_WEEKDAY = r"(?:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day,?\s+)?"
_DATE = re.compile(
    rf"\b{_WEEKDAY}(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b"
    rf"|\b{_WEEKDAY}{_MONTH}\s+(?:the\s+)?{_DAY},?\s+{_YEAR}\b"
    rf"|\b{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])\b"
    r"|(?<![\d./-])\d{1,2}(?P<sep>[/.-])\d{1,2}(?P=sep)(?:\d{4}|\d{2})(?![\d./-]?\d)"
)


def _numeric_date_ok(candidate: str) -> bool:
    parts = re.split(r"[/.-]", candidate)
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return True  # a month-name or ISO form, already checked by the pattern
    if len(parts[0]) == 4:
        return True
    first, second, year = int(parts[0]), int(parts[1]), parts[2]
    if not (1 <= first <= 31 and 1 <= second <= 31 and min(first, second) <= 12):
        return False
    # dots and hyphens also separate version numbers and ranges: want a full year
    return "/" in candidate or len(year) == 4


_STREET_SUFFIX = (
    r"(?:Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Drive|Close|Way|Crescent|Place|Court|Gardens|Grove|Terrace"
    r"|Square|Mews|Parade|Walk|Row|Boulevard|Rise|Hill|View)\b"
)
_STREET_WORD = r"[A-Z][a-z'’]+"
_ADDRESS_NUMBERED = re.compile(
    r"\b(?:(?:Flat|Apartment|Apt|Unit)\s+\d{1,4}[A-Za-z]?,?\s+)?\d{1,4}[A-Za-z]?,?\s+"
    rf"(?:{_STREET_WORD}\s+){{1,3}}{_STREET_SUFFIX}"
)
# A street name without a number counts after a preposition ("on Fernhill
# Crescent"), unless it is one of the names every town has.
_ADDRESS_NAMED = re.compile(
    r"\b(?:on|in|at|off|along|down|up|near|from|onto|into|round|around|of|to)\s+"
    rf"(?P<street>(?:{_STREET_WORD}\s+){{1,2}}{_STREET_SUFFIX})"
)
_GENERIC_STREETS = {"high", "main", "church", "station", "market", "park", "the", "new", "old", "north", "south",
                    "east", "west", "front", "back", "mill", "bridge", "london"}

# -- what is never a finding ---------------------------------------------------

# Redaction placeholders: anything in square, curly or angle brackets, and runs of x.
# (A run of x is written as x-then-lookbehind rather than \b first, so that every
# alternative begins with a literal and the search skips ahead to those characters.)
PLACEHOLDER = re.compile(
    r"\[[^\[\]\n]{0,80}\]|\{[^{}\n]{0,80}\}|<[^<>\n]{0,80}>|x(?<!\wx)[xX]{2,}\b|X(?<!\wX)[xX]{2,}\b|\*{3,}")
# Respondent ids in the style of the studies qualcode serves: SF4, TL12, P3.
RESPONDENT_ID = re.compile(r"[A-Z]{1,4}\d{1,3}[a-z]?")
# A speaker label at the start of a line ("Interviewer:", "SF4:", "Speaker 2:").
SPEAKER_LABEL = re.compile(r"^[ \t]*(?P<label>[A-Z][\w.'’-]*(?:[ \t][\w.'’-]+){0,3})[ \t]*:(?=[ \t]|$)", re.MULTILINE)
_GENERIC_LABELS = {"interviewer", "interviewee", "int", "i", "q", "a", "r", "p", "facilitator", "moderator",
                   "respondent", "participant", "speaker", "researcher", "note", "notes", "unknown", "both",
                   "all", "group", "staff", "member", "client", "carer", "manager", "worker", "support",
                   "team", "leader", "care", "coordinator", "nurse"}


def speaker_label_is_generic(label: str) -> bool:
    words = label.replace(".", " ").split()
    return all(w.lower() in _GENERIC_LABELS or RESPONDENT_ID.fullmatch(w) or w.isdigit() for w in words)



# Each structured kind needs a character or word that is rare in speech: an @,
# a digit, a web ending, a street word. Finding those first with a fast search
# and running the full patterns only on the text around them scans most of a
# transcript once instead of nine times. E-mail addresses, URLs and handles
# hold no space, so the words around the trigger suffice; dates, addresses and
# phone numbers may be hard-wrapped, so their windows reach 250 characters
# either side of the trigger, further than such a match reaches in real text.
# Windows begin and end at a space or line break, so no match is cut in two.
_CONTEXT_CHARS = 250
_URL_TRIGGER = re.compile(r"://|www\.|\.(?:com|org|net|info|io|edu|gov|uk|ly|me)\b", re.IGNORECASE)
_STREET_TRIGGER = re.compile(_STREET_SUFFIX)
_AT_SIGN = re.compile("@")
# Every phone number, date, ZIP code and NHS number holds a run of digits that
# does not follow a letter (0770…, 12 March, +44), every UK postcode a digit
# and two capitals (2QT), every unseparated NHS number ten digits; respondent
# ids and speaker labels on every turn (SF4:, R0052:) hold none of these.
_DIGITS = re.compile(r"\d(?:(?<![A-Za-z0-9]\d)|[A-Z]{2}|\d{9})")


def _trigger_windows(text: str, trigger: re.Pattern, margin: int = 0) -> list[tuple[int, int]]:
    """Merged (start, end) regions around every match of ``trigger``, ``margin`` characters and more either
    side, cut after a space or line break."""
    windows: list[tuple[int, int]] = []
    length = len(text)
    position = 0
    while (found := trigger.search(text, position)) is not None:
        floor = windows[-1][1] if windows else 0
        start = max(found.start() - margin, floor)
        if start > floor:
            cut = max(text.rfind(" ", floor, start), text.rfind("\n", floor, start))
            start = cut + 1 if cut >= 0 else floor
        end = found.end() + margin
        if end >= length:
            end = length
        else:
            space, newline = text.find(" ", end), text.find("\n", end)
            end = min(space if space >= 0 else length, newline if newline >= 0 else length)
        if windows and start <= floor:
            windows[-1] = (windows[-1][0], max(end, floor))
        else:
            windows.append((start, end))
        position = found.end()  # a later trigger inside this window may reach further
    return windows


def structured_spans(text: str) -> list[Span]:
    spans: list[Span] = []
    if "@" in text:
        for start, end in _trigger_windows(text, _AT_SIGN):
            for m in _EMAIL.finditer(text, start, end):
                spans.append(Span("email", m.start(), m.end()))
            for m in _HANDLE.finditer(text, start, end):
                match_end = m.end()
                while text[match_end - 1] == ".":
                    match_end -= 1
                spans.append(Span("handle", m.start(), match_end))
    for start, end in _trigger_windows(text, _URL_TRIGGER):
        for m in _URL.finditer(text, start, end):
            match_end = m.end()
            while match_end > m.start() and text[match_end - 1] in ".,;:!?":
                match_end -= 1
            spans.append(Span("url", m.start(), match_end))
    for start, end in _trigger_windows(text, _DIGITS, _CONTEXT_CHARS):
        for m in _PHONE.finditer(text, start, end):
            matched = m.group(0).rstrip(" .-")
            if _phone_ok(matched):
                spans.append(Span("phone", m.start(), m.start() + len(matched)))
        for m in _UK_POSTCODE.finditer(text, start, end):
            spans.append(Span("postcode", m.start(), m.end()))
        for m in _US_ZIP.finditer(text, start, end):
            group = "zip" if m.group("zip") else 0
            spans.append(Span("postcode", m.start(group), m.end(group)))
        for m in _DATE.finditer(text, start, end):
            if _numeric_date_ok(m.group(0)):
                spans.append(Span("date", m.start(), m.end()))
        for m in _NHS_NUMBER.finditer(text, start, end):
            if _nhs_number_ok(m.group(0)):
                spans.append(Span("identifier", m.start(), m.end()))
    for start, end in _trigger_windows(text, _STREET_TRIGGER, _CONTEXT_CHARS):
        for m in _ADDRESS_NUMBERED.finditer(text, start, end):
            spans.append(Span("address", m.start(), m.end()))
        for m in _ADDRESS_NAMED.finditer(text, start, end):
            if m.group("street").split()[0].lower() not in _GENERIC_STREETS:
                spans.append(Span("address", m.start("street"), m.end("street")))
    return spans


# NHS numbers: ten digits (3-3-4) whose last is a modulus-11 check digit, so
# a random ten-digit number passes only one time in eleven.
_NHS_NUMBER = re.compile(r"(?<![\d-])\d{3}([ -]?)\d{3}\1\d{4}(?![\d-])")


def _nhs_number_ok(candidate: str) -> bool:
    digits = [int(ch) for ch in candidate if ch.isdigit()]
    remainder = sum(digit * weight for digit, weight in zip(digits[:9], range(10, 1, -1))) % 11
    check = 11 - remainder
    if check == 11:
        check = 0
    return check != 10 and check == digits[9] and len(set(digits)) > 1


def _identifier_pattern(identifiers: list[str] | None) -> re.Pattern | None:
    terms = sorted({t.strip() for t in identifiers or () if t and t.strip()}, key=len, reverse=True)
    if not terms:
        return None
    # Whitespace inside a listed name matches any run of whitespace (hard-wrapped lines).
    alternatives = "|".join(r"\s+".join(re.escape(part) for part in t.split()) for t in terms)
    return re.compile(r"(?<!\w)(?:" + alternatives + r")(?!\w)", re.IGNORECASE)


def identifier_spans(text: str, identifiers: list[str] | None) -> list[Span]:
    pattern = _identifier_pattern(identifiers)
    if pattern is None:
        return []
    return [Span("identifier", m.start(), m.end()) for m in pattern.finditer(text)]


# -- names: the offline heuristic -----------------------------------------------
