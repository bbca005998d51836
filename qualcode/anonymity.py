"""Residual-identifier check: find details an "anonymised" transcript still gives away.

``scan_text`` returns :class:`Finding` objects for e-mail addresses, phone
numbers, URLs, @handles, postcodes/ZIP codes, full dates, street addresses,
names and the study's own identifiers list. A finding never carries the
matched text itself, only a masked form (``0163• ••• •••``), so it can be
printed and logged safely.

Names come from spaCy's named-entity recogniser when a trained English
pipeline (en_core_web_lg/md/sm) is installed, and otherwise from an offline
heuristic: a capitalised word is a likely name when English text writes it in
lower case rarely or never (word frequencies from spacy-lookups-data), with
stricter rules at sentence starts and help from titles (Mr, Dr) and cues
("rang X", "X said"). docs/anonymity.md gives the rules and their measured
precision and recall.
"""

from __future__ import annotations

import bisect
import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

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
_PLACEHOLDER = re.compile(
    r"\[[^\[\]\n]{0,80}\]|\{[^{}\n]{0,80}\}|<[^<>\n]{0,80}>|x(?<!\wx)[xX]{2,}\b|X(?<!\wX)[xX]{2,}\b|\*{3,}")
# Respondent ids in the style of the studies qualcode serves: SF4, TL12, P3.
RESPONDENT_ID = re.compile(r"[A-Z]{1,4}\d{1,3}[a-z]?")
# A speaker label at the start of a line ("Interviewer:", "SF4:", "Speaker 2:").
_SPEAKER_LABEL = re.compile(r"^[ \t]*(?P<label>[A-Z][\w.'’-]*(?:[ \t][\w.'’-]+){0,3})[ \t]*:(?=[ \t]|$)", re.MULTILINE)
_GENERIC_LABELS = {"interviewer", "interviewee", "int", "i", "q", "a", "r", "p", "facilitator", "moderator",
                   "respondent", "participant", "speaker", "researcher", "note", "notes", "unknown", "both",
                   "all", "group", "staff", "member", "client", "carer", "manager", "worker", "support",
                   "team", "leader", "care", "coordinator", "nurse"}


def _speaker_label_is_generic(label: str) -> bool:
    words = label.replace(".", " ").split()
    return all(w.lower() in _GENERIC_LABELS or RESPONDENT_ID.fullmatch(w) or w.isdigit() for w in words)


@dataclass(frozen=True)
class _Span:
    kind: str
    start: int
    end: int


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


def _structured_spans(text: str) -> list[_Span]:
    spans: list[_Span] = []
    if "@" in text:
        for start, end in _trigger_windows(text, _AT_SIGN):
            for m in _EMAIL.finditer(text, start, end):
                spans.append(_Span("email", m.start(), m.end()))
            for m in _HANDLE.finditer(text, start, end):
                match_end = m.end()
                while text[match_end - 1] == ".":
                    match_end -= 1
                spans.append(_Span("handle", m.start(), match_end))
    for start, end in _trigger_windows(text, _URL_TRIGGER):
        for m in _URL.finditer(text, start, end):
            match_end = m.end()
            while match_end > m.start() and text[match_end - 1] in ".,;:!?":
                match_end -= 1
            spans.append(_Span("url", m.start(), match_end))
    for start, end in _trigger_windows(text, _DIGITS, _CONTEXT_CHARS):
        for m in _PHONE.finditer(text, start, end):
            matched = m.group(0).rstrip(" .-")
            if _phone_ok(matched):
                spans.append(_Span("phone", m.start(), m.start() + len(matched)))
        for m in _UK_POSTCODE.finditer(text, start, end):
            spans.append(_Span("postcode", m.start(), m.end()))
        for m in _US_ZIP.finditer(text, start, end):
            group = "zip" if m.group("zip") else 0
            spans.append(_Span("postcode", m.start(group), m.end(group)))
        for m in _DATE.finditer(text, start, end):
            if _numeric_date_ok(m.group(0)):
                spans.append(_Span("date", m.start(), m.end()))
        for m in _NHS_NUMBER.finditer(text, start, end):
            if _nhs_number_ok(m.group(0)):
                spans.append(_Span("identifier", m.start(), m.end()))
    for start, end in _trigger_windows(text, _STREET_TRIGGER, _CONTEXT_CHARS):
        for m in _ADDRESS_NUMBERED.finditer(text, start, end):
            spans.append(_Span("address", m.start(), m.end()))
        for m in _ADDRESS_NAMED.finditer(text, start, end):
            if m.group("street").split()[0].lower() not in _GENERIC_STREETS:
                spans.append(_Span("address", m.start("street"), m.end("street")))
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


def _identifier_spans(text: str, identifiers: list[str] | None) -> list[_Span]:
    pattern = _identifier_pattern(identifiers)
    if pattern is None:
        return []
    return [_Span("identifier", m.start(), m.end()) for m in pattern.finditer(text)]


# -- names: the offline heuristic -----------------------------------------------

_TITLE_CASE = re.compile(r"(?:Mc|Mac|O['’]|D['’])?[A-Z][a-z]+(?:-[A-Z][a-z]+)?")
_WORD = re.compile(r"[^\W\d_](?:[\w'’-]*\w)?")
_TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "dame", "lady", "lord", "rev",
           "reverend", "father", "sister", "nurse", "councillor", "cllr", "auntie", "aunty", "uncle"}
# Cues that the capitalised word beside them is a person.
_CUE_BEFORE = {"called", "named", "rang", "phoned", "told", "asked", "emailed", "texted", "messaged", "met",
               "thanked", "contacted", "call", "ring", "ask", "tell"}
_CUE_AFTER = {"said", "says", "told", "asked", "rang", "called", "phoned", "emailed", "texted", "thinks",
              "thought", "reckons", "replied", "explained", "mentioned"}
# Words for a person's relation or role: "her husband Mark", "Will, my deputy".
_RELATIONS = {"husband", "wife", "partner", "brother", "sister", "son", "daughter", "mother", "father", "mum",
              "dad", "colleague", "manager", "friend", "neighbour", "neighbor", "deputy", "boss", "supervisor",
              "nephew", "niece", "cousin", "uncle", "aunt", "auntie", "grandson", "granddaughter", "boyfriend",
              "girlfriend", "fiancé", "fiance", "student", "nurse", "doctor", "consultant", "psychiatrist",
              "therapist", "pharmacist", "caseworker", "officer", "advocate", "carer", "client", "lead", "worker",
              "coordinator", "keyworker", "volunteer", "tenant", "landlord", "landlady", "mate", "stepson",
              "stepdaughter", "grandmother", "grandfather", "social", "assistant", "director", "administrator"}
