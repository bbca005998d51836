"""Names by the offline heuristic: capitalised words that English rarely writes in lower case
(word frequencies from spacy-lookups-data), with titles, cues and relations as help.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache
from pathlib import Path
from qualcode.anonymity.findings import Span


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
NOT_NAMES = frozenset("""
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
    if word.lower() in NOT_NAMES:
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
    if word.lower() in NOT_NAMES:
        return True
    p_lower = probs.get(word.lower())
    return p_lower is not None and p_lower > -12.0 and probs.get(word, _OOV_PROB) - p_lower < 0.5


def inside(position: int, regions: list[tuple[int, int]], starts: list[int]) -> bool:
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


def heuristic_name_spans(text: str, language: str, skip: list[tuple[int, int]]) -> list[Span]:
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
    spans: list[Span] = []
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
                        and not inside(start, skip_sorted, skip_starts):
                    flagged_words.add(index)
        spans += [_name_span(text, words[first][0], words[last][1])
                  for first, last in sorted({grow(index) for index in flagged_words})]
    return spans


def _name_span(text: str, start: int, end: int) -> Span:
    if text[end - 2:end] in ("'s", "’s"):
        end -= 2
    return Span("name", start, end)


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
        if inside(start, skip_sorted, skip_starts):
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
        if (titled or related and not at_start) and word.lower() not in NOT_NAMES:
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
            if (_TITLE_CASE.fullmatch(_base(word)) and word.lower() not in NOT_NAMES
                    and not _sentence_start(text, words[neighbour][0])
                    and not inside(words[neighbour][0], skip_sorted, skip_starts)
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
        return self._joined(index) and bool(_TITLE_CASE.fullmatch(following)) and following.lower() not in NOT_NAMES

    def _extends_left(self, index: int) -> bool:
        # growing left only over words that are not everyday words
        if index == 0:
            return False
        previous = self.words[index - 1][2]
        return (self._joined(index - 1) and bool(_TITLE_CASE.fullmatch(previous))
                and not _is_common(previous, self.probs)
                and not inside(self.words[index - 1][0], self.skip_sorted, self.skip_starts))

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
