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

from qualcode.anonymity.findings import (  # noqa: F401
    KINDS,
    NAME_METHODS,
    MASK_CHAR,
    Finding,
    mask,
    Span,
)
from qualcode.anonymity.patterns import (  # noqa: F401
    PLACEHOLDER,
    RESPONDENT_ID,
    SPEAKER_LABEL,
    speaker_label_is_generic,
    structured_spans,
    identifier_spans,
)
from qualcode.anonymity.names import (  # noqa: F401
    NOT_NAMES,
    inside,
    heuristic_name_spans,
)
from qualcode.anonymity.ner import (  # noqa: F401
    TRAINED_PIPELINES,
    installed_ner_pipeline,
    ner_name_spans,
)
from qualcode.anonymity.scan import (  # noqa: F401
    scan_text,
)
from qualcode.anonymity.locate import (  # noqa: F401
    FINDING_COLUMNS,
    LOCATED_IN_SOURCE,
    LOCATED_IN_STORED,
    locate_findings,
    scan_document,
    stored_source,
)
from qualcode.anonymity.check import (  # noqa: F401
    check_documents,
    read_file_text,
    check_files,
)
from qualcode.anonymity.evaluate import (  # noqa: F401
    LabelledSpan,
    load_labelled_set,
    read_identifiers,
    evaluate_labelled_set,
)