_DETERMINERS = {"my", "his", "her", "our", "their", "the", "a", "an", "your"}
# Capitalised words that identify nobody: calendar, languages and peoples,
# faiths, platforms, family titles, greetings.
_NOT_NAMES = frozenset("""
monday tuesday wednesday thursday friday saturday sunday mondays tuesdays wednesdays thursdays fridays
saturdays sundays january february march april may june july august september october november december
christmas easter ramadan eid diwali hanukkah halloween xmas
england wales scotland ireland britain uk europe
english british scottish welsh irish american european african asian caribbean polish indian pakistani
bangladeshi chinese french german spanish italian portuguese romanian russian ukrainian arabic urdu punjabi
muslim christian jewish sikh hindu catholic anglican islamic buddhist god jesus allah lord christ
zoom teams whatsapp facebook twitter instagram google skype microsoft youtube tiktok snapchat excel outlook
covid coronavirus brexit internet wifi iphone android amazon netflix
mum dad mam mummy daddy nan nana gran granny grandma grandad grandpa nanna
samaritans macmillan barnardo's barnardos nspcc
okay ok yeah yes no hello hi thanks sorry bye hmm mm um uh erm er ah oh
i i'm i've i'd i'll
""".split())

_SENTENCE_END = ".!?…"
_OOV_PROB = -20.5
# The table's floor (-19.50): a word seen about once. Below this the cased/lower-case comparison is noise.
_RAREST_PROB = -19.4


class _WordFrequencies:
    """Log-probabilities of word forms, looked up one form at a time (falsy when there is no table).

    The source is spacy-lookups-data's ``<lang>_lexeme_prob`` table: a million
    forms in gzipped JSON that take 1–3 s to parse. The first use on a machine
    copies the forms the heuristic can ask about (lower-case forms above the
    table's floor, forms starting with a capital) into an SQLite file in the
    user's cache folder; later processes open it in milliseconds and read
    only the forms a text contains. Without a writable cache folder the table
    is parsed into memory as before.
    """

    def __init__(self, language: str):
        self.language = language
        self._cache: dict[str, float | None] = {}
        self._conn = None
        self._table: dict[str, float] | None = None
        self._present = True
        self._open()

    def __bool__(self) -> bool:
        return self._present

    def get(self, form: str, default: float | None = None) -> float | None:
        try:
            value = self._cache[form]
        except KeyError:
            value = self._lookup(form)
            if len(self._cache) < 200_000:  # bound the memo on huge vocabularies
                self._cache[form] = value
        return default if value is None else value

    def _lookup(self, form: str) -> float | None:
        import os
        import sqlite3

        if self._table is not None:
            return self._table.get(form)
        if self._pid != os.getpid():  # an SQLite connection must not cross a fork
            self._open()
            return self._lookup(form)
        try:
            row = self._conn.execute("SELECT p FROM prob WHERE form = ?", (form,)).fetchone()
        except sqlite3.Error:  # a damaged cache file: the table itself, in memory, for this process
            self._conn, self._table = None, _compact_table(_parse_lexeme_prob(_lexeme_prob_path(self.language)))
            return self._table.get(form)
        return None if row is None else row[0]

    def _open(self) -> None:
        import os

        self._pid = os.getpid()
        source = _lexeme_prob_path(self.language)
        if source is None:
            self._present, self._table = False, {}
            return
        cache_file = _frequency_cache_file(self.language, source)
        if cache_file is not None and cache_file.exists():
            try:
                self._conn = _connect_read_only(cache_file)
                return
            except Exception:  # a damaged cache: rebuild it below
                self._conn = None
        table = _compact_table(_parse_lexeme_prob(source))
        if cache_file is not None:
            try:
                _write_frequency_cache(cache_file, table)
                self._conn = _connect_read_only(cache_file)
                return
            except Exception:  # read-only home, full disk: keep the table in memory
                self._conn = None
        self._table = table


def _lexeme_prob_path(language: str):
    import importlib.util
    from pathlib import Path as _Path

    spec = importlib.util.find_spec("spacy_lookups_data")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = _Path(list(spec.submodule_search_locations)[0]) / "data" / f"{language}_lexeme_prob.json.gz"
    return path if path.exists() else None


def _parse_lexeme_prob(path) -> dict[str, float]:
    import gzip
    import json

    # decompressing whole and parsing bytes is about twice as fast as a streamed json.load
    return json.loads(gzip.decompress(Path(path).read_bytes()))


def _compact_table(table: dict[str, float]) -> dict[str, float]:
    """The forms the heuristic looks up: lower-case forms above the floor (rarer ones count as unseen) and
    forms starting with a capital."""
    return {form: p for form, p in table.items()
            if (p > _RAREST_PROB and form == form.lower()) or form[:1].isupper()}


def _frequency_cache_file(language: str, source) -> Path | None:
    import os

    base = os.environ.get("QUALCODE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "qualcode")
    if base.startswith("~"):
        return None  # no home folder
    stat = source.stat()
    return Path(base) / f"{language}_lexeme_prob-{stat.st_size}-{int(stat.st_mtime)}.sqlite"


def _write_frequency_cache(cache_file: Path, table: dict[str, float]) -> None:
    import os
    import sqlite3
    import tempfile

    cache_file.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=cache_file.parent, suffix=".tmp")
    os.close(handle)
    try:
        conn = sqlite3.connect(temporary)
        conn.execute("CREATE TABLE prob (form TEXT PRIMARY KEY, p REAL NOT NULL) WITHOUT ROWID")
        conn.executemany("INSERT INTO prob VALUES (?, ?)", table.items())
        conn.commit()
        conn.close()
        os.replace(temporary, cache_file)  # other processes see a whole file or none
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _connect_read_only(cache_file: Path):
    import sqlite3

    conn = sqlite3.connect(f"{cache_file.as_uri()}?mode=ro", uri=True, check_same_thread=False)
    conn.execute("SELECT p FROM prob LIMIT 1").fetchall()
    return conn


@lru_cache(maxsize=4)
def _word_probabilities(language: str) -> _WordFrequencies:
    """Log-probabilities of cased word forms (spacy-lookups-data's lexeme_prob table); falsy when absent."""
    return _WordFrequencies(language)


def _base(word: str) -> str:
    """The word without a possessive 's."""
    return word[:-2] if word.endswith(("'s", "’s")) else word


