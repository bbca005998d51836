"""Editing the project's codebook: renaming a code and merging codes, with
every reference to the old keys (codings, rules, vetoes) moved along.
"""

from __future__ import annotations

import json
import sqlite3

from qualcode import store
from qualcode.codebook.problems import suggest
from qualcode.codebook.versions import one_transaction, replace_code_references, snapshot
from qualcode.errors import InputError, NotFound


def _code_row(conn: sqlite3.Connection, key: str):
    row = conn.execute("SELECT code_id, key, label, parent_id, active, rules FROM codes WHERE key = ?",
                       (key,)).fetchone()
    if row is None:
        known = [r[0] for r in conn.execute("SELECT key FROM codes WHERE active = 1")]
        raise NotFound(f"no code '{key}' in the project{suggest(key, known)}; 'qualcode codebook show' lists the keys")
    return row


@one_transaction
def rename_code(conn: sqlite3.Connection, old: str, new: str, *, label: str | None = None) -> dict:
    """Give a code a new key (and optionally a new label), in one transaction (the caller's if open).

    Codings and decisions refer to the code's id, so they follow; rules of
    other codes that name it in ``unless`` are updated. The change is recorded
    in the history and the renamed tree is stored as a new codebook version.
    """
    new = new.strip()
    if not new or any(ch.isspace() for ch in new):
        raise InputError(f"'{new}' is not a usable key; use a word without spaces such as 'work.caseload'")
    row = _code_row(conn, old)
    if old != new and conn.execute("SELECT 1 FROM codes WHERE key = ?", (new,)).fetchone():
        raise InputError(f"a code '{new}' already exists; to combine the two use 'qualcode codebook merge {old} {new}"
                         f" --into {new}'")
    if label is not None and not label.strip():
        raise InputError("the new label is empty; give a short human-readable label")
    conn.execute("UPDATE codes SET key = ?, label = COALESCE(?, label) WHERE code_id = ?",
                 (new, label.strip() if label else None, row["code_id"]))
    replace_code_references(conn, {old}, new)
    codings = conn.execute("SELECT COUNT(*) FROM codings WHERE code_id = ?", (row["code_id"],)).fetchone()[0]
    version_id = snapshot(conn, "rename")
    result = {"old": old, "new": new, "label": label or row["label"], "codings": codings, "version_id": version_id}
    store.record_history(conn, "codebook rename", **result)
    return result


def _merge_rules(rule_sets: list[dict | None]) -> dict | None:
    """The union of several codes' rules (lists concatenated without repeats)."""
    merged: dict = {}
    present = [r for r in rule_sets if r]
    for rules in present:
        for kind in ("phrases", "patterns", "regex", "unless"):
            for item in rules.get(kind, []):
                merged.setdefault(kind, [])
                if item not in merged[kind]:
                    merged[kind].append(item)
    # speaker/role filters survive only when every merged code had the same one
    for kind in ("speakers", "roles"):
        values = [tuple(r.get(kind) or ()) for r in present]
        if values and all(v == values[0] for v in values) and values[0]:
            merged[kind] = list(values[0])
    return merged or None


