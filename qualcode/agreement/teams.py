"""Agreement among two or more coders in a project: units, scopes, missing ratings, exclusive code groups.

Each coder's scope is ``qualcode.units.coder_scope`` (their assigned
paragraphs, or the documents they coded), as for two coders. The compared
paragraphs are those in the scope of at least two coders; a coder rates a
compared unit when the unit's compared paragraphs all lie in their scope, and
is *missing* for it otherwise (not "absent"). The statistics come from
``qualcode.agreement.many``; the result frames from ``team_result``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Sequence

from qualcode import units as units_module
from qualcode.agreement.two_coders import AGREEMENT_LEVELS, SCOPES, _cluster_index, _resolve_columns, \
    _respondent_paragraphs
from qualcode.errors import InputError

NONE_CATEGORY = "(none)"


@dataclass
class _Group:
    """An exclusive code group: its categories (the node's children, then "(none)") and each unit's counts."""

    key: str
    label: str
    categories: list[tuple[str, str]]  # (key, label), the last is (NONE_CATEGORY, "no code of the group")
    counts: object  # (U, q) int: how many coders put the unit in each category
    pair_values: object  # (C, U) int: each coder's category index, -1 where missing or in conflict
    problems: list[dict] = field(default_factory=list)


@dataclass
class _TeamData:
    coders: list[str]
    unit: str
    units: list
    columns: list
    n_codes: int
    present: object  # (C, U, K + T) bool
    rated: object  # (C, U) bool
    clusters: object  # (U,) int
    n_clusters: int
    compared: dict
    groups: list[_Group]


def _check_options(coders, unit, scope, min_overlap, ci, n_boot) -> list[str]:
    if unit not in AGREEMENT_LEVELS:
        raise InputError(f"unknown unit '{unit}'; choose one of {', '.join(AGREEMENT_LEVELS)}")
    if unit == "char":
        raise InputError("--unit char compares two coders only; for three or more coders choose paragraph, turn,"
                         " sentence, document or respondent")
    if scope not in SCOPES:
        raise InputError(f"unknown scope '{scope}'; choose 'assigned' or 'all'")
    if not 0.0 <= min_overlap <= 1.0:
        raise InputError(f"--min-overlap must be a fraction between 0 and 1, not {min_overlap}")
    if ci and n_boot < 10:
        raise InputError(f"--n-boot {n_boot} is too few replicates for an interval; use 200 or more"
                         " (1000 is the default)")
    names = [c.strip() for c in coders]
    if len(names) < 2:
        raise InputError("name at least two coders to compare")
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise InputError(f"coder '{repeated[0]}' is named twice; name each coder once")
    return names


def _scopes(conn, coders, paragraphs, scope):
    """Each coder's scope (a frozenset of paragraph ids), the compared paragraphs and the scope text."""
    if scope == "all":
        every = frozenset(paragraphs)
        return [every] * len(coders), every, "all respondent units (--all-units)"
    spans = {u: p[:3] for u, p in paragraphs.items()}
    found = [units_module.coder_scope(conn, coder, spans) for coder in coders]
    times: dict[int, int] = {}
    for paragraph_ids, _ in found:
        for u in paragraph_ids:
            times[u] = times.get(u, 0) + 1
    compared = frozenset(u for u, count in times.items() if count >= 2)
    text = "respondent paragraphs in the scope of at least two coders (" + "; ".join(t for _, t in found) + ")"
    return [s for s, _ in found], compared, text


def gather_team_data(conn: sqlite3.Connection, coders: Sequence[str], *, unit: str = "paragraph",
                     codes: Sequence[str] | None = None, min_overlap: float = 0.0, scope: str = "assigned",
                     language: str = "en", ci: bool = False, n_boot: int = 1000) -> _TeamData:
    """The presence and rating arrays of every coder on the compared units. Reads only."""
    import numpy as np

    from qualcode import store

    coders = _check_options(coders, unit, scope, min_overlap, ci, n_boot)
    coder_ids = [store.coder_id(conn, coder) for coder in coders]
    code_columns, theme_columns = _resolve_columns(conn, codes, tuple(coder_ids))
    if not code_columns:
        raise InputError("no codes to compare; check --codes")
    columns = code_columns + theme_columns
    paragraphs = _respondent_paragraphs(conn)
    scopes, compared_ids, scope_text = _scopes(conn, coders, paragraphs, scope)
    if not compared_ids:
        raise InputError(
            f"no two of {', '.join(coders)} have units in common to compare (no shared assigned paragraphs and no"
            " document coded by two of them); code a shared sample first, or add --all-units to compare every unit")
    document_ids = sorted({paragraphs[u][0] for u in compared_ids})
    level_units = units_module.load_units(conn, unit, documents=document_ids, respondents_only=True,
                                          language=language)
    compared_units = units_module.restrict_units(level_units, {u: paragraphs[u][:3] for u in compared_ids})
    if not compared_units:
        raise InputError(f"no {unit} units lie in the compared paragraphs; try another --unit or --all-units")
    present = _presence(conn, coder_ids, columns, len(code_columns), compared_units, document_ids, min_overlap)
    rated = np.array([[all(u in coder_scope for u in item.unit_ids) for item in compared_units]
                      for coder_scope in scopes], dtype=bool)
    labels = [u.respondent_id if u.respondent_id is not None else f"document:{u.document}" for u in compared_units]
    cluster_of_unit, cluster_names = _cluster_index(labels)
    compared = {
        "unit": unit, "count": len(compared_units), "scope": scope_text, "paragraphs": len(compared_ids),
        "documents": sorted({paragraphs[u][4] for u in compared_ids}), "clusters": len(cluster_names),
        "coders": list(coders), "ratings": int(rated.sum()),
        "rule": ("a unit counts as coded when a coding of the code overlaps it" if not min_overlap else
                 f"a unit counts as coded when codings of the code cover at least {min_overlap:g} of its characters"),
        "missing": "a coder who was not given a unit (it is outside their scope) is missing for it, not absent",
    }
    groups = _exclusive_groups(conn, coders, code_columns, present, rated, compared_units)
    return _TeamData(coders, unit, compared_units, columns, len(code_columns), present, rated,
                     np.array(cluster_of_unit, dtype=np.int64), len(cluster_names), compared, groups)


def _presence(conn, coder_ids, columns, n_codes, compared_units, document_ids, min_overlap):
    """(C, U, columns) presence: a unit carries a code for a coder when the coder's codings of it overlap
    the unit (or cover ``min_overlap`` of it); a theme when any code beneath it does."""
    import numpy as np

    code_to_columns: dict[int, list[int]] = {}
    for index, column in enumerate(columns[:n_codes]):
        for code_id in column.code_ids:
            code_to_columns.setdefault(code_id, []).append(index)
    coder_index = {coder_id: i for i, coder_id in enumerate(coder_ids)}
    wanted = set(document_ids)
    spans = []
    marks = ", ".join("?" * len(coder_ids))
    for coder_id, code_id, document_id, start, end in conn.execute(
            f"SELECT coder_id, code_id, document_id, start, end FROM codings WHERE coder_id IN ({marks})",
            tuple(coder_ids)):
        if document_id not in wanted:
            continue
        for column_index in code_to_columns.get(code_id, ()):
            spans.append(((coder_index[coder_id], column_index), document_id, start, end))
    covered = units_module.coverage(compared_units, spans)
    lengths = np.array([u.length for u in compared_units], dtype=float)
    present = np.zeros((len(coder_ids), len(compared_units), len(columns)), dtype=bool)
    for (unit_index, (coder, column_index)), characters in covered.items():
        if characters > 0 and (min_overlap <= 0 or characters >= min_overlap * lengths[unit_index] - 1e-9):
            present[coder, unit_index, column_index] = True
    code_index = {c.code_ids[0]: i for i, c in enumerate(columns[:n_codes])}
    for offset, theme in enumerate(columns[n_codes:], start=n_codes):
        members = [code_index[code_id] for code_id in theme.code_ids]
        present[:, :, offset] = present[:, :, members].any(axis=2)
    return present


def exclusive_group_keys(conn: sqlite3.Connection) -> list[str]:
    """Keys of the codes marked ``exclusive: true`` in the project's current codebook version."""
    from qualcode import codebook

    version_id = codebook.current_version_id(conn)
    if version_id is None:
        return []
    return [node["key"] for node in codebook.load_version(conn, version_id).nodes if node.get("exclusive")]


def _exclusive_groups(conn, coders, code_columns, present, rated, compared_units) -> list[_Group]:
    """Each exclusive group among the compared codes: per coder and unit the one category applied, "(none)"
    when no code of the group was, and a problem (the rating left missing) when two categories were."""
    import numpy as np

    from qualcode.codebook import load_tree

    keys = exclusive_group_keys(conn)
    if not keys:
        return []
    tree = load_tree(conn, include_inactive=True)
    column_of = {column.key: index for index, column in enumerate(code_columns)}
    groups = []
    for key in keys:
        if key not in tree.by_key or not tree.by_key[key].children:
            continue
        members_of = {child: [column_of[k] for k in tree.descendants(child) if k in column_of]
                      for child in tree.by_key[key].children}
        if any(not members and tree.by_key[child].active for child, members in members_of.items()):
            continue  # --codes left out part of the group: a unit in the missing category would read as (none)
        children = [child for child, members in members_of.items() if members]  # inactive unused ones drop out
        if not children:
            continue
        members = [members_of[child] for child in children]
        n_coders, n_units = rated.shape
        applied = np.stack([present[:, :, m].any(axis=2) if m else np.zeros((n_coders, n_units), dtype=bool)
                            for m in members], axis=2)  # (C, U, children)
        how_many = applied.sum(axis=2)
        values = np.where(how_many == 1, applied.argmax(axis=2), len(children))  # (none) is the last category
        conflict = rated & (how_many >= 2)
        values = np.where(rated & ~conflict, values, -1)
        counts = np.stack([(values == k).sum(axis=0) for k in range(len(children) + 1)], axis=1)
        problems = [{"group": key, "coder": coders[c], "document": compared_units[u].document,
                     "unit": compared_units[u].key,
                     "codes": ", ".join(children[k] for k in np.flatnonzero(applied[c, u]))}
                    for c, u in zip(*np.nonzero(conflict))]
        categories = [(child, tree.by_key[child].label) for child in children] + [
            (NONE_CATEGORY, "no code of the group")]
        groups.append(_Group(key, tree.by_key[key].label, categories, counts, values, problems))
    return groups