def _name_strength(word: str, probs: dict[str, float]) -> int:
    """2 = surely a name, 1 = likely when not at a sentence start, 0 = an ordinary word.

    A word is a name when the language writes it in lower case rarely or never
    (Delroy, Okafor, Harrogate), or writes it capitalised much more often
    than in lower case (Sarah, Graham, Leeds). Mark, Brown, Grace are
    ordinary words by this measure; titles and cues catch them.
    """
    if word.lower() in _NOT_NAMES:
        return 0
    if not probs:
        return 1
    base = _base(word)
    p_lower = probs.get(base.lower())
    if p_lower is None or p_lower <= _RAREST_PROB:
        return 2  # never, or just once, seen in lower case
    # Both forms rare: the name reading needs the capitalised form to be the more frequent one
    # (Delroy, Priya), which rare ordinary words at a sentence start (Safeguarding, Caseloads) are not.
    bias = probs.get(base, _OOV_PROB) - p_lower
    if bias >= 2.0 or (p_lower < -16.0 and bias > 0):
        return 2
    if bias >= 1.0 or (p_lower < -15.0 and bias > 0):
        return 1
    return 0


def _is_common(word: str, probs: dict[str, float]) -> bool:
    """An everyday word as written in lower case (not worth a cue's benefit of the doubt)."""
    if word.lower() in _NOT_NAMES:
        return True
    p_lower = probs.get(word.lower())
    return p_lower is not None and p_lower > -12.0 and probs.get(word, _OOV_PROB) - p_lower < 0.5


def _inside(position: int, regions: list[tuple[int, int]], starts: list[int]) -> bool:
    index = bisect.bisect_right(starts, position) - 1
    return index >= 0 and regions[index][0] <= position < regions[index][1]


# Names never span lines, and the rules look only at a word's neighbours on its
# line, so a long text is read in blocks of whole lines (cut at a blank line
# where there is one): memory stays bounded by the block, not the file. The one
# text-wide rule — a word found as a name is a name wherever else it is
# capitalised — is applied once the whole text has been read.
_NAME_BLOCK_CHARS = 1 << 20


def _line_blocks(text: str, size: int) -> list[tuple[int, int]]:
    """(start, end) blocks of whole lines of about ``size`` characters, preferably ending at a blank line."""
    blocks = []
    start, length = 0, len(text)
    while start < length:
        if length - start <= size:
            blocks.append((start, length))
            break
        end = text.find("\n\n", start + size, start + 2 * size)
        if end < 0:
            end = text.find("\n", start + size)
        if end < 0:
            blocks.append((start, length))
            break
        blocks.append((start, end))
        start = end + 1
    return blocks


def _heuristic_name_spans(text: str, language: str, skip: list[tuple[int, int]]) -> list[_Span]:
    probs = _word_probabilities(language)
    skip_sorted = sorted(skip)
    skip_starts = [s for s, _ in skip_sorted]
    blocks = _line_blocks(text, _NAME_BLOCK_CHARS)
    named_words: set[str] = set()
    read = []  # per block: (block, flagged word indexes, name runs as (start, end) word indexes, words, grower)
    for block in blocks:
        words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text, *block)]
        flagged_words = _flag_words(words, text, probs, skip_sorted, skip_starts)
        grow = _Grower(words, text, probs, skip_sorted, skip_starts)
        runs = {grow(index) for index in flagged_words}
        for first, last in runs:
            for position in range(first, last + 1):
                base = _base(words[position][2])
                if position in flagged_words or (_TITLE_CASE.fullmatch(base) and not _is_common(base, probs)):
                    named_words.add(base)
        if len(blocks) == 1:  # any real transcript: keep the words
            read.append((block, flagged_words, runs, words, grow))
        else:  # keep the runs' character spans; words are read again only where a named word occurs
            read.append((block, flagged_words, [(words[first][0], words[last][1]) for first, last in runs],
                         None, None))
    named_pattern = None
    if named_words and len(blocks) > 1:
        named_pattern = re.compile("|".join(re.escape(word) for word in sorted(named_words, key=len, reverse=True)))
    spans: list[_Span] = []
    for block, flagged_words, runs, words, grow in read:
        if words is None:
            if named_pattern is None or named_pattern.search(text, *block) is None:
                spans += [_name_span(text, start, end) for start, end in sorted(runs)]
                continue
            words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text, *block)]
            grow = _Grower(words, text, probs, skip_sorted, skip_starts)
        # A word found as (part of) a name names the same person wherever else it is capitalised.
        if named_words:
            for index, (start, _end, word) in enumerate(words):
                if word[0].isupper() and index not in flagged_words and _base(word) in named_words \
                        and not _inside(start, skip_sorted, skip_starts):
                    flagged_words.add(index)
        spans += [_name_span(text, words[first][0], words[last][1])
                  for first, last in sorted({grow(index) for index in flagged_words})]
    return spans


def _name_span(text: str, start: int, end: int) -> _Span:
    if text[end - 2:end] in ("'s", "’s"):
        end -= 2
    return _Span("name", start, end)


def _sentence_start(text: str, position: int) -> bool:
    """Whether the word at ``position`` starts a sentence, a line, or follows a speaker label or colon."""
    position -= 1
    while position >= 0:
        char = text[position]
        if char in " \t\"'“‘”’()":
            position -= 1
        elif char in "—–-" and position > 0 and text[position - 1] == " ":
            return False  # after a dash mid-sentence
        elif char == "]":
            # a bracketed note ([laughs], [SF8]) is transparent: look before it
            opening = text.rfind("[", 0, position)
            if opening < 0 or "\n" in text[opening:position]:
                return False
            position = opening - 1
        else:
            break
    if position < 0 or text[position] == "\n" or text[position] in _SENTENCE_END:
        return True
    return text[position] == ":"


# What may follow a word said on its own: the end of its sentence or line, or a dash opening an aside.
_INTERJECTION_END = re.compile(r"[ \t]*(?:[!.?…]|[–—]|$)", re.MULTILINE)
_PERSON_WORDS = {"he", "she", "they", "him", "his", "her", "hers", "them", "their", "who", "whose", "my", "our"}
_LABEL_BEFORE = re.compile(r"[ \t]*(?:\[[^\]\n]{1,40}\]|[^\W\d_][\w.'’ -]{0,40}:)?[ \t]*")


