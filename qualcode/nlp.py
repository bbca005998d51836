"""The spaCy layer, loaded lazily and cached per process.

Default: ``spacy.blank(lang)`` + sentencizer (+ the lookup lemmatizer from
spacy-lookups-data when lemmas are wanted). It works offline everywhere. A
trained pipeline is used only when the user names an installed one; nothing is
ever downloaded.
"""

from __future__ import annotations

from functools import lru_cache

from qualcode.errors import InputError


@lru_cache(maxsize=8)
def load_pipeline(language: str = "en", model: str | None = None, lemmas: bool = False):
    """A spaCy ``Language`` with sentence boundaries (and lemmas when asked).

    ``model`` names an installed trained pipeline (e.g. ``en_core_web_sm``);
    it is loaded from disk only, never downloaded.
    """
    import spacy

    if model:
        try:
            nlp = spacy.load(model)
        except OSError:
            raise InputError(
                f"the spaCy pipeline '{model}' is not installed; install it with pip, or leave out --model to use the built-in offline pipeline"
            ) from None
        if not (nlp.has_pipe("parser") or nlp.has_pipe("senter") or nlp.has_pipe("sentencizer")):
            nlp.add_pipe("sentencizer")
        return nlp
    try:
        nlp = spacy.blank(language)
    except Exception:
        raise InputError(
            f"unsupported language '{language}': spaCy has no language class for it; set [project] language in qualcode.toml to a spaCy code such as en, de, fr"
        ) from None
    nlp.add_pipe("sentencizer")
    if lemmas:
        try:
            nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
            nlp.initialize()
        except Exception:
            raise InputError(
                f"no lookup lemmatizer data for language '{language}'; install spacy-lookups-data, or write rules with 'regex' instead of 'phrases'"
            ) from None
    return nlp
