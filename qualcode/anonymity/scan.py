"""``scan_text``: every kind of finding in one text, overlaps resolved by priority.
"""

from __future__ import annotations

import bisect
from qualcode.anonymity.findings import Finding, NAME_METHODS, Span, mask
from qualcode.anonymity.names import heuristic_name_spans
from qualcode.anonymity.ner import ner_name_spans, installed_ner_pipeline
from qualcode.anonymity.patterns import RESPONDENT_ID, PLACEHOLDER, SPEAKER_LABEL, identifier_spans, speaker_label_is_generic, structured_spans


# Earlier kinds win when spans overlap: the study's own list first, then the
# most specific patterns.
_PRIORITY = {kind: rank for rank, kind in enumerate(
    ("identifier", "email", "url", "handle", "phone", "postcode", "date", "address", "name"))}


def _resolve_overlaps(spans: list[Span]) -> list[Span]:
    chosen: list[Span] = []  # kept sorted by start; chosen spans never overlap
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
    spans = identifier_spans(text, identifiers) + structured_spans(text)

    skip = [(m.start(), m.end()) for m in PLACEHOLDER.finditer(text)]
    skip += [(m.start("label"), m.end("label")) for m in SPEAKER_LABEL.finditer(text)
             if speaker_label_is_generic(m.group("label"))]
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
        spans += ner_name_spans(text, model, skip)
    elif method == "heuristic":
        spans += heuristic_name_spans(text, language, skip)

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