def _interjection(text: str, start: int, end: int) -> bool:
    """Whether the word at ``start``–``end`` is said on its own: it opens a sentence (checked by the caller)
    and is followed by the end of the sentence or line, or by a dash ("Diolch – thank you", "Cheers!").

    Not when it answers a question ("Who rang? Delroy."): the text before it, across a blank line and a
    speaker label, ends with a question mark.
    """
    if text[end:end + 2] in ("'s", "’s"):
        return False
    following = _INTERJECTION_END.match(text, end)
    if following is None:
        return False
    if following.group().strip() in "–—":
        # an aside about a person ("Delroy – he rang me", "Delroy – my key worker") marks a name
        aside = _WORD.search(text, following.end(), following.end() + 40)
        if aside is not None and aside.group().lower() in _PERSON_WORDS:
            return False
    position = start
    for _ in range(3):  # this line's label, the blank line, the previous turn's end
        line_start = text.rfind("\n", 0, position) + 1
        if _LABEL_BEFORE.fullmatch(text, line_start, position) is None:
            before = text[line_start:position].rstrip(" \t\"'“‘”’([")
            return not before.endswith("?")
        position = line_start - 1
        while position > 0 and text[position - 1] in " \t\n":
            position -= 1
        if position <= 0:
            return True
    return True


def _flag_words(words: list[tuple[int, int, str]], text: str, probs, skip_sorted, skip_starts) -> set[int]:
    """Indexes of the words that are names by the rules on their own and their neighbours."""
    count = len(words)
    flagged_words: set[int] = set()
    for index, (start, end, word) in enumerate(words):
        # cheap test first: most words are lower case
        if not word[0].isupper() or not _TITLE_CASE.fullmatch(_base(word)):
            continue
        if _inside(start, skip_sorted, skip_starts):
            continue
        previous = words[index - 1][2].lower().rstrip(".") if index > 0 else ""
        following = words[index + 1][2].lower() if index + 1 < count else ""
        adjacent_previous = index > 0 and text[words[index - 1][1]:start] in (" ", ". ")
        titled = previous in _TITLES and adjacent_previous and words[index - 1][2][0].isupper()
        strength = _name_strength(word, probs)
        cued = (previous in _CUE_BEFORE and text[words[index - 1][1]:start] == " ") or (
            following in _CUE_AFTER and index + 1 < count and text[end:words[index + 1][0]] == " ")
        related = _relation_cue(index, words, text)
        at_start = _sentence_start(text, start)
        if (titled or related and not at_start) and word.lower() not in _NOT_NAMES:
            name = True
        elif at_start:
            name = strength == 2 or (strength == 1 and (cued or related))
            if name and not (cued or related) and _interjection(text, start, end):
                # "Diolch – thank you.", "Cheers!": a word said on its own is a greeting or thanks far
                # more often than a bare name; it is still a name if it is one elsewhere in the text.
                name = False
        else:
            name = strength >= 1 or (cued and not _is_common(word, probs))
        if name:
            flagged_words.add(index)

    # Capitalised words listed with a name are names too: "Ruth, Kwame and Dev".
    pending = sorted(flagged_words)
    while pending:
        index = pending.pop()
        for neighbour, joined_by_and in _list_neighbours(index, words, text):
            if neighbour in flagged_words:
                continue
            word = words[neighbour][2]
            if (_TITLE_CASE.fullmatch(_base(word)) and word.lower() not in _NOT_NAMES
                    and not _sentence_start(text, words[neighbour][0])
                    and not _inside(words[neighbour][0], skip_sorted, skip_starts)
                    and (joined_by_and or not _is_common(_base(word), probs))):
                flagged_words.add(neighbour)
                pending.append(neighbour)
    return flagged_words


def _list_neighbours(index: int, words: list[tuple[int, int, str]], text: str) -> list[tuple[int, bool]]:
    """Words listed beside the word: (index, joined by and/or) for "Ruth, Kwame and Dev"."""
    neighbours = []
    for step in (1, -1):
        near = index + step
        if not 0 <= near < len(words):
            continue
        low, high = sorted((index, near))
        if text[words[low][1]:words[high][0]] == ", ":
            neighbours.append((near, False))
        elif words[near][2].lower() in ("and", "or") and 0 <= near + step < len(words):
            far = near + step
            low, high = sorted((index, far))
            if text[words[low][1]:words[high][0]].lower() in (" and ", " or "):
                neighbours.append((far, True))
    return neighbours


def _relation_cue(index: int, words: list[tuple[int, int, str]], text: str) -> bool:
    """Whether a relation word stands right before the word ("her husband Mark", "his brother, Tariq")
    or an apposition right after it ("Will, my deputy", "Graham, the service manager")."""
    start, end, _word = words[index]
    if index > 0:
        gap = text[words[index - 1][1]:start]
        if gap in (" ", ", ") and words[index - 1][2].lower() in _RELATIONS and index > 1 and \
                words[index - 2][2].lower() in _DETERMINERS:
            return True
    if index + 2 < len(words) and text[end:words[index + 1][0]] == ", " and \
            words[index + 1][2].lower() in _DETERMINERS:
        for following in words[index + 2:index + 5]:
            if following[2].lower() in _RELATIONS:
                return True
            if not following[2].isalpha():
                break
    return False


class _Grower:
    """Grows a flagged word over neighbouring capitalised words (Sarah Whitfield, Jo Pemberton).

    Only the runs around flagged words are looked at, and each word's reach
    is remembered, so a text of many capitalised words in a row still takes
    linear time.
    """

    def __init__(self, words, text, probs, skip_sorted, skip_starts):
        self.words, self.text, self.probs = words, text, probs
        self.skip_sorted, self.skip_starts = skip_sorted, skip_starts
        self.right: dict[int, int] = {}  # the last word the run from a word extends to
        self.left: dict[int, int] = {}  # the first word

    def _joined(self, left: int) -> bool:
        return self.text[self.words[left][1]:self.words[left + 1][0]] == " "

    def _extends_right(self, index: int) -> bool:
        # names grow right over any capitalised word
        if index + 1 >= len(self.words):
            return False
        following = self.words[index + 1][2]
        return self._joined(index) and bool(_TITLE_CASE.fullmatch(following)) and following.lower() not in _NOT_NAMES

    def _extends_left(self, index: int) -> bool:
        # growing left only over words that are not everyday words
        if index == 0:
            return False
        previous = self.words[index - 1][2]
        return (self._joined(index - 1) and bool(_TITLE_CASE.fullmatch(previous))
                and not _is_common(previous, self.probs)
                and not _inside(self.words[index - 1][0], self.skip_sorted, self.skip_starts))

    def _reach(self, index: int, memo: dict[int, int], step: int, extends) -> int:
        visited = []
        position = index
        while position not in memo:
            visited.append(position)
            if not extends(position):
                break
            position += step
        reach = memo.get(position, position)
        for seen in visited:
            memo[seen] = reach
        return reach

    def __call__(self, index: int) -> tuple[int, int]:
        return (self._reach(index, self.left, -1, self._extends_left),
                self._reach(index, self.right, 1, self._extends_right))


