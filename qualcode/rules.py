"""A codebook's rules compiled for matching: phrases, token patterns, regular
expressions and vetoes per code, checked once, in an order where a code's
``unless: {code: KEY}`` vetoes are decided before the code itself.

``RuleSet`` is what ``qualcode.apply`` runs over the transcripts and what
``qualcode.apply.explain_coding`` reads to say which rule made a coding.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass, field

from qualcode.errors import CodebookError

REGEX_TIMEOUT_SECONDS = 2.0  # per regular expression per paragraph


@dataclass
class _Rule:
    code: str
    kind: str  # phrase, pattern, regex
    index: int
    text: str  # the phrase, the pattern as JSON, or the regex

    description: str = ""  # computed once: every match of this rule shares the string

    def __post_init__(self) -> None:
        self.description = f"{self.kind} {self.index + 1}: {self.text}"



@dataclass
class _Code:
    key: str
    label: str
    roles: frozenset
    speakers: frozenset
    regexes: list = field(default_factory=list)  # (rule, compiled)
    unless_codes: list = field(default_factory=list)



class RuleSet:
    """A codebook's rules compiled for one pipeline."""

    def __init__(self, nodes: list[dict], nlp):
        import regex
        from spacy.matcher import Matcher, PhraseMatcher

        from qualcode.codebook import DEFAULT_ROLES, regex_flags

        self.nlp = nlp
        self.phrase_matcher = PhraseMatcher(nlp.vocab, attr="LEMMA")
        self.matcher = Matcher(nlp.vocab, validate=True)
        self.codes: dict[str, _Code] = {}
        self.rules: dict[int, _Rule] = {}  # match id → positive rule
        self.vetoes: dict[int, str] = {}  # match id → code vetoed
        phrase_jobs: list[tuple[str, str]] = []  # (match label, phrase)
        for node in nodes:
            rules = node.get("rules") or {}
            if not any(rules.get(kind) for kind in ("phrases", "patterns", "regex")):
                continue
            key = node["key"]
            code = _Code(key, node["label"], frozenset(rules.get("roles") or DEFAULT_ROLES),
                         frozenset(s.casefold() for s in rules.get("speakers") or ()))
            self.codes[key] = code
            for index, phrase in enumerate(rules.get("phrases", [])):
                label = f"{key}\x1fphrase\x1f{index}"
                self.rules[nlp.vocab.strings.add(label)] = _Rule(key, "phrase", index, phrase)
                phrase_jobs.append((label, phrase))
            for index, pattern in enumerate(rules.get("patterns", [])):
                label = f"{key}\x1fpattern\x1f{index}"
                rule = _Rule(key, "pattern", index, json.dumps(pattern, ensure_ascii=False))
                self.rules[nlp.vocab.strings.add(label)] = rule
                self._add_pattern(label, pattern, rule.description)
            for index, expression in enumerate(rules.get("regex", [])):
                try:
                    compiled = regex.compile(expression, regex_flags())
                except regex.error as exc:
                    raise CodebookError(f"code '{key}': regex {index + 1} is invalid ({exc.msg}); fix it in the codebook") from None
                code.regexes.append((_Rule(key, "regex", index, expression), compiled))
            for index, item in enumerate(rules.get("unless", [])):
                label = f"{key}\x1funless\x1f{index}"
                if isinstance(item, dict):
                    code.unless_codes.append(item["code"])
                elif isinstance(item, list):
                    self.vetoes[nlp.vocab.strings.add(label)] = key
                    self._add_pattern(label, item, f"unless {index + 1} of code '{key}'")
                else:
                    self.vetoes[nlp.vocab.strings.add(label)] = key
                    phrase_jobs.append((label, item))
        if not self.codes:
            raise CodebookError("the codebook has no rules (phrases, patterns or regex) to apply;"
                                " add 'rules:' to some codes, see docs/codebook-format.md")
        texts = [phrase for _, phrase in phrase_jobs]
        for (label, _), doc in zip(phrase_jobs, nlp.pipe(texts)):
            self.phrase_matcher.add(label, [doc])
        # codes named in another code's 'unless' must be decided first
        self.order = _topological(self.codes)
        self.rank = {key: position for position, key in enumerate(self.order)}
        self.code_vetoes = any(code.unless_codes for code in self.codes.values())
        self.has_phrases = len(self.phrase_matcher) > 0
        self.has_patterns = len(self.matcher) > 0

    def _add_pattern(self, label: str, pattern: list, what: str) -> None:
        try:
            self.matcher.add(label, [pattern])
        except Exception as exc:  # spaCy raises ValueError subclasses with long texts
            raise CodebookError(f"spaCy rejects the token pattern {what}: {' '.join(str(exc).split())[:200]}") from None

    def needed_roles(self) -> set[str]:
        roles: set[str] = set()
        for code in self.codes.values():
            roles |= code.roles
        return roles

    def match(self, doc, text: str, sentence_starts: list[int], eligible: list[str], where: str):
        """Surviving matches in one paragraph: ``{(sentence index, code key): [matches]}``.

        A match is a tuple (rule description, kind, matched text, start, end)
        with offsets relative to the paragraph (tuples, not dicts: a large
        corpus holds many). ``eligible`` lists the codes whose roles/speakers
        allow this paragraph.
        """
        if not eligible:
            return {}
        eligible_set = set(eligible)
        positives: dict[tuple[int, str], list[tuple]] = {}
        vetoed: set[tuple[int, str]] = set()

        def sentence_of(char: int) -> int:
            return max(bisect_right(sentence_starts, char) - 1, 0)

        spans = self.phrase_matcher(doc) if self.has_phrases else []
        if self.has_patterns:
            spans += self.matcher(doc)
        for match_id, start, end in spans:
            rule = self.rules.get(match_id)
            if rule is not None:
                if rule.code in eligible_set:
                    span = doc[start:end]
                    start_char, end_char = span.start_char, span.end_char
                    positives.setdefault((sentence_of(start_char), rule.code), []).append(
                        (rule.description, rule.kind, text[start_char:end_char], start_char, end_char))
                continue
            code = self.vetoes.get(match_id)
            if code is not None:
                vetoed.add((sentence_of(doc[start].idx), code))
        for key in eligible:
            for rule, compiled in self.codes[key].regexes:
                try:
                    for found in compiled.finditer(text, timeout=REGEX_TIMEOUT_SECONDS):
                        if found.end() == found.start():
                            continue
                        positives.setdefault((sentence_of(found.start()), key), []).append(
                            (rule.description, "regex", found.group(0), found.start(), found.end()))
                except TimeoutError:
                    raise CodebookError(
                        f"code '{key}': regex {rule.index + 1} ({rule.text}) took more than {REGEX_TIMEOUT_SECONDS:g} s"
                        f" on one paragraph of {where}; it backtracks catastrophically — rewrite nested repeats"
                        " such as (a|a)* or (x+)+"
                    ) from None
        applied: dict[tuple[int, str], list[tuple]] = {}
        items = positives.items()
        if self.code_vetoes:  # codes named in 'unless' are decided first
            rank = self.rank
            items = sorted(items, key=lambda item: rank[item[0][1]])
        for (sentence, key), matches in items:
            if (sentence, key) in vetoed:
                continue
            if self.code_vetoes and any((sentence, other) in applied for other in self.codes[key].unless_codes):
                continue
            if len(matches) > 1:
                unique: dict[tuple[int, int], tuple] = {}
                for found in sorted(matches, key=lambda m: (m[3], m[4])):
                    unique.setdefault((found[3], found[4]), found)  # one rule per matched span
                matches = list(unique.values())
            applied[(sentence, key)] = matches
        return applied



def _topological(codes: dict[str, _Code]) -> list[str]:
    order: list[str] = []
    seen: set[str] = set()

    def visit(key: str, trail: tuple) -> None:
        if key in seen:
            return
        if key in trail:
            raise CodebookError(f"the 'unless' code references form a cycle through '{key}'; break it")
        for other in codes[key].unless_codes:
            if other in codes:
                visit(other, trail + (key,))
        seen.add(key)
        order.append(key)

    for key in codes:
        visit(key, ())
    return order