@one_transaction
def merge_codes(conn: sqlite3.Connection, sources: list[str], into: str, *, label: str | None = None) -> dict:
    """Merge codes into one, in one transaction (the caller's if open).

    ``into`` may be one of ``sources``, another existing code, or a new key
    (then ``label`` is required; the new code goes where the first source
    was). Codings and reconciliation decisions of the sources move to the
    target (exact duplicates that result are dropped), children of the sources
    move beneath it, the sources' rules are added to the target's, and the
    sources are marked inactive — never deleted. Recorded in the history; the
    merged tree is stored as a new codebook version.
    """
    sources = list(dict.fromkeys(s.strip() for s in sources if s.strip()))
    if not sources:
        raise InputError("name at least one code to merge")
    source_rows = [_code_row(conn, key) for key in sources]
    target_row = conn.execute("SELECT code_id, key, label, parent_id, active, rules FROM codes WHERE key = ?",
                              (into,)).fetchone()
    created = False
    if target_row is None:
        if not label or not label.strip():
            raise InputError(f"there is no code '{into}' yet; give its label with --label to create it")
        if any(ch.isspace() for ch in into) or not into:
            raise InputError(f"'{into}' is not a usable key; use a word without spaces")
        first = source_rows[0]
        position = conn.execute("SELECT position FROM codes WHERE code_id = ?", (first["code_id"],)).fetchone()[0]
        target_id = conn.execute(
            "INSERT INTO codes (key, label, parent_id, position, examples) VALUES (?, ?, ?, ?, '[]')",
            (into, label.strip(), first["parent_id"], position),
        ).lastrowid
        created = True
    else:
        target_id = target_row["code_id"]
        if label:
            conn.execute("UPDATE codes SET label = ? WHERE code_id = ?", (label.strip(), target_id))
        conn.execute("UPDATE codes SET active = 1 WHERE code_id = ?", (target_id,))
    moving = [r for r in source_rows if r["code_id"] != target_id]
    moving_ids = [r["code_id"] for r in moving]
    # refuse to merge a code into its own descendant: its children would become their own ancestors
    ancestor = conn.execute("SELECT parent_id FROM codes WHERE code_id = ?", (target_id,)).fetchone()[0]
    seen = set()
    while ancestor is not None and ancestor not in seen:
        if ancestor in moving_ids:
            raise InputError(f"cannot merge a code into '{into}', which lies beneath it; merge into a code outside it")
        seen.add(ancestor)
        ancestor = conn.execute("SELECT parent_id FROM codes WHERE code_id = ?", (ancestor,)).fetchone()[0]
    if not moving:
        raise InputError(f"nothing to merge: the only code named is the target '{into}'")
    marks = ",".join("?" * len(moving_ids))
    moved_codings = conn.execute(f"UPDATE codings SET code_id = ? WHERE code_id IN ({marks})",
                                 (target_id, *moving_ids)).rowcount
    # identical spans by the same coder now carry the same code twice: keep one (an exemplar if any)
    duplicates = conn.execute(
        "SELECT coder_id, document_id, start, end, origin, GROUP_CONCAT(coding_id) FROM codings WHERE code_id = ?"
        " GROUP BY coder_id, document_id, start, end, origin HAVING COUNT(*) > 1", (target_id,)).fetchall()
    dropped = 0
    for row in duplicates:
        ids = sorted(int(i) for i in row[5].split(","))
        exemplar = {r[0] for r in conn.execute(
            f"SELECT coding_id FROM exemplars WHERE coding_id IN ({','.join('?' * len(ids))})", ids)}
        keep = min(exemplar) if exemplar else ids[0]
        drop = [i for i in ids if i != keep]
        conn.execute(f"DELETE FROM codings WHERE coding_id IN ({','.join('?' * len(drop))})", drop)
        dropped += len(drop)
    moved_decisions = conn.execute(f"UPDATE decisions SET code_id = ? WHERE code_id IN ({marks})",
                                   (target_id, *moving_ids)).rowcount
    conn.execute(f"UPDATE codes SET parent_id = ? WHERE parent_id IN ({marks})", (target_id, *moving_ids))
    target_rules = conn.execute("SELECT rules FROM codes WHERE code_id = ?", (target_id,)).fetchone()[0]
    rule_sets = [json.loads(target_rules) if target_rules else None] + [
        json.loads(r["rules"]) if r["rules"] else None for r in moving]
    merged_rules = _merge_rules(rule_sets)
    if merged_rules and merged_rules.get("unless"):
        # a code cannot veto itself: drop references to the merged codes
        merged_keys = {r["key"] for r in moving} | {into}
        merged_rules["unless"] = [u for u in merged_rules["unless"]
                                  if not (isinstance(u, dict) and u.get("code") in merged_keys)]
        if not merged_rules["unless"]:
            del merged_rules["unless"]
    conn.execute("UPDATE codes SET rules = ? WHERE code_id = ?",
                 (json.dumps(merged_rules, ensure_ascii=False) if merged_rules else None, target_id))
    conn.execute(f"UPDATE codes SET active = 0 WHERE code_id IN ({marks})", moving_ids)
    replace_code_references(conn, {r["key"] for r in moving}, into)
    version_id = snapshot(conn, "merge")
    result = {"sources": [r["key"] for r in moving], "into": into, "created": created,
              "codings_moved": moved_codings, "duplicates_dropped": dropped, "decisions_moved": moved_decisions,
              "version_id": version_id}
    store.record_history(conn, "codebook merge", **result)
    return result