# -- names: a trained pipeline when there is one ---------------------------------

TRAINED_PIPELINES = ("en_core_web_lg", "en_core_web_md", "en_core_web_sm")
_NER_LABELS = {"PERSON", "GPE", "LOC", "ORG", "FAC"}


@lru_cache(maxsize=1)
def installed_ner_pipeline() -> str | None:
    """The name of an installed trained English pipeline, or None. Nothing is downloaded.

    Looked for with importlib alone: importing spaCy costs about 0.6 s, which
    an import without a trained pipeline should not pay.
    """
    import importlib.metadata
    import importlib.util

    for name in TRAINED_PIPELINES:
        if importlib.util.find_spec(name) is None:
            continue
        try:
            importlib.metadata.distribution(name)  # what spacy.util.is_package checks
        except importlib.metadata.PackageNotFoundError:
            continue
        return name
    return None


@lru_cache(maxsize=1)
def _load_ner(name: str):
    import spacy

    return spacy.load(name, exclude=["lemmatizer", "textcat"])


def _ner_name_spans(text: str, model: str, skip: list[tuple[int, int]]) -> list[_Span]:
    nlp = _load_ner(model)
    skip_sorted = sorted(skip)
    skip_starts = [s for s, _ in skip_sorted]
    spans = []
    for ent in nlp(text).ents:
        if ent.label_ not in _NER_LABELS:
            continue
        words = ent.text.split()
        # Acronyms (CMHT, NHS, A&E) and calendar or platform words identify nobody.
        if all(w.isupper() or w.lower() in _NOT_NAMES or RESPONDENT_ID.fullmatch(w) for w in words):
            continue
        if _inside(ent.start_char, skip_sorted, skip_starts):
            continue
        spans.append(_Span("name", ent.start_char, ent.end_char))
    return spans


# -- putting it together ----------------------------------------------------------

# Earlier kinds win when spans overlap: the study's own list first, then the
# most specific patterns.
_PRIORITY = {kind: rank for rank, kind in enumerate(
    ("identifier", "email", "url", "handle", "phone", "postcode", "date", "address", "name"))}


def _resolve_overlaps(spans: list[_Span]) -> list[_Span]:
    chosen: list[_Span] = []  # kept sorted by start; chosen spans never overlap
    starts: list[int] = []
    for span in sorted(spans, key=lambda s: (_PRIORITY[s.kind], s.start, -(s.end - s.start))):
        position = bisect.bisect_left(starts, span.start)
        if position > 0 and chosen[position - 1].end > span.start:
            continue
        if position < len(chosen) and chosen[position].start < span.end:
            continue
        chosen.insert(position, span)
        starts.insert(position, span.start)
    return chosen


def scan_text(
    text: str,
    *,
    identifiers: list[str] | None = None,
    language: str = "en",
    names: str = "auto",
) -> list[Finding]:
    """Likely residual identifiers in ``text``, in text order.

    ``identifiers`` is the study's list of real names and places, matched
    case-insensitively on word boundaries (reported as kind ``identifier``,
    like NHS numbers with a valid check digit).
    ``language`` selects the name heuristic's word frequencies. ``names``
    chooses how names are found: ``auto`` (for English, a trained English
    pipeline when one is installed, else the heuristic; for other languages
    no name detection), ``ner``, ``heuristic`` or ``none``. Redaction placeholders, speaker labels and respondent ids are
    never findings.
    """
    if names not in NAME_METHODS:
        raise ValueError(f"names must be one of {', '.join(NAME_METHODS)}")
    spans = _identifier_spans(text, identifiers) + _structured_spans(text)

    skip = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]
    skip += [(m.start("label"), m.end("label")) for m in _SPEAKER_LABEL.finditer(text)
             if _speaker_label_is_generic(m.group("label"))]
    skip += [(s.start, s.end) for s in spans]  # a name inside an e-mail address is the e-mail's
    method = names
    if method == "auto":
        # The heuristic reads capitalisation the English way; in German every noun is capitalised.
        # Other languages get the structured kinds and the identifiers list only.
        if language != "en":
            method = "none"
        else:
            method = "ner" if installed_ner_pipeline() else "heuristic"
    if method == "ner":
        model = installed_ner_pipeline()
        if model is None:
            from qualcode.errors import InputError

            raise InputError(
                "no trained English spaCy pipeline is installed; install en_core_web_sm with pip, or use the heuristic"
            )
        spans += _ner_name_spans(text, model, skip)
    elif method == "heuristic":
        spans += _heuristic_name_spans(text, language, skip)

    findings = []
    line, counted_to = 1, 0  # lines counted as the findings come, in text order
    for span in _resolve_overlaps(spans):
        matched = text[span.start:span.end]
        if span.kind != "identifier" and RESPONDENT_ID.fullmatch(matched):
            continue
        line += text.count("\n", counted_to, span.start)
        counted_to = span.start
        findings.append(Finding(
            kind=span.kind,
            line=line,
            column=span.start - text.rfind("\n", 0, span.start),
            masked=mask(matched, span.kind),
            start=span.start,
            end=span.end,
        ))
    return findings


# -- checking documents and files ---------------------------------------------------

FINDING_COLUMNS = ["where", "document", "line", "column", "kind", "masked", "paragraph", "cue", "unit", "located",
                   "start", "end", "status", "message"]

# Where a finding is reported: in the source file the researcher has (``source``), or, when that file is gone,
# changed or the finding cannot be matched in it, in the text qualcode stored (``stored``).
LOCATED_IN_SOURCE, LOCATED_IN_STORED = "source", "stored"


@dataclass
class _SourceView:
    """The text of a source file as the researcher sees it, in pieces that each have a location.

    ``text`` holds the pieces in file order; ``starts[i]`` is where piece ``i`` begins in it and
    ``places[i]`` says where it is in the file: a line number (plain text), a paragraph number (Word,
    OpenDocument, RTF) or a (cue, line) pair (captions).
    """

    kind: str  # "line", "paragraph" or "cue"
    text: str
    starts: list[int]
    places: list


