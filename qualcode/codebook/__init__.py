"""Codebooks: a hierarchy of themes → subthemes → codes.

The project's current tree lives in the ``codes`` table (every node — theme,
subtheme or code — is a row with a parent). Each imported codebook is also
kept whole in ``codebook_versions``, keyed by the hash of its content; every
coding records the version it was made with.

A codebook file is YAML (the format documented in docs/codebook-format.md),
a spreadsheet (.xlsx or .csv with key, label, parent, definition, include,
exclude … columns) or a REFI-QDA codebook (.qdc, read by ``qualcode.refi``).
Every file goes through one validation that reports problems with their place
in the file: line and column for YAML, sheet and cell for spreadsheets.

References inside a codebook — the only ones that can be wrong — are:

- ``parent: KEY`` on a node of a flat list (nesting under ``children`` sets
  the parent implicitly); parents must not form a cycle;
- ``unless: [{code: KEY}]`` in a rule: the code is vetoed in a sentence where
  the code KEY applies; these references must not form a cycle either
  (two codes vetoing each other would have no defined result).

Modules: ``model`` (the stored tree and the in-memory codebook), ``problems``
(where a problem is in a file), ``read_yaml`` and ``read_table`` (YAML;
xlsx/csv), ``validate`` (one validation for every format), ``read`` (a file
in, by suffix), ``versions`` (importing into a project, versions),
``edit`` (rename, merge), ``diff``, ``write`` and ``overview``.
"""

from __future__ import annotations

from qualcode.codebook.model import (  # noqa: F401
    CodeNode,
    CodeTree,
    load_tree,
    current_version_id,
    store_nodes,
    NODE_FIELDS,
    RULE_FIELDS,
    TOP_FIELDS,
    UNIT_ROLES,
    DEFAULT_ROLES,
    regex_flags,
    Codebook,
    count_rules,
    normalise_node,
)
from qualcode.codebook.problems import (  # noqa: F401
    Where,
    Problem,
    MarkedMap,
    MarkedList,
)
from qualcode.codebook.read_table import (  # noqa: F401
    SHEET_COLUMNS,
    LIST_COLUMNS,
    NAME_LIST_COLUMNS,
)
from qualcode.codebook.read import (  # noqa: F401
    PARSERS,
    read_codebook_file,
    validate_codebook_file,
    load_codebook_file,
)
from qualcode.codebook.versions import (  # noqa: F401
    COMPARED_FIELDS,
    load_version,
    project_codebook,
    KEYLESS_FORMATS,
    UNCARRIED_FIELDS,
    rekey_by_guid,
    import_codebook,
    dataclass_replace,
)
from qualcode.codebook.edit import (  # noqa: F401
    rename_code,
    merge_codes,
)
from qualcode.codebook.diff import (  # noqa: F401
    diff_codebooks,
)
from qualcode.codebook.write import (  # noqa: F401
    EXPORT_FORMATS,
    TEXT_EXPORT_FORMATS,
    SUFFIX_FORMATS,
    export_format_from_path,
    codebook_to_yaml,
    appendix_frame,
    codebook_text,
    write_codebook,
    export_codebook,
)
from qualcode.codebook.overview import (  # noqa: F401
    codebook_overview,
)
