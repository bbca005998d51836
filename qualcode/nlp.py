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
        _register_components()
        try:
            from spacy.lookups import load_lookups

            table = load_lookups(language, ["lemma_lookup"]).get_table("lemma_lookup")
        except Exception:
            raise InputError(
                f"no lookup lemmatizer data for language '{language}'; install spacy-lookups-data, or write rules with 'regex' instead of 'phrases'"
            ) from None
        nlp.add_pipe("qualcode_lookup_lemmas")
        nlp.get_pipe("qualcode_lookup_lemmas").table = table
    return nlp


def _register_components() -> None:
    """Register qualcode's pipeline components with spaCy (once, on first use)."""
    from spacy.language import Language

    if not Language.has_factory("qualcode_lookup_lemmas"):
        Language.factory("qualcode_lookup_lemmas")(lambda nlp, name: LookupLemmas(nlp.vocab))
    if not Language.has_factory("qualcode_lower_lemmas"):
        Language.factory("qualcode_lower_lemmas")(lambda nlp, name: LowerLemmas())


class LookupLemmas:
    """Lower-case lookup lemmas from spacy-lookups-data, so rules match regardless of case.

    spaCy's lookup lemmatizer looks the token up as written, so "Lists" stays
    "Lists" while "lists" becomes "list". Here the lower-cased form is looked
    up first, then the form as written ("GPs" → "GP"), and the result is lower-cased:
    phrases and patterns written in the codebook are lemmatised the same way,
    so "waiting lists", "Waiting list" and "waiting list" all match. Results
    are cached per word form, which keeps the component cheap.
    """

    def __init__(self, vocab, table=None):
        self.strings = vocab.strings
        self.table = table
        self.cache: dict[int, int] = {}

    def __call__(self, doc):
        import numpy
        from spacy.attrs import LEMMA, ORTH

        # through arrays, not Token objects: creating a Token per word costs more than the lookup
        cache = self.cache
        lemmas = [cache.get(orth) or self._lemma(orth) for orth in doc.to_array(ORTH).tolist()]
        if lemmas:
            doc.from_array([LEMMA], numpy.asarray(lemmas, dtype="uint64").reshape(-1, 1))
        return doc

    def _lemma(self, orth: int) -> int:
        text = self.strings[orth]
        lower = text.lower()
        found = None
        if self.table is not None:
            found = self.table.get(lower)
            if found is None:
                found = self.table.get(text)
        lemma = self.strings.add(found.lower() if isinstance(found, str) else lower)
        self.cache[orth] = lemma
        return lemma


class LowerLemmas:
    """Lower-case the lemmas of a trained pipeline (empty lemmas become the lower-cased word)."""

    def __call__(self, doc):
        for token in doc:
            lemma = token.lemma_
            token.lemma_ = lemma.lower() if lemma else token.lower_
        return doc


def rule_pipeline(language: str = "en", model: str | None = None, lemmas: bool = True):
    """The pipeline rules are matched with: sentences and lower-case lemmas.

    For a trained pipeline (``model``) its own lemmas are lower-cased; the
    default is the offline blank pipeline with lookup lemmas. Without
    ``lemmas`` (a codebook of regular expressions only) no lemma tables are
    needed, so languages without them work too.
    """
    if not lemmas:
        return load_pipeline(language, model)
    nlp = load_pipeline(language, model, lemmas=True)
    if model and not nlp.has_pipe("qualcode_lower_lemmas"):
        _register_components()
        nlp.add_pipe("qualcode_lower_lemmas", last=True)
    return nlp
