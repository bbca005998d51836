"""Agreement between two coders in a project, per code, per theme and pooled, on a unit the researcher chooses.

Units, scope (``qualcode.units.compared_paragraphs``) and presence come from
the project; the statistics from ``qualcode.agreement.tables``. At
``unit="char"`` the table counts characters (NVivo's coding comparison),
built from interval arithmetic on the coded spans, never from per-character
arrays.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Sequence

from qualcode import units as units_module
from qualcode.agreement.tables import REASONED, STATISTICS, compare_tables, tables_from_presence
from qualcode.errors import InputError

AGREEMENT_LEVELS = ("paragraph", "turn", "sentence", "char", "document", "respondent")
SCOPES = ("assigned", "all")


# --------------------------------------------------------------------------
# From a project: units, scope, presence, result
# --------------------------------------------------------------------------

@dataclass
class AgreementResult:
    """What ``compute_agreement`` returns.

    ``per_code``, ``per_theme`` and ``pooled`` are DataFrames with the columns
    code, label, level, a, b, c, d, n, percent, kappa, alpha, ac1, bp,
    pos_agree, neg_agree, the ``*_reason`` columns (why a value is undefined)
    and, with CIs, ``*_lo`` / ``*_hi``. ``per_code_document`` (char level only)
    has one row per code × document, as NVivo's coding comparison shows.
    ``compared`` says which units were compared.
    """

    coder_a: str
    coder_b: str
    unit: str
    per_code: object
    per_theme: object
    pooled: object
    compared: dict
    per_code_document: object | None = None
    ci: bool = False
    ci_level: float = 0.95
    settings: dict = field(default_factory=dict)

    def table(self, *, with_documents: bool = False):
        """per_code, per_theme and pooled rows stacked (one DataFrame, the ``level`` column tells them apart);
        ``with_documents`` adds the code × document rows (level ``code×document``) when they were computed."""
        import pandas as pd

        parts = [self.per_code, self.per_theme, self.pooled]
        if with_documents and self.per_code_document is not None:
            parts.append(self.per_code_document.assign(level="code×document"))
        stacked = pd.concat([p for p in parts if p is not None and len(p)], ignore_index=True)
        # counts stay integers; the pooled mean row has none and gets an empty cell, not None: a None
        # would make the csv writer turn the whole column into floats (1.0, 2.0, …)
        for cell in ("a", "b", "c", "d", "n"):
            stacked[cell] = pd.Series(["" if pd.isna(v) else int(v) for v in stacked[cell]], dtype=object)
        return stacked

    def sheets(self) -> dict:
        """{sheet name: DataFrame} for an xlsx workbook: per code, per theme, pooled, what was compared
        and the settings, and (char level) per code x document."""
        import pandas as pd

        compared = pd.DataFrame(
            [{"item": k, "value": ", ".join(v) if isinstance(v, list) else str(v)} for k, v in self.compared.items()]
            + [{"item": f"setting: {k}", "value": "" if v is None else str(v)} for k, v in self.settings.items()])
        sheets = {"per code": self.per_code, "per theme": self.per_theme, "pooled": self.pooled, "compared": compared}
        if self.per_code_document is not None:
            sheets["per code x document"] = self.per_code_document
        return sheets

    def to_dict(self) -> dict:
        """A JSON-ready dict (undefined values as None)."""
        def records(df):
            if df is None:
                return []
            import math

            rows = df.to_dict(orient="records")
            return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()} for row in rows]

        out = {
            "coder_a": self.coder_a, "coder_b": self.coder_b, "unit": self.unit,
            "compared": self.compared, "settings": self.settings,
            "per_code": records(self.per_code), "per_theme": records(self.per_theme), "pooled": records(self.pooled),
        }
        if self.per_code_document is not None:
            out["per_code_document"] = records(self.per_code_document)
        return out


@dataclass
class _Column:
    key: str
    label: str
    level: str  # "code" or "theme"
    code_ids: tuple[int, ...]


def _resolve_columns(conn: sqlite3.Connection, codes: Sequence[str] | None, coder_ids: tuple[int, ...]):
    """Code rows and theme rows to compare, each with the code ids whose codings feed it."""
    from qualcode.codebook import load_tree

    tree = load_tree(conn, include_inactive=True)
    if not len(tree):
        raise InputError("the project has no codebook; import one with 'qualcode codebook import FILE'")
    directly_coded = {r[0] for r in conn.execute(
        f"SELECT DISTINCT code_id FROM codings WHERE coder_id IN ({', '.join('?' * len(coder_ids))})", coder_ids)}
    if codes:
        selected: list[str] = []
        for key in codes:
            for descendant in tree.descendants(key):  # NotFound for an unknown key
                if descendant not in selected:
                    selected.append(descendant)
    else:
        selected = [k for k in tree.preorder() if tree.by_key[k].active or tree.by_key[k].code_id in directly_coded]
    selected_set = set(selected)
    code_keys = [k for k in tree.preorder() if k in selected_set
                 and (not tree.by_key[k].children or tree.by_key[k].code_id in directly_coded)]
    code_columns = [_Column(k, tree.by_key[k].label, "code", (tree.by_key[k].code_id,)) for k in code_keys]
    theme_columns = []
    code_key_set = set(code_keys)
    for key in tree.preorder():
        if not tree.by_key[key].children:
            continue
        beneath = [k for k in tree.descendants(key) if k in code_key_set]
        if beneath:
            theme_columns.append(_Column(key, tree.by_key[key].label, "theme",
                                         tuple(tree.by_key[k].code_id for k in beneath)))
    return code_columns, theme_columns


def _respondent_paragraphs(conn: sqlite3.Connection) -> dict[int, tuple[int, int, int, str | None, str]]:
    """unit_id → (document_id, start, end, respondent_id, document name) for respondent paragraphs."""
    return {r[0]: (r[1], r[2], r[3], r[4], r[5]) for r in conn.execute(
        "SELECT u.unit_id, u.document_id, u.start, u.end, u.respondent_id, d.name FROM units u"
        " JOIN documents d USING (document_id) WHERE u.role = 'respondent'")}


def _intersect(left: list[tuple[int, int]], right: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Intersection of two sorted lists of disjoint intervals (two-pointer walk)."""
    out, i, j = [], 0, 0
    while i < len(left) and j < len(right):
        start = max(left[i][0], right[j][0])
        end = min(left[i][1], right[j][1])
        if start < end:
            out.append((start, end))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out


