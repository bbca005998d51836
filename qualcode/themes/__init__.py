"""Respondent counts per theme, the theme table, the framework matrix and manuscript fill.

One module each, re-exported here so ``from qualcode import themes`` keeps
working:

- ``counts``: the counting rule, respondent counts per node, the roll-up, % and id formatting
- ``table``: the theme table papers print and its writers (xlsx, docx, md, csv, tex)
- ``matrix``: the framework matrix (respondents × codes) and code co-occurrence
- ``manuscript``: ``{{n:key}}`` / ``{{ids:key}}`` / ``{{pct:key}}`` placeholders filled in a manuscript
"""

from __future__ import annotations

from qualcode.themes.counts import (
    CodedRespondents, CountsResult, LEVELS, LEVEL_DEPTH, MATRIX_CELLS, NOT_RECORDED, NodeCoverage,
    check_level, coded_respondents, compute_counts, counts_from, ids_text, n_text, percent, percent_text,
    require_respondent_text, resolve_coder, selected_keys,
)
from qualcode.themes.table import (
    THEME_TABLE_FORMATS, ThemeTable, theme_table, theme_table_from, theme_table_latex, theme_table_markdown,
    write_theme_table,
)
from qualcode.themes.matrix import MatrixResult, cooccurrence, framework_matrix, trim_words, write_matrix
from qualcode.themes.manuscript import (
    FillResult, OURS, PLACEHOLDER, PLACEHOLDER_KINDS, Placeholder, Problem, UNCLOSED, UNOPENED,
    fill_manuscript, parse_placeholder, placeholder_value,
)

__all__ = [
    "CodedRespondents",
    "CountsResult",
    "FillResult",
    "LEVELS",
    "LEVEL_DEPTH",
    "MATRIX_CELLS",
    "MatrixResult",
    "NOT_RECORDED",
    "NodeCoverage",
    "OURS",
    "PLACEHOLDER",
    "PLACEHOLDER_KINDS",
    "Placeholder",
    "Problem",
    "THEME_TABLE_FORMATS",
    "ThemeTable",
    "UNCLOSED",
    "UNOPENED",
    "check_level",
    "coded_respondents",
    "compute_counts",
    "cooccurrence",
    "counts_from",
    "fill_manuscript",
    "framework_matrix",
    "ids_text",
    "n_text",
    "parse_placeholder",
    "percent",
    "percent_text",
    "placeholder_value",
    "require_respondent_text",
    "resolve_coder",
    "selected_keys",
    "theme_table",
    "theme_table_from",
    "theme_table_latex",
    "theme_table_markdown",
    "trim_words",
    "write_matrix",
    "write_theme_table",
]
