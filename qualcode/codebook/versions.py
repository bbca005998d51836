"""The codebook in a project: importing a file (the plan: added, changed,
removed codes), each imported codebook kept whole as a version, the current tree.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from qualcode import store
from qualcode.codebook.model import CodeTree, Codebook, current_version_id, load_tree, normalise_node, store_nodes
from qualcode.codebook.read import load_codebook_file
from qualcode.errors import InputError, NotFound


COMPARED_FIELDS = ("label", "parent", "definition", "include", "exclude", "examples", "memo", "rules", "color")


def _node_from_tree(tree: CodeTree, key: str) -> dict:
    node = tree.by_key[key]
    return normalise_node({
        "key": node.key, "label": node.label, "parent": node.parent_key, "definition": node.definition,
        "include": node.include, "exclude": node.exclude, "examples": node.examples, "memo": node.memo,
        "rules": node.rules, "color": node.color, "guid": node.guid,
    })


def load_version(conn: sqlite3.Connection, version_id: int) -> Codebook:
    """A stored codebook version."""
    row = conn.execute("SELECT content, source_format, content_hash FROM codebook_versions WHERE version_id = ?",
                       (version_id,)).fetchone()
    if row is None:
        raise NotFound(f"no codebook version {version_id} in the project")
    content = json.loads(row["content"])
    return Codebook(name=content.get("name"), description=content.get("description"),
                    version_note=content.get("version"), nodes=content.get("codes", []),
                    source_format=row["source_format"], content_hash=row["content_hash"],
                    language=content.get("language"))


def project_codebook(conn: sqlite3.Connection) -> Codebook:
    """The project's current codebook: the active code tree with the current version's name and notes."""
    tree = load_tree(conn)
    if not len(tree):
        raise NotFound("the project has no codebook yet; import one with 'qualcode codebook import FILE'")
    version_id = current_version_id(conn)
    meta = load_version(conn, version_id) if version_id is not None else None
    # the code table has no "exclusive" column: the flag lives in the stored version's content
    exclusive = {n["key"] for n in meta.nodes if n.get("exclusive")} if meta else set()
    return Codebook(
        name=meta.name if meta else None, description=meta.description if meta else None,
        version_note=meta.version_note if meta else None,
        nodes=[{**_node_from_tree(tree, key), **({"exclusive": True} if key in exclusive else {})}
               for key in tree.preorder()],
        source_format="project", language=meta.language if meta else None,
    )


def _store_version(conn: sqlite3.Connection, codebook: Codebook) -> int:
    conn.execute(
        "INSERT OR IGNORE INTO codebook_versions (content_hash, name, source_format, content, imported_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (codebook.content_hash, codebook.name, codebook.source_format, codebook.content_json(), store.now()),
    )
    version_id = conn.execute("SELECT version_id FROM codebook_versions WHERE content_hash = ?",
                              (codebook.content_hash,)).fetchone()[0]
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('codebook_version', ?)", (str(version_id),))
    return version_id


# Formats that carry no keys (the reader invents them from labels) and none of a code's include,
# exclude, examples, memo or rules: matching their nodes to stored codes goes by GUID only, and the
# stored values of those fields are kept.
KEYLESS_FORMATS = ("qdc",)
UNCARRIED_FIELDS = ("include", "exclude", "examples", "memo", "rules")


def normal_guid(value: str | None) -> str | None:
    if not value:
        return None
    return value.strip().strip("{}").lower() or None


def rekey_by_guid(codebook: Codebook, key_by_guid: dict[str, str], taken: set[str] | None = None) -> Codebook:
    """A keyless codebook (read from a .qdc) with the keys of codes whose GUID it shares.

    ``key_by_guid`` maps normalised GUIDs to keys. Nodes without a match keep
    their invented key, made unique against ``taken`` and the adopted keys;
    parent references follow.
    """
    adopted = {n["key"]: key_by_guid[g] for n in codebook.nodes
               if (g := normal_guid(n.get("guid"))) and g in key_by_guid}
    used = set(taken or ()) | set(adopted.values())
    mapping: dict[str, str] = {}
    for node in codebook.nodes:
        if node["key"] in adopted:
            mapping[node["key"]] = adopted[node["key"]]
            continue
        base, key, number = node["key"], node["key"], 2
        while key in used:
            key = f"{base}_{number}"
            number += 1
        used.add(key)
        mapping[node["key"]] = key
    nodes = [{**node, "key": mapping[node["key"]],
              "parent": mapping.get(node["parent"], node["parent"]) if node["parent"] else None}
             for node in codebook.nodes]
    return dataclass_replace(codebook, nodes=nodes)


def _plan_import(conn: sqlite3.Connection, existing: CodeTree,
                 codebook: Codebook) -> tuple[Codebook, dict[int, str], int]:
    """Match the file's nodes to stored codes by GUID before keys are compared.

    Returns the codebook to store (a keyless one re-keyed, with the stored
    include/exclude/examples/memo/rules of matched codes filled in), the
    stored codes to give a new key (``{code_id: key}``: a keyed file that
    gives a known GUID a new key renames that code, so its codings follow)
    and how many matched codes kept stored fields the file cannot carry.
    """
    by_guid = {normal_guid(n.guid): n for n in existing.by_key.values() if normal_guid(n.guid)}
    renames: dict[int, str] = {}
    kept = 0
    if codebook.source_format in KEYLESS_FORMATS:
        codebook = rekey_by_guid(codebook, {g: n.key for g, n in by_guid.items()}, set(existing.by_key))
        nodes = []
        matched = 0
        for node in codebook.nodes:
            stored = existing.by_key.get(node["key"])
            if stored is not None and normal_guid(stored.guid) == normal_guid(node["guid"]):
                matched += 1
                old = _node_from_tree(existing, node["key"])
                if any(old[f] for f in UNCARRIED_FIELDS):
                    kept += 1
                node = {**node, **{f: old[f] for f in UNCARRIED_FIELDS}}
            nodes.append(node)
        changes: dict = {"nodes": nodes}
        version_id = current_version_id(conn)
        if matched and version_id is not None:
            # the same codebook come back: keep its name and notes (a .qdc has only its file name)
            current = load_version(conn, version_id)
            changes.update(name=current.name, description=current.description, version_note=current.version_note,
                           language=current.language)
        return dataclass_replace(codebook, **changes), renames, kept
    file_keys = set(codebook.keys())
    for node in codebook.nodes:
        stored = by_guid.get(normal_guid(node["guid"]))
        if stored is None or stored.key == node["key"]:
            continue
        # the file's key is free (no stored code has it) and the stored key is not used by the file
        if node["key"] not in existing and stored.key not in file_keys:
            renames[stored.code_id] = node["key"]
    return codebook, renames, kept


def replace_code_references(conn: sqlite3.Connection, old_keys: set[str], new_key: str) -> None:
    """Point ``unless: {code: …}`` references at ``new_key`` (a code never vetoes itself)."""
    for code_id, key, rules_json in conn.execute(
            "SELECT code_id, key, rules FROM codes WHERE rules IS NOT NULL").fetchall():
        rules = json.loads(rules_json)
        unless = rules.get("unless", [])
        updated = []
        for item in unless:
            if isinstance(item, dict) and item.get("code") in old_keys:
                item = {"code": new_key}
            if isinstance(item, dict) and item.get("code") == key:
                continue
            if item not in updated:
                updated.append(item)
        if updated != unless:
            if updated:
                rules["unless"] = updated
            else:
                rules.pop("unless", None)
            conn.execute("UPDATE codes SET rules = ? WHERE code_id = ?",
                         (json.dumps(rules, ensure_ascii=False) if rules else None, code_id))


def one_transaction(function):
    """Run a function that writes through ``conn`` in one transaction (the caller's, when it has one open),
    so a library caller without ``project.transaction()`` cannot be left with half a change."""
    import functools

    @functools.wraps(function)
    def in_transaction(conn: sqlite3.Connection, *args, **kwargs):
        with store.transaction(conn):
            return function(conn, *args, **kwargs)

    return in_transaction


@one_transaction
def import_codebook(conn: sqlite3.Connection, path_or_codebook: Path | str | Codebook, *, force: bool = False,
                    replacing_rule_codings: tuple[int, list[int] | None] | None = None) -> dict:
    """Make a codebook the project's current one, in one transaction (the caller's if open).

    The content is stored as a version keyed by its hash (importing the same
    content again reuses the version). Nodes are matched to stored codes by
    GUID first (case-insensitive; a keyed file that gives a known GUID a new
    key renames the code), then by key; matched codes are updated, others
    inserted. A .qdc carries no include, exclude, examples, memo or rules, so
    matched codes keep their stored ones. Codes of the project that the new
    codebook lacks are marked inactive — never deleted. If any of them carry
    codings (which would then no longer be counted) the import is refused with
    InputError unless ``force``; ``replacing_rule_codings`` (coder_id, document
    ids or None for all) names rule codings the caller is about to replace,
    which that check leaves out (``apply``). Returns counts ``added``, ``updated``,
    ``unchanged``, ``reactivated``, ``renamed``, ``deactivated``,
    ``kept_stored_fields`` and ``version_id``, ``content_hash``, ``name``.
    """
    codebook = path_or_codebook if isinstance(path_or_codebook, Codebook) else load_codebook_file(path_or_codebook)
    existing = load_tree(conn, include_inactive=True)
    codebook, renames, kept = _plan_import(conn, existing, codebook)
    key_after = {n.code_id: renames.get(n.code_id, n.key) for n in existing.by_key.values()}
    new_keys = set(codebook.keys())
    gone = [n for n in existing.by_key.values() if n.active and key_after[n.code_id] not in new_keys]
    if gone and not force:
        marks = ",".join("?" * len(gone))
        spared, params = "", [n.code_id for n in gone]
        if replacing_rule_codings is not None:
            coder_id, document_ids = replacing_rule_codings
            spared = " AND NOT (origin = 'rule' AND coder_id = ?"
            params.append(coder_id)
            if document_ids is not None:
                spared += " AND document_id IN (SELECT value FROM json_each(?))"
                params.append(json.dumps(list(document_ids)))
            spared += ")"
        counts_by_code = dict(conn.execute(
            f"SELECT code_id, COUNT(*) FROM codings WHERE code_id IN ({marks}){spared} GROUP BY code_id",
            params).fetchall())
        losing = [(n.key, counts_by_code[n.code_id]) for n in gone if counts_by_code.get(n.code_id)]
        if losing:
            total = sum(count for _, count in losing)
            shown = ", ".join(f"{key} ({count})" for key, count in losing[:8])
            more = f" and {len(losing) - 8} more" if len(losing) > 8 else ""
            raise InputError(
                f"importing '{codebook.name or 'this codebook'}' would make {_plural(len(losing), 'code')} that"
                f" {'carries' if len(losing) == 1 else 'carry'} codings inactive: {shown}{more};"
                f" {_plural(total, 'coding')} would no longer be counted. Keep those codes in the file"
                " ('qualcode codebook diff FILE' lists the changes), or run 'qualcode codebook import FILE --force'"
                " to import it anyway")
    counts = {"added": 0, "updated": 0, "unchanged": 0, "reactivated": 0}
    by_new_key = {key_after[n.code_id]: n for n in existing.by_key.values()}
    for node in codebook.nodes:
        stored = by_new_key.get(node["key"])
        if stored is None:
            counts["added"] += 1
        elif not stored.active:
            counts["reactivated"] += 1
        else:
            old = _node_from_tree(existing, stored.key)
            old["parent"] = key_after.get(existing.by_key[old["parent"]].code_id) if old["parent"] else None
            changed = stored.code_id in renames or any(old[f] != node[f] for f in COMPARED_FIELDS)
            counts["updated" if changed else "unchanged"] += 1
    for code_id, key in renames.items():
        conn.execute("UPDATE codes SET key = ? WHERE code_id = ?", (key, code_id))
        old_key = existing.by_id[code_id].key
        replace_code_references(conn, {old_key}, key)
    store_nodes(conn, codebook.nodes)
    conn.executemany("UPDATE codes SET active = 0 WHERE code_id = ?", [(n.code_id,) for n in gone])
    version_id = _store_version(conn, codebook)
    result = {**counts, "renamed": len(renames), "deactivated": len(gone), "kept_stored_fields": kept,
              "version_id": version_id, "content_hash": codebook.content_hash,
              "name": codebook.name, "codes": len(codebook.nodes), "rules": codebook.rule_count(),
              "source_format": codebook.source_format}
    store.record_history(conn, "codebook import", **result)
    return result


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def snapshot(conn: sqlite3.Connection, source_format: str) -> int:
    """Store the tree as it now is as a new version (after a rename or merge) and make it current."""
    return _store_version(conn, dataclass_replace(project_codebook(conn), source_format=source_format))


def dataclass_replace(codebook: Codebook, **changes) -> Codebook:
    values = {"name": codebook.name, "description": codebook.description, "version_note": codebook.version_note,
              "nodes": codebook.nodes, "source_format": codebook.source_format, "language": codebook.language}
    values.update(changes)
    return Codebook(**values)