def _cluster_index(labels: list) -> tuple[list[int], list]:
    index: dict = {}
    return [index.setdefault(label, len(index)) for label in labels], list(index)


def _frame(columns: list[_Column], tables, result: dict, *, ci: bool, extra: dict | None = None):
    import pandas as pd

    data: dict = {"code": [c.key for c in columns], "label": [c.label for c in columns],
                  "level": [c.level for c in columns]}
    if extra:
        data.update(extra)
    for index, cell in enumerate("abcd"):
        data[cell] = tables[:, index].astype("int64")
    data["n"] = tables.sum(axis=1).astype("int64")
    for name in STATISTICS:
        data[name] = result["stats"][name]
    for name in REASONED:
        data[f"{name}_reason"] = result["reasons"][name]
    if ci:
        for name in STATISTICS:
            data[f"{name}_lo"], data[f"{name}_hi"] = result["ci"][name]
    return pd.DataFrame(data)


def _pooled_frame(result: dict, tables, n_codes: int, *, ci: bool):
    import pandas as pd

    summed = tables.sum(axis=0) if len(tables) else [0, 0, 0, 0]
    rows = []
    row = {"code": "(pooled: sum of tables)", "label": f"one 2×2 table summed over {n_codes} codes",
           "level": "pooled", "a": int(summed[0]), "b": int(summed[1]), "c": int(summed[2]), "d": int(summed[3]),
           "n": int(sum(summed))}
    row.update(result["pooled_sum"])
    row.update({f"{k}_reason": result["pooled_sum_reasons"][k] for k in REASONED})
    if ci:
        for k, (low, high) in result["ci_pooled_sum"].items():
            row[f"{k}_lo"], row[f"{k}_hi"] = low, high
    rows.append(row)
    mean_row = {"code": "(pooled: mean of codes)", "label": f"mean of the per-code values over {n_codes} codes",
                "level": "pooled", "a": None, "b": None, "c": None, "d": None, "n": None}
    mean_row.update(result["pooled_mean"])
    for k in REASONED:
        defined = result["defined_counts"][k]
        mean_row[f"{k}_reason"] = ("no code has a defined value" if defined == 0
                                   else f"mean over the {defined} of {n_codes} codes where defined")
    if ci:
        for k, (low, high) in result["ci_pooled_mean"].items():
            mean_row[f"{k}_lo"], mean_row[f"{k}_hi"] = low, high
    rows.append(mean_row)
    frame = pd.DataFrame(rows)
    # the mean row has no cells: keep Python ints and None (not pandas' NA, which writers reject)
    for cell in ("a", "b", "c", "d", "n"):
        frame[cell] = pd.Series([row[cell] for row in rows], dtype=object)
    return frame


