"""The overview ``qualcode codebook show`` prints.
"""

from __future__ import annotations

import sqlite3

from qualcode.codebook.model import Codebook, count_rules, load_tree
from qualcode.errors import InputError, NotFound


def codebook_overview(conn: sqlite3.Connection | None = None, codebook: Codebook | None = None, *,
                      include_inactive: bool = False):
    """One row per node in tree order: key, label, depth, parent, rules, active and — for a
    project — the number of codings of each coder (one column per coder).

    With ``codebook`` the file's tree is described (no counts).
    """
    import pandas as pd

    rows = []
    coders: list[str] = []
    if codebook is None:
        if conn is None:
            raise InputError("give a project or a codebook")
        tree = load_tree(conn, include_inactive=include_inactive)
        if not len(tree):
            raise NotFound("the project has no codebook yet; import one with 'qualcode codebook import FILE'")
        counts: dict[tuple[int, str], int] = {}
        for code_id, coder, count in conn.execute(
                "SELECT c.code_id, k.name, COUNT(*) FROM codings c JOIN coders k USING (coder_id)"
                " GROUP BY c.code_id, k.name"):
            counts[(code_id, coder)] = count
        coders = sorted({coder for _, coder in counts})
        for key in tree.preorder():
            node = tree.by_key[key]
            row = {"key": key, "label": node.label, "depth": tree.depth(key), "parent": node.parent_key or "",
                   "rules": count_rules(node.rules), "active": node.active, "definition": node.definition or ""}
            for coder in coders:
                row[coder] = counts.get((node.code_id, coder), 0)
            rows.append(row)
    else:
        depth: dict[str, int] = {}
        for node in codebook.nodes:
            depth[node["key"]] = depth.get(node["parent"], 0) + 1 if node["parent"] else 1
            rows.append({"key": node["key"], "label": node["label"], "depth": depth[node["key"]],
                         "parent": node["parent"] or "", "rules": count_rules(node["rules"]), "active": True,
                         "definition": node["definition"] or ""})
    columns = ["key", "label", "depth", "parent", "rules", "active", "definition", *coders]
    return pd.DataFrame(rows, columns=columns)
