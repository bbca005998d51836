"""Comparing two codebooks (files or the project's): codes added, removed,
renamed and changed field by field.
"""

from __future__ import annotations

from pathlib import Path

from qualcode.codebook.model import Codebook
from qualcode.codebook.read import load_codebook_file
from qualcode.codebook.versions import KEYLESS_FORMATS, normal_guid, rekey_by_guid


def _as_codebook(value) -> Codebook:
    return value if isinstance(value, Codebook) else load_codebook_file(value)


def _same_text(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def diff_codebooks(old: Codebook | Path | str, new: Codebook | Path | str) -> dict:
    """What changed between two codebooks.

    Returns lists under ``added``, ``removed``, ``renamed`` (a key that
    disappeared and a new key with the same GUID, definition or label — the
    strongest evidence first), ``moved`` (a new parent) and ``redefined`` (the
    label, definition, include, exclude, examples or rules changed; ``fields``
    names which). When one side is a .qdc (no keys, no include/exclude/
    examples/rules), its codes take the other side's keys where the GUIDs
    agree and only labels, definitions and the hierarchy are compared.
    """
    old_book, new_book = _as_codebook(old), _as_codebook(new)
    # A .qdc carries no keys (its reader invents them from labels): give its codes the other side's keys
    # where the GUIDs agree, and compare only what it can carry (label, definition, hierarchy).
    compared = ("label", "definition", "include", "exclude", "examples", "rules")
    old_keyless = old_book.source_format in KEYLESS_FORMATS
    new_keyless = new_book.source_format in KEYLESS_FORMATS
    if old_keyless != new_keyless:
        keyed, keyless = (new_book, old_book) if old_keyless else (old_book, new_book)
        key_by_guid = {g: n["key"] for n in keyed.nodes if (g := normal_guid(n.get("guid")))}
        rekeyed = rekey_by_guid(keyless, key_by_guid, set(keyed.keys()))
        old_book, new_book = (rekeyed, new_book) if old_keyless else (old_book, rekeyed)
    if old_keyless or new_keyless:
        compared = ("label", "definition")
    old_nodes = {n["key"]: n for n in old_book.nodes}
    new_nodes = {n["key"]: n for n in new_book.nodes}
    gone = [k for k in old_nodes if k not in new_nodes]
    fresh = [k for k in new_nodes if k not in old_nodes]

    def evidence(a: dict, b: dict) -> int:
        if a.get("guid") and b.get("guid") and a["guid"].lower() == b["guid"].lower():
            return 4
        same_definition = _same_text(a.get("definition"), b.get("definition"))
        same_label = _same_text(a.get("label"), b.get("label"))
        return 3 if same_definition and same_label else 2 if same_definition else 1 if same_label else 0

    candidates = sorted(
        ((evidence(old_nodes[o], new_nodes[n]), -gone.index(o), -fresh.index(n), o, n) for o in gone for n in fresh),
        reverse=True,
    )
    renamed: dict[str, str] = {}
    taken: set[str] = set()
    for score, _, _, o, n in candidates:
        if score and o not in renamed and n not in taken:
            renamed[o] = n
            taken.add(n)
    reasons = {4: "same GUID", 3: "same label and definition", 2: "same definition", 1: "same label"}
    old_to_new = {k: k for k in old_nodes if k in new_nodes} | renamed

    result: dict[str, list] = {"added": [], "removed": [], "renamed": [], "moved": [], "redefined": []}
    for key in fresh:
        if key not in taken:
            result["added"].append({"key": key, "label": new_nodes[key]["label"], "parent": new_nodes[key]["parent"]})
    for key in gone:
        if key not in renamed:
            result["removed"].append({"key": key, "label": old_nodes[key]["label"]})
    for old_key, new_key in renamed.items():
        result["renamed"].append({"old": old_key, "new": new_key, "label": new_nodes[new_key]["label"],
                                  "evidence": reasons[evidence(old_nodes[old_key], new_nodes[new_key])]})
    for old_key, new_key in old_to_new.items():
        a, b = old_nodes[old_key], new_nodes[new_key]
        old_parent = old_to_new.get(a["parent"], a["parent"]) if a["parent"] else None
        if old_parent != b["parent"]:
            result["moved"].append({"key": new_key, "old_parent": a["parent"], "new_parent": b["parent"]})
        fields = [f for f in compared if a[f] != b[f]]
        if fields:
            result["redefined"].append({"key": new_key, "fields": fields})
    return result