def compute_agreement(
    conn: sqlite3.Connection,
    coder_a: str,
    coder_b: str,
    *,
    unit: str = "paragraph",
    codes: Sequence[str] | None = None,
    min_overlap: float = 0.0,
    ci: bool = False,
    n_boot: int = 1000,
    seed: int = 0,
    scope: str = "assigned",
    language: str = "en",
    ci_level: float = 0.95,
) -> AgreementResult:
    """Agreement between two coders, per code, per theme and pooled, on ``unit``.

    ``unit`` is one of paragraph, turn, sentence, char, document, respondent.
    A unit counts as coded by a coder when a coding of the code overlaps it
    (or, with ``min_overlap`` F > 0, when the coded characters cover at least
    F of the unit). ``scope="assigned"`` compares only the paragraphs both
    coders were assigned (``assignments``), or, for a coder without
    assignments, the documents that coder coded (``units.compared_paragraphs``,
    shared with reconciliation); higher-level units are trimmed to those
    paragraphs (``units.restrict_units``). ``scope="all"`` compares every
    respondent unit.
    With ``ci``, percentile intervals from a cluster bootstrap over
    respondents (``n_boot`` replicates, ``seed``). Reads only.
    """
    # long: validation, scope, codings and presence are one read-only pass over the project, kept in order
    import numpy as np

    from qualcode import store

    if unit not in AGREEMENT_LEVELS:
        raise InputError(f"unknown unit '{unit}'; choose one of {', '.join(AGREEMENT_LEVELS)}")
    if scope not in SCOPES:
        raise InputError(f"unknown scope '{scope}'; choose 'assigned' or 'all'")
    if not 0.0 <= min_overlap <= 1.0:
        raise InputError(f"--min-overlap must be a fraction between 0 and 1, not {min_overlap}")
    if unit == "char" and min_overlap:
        raise InputError("--min-overlap has no meaning at --unit char (each character is either coded or not)")
    if ci and n_boot < 10:
        raise InputError(f"--n-boot {n_boot} is too few replicates for an interval; use 200 or more (1000 is the default)")
    if coder_a.strip() == coder_b.strip():
        raise InputError(f"both coders are '{coder_a}'; name two different coders")
    id_a = store.coder_id(conn, coder_a)
    id_b = store.coder_id(conn, coder_b)
    code_columns, theme_columns = _resolve_columns(conn, codes, (id_a, id_b))
    if not code_columns:
        raise InputError("no codes to compare; check --codes")
    columns = code_columns + theme_columns

    paragraphs = _respondent_paragraphs(conn)
    if scope == "all":
        compared_ids = set(paragraphs)
        scope_text = "all respondent units (--all-units)"
    else:
        compared_scope = units_module.compared_paragraphs(conn, coder_a, coder_b)
        compared_ids = set(compared_scope.unit_ids)
        scope_text = compared_scope.description
    if not compared_ids:
        raise InputError(
            f"'{coder_a}' and '{coder_b}' have no units in common to compare (no shared assigned paragraphs and "
            "no document both coded); code a shared sample first, or add --all-units to compare every unit")
    documents_compared = sorted({paragraphs[u][4] for u in compared_ids})
    document_ids = sorted({paragraphs[u][0] for u in compared_ids})

    # codings of both coders in the compared documents
    code_to_columns: dict[int, list[int]] = {}
    for index, column in enumerate(columns):
        for code_id in column.code_ids:
            code_to_columns.setdefault(code_id, []).append(index)
    codings_by = {id_a: "A", id_b: "B"}
    spans_by_key: dict[tuple[str, int, int], list[tuple[int, int]]] = {}
    wanted_documents = set(document_ids)  # filtered here, not in SQL: no limit on the number of documents
    for coder, code_id, document_id, start, end in conn.execute(
            "SELECT coder_id, code_id, document_id, start, end FROM codings WHERE coder_id IN (?, ?)", (id_a, id_b)):
        if document_id not in wanted_documents:
            continue
        for column_index in code_to_columns.get(code_id, ()):
            spans_by_key.setdefault((codings_by[coder], column_index, document_id), []).append((start, end))

    settings = {"unit": unit, "codes": list(codes) if codes else None, "min_overlap": min_overlap,
                "scope": scope, "ci": ci, "n_boot": n_boot if ci else None, "seed": seed if ci else None,
                "ci_level": ci_level if ci else None}
    n_codes = len(code_columns)

    if unit == "char":
        return _char_agreement(coder_a, coder_b, columns, n_codes, paragraphs, compared_ids, spans_by_key,
                               documents_compared, scope_text, ci=ci, n_boot=n_boot, seed=seed,
                               ci_level=ci_level, settings=settings)

    level_units = units_module.load_units(conn, unit, documents=document_ids, respondents_only=True,
                                          language=language)
    compared_units = units_module.restrict_units(level_units, {u: paragraphs[u][:3] for u in compared_ids})
    if not compared_units:
        raise InputError(f"no {unit} units lie in the compared paragraphs; try another --unit or --all-units")

    spans = []
    for (coder, column_index, document_id), intervals in spans_by_key.items():
        if columns[column_index].level != "code":
            continue  # theme presence is derived from its codes' presence below
        for start, end in intervals:
            spans.append(((coder, column_index), document_id, start, end))
    covered = units_module.coverage(compared_units, spans)
    lengths = np.array([u.length for u in compared_units], dtype=float)
    n_units = len(compared_units)
    present = {"A": np.zeros((n_units, len(columns)), dtype=bool), "B": np.zeros((n_units, len(columns)), dtype=bool)}
    for (unit_index, (coder, column_index)), characters in covered.items():
        if characters > 0 and (min_overlap <= 0 or characters >= min_overlap * lengths[unit_index] - 1e-9):
            present[coder][unit_index, column_index] = True
    code_index = {c.code_ids[0]: i for i, c in enumerate(code_columns)}
    for offset, theme in enumerate(theme_columns, start=n_codes):
        members = [code_index[code_id] for code_id in theme.code_ids]
        for coder in ("A", "B"):
            present[coder][:, offset] = present[coder][:, members].any(axis=1)

    cluster_labels = [u.respondent_id if u.respondent_id is not None else f"document:{u.document}"
                      for u in compared_units]
    cluster_of_unit, cluster_names = _cluster_index(cluster_labels)
    tables = tables_from_presence(present["A"], present["B"])
    cluster_tables = tables_from_presence(present["A"], present["B"], np.array(cluster_of_unit)) if ci else None
    compared = {
        "unit": unit, "count": n_units, "scope": scope_text, "paragraphs": len(compared_ids),
        "documents": documents_compared, "clusters": len(cluster_names),
        "rule": ("a unit counts as coded when a coding of the code overlaps it" if not min_overlap else
                 f"a unit counts as coded when codings of the code cover at least {min_overlap:g} of its characters"),
    }
    return _assemble(coder_a, coder_b, unit, columns, n_codes, tables, cluster_tables, compared,
                     ci=ci, n_boot=n_boot, seed=seed, ci_level=ci_level, settings=settings)