def _pieces_view(kind: str, pieces: list[tuple[str, object]], separator: str) -> _SourceView:
    starts, places, parts, position = [], [], [], 0
    for text, place in pieces:
        if parts:
            parts.append(separator)
            position += len(separator)
        starts.append(position)
        places.append(place)
        parts.append(text)
        position += len(text)
    return _SourceView(kind, "".join(parts), starts, places)


def _source_view(data: bytes, source_format: str, name: str) -> _SourceView | None:
    """The view of a source file in the format it was imported as; None when it cannot be read."""
    from qualcode import transcripts
    from qualcode.errors import QualcodeError

    try:
        if source_format in ("txt", "md"):
            text = transcripts.decode_text(data, name)[0]
            starts = [0] + [m.end() for m in re.finditer("\n", text)]
            return _SourceView("line", text, starts, list(range(1, len(starts) + 1)))
        if source_format == "docx":
            root = transcripts._parse_xml(transcripts._open_zip(data, name, "word/document.xml", "Word .docx",
                                                                ".docx"), name, "Word")
            body = root.find(transcripts._W + "body")
            texts = [transcripts._docx_paragraph(p) for p in body.iter(transcripts._W + "p")] if body is not None \
                else []
        elif source_format == "odt":
            root = transcripts._parse_xml(transcripts._open_zip(data, name, "content.xml", "OpenDocument .odt",
                                                                ".odt"), name, "OpenDocument")
            body = root.find(f"{{{transcripts._OFFICE_NS}}}body")
            texts = list(transcripts._odt_blocks(body)) if body is not None else []
        elif source_format == "rtf":
            texts = transcripts.read_rtf(data, name, []).split("\n")
        elif source_format in ("vtt", "srt"):
            return _caption_view(transcripts.read_captions(data, name, [], srt=source_format == "srt"))
        else:
            return None
    except (QualcodeError, ValueError, LookupError):
        return None
    # Paragraphs are numbered as Word counts them in its statistics: those with text, from the top.
    paragraphs = [transcripts.normalise_text(t, name) for t in texts if t.strip()]
    return _pieces_view("paragraph", [(t, number) for number, t in enumerate(paragraphs, start=1)], "\n\n")


def _caption_view(cues) -> _SourceView:
    """Caption lines cleaned as the importer cleans them (tags, entities, repeated rolling lines dropped),
    with the speaker written once per turn as in the stored text: a voice tag's speaker stands before the
    first line of a turn, and a ``Name:`` label repeated on every cue of a turn is kept on the first only."""
    from qualcode import transcripts
    from qualcode.project import DEFAULT_INTERVIEWER_LABELS

    rolling = any(transcripts._INLINE_TIME_TAG.search(line) for cue in cues for line in cue.lines)
    recent: list[str] = []
    prepared = []  # per cue: speaker, whether from a voice tag, length of its "Name: " prefix, kept lines
    label_counts: dict[str, int] = {}
    for number, cue in enumerate(cues, start=1):
        voice = next((m.group(1).strip() for m in map(transcripts._VOICE.search, cue.lines) if m), None)
        kept = []
        for offset, raw in enumerate(cue.lines, start=1):
            cleaned = transcripts._clean_cue_line(raw)
            if not cleaned:
                continue
            if rolling:
                if cleaned in recent:
                    continue
                recent = (recent + [cleaned])[-3:]
            kept.append((cleaned, (number, cue.line + offset)))
        if not kept:
            continue
        label, prefix = voice, 0
        if voice is None:
            match = transcripts._COLON_LABEL.match(kept[0][0])
            if match and transcripts._label_ok(match["label"].strip(), "colon"):
                label, prefix = match["label"].strip(), match.end()
                label_counts[label.casefold()] = label_counts.get(label.casefold(), 0) + 1
        prepared.append((label, voice is not None, prefix, kept))
    # as the importer: a "Name:" seen once, and not a usual label, is speech
    usual = {label.casefold() for label in DEFAULT_INTERVIEWER_LABELS} | set(transcripts.GENERIC_RESPONDENT_LABELS)
    pieces = []
    previous = None
    for label, from_voice, prefix, kept in prepared:
        if label is not None and not from_voice and label_counts[label.casefold()] < 2 and \
                label.casefold() not in usual and not transcripts._GENERIC_SPEAKER.match(label):
            label, prefix = None, 0
        first, place = kept[0]
        if label is not None and label == previous:
            first = first[prefix:]  # the turn goes on: its label is not repeated in the stored text
        elif from_voice:
            first = f"{label}: {first}"
        kept[0] = (first, place)
        pieces += kept
        previous = label if label is not None else previous
    return _pieces_view("cue", pieces, "\n")


@lru_cache(maxsize=256)
def _occurrence_pattern(matched: str) -> re.Pattern:
    """The matched text anywhere: whitespace as any run of whitespace (hard wraps), whole words only."""
    body = r"\s+".join(re.escape(part) for part in matched.split())
    before = r"(?<!\w)" if re.match(r"\w", matched) else ""
    after = r"(?!\w)" if re.search(r"\w$", matched) else ""
    return re.compile(before + body + after)


def _align(stored: str, findings: list[Finding], view: str) -> list[int | None]:
    """Where each finding is in ``view`` (an offset), or None where it cannot be matched.

    The importer keeps the order of the text and drops little (timestamps, markup, repeated caption
    lines), so findings are matched in order: a finding that is the k-th occurrence of its text since
    the previous matched finding is taken to be the k-th occurrence in the view since that one's match.
    """
    import itertools

    positions: list[int | None] = []
    stored_from = view_from = 0
    misses = 0
    for finding in findings:
        if misses >= 50:  # a view that does not fit the stored text: stop searching it
            positions.append(None)
            continue
        pattern = _occurrence_pattern(stored[finding.start:finding.end])
        earlier = sum(1 for _ in pattern.finditer(stored, stored_from, finding.start))
        found = next(itertools.islice(pattern.finditer(view, view_from), earlier, None), None)
        if found is None:
            misses += 1
            positions.append(None)
            continue
        positions.append(found.start())
        stored_from, view_from = finding.end, found.end()
    return positions


def _unit_at(units: list[tuple[int, int]], position: int) -> int | None:
    """The 1-based number of the stored paragraph at ``position``; a label counts with the paragraph it opens."""
    starts = [start for start, _ in units]
    index = bisect.bisect_right(starts, position) - 1
    if index >= 0 and position < units[index][1]:
        return index + 1
    return index + 2 if index + 1 < len(units) else (index + 1 if index >= 0 else None)


