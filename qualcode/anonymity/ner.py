"""Names by spaCy's named-entity recogniser, when a trained English pipeline is installed.
"""

from __future__ import annotations

from functools import lru_cache
from qualcode.anonymity.findings import Span
from qualcode.anonymity.names import NOT_NAMES, inside
from qualcode.anonymity.patterns import RESPONDENT_ID


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


def ner_name_spans(text: str, model: str, skip: list[tuple[int, int]]) -> list[Span]:
    nlp = _load_ner(model)
    skip_sorted = sorted(skip)
    skip_starts = [s for s, _ in skip_sorted]
    spans = []
    for ent in nlp(text).ents:
        if ent.label_ not in _NER_LABELS:
            continue
        words = ent.text.split()
        # Acronyms (CMHT, NHS, A&E) and calendar or platform words identify nobody.
        if all(w.isupper() or w.lower() in NOT_NAMES or RESPONDENT_ID.fullmatch(w) for w in words):
            continue
        if inside(ent.start_char, skip_sorted, skip_starts):
            continue
        spans.append(Span("name", ent.start_char, ent.end_char))
    return spans


# -- putting it together ----------------------------------------------------------