def _assemble(coder_a, coder_b, unit, columns, n_codes, tables, cluster_tables, compared, *, ci, n_boot, seed,
              ci_level, settings, per_code_document=None) -> AgreementResult:
    code_tables = tables[:n_codes]
    code_result = compare_tables(code_tables, None if cluster_tables is None else cluster_tables[:, :n_codes],
                                 ci=ci, n_boot=n_boot, seed=seed, ci_level=ci_level)
    theme_result = compare_tables(tables[n_codes:], None if cluster_tables is None else cluster_tables[:, n_codes:],
                                  ci=ci, n_boot=n_boot, seed=seed, ci_level=ci_level)
    per_code = _frame(columns[:n_codes], code_tables, code_result, ci=ci)
    per_theme = _frame(columns[n_codes:], tables[n_codes:], theme_result, ci=ci)
    pooled = _pooled_frame(code_result, code_tables, n_codes, ci=ci)
    return AgreementResult(coder_a, coder_b, unit, per_code, per_theme, pooled, compared,
                           per_code_document=per_code_document, ci=ci, ci_level=ci_level, settings=settings)


def _char_agreement(coder_a, coder_b, columns, n_codes, paragraphs, compared_ids, spans_by_key, documents_compared,
                    scope_text, *, ci, n_boot, seed, ci_level, settings) -> AgreementResult:
    """Character-level tables from interval arithmetic: per compared paragraph × column, then summed."""
    import numpy as np

    paragraph_ids = sorted(compared_ids, key=lambda u: (paragraphs[u][4], paragraphs[u][1]))
    paragraph_units = [units_module.Unit(str(u), "paragraph", ((paragraphs[u][0], paragraphs[u][1], paragraphs[u][2]),),
                                         paragraphs[u][3], None, "respondent", paragraphs[u][4], (u,))
                       for u in paragraph_ids]
    spans = []
    keys = {(column_index, document_id) for (_, column_index, document_id) in spans_by_key}
    for column_index, document_id in keys:
        union_a = units_module.merge_intervals(spans_by_key.get(("A", column_index, document_id), []))
        union_b = units_module.merge_intervals(spans_by_key.get(("B", column_index, document_id), []))
        for kind, intervals in (("A", union_a), ("B", union_b), ("AB", _intersect(union_a, union_b))):
            spans.extend(((kind, column_index), document_id, s, e) for s, e in intervals)
    covered = units_module.coverage(paragraph_units, spans)
    n_paragraphs, n_columns = len(paragraph_units), len(columns)
    counts = {kind: np.zeros((n_paragraphs, n_columns), dtype=np.int64) for kind in ("A", "B", "AB")}
    for (paragraph_index, (kind, column_index)), characters in covered.items():
        counts[kind][paragraph_index, column_index] += characters
    lengths = np.array([u.length for u in paragraph_units], dtype=np.int64)
    a = counts["AB"]
    b = counts["A"] - a
    c = counts["B"] - a
    d = lengths[:, None] - a - b - c
    paragraph_tables = np.stack([a, b, c, d], axis=-1)  # (P, K, 4)

    def grouped(labels):
        index, names = _cluster_index(labels)
        out = np.zeros((len(names), n_columns, 4), dtype=np.int64)
        np.add.at(out, np.array(index, dtype=np.int64), paragraph_tables)
        return out, names

    document_tables, document_names = grouped([u.document for u in paragraph_units])
    cluster_tables, cluster_names = grouped([u.respondent_id if u.respondent_id is not None else f"document:{u.document}"
                                             for u in paragraph_units])
    tables = paragraph_tables.sum(axis=0)

    # NVivo's view: one row per code × document
    import pandas as pd

    frames = []
    for document_index, name in enumerate(document_names):
        doc_tables = document_tables[document_index, :n_codes]
        result = compare_tables(doc_tables)
        frame = _frame(columns[:n_codes], doc_tables, result, ci=False)
        frame.insert(3, "document", name)
        frames.append(frame)
    per_code_document = pd.concat(frames, ignore_index=True) if frames else None
    compared = {
        "unit": "char", "count": int(lengths.sum()), "scope": scope_text, "paragraphs": len(compared_ids),
        "documents": documents_compared, "clusters": len(cluster_names),
        "rule": "each character of the compared paragraphs counts as coded when a coding of the code covers it",
    }
    return _assemble(coder_a, coder_b, "char", columns, n_codes, tables, cluster_tables if ci else None, compared,
                     ci=ci, n_boot=n_boot, seed=seed, ci_level=ci_level, settings=settings,
                     per_code_document=per_code_document)