def locate_findings(
    name: str,
    text: str,
    findings: list[Finding],
    *,
    source: bytes | None = None,
    source_format: str = "txt",
    units: list[tuple[int, int]] | None = None,
) -> list[dict]:
    """Rows for ``findings`` in the stored ``text`` of document ``name``, located where a researcher can find them.

    With the ``source`` file's bytes, each finding is placed in the file as imported: ``SF4.txt:62:251``
    (line and column) for .txt and .md, ``SF9.docx paragraph 14`` for .docx, .odt and .rtf (paragraphs
    with text, counted from 1), ``TL1.vtt cue 12 (line 47)`` for .vtt and .srt. Without it (or where a
    finding cannot be matched in it) the place is in the stored text and says so:
    ``SF4.txt (as stored) line 41, column 256; unit SF4.txt#12``. ``units`` are the stored paragraphs'
    (start, end) in order, for the unit key. Each row also keeps the stored-text ``start`` and ``end``.
    """
    if not findings:
        return []  # most documents: no need to read the source file again
    view = _source_view(source, source_format, name) if source is not None else None
    positions = _align(text, findings, view.text) if view is not None else [None] * len(findings)
    units = sorted(units or [])
    rows = []
    for finding, position in zip(findings, positions):
        number = _unit_at(units, finding.start) if units else None
        unit = f"{Path(name).name}#{number}" if number is not None else ""  # documents are named by file name
        row = {"where": "", "document": name, "line": None, "column": None, "kind": finding.kind,
               "masked": finding.masked, "paragraph": None, "cue": None, "unit": unit,
               "located": LOCATED_IN_SOURCE, "start": finding.start, "end": finding.end, "status": "found",
               "message": ""}
        if position is None:
            row.update(located=LOCATED_IN_STORED, line=finding.line, column=finding.column,
                       where=f"{name} (as stored) line {finding.line}, column {finding.column}"
                             + (f"; unit {unit}" if unit else ""))
        else:
            piece = bisect.bisect_right(view.starts, position) - 1
            place = view.places[piece]
            if view.kind == "line":
                row.update(line=place, column=position - view.starts[piece] + 1)
                row["where"] = f"{name}:{row['line']}:{row['column']}"
            elif view.kind == "paragraph":
                row.update(paragraph=place, where=f"{name} paragraph {place}")
            else:
                row.update(cue=place[0], line=place[1], where=f"{name} cue {place[0]} (line {place[1]})")
        rows.append(row)
    return rows


def scan_document(
    name: str,
    text: str,
    *,
    source: bytes | None = None,
    source_format: str = "txt",
    units: list | None = None,
    identifiers: list[str] | None = None,
    language: str = "en",
    names: str = "auto",
) -> list[dict]:
    """Findings in the stored ``text`` of one document, as rows located by :func:`locate_findings`.

    ``units`` are the stored paragraphs as (start, end) pairs or as the importer's unit dicts.
    """
    spans = [(u["start"], u["end"]) if isinstance(u, dict) else tuple(u) for u in units or ()]
    findings = scan_text(text, identifiers=identifiers, language=language, names=names)
    return locate_findings(name, text, findings, source=source, source_format=source_format, units=spans)


def _stored_source(source_path: str | None, sha256: str) -> bytes | None:
    """The bytes of a document's source file when it is still where it was imported from, unchanged."""
    from qualcode.documents import sha256_bytes

    if not source_path:
        return None
    try:
        data = Path(source_path).read_bytes()
    except OSError:
        return None
    return data if sha256_bytes(data) == sha256 else None


def check_documents(
    conn,
    documents: list[str] | None = None,
    *,
    identifiers: list[str] | None = None,
    language: str = "en",
    names: str = "auto",
) -> list[dict]:
    """Findings in documents already in the project (all of them when ``documents`` is empty).

    Returns one dict per finding (columns :data:`FINDING_COLUMNS`), documents in name order. Findings
    are placed in the source file when it is still at the path it was imported from and unchanged
    (``SF4.txt:62:251``, ``SF9.docx paragraph 14``, ``TL1.vtt cue 12 (line 47)``), otherwise in the
    stored text with its unit key (``SF4.txt (as stored) line 41, column 256; unit SF4.txt#12``).
    Unknown document names raise NotFound before anything is scanned.
    """
    from qualcode.documents import get_document

    if documents:
        selected = [_find_document(conn, name) for name in dict.fromkeys(documents)]
    else:
        selected = [get_document(conn, document_id) for (document_id,) in
                    conn.execute("SELECT document_id FROM documents ORDER BY name")]
    rows: list[dict] = []
    for document in selected:
        findings = scan_text(document.text, identifiers=identifiers, language=language, names=names)
        if not findings:
            continue  # a clean document's source file is not read and hashed
        units = conn.execute("SELECT start, end FROM units WHERE document_id = ? ORDER BY seq",
                             (document.document_id,)).fetchall()
        rows += locate_findings(document.name, document.text, findings,
                                source=_stored_source(document.source_path, document.sha256),
                                source_format=document.source_format, units=[tuple(u) for u in units])
    return rows


def _find_document(conn, name: str):
    """A document by its name (SF4.txt), or by the name without extension (SF4) when that is unambiguous."""
    from qualcode.documents import get_document
    from qualcode.errors import NotFound

    try:
        return get_document(conn, name)
    except NotFound:
        matches = [found for (found,) in conn.execute("SELECT name FROM documents") if Path(found).stem == name]
        if len(matches) == 1:
            return get_document(conn, matches[0])
        raise


# Plain-text files are scanned as they are, so line and column point into the
# file itself; other formats are scanned in the text qualcode would import.
_RAW_TEXT_SUFFIXES = (".txt", ".md")


