"""REFI-QDA codebooks (.qdc): codes read into a codebook with keys made from
their paths, and the project's code tree written as ``Codebook.xsd`` asks.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from qualcode import store
from qualcode.errors import CodebookError, InputError, RefiError
from qualcode.refi.common import (
    CODEBOOK_NS,
    CODEBOOK_NS_PREFIX,
    RGB_RE,
    add_description,
    child_element,
    child_elements,
    element_text,
    ensure_guids,
    local_name,
    normalise_guid,
    parse_xml,
    serialise_xml,
    slug,
    xml_element,
)


# -- the codebook ------------------------------------------------------------------------------

@dataclass
class RefiCode:
    guid: str | None
    name: str
    description: str | None
    color: str | None
    parent: "RefiCode | None"
    codable: bool = True
    key: str | None = None

    def path_names(self) -> list[str]:
        names, node = [], self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return list(reversed(names))


def read_codes(codes_element) -> list[RefiCode]:
    """All ``Code`` elements under ``Codes``, parents before children."""
    result: list[RefiCode] = []

    def walk(element, parent):
        for code_element in child_elements(element, "Code"):
            name = code_element.get("name")
            guid = normalise_guid(code_element.get("guid"))
            color = code_element.get("color")
            code = RefiCode(
                guid=guid,
                name=(name if name is not None and name.strip() else (guid or "code")),
                description=element_text(child_element(code_element, "Description")),
                color=color if color and RGB_RE.match(color) else None,
                parent=parent,
                codable=(code_element.get("isCodable", "true").strip().lower() not in ("false", "0")),
            )
            result.append(code)
            walk(code_element, code)

    if codes_element is not None:
        walk(codes_element, None)
    return result


def unique_key(base: str, taken: set[str]) -> str:
    """``base``, or ``base_2``, ``base_3``, … whichever is not in ``taken`` yet; it is added to ``taken``."""
    key, number = base, 2
    while key in taken:
        key = f"{base}_{number}"
        number += 1
    taken.add(key)
    return key


def _assign_keys(codes: list[RefiCode], taken: set[str]) -> None:
    """Key each code with the slug of its path (``parent.child``), unique against ``taken``."""
    for code in codes:
        base = ".".join(slug(name) for name in code.path_names()) if code.parent is None else (
            f"{code.parent.key}.{slug(code.name)}")
        code.key = unique_key(base, taken)


def _nodes_from_codes(codes: list[RefiCode]) -> list[dict]:
    return [
        {"key": c.key, "label": c.name, "parent": c.parent.key if c.parent else None, "definition": c.description,
         "include": None, "exclude": None, "examples": [], "memo": None, "rules": None, "color": c.color,
         "guid": c.guid}
        for c in codes
    ]


def read_qdc(path: Path | str):
    """Read a REFI-QDA codebook (.qdc) into a ``qualcode.codebook.Codebook``.

    Nodes are in ``codebook.store_nodes`` format, parents first; keys are slugs
    of the code path. Accepts the namespace variants seen in the wild
    (``urn:QDA-XML:codebook:1.0``, ``…:1:0``, ``…:0:4``), BOMs, uppercase
    GUIDs and an empty ``<Sets/>``. Raises CodebookError for a file that is not
    a codebook or is damaged.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path} does not exist; check the path") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    try:
        root = parse_xml(data, str(path))
    except RefiError as exc:
        raise CodebookError(str(exc)) from None
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    if local_name(root.tag) != "CodeBook" or (namespace and not namespace.startswith(CODEBOOK_NS_PREFIX)):
        what = "a REFI-QDA project" if local_name(root.tag) == "Project" else f"a <{local_name(root.tag)}> document"
        raise CodebookError(
            f"{path} is {what}, not a REFI-QDA codebook (<CodeBook> in {CODEBOOK_NS}); give a .qdc file"
        )
    codes = read_codes(child_element(root, "Codes"))
    if not codes:
        raise CodebookError(f"{path} has no codes; export the codebook again from the program that made it")
    _assign_keys(codes, set())
    nodes = _nodes_from_codes(codes)
    origin = root.get("origin")
    from qualcode.codebook.model import Codebook

    return Codebook(
        name=path.stem,
        description=f"REFI-QDA codebook from {origin}" if origin else "REFI-QDA codebook",
        version_note=None,
        nodes=nodes,
        source_format="qdc",
    )


def code_elements(parent, tree, code_guids: dict[int, str], namespace: str, keys: list[str] | None = None,
                   with_codable=True) -> int:
    """Nested ``Code`` elements for ``keys`` (the roots by default); returns how many were written."""
    written = 0
    for key in keys if keys is not None else tree.roots:
        node = tree.by_key[key]
        element = xml_element(parent, "Code", namespace, guid=code_guids[node.code_id], name=node.label,
                           isCodable="true", color=node_color(tree, key))
        add_description(element, node.definition, namespace)
        written += 1 + code_elements(element, tree, code_guids, namespace, node.children)
    return written


def node_color(tree, key: str) -> str | None:
    color = getattr(tree.by_key[key], "color", None)
    return color if color and RGB_RE.match(color) else None


def load_export_tree(conn):
    """The code tree for export: active codes, plus inactive ones that carry codings, with colours."""
    from qualcode.codebook.model import load_tree

    tree = load_tree(conn, include_inactive=True)
    used = {r[0] for r in conn.execute("SELECT DISTINCT code_id FROM codings")}
    colors = {r[0]: r[1] for r in conn.execute("SELECT code_id, color FROM codes")}
    keep = {node.key for node in tree.by_key.values() if node.active or node.code_id in used}
    # keep the ancestors of every kept node so the hierarchy stays whole
    for key in list(keep):
        keep.update(tree.path(key))
    from qualcode.codebook.model import CodeTree

    nodes = [tree.by_key[k] for k in keep]
    for node in nodes:
        node.children = []
        node.color = colors.get(node.code_id)
    return CodeTree(nodes)


def write_qdc(conn: sqlite3.Connection, path: Path | str, force: bool = False) -> Path:
    """Write the project's code tree as a REFI-QDA codebook (.qdc) valid against Codebook.xsd.

    Codes keep their GUIDs (new ones are stored back, so re-exports match),
    labels become names, definitions descriptions, and the hierarchy nests.
    """
    from qualcode import __version__
    from qualcode.exports import atomic_write, check_overwrite

    path = check_overwrite(path, force)  # before GUIDs are stored and the XML is built
    with store.transaction(conn):
        tree = load_export_tree(conn)
        if not tree.roots:
            raise CodebookError("the project has no codes to export; import a codebook first")
        code_guids = ensure_guids(conn, "codes", "code_id", {n.code_id for n in tree.by_key.values()})
        root = xml_element(None, "CodeBook", CODEBOOK_NS, origin=f"qualcode {__version__}")
        codes_element = xml_element(root, "Codes", CODEBOOK_NS)
        code_elements(codes_element, tree, code_guids, CODEBOOK_NS)
        data = serialise_xml(root, CODEBOOK_NS)
        with atomic_write(path, force) as tmp:
            tmp.write_bytes(data)
    return path
