"""REFI-QDA exchange: .qdpx projects and .qdc codebooks in and out.

REFI-QDA is the exchange standard of NVivo, ATLAS.ti, MAXQDA, QualCoder,
Taguette and others. A ``.qdpx`` file is a zip holding ``project.qde`` (XML)
and the sources' plain text under ``Sources/``; a ``.qdc`` file is a codebook
alone.

Mapping (REFI → qualcode):

- ``User`` → coder (by name; the GUID when the user has no name)
- ``Code`` → code-tree node; GUID kept in ``codes.guid``; the key is a slug of
  the code path (``parent_name.child_name``), made unique; the REFI name is the
  label and ``Description`` the definition
- ``TextSource`` → document, with one unit per paragraph (split at blank
  lines); REFI sources have no speaker turns
- ``Case`` → respondent (the case name); ``VariableValue`` → attribute;
  ``Case/SourceRef`` → the document's respondent and its units' respondent
- ``PlainTextSelection`` + ``Coding`` → one coding per ``Coding`` (origin
  ``refi``, coder from ``Coding/@creatingUser``, selection GUID in
  ``codings.guid``, selection description and notes in ``codings.memo``)

Positions. The spec counts code points from 0 over the plain-text source,
end exclusive; producers differ (see docs/refi-qda.md). Each source gets an
explicit map from the producer's positions over the raw .txt to code points
of the stored text (BOM removed, NFC, ``
`` line ends), and every selection
is mapped through it and checked; one that cannot be mapped is reported and
skipped, never shifted.

Safety. XML is parsed with DTDs, entities and external references forbidden
(defusedxml); the zip is read in memory with its entry count and
decompressed size capped, counting bytes as they are read, and entries with
absolute paths or ``..`` are refused.

Modules: ``common`` (namespaces, GUIDs, safe XML), ``archive`` (the zip,
read safely), ``quirks`` (what each producer does with positions and
encodings), ``qdc`` (codebooks, in and out), ``results`` (what an import
reports), ``read`` (a .qdpx in), ``import_store`` (storing what was read, in
one transaction) and ``write`` (a .qdpx out).
"""

from __future__ import annotations

from qualcode.refi.common import (  # noqa: F401
    PROJECT_NS,
    CODEBOOK_NS,
    CODEBOOK_NS_PREFIX,
    PROJECT_NS_PREFIX,
    METADATA_NOTE_NAME,
    SELECTION_NAME_LENGTH,
    MIN_QUOTED_NAME,
    GUID_RE,
    RGB_RE,
    XML_INVALID_RE,
    SKIP_SOURCE_MISSING,
    SKIP_NON_TEXT,
    SKIP_OUT_OF_RANGE,
    SKIP_SPLITS_CHARACTER,
    SKIP_EMPTY,
    SKIP_TEXT_MISMATCH,
    SKIP_UNKNOWN_CODE,
    SKIP_UNKNOWN_USER,
    SKIP_NO_USER,
    SKIP_DUPLICATE,
    normalise_guid,
    valid_guid,
    new_guid,
    plural,
    slug,
    parse_xml,
)
from qualcode.refi.archive import (  # noqa: F401
    MAX_ZIP_ENTRIES,
    MAX_TOTAL_BYTES,
    MAX_MEMBER_BYTES,
    READ_CHUNK,
)
from qualcode.refi.quirks import (  # noqa: F401
    Counting,
    SPEC_COUNTING,
    NVIVO_COUNTING,
    ONE_CRLF_COUNTING,
    counting_for_origin,
    OffsetMap,
    build_offset_map,
    check_against_name,
)
from qualcode.refi.qdc import (  # noqa: F401
    RefiCode,
    read_qdc,
    node_color,
    write_qdc,
)
from qualcode.refi.results import (  # noqa: F401
    SkippedSelection,
    RefiImportResult,
)
from qualcode.refi.read import (  # noqa: F401
    import_project,
    ALTERNATIVE_COUNTINGS,
)
from qualcode.refi.import_store import (  # noqa: F401
    paragraph_units,
)
from qualcode.refi.write import (  # noqa: F401
    RefiExportResult,
    export_project,
)