def read_file_text(path: Path | str, *, interviewer_labels: list[str] | None = None) -> str:
    """The text of a transcript file not yet imported (errors name the file, never its content)."""
    from qualcode import transcripts
    from qualcode.errors import InputError
    from qualcode.project import DEFAULT_INTERVIEWER_LABELS

    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a folder; give transcript files (e.g. {path}/*.txt)")
    if not path.exists():
        raise InputError(f"{path} does not exist; check the path")
    if path.suffix.lower() in _RAW_TEXT_SUFFIXES:
        data = path.read_bytes()
        if not data.strip():
            raise InputError(f"{path} is empty; check that it is the right file")
        return transcripts.decode_text(data, path.name)[0]
    return transcripts.parse_file(path, interviewer_labels=interviewer_labels or DEFAULT_INTERVIEWER_LABELS).text


def _failed_row(name: str, message: str) -> dict:
    return {"where": name, "document": name, "line": None, "column": None, "kind": "", "masked": "",
            "paragraph": None, "cue": None, "unit": "", "located": "", "start": None, "end": None,
            "status": "failed", "message": message}


def check_files(
    paths: list[Path | str],
    *,
    identifiers: list[str] | None = None,
    language: str = "en",
    names: str = "auto",
    interviewer_labels: list[str] | None = None,
) -> list[dict]:
    """Findings in transcript files not yet imported; rows as in :func:`check_documents`, named by path.

    Each file is read as ``qualcode import`` reads it and its findings are placed in the file (line and
    column, paragraph or cue). Folders are searched recursively for supported transcript files, as
    ``qualcode import`` does. A file that cannot be read does not stop the others: it gets one row with
    status ``failed`` and a message naming the file and the problem (finding rows have status ``found``).
    """
    from qualcode import transcripts
    from qualcode.errors import InputError, QualcodeError
    from qualcode.project import DEFAULT_INTERVIEWER_LABELS

    files = transcripts.collect_files(paths)
    if not files:
        raise InputError(f"no transcript files in {', '.join(str(p) for p in paths)}; qualcode reads .txt, .md,"
                         " .docx, .odt, .rtf, .vtt and .srt files")
    rows: list[dict] = []
    for path in files:
        try:
            data = transcripts.read_bytes(path)
            parsed = transcripts.parse_file(path, interviewer_labels=interviewer_labels or DEFAULT_INTERVIEWER_LABELS,
                                            data=data)
        except QualcodeError as exc:
            rows.append(_failed_row(str(path), str(exc)))
            continue
        rows += scan_document(str(path), parsed.text, source=data, source_format=parsed.source_format,
                              units=parsed.units, identifiers=identifiers, language=language, names=names)
    return rows


# -- evaluation on a labelled set ----------------------------------------------------

@dataclass(frozen=True)
class LabelledSpan:
    """A planted identifier in a labelled test file."""

    file: str
    kind: str
    start: int
    end: int


def load_labelled_set(folder: Path | str) -> tuple[dict[str, str], list[LabelledSpan], list[str]]:
    """Texts, labelled spans and identifiers list of a labelled set (see tests/fixtures/anonymity/README.md).

    ``labels.csv`` has columns file, line, kind, text, occurrence; each row is
    turned into a code-point span by finding ``text`` on that line.
    """
    from qualcode.errors import InputError

    folder = Path(folder)
    texts = {path.name: path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.txt"))
             if path.name != "identifiers.txt"}
    labels: list[LabelledSpan] = []
    with (folder / "labels.csv").open(encoding="utf-8", newline="") as handle:
        for row_number, row in enumerate(csv.DictReader(handle), start=2):
            text = texts.get(row["file"])
            if text is None or row["kind"] not in KINDS:
                raise InputError(f"{folder / 'labels.csv'} row {row_number}: unknown file or kind")
            line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
            line_start = line_starts[int(row["line"]) - 1]
            line_end = text.find("\n", line_start)
            line_text = text[line_start:line_end if line_end >= 0 else len(text)]
            position = -1
            for _ in range(int(row.get("occurrence") or 1)):
                position = line_text.find(row["text"], position + 1)
                if position < 0:
                    raise InputError(f"{folder / 'labels.csv'} row {row_number}: text not found on line {row['line']}")
            labels.append(LabelledSpan(row["file"], row["kind"], line_start + position,
                                       line_start + position + len(row["text"])))
    identifiers_path = folder / "identifiers.txt"
    identifiers = read_identifiers(identifiers_path) if identifiers_path.exists() else []
    return texts, labels, identifiers


def read_identifiers(path: Path | str) -> list[str]:
    """The study's identifiers list: one name or place per line; blank lines and # comments ignored.

    Errors name the file only, never its content.
    """
    from qualcode.errors import InputError

    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"identifiers file {path} does not exist; give a text file with one name per line") from None
    except (IsADirectoryError, PermissionError):
        raise InputError(f"identifiers file {path} cannot be read; give a text file with one name per line") from None
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"identifiers file {path} is not UTF-8 text; save it as UTF-8 and try again") from None
    terms = [line.strip() for line in content.splitlines()]
    terms = [t for t in terms if t and not t.startswith("#")]
    if not terms:
        raise InputError(f"identifiers file {path} holds no names; give one name or place per line")
    return terms


def evaluate_labelled_set(folder: Path | str, *, names: str = "heuristic", files: list[str] | None = None
                          ) -> list[dict]:
    """Precision and recall of ``scan_text`` on a labelled set, per kind and overall.

    A finding is correct when it overlaps a labelled span of the same kind; a
    label is found when a finding of its kind overlaps it. Returns one dict
    per kind (in KINDS order, then ``all``) with labelled, found, correct,
    recalled, precision and recall (None when undefined). ``files`` limits
    the evaluation to some file names.
    """
    texts, labels, identifiers = load_labelled_set(folder)
    if files is not None:
        texts = {name: text for name, text in texts.items() if name in set(files)}
    findings = {name: scan_text(text, identifiers=identifiers, names=names) for name, text in texts.items()}
    counts = {kind: {"labelled": 0, "found": 0, "correct": 0, "recalled": 0} for kind in KINDS}
    for name, found in findings.items():
        file_labels = [label for label in labels if label.file == name]
        for finding in found:
            counts[finding.kind]["found"] += 1
            if any(label.kind == finding.kind and label.start < finding.end and finding.start < label.end
                   for label in file_labels):
                counts[finding.kind]["correct"] += 1
        for label in file_labels:
            counts[label.kind]["labelled"] += 1
            if any(finding.kind == label.kind and label.start < finding.end and finding.start < label.end
                   for finding in found):
                counts[label.kind]["recalled"] += 1
    rows = []
    total = {"labelled": 0, "found": 0, "correct": 0, "recalled": 0}
    for kind in KINDS:
        for key in total:
            total[key] += counts[kind][key]
        rows.append({"kind": kind, **counts[kind]})
    rows.append({"kind": "all", **total})
    for row in rows:
        row["precision"] = row["correct"] / row["found"] if row["found"] else None
        row["recall"] = row["recalled"] / row["labelled"] if row["labelled"] else None
    return rows
