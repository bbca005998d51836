"""The codebook's two forms: the project's stored tree (``CodeTree`` over the ``codes``
table) and a codebook as read from a file (``Codebook``, one form for every format).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field

from qualcode.errors import NotFound


@dataclass
class CodeNode:
    code_id: int
    key: str
    label: str
    parent_key: str | None
    position: int = 0
    definition: str | None = None
    include: str | None = None
    exclude: str | None = None
    examples: list[str] = field(default_factory=list)
    memo: str | None = None
    rules: dict | None = None
    active: bool = True
    children: list[str] = field(default_factory=list)
    color: str | None = None
    guid: str | None = None


class CodeTree:
    """The stored code tree, with the walks every report needs."""

    def __init__(self, nodes: list[CodeNode]):
        self.by_key: dict[str, CodeNode] = {n.key: n for n in nodes}
        self.by_id: dict[int, CodeNode] = {n.code_id: n for n in nodes}
        for node in sorted(nodes, key=lambda n: (n.position, n.key)):
            if node.parent_key is not None and node.parent_key in self.by_key:
                self.by_key[node.parent_key].children.append(node.key)
        self.roots = [n.key for n in sorted(nodes, key=lambda n: (n.position, n.key))
                      if n.parent_key is None or n.parent_key not in self.by_key]

    def __contains__(self, key: str) -> bool:
        return key in self.by_key

    def __len__(self) -> int:
        return len(self.by_key)

    def node(self, key: str) -> CodeNode:
        try:
            return self.by_key[key]
        except KeyError:
            raise NotFound(f"no code '{key}' in the project's codebook; 'qualcode codebook show' lists the keys") from None

    def preorder(self) -> list[str]:
        """Every key, parents before children, siblings in codebook order."""
        order: list[str] = []

        def walk(key: str) -> None:
            order.append(key)
            for child in self.by_key[key].children:
                walk(child)

        for root in self.roots:
            walk(root)
        return order

    def descendants(self, key: str, include_self: bool = True) -> list[str]:
        """``key`` and everything beneath it, in preorder."""
        self.node(key)
        out: list[str] = [key] if include_self else []
        stack = list(reversed(self.by_key[key].children))
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(reversed(self.by_key[current].children))
        return out

    def path(self, key: str) -> list[str]:
        """Keys from the root down to ``key``."""
        out = [key]
        node = self.node(key)
        seen = {key}
        while node.parent_key is not None and node.parent_key in self.by_key and node.parent_key not in seen:
            seen.add(node.parent_key)
            out.append(node.parent_key)
            node = self.by_key[node.parent_key]
        return list(reversed(out))

    def depth(self, key: str) -> int:
        """1 for a top-level theme, 2 beneath it, …"""
        return len(self.path(key))

    def leaves(self) -> list[str]:
        return [k for k in self.preorder() if not self.by_key[k].children]

    def label_path(self, key: str, separator: str = " > ") -> str:
        return separator.join(self.by_key[k].label for k in self.path(key))


def load_tree(conn: sqlite3.Connection, *, include_inactive: bool = False) -> CodeTree:
    """The project's current code tree."""
    rows = conn.execute(
        "SELECT c.*, p.key AS parent_key FROM codes c LEFT JOIN codes p ON p.code_id = c.parent_id"
        + ("" if include_inactive else " WHERE c.active = 1")
    ).fetchall()
    nodes = [
        CodeNode(
            code_id=r["code_id"], key=r["key"], label=r["label"], parent_key=r["parent_key"],
            position=r["position"], definition=r["definition"], include=r["include"], exclude=r["exclude"],
            examples=json.loads(r["examples"] or "[]"), memo=r["memo"],
            rules=json.loads(r["rules"]) if r["rules"] else None, active=bool(r["active"]),
            color=r["color"], guid=r["guid"],
        )
        for r in rows
    ]
    return CodeTree(nodes)


def current_version_id(conn: sqlite3.Connection) -> int | None:
    """The codebook version most recently imported into the project, if any."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'codebook_version'").fetchone()
    return int(row[0]) if row else None


def store_nodes(conn: sqlite3.Connection, nodes: list[dict]) -> dict[str, int]:
    """Insert or update code-tree nodes by key; return ``{key: code_id}``.

    Each node dict has key and label, and optionally parent (a key), definition,
    include, exclude, examples (list), memo, rules (dict), color, guid. Nodes are
    stored in the given order (which becomes their position among siblings);
    a parent must come before its children. Call inside a transaction.
    """
    ids: dict[str, int] = {}
    for position, node in enumerate(nodes):
        parent = node.get("parent")
        parent_id = None
        if parent is not None:
            parent_id = ids.get(parent)
            if parent_id is None:
                row = conn.execute("SELECT code_id FROM codes WHERE key = ?", (parent,)).fetchone()
                if row is None:
                    raise NotFound(f"code '{node['key']}' names an unknown parent '{parent}'")
                parent_id = row[0]
        values = (
            node["label"], parent_id, position, node.get("definition"), node.get("include"), node.get("exclude"),
            json.dumps(list(node.get("examples") or []), ensure_ascii=False), node.get("memo"),
            json.dumps(node["rules"], ensure_ascii=False) if node.get("rules") else None,
            node.get("color"), node.get("guid"),
        )
        row = conn.execute("SELECT code_id FROM codes WHERE key = ?", (node["key"],)).fetchone()
        if row:
            conn.execute(
                "UPDATE codes SET label=?, parent_id=?, position=?, definition=?, include=?, exclude=?, examples=?,"
                " memo=?, rules=?, color=?, guid=COALESCE(?, guid), active=1 WHERE code_id=?",
                (*values, row[0]),
            )
            ids[node["key"]] = row[0]
        else:
            ids[node["key"]] = conn.execute(
                "INSERT INTO codes (label, parent_id, position, definition, include, exclude, examples, memo, rules,"
                " color, guid, key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, node["key"]),
            ).lastrowid
    return ids


# --------------------------------------------------------------------------
# the codebook as a file: one in-memory form for every format
# --------------------------------------------------------------------------

NODE_FIELDS = ("key", "label", "parent", "definition", "include", "exclude", "examples", "memo", "color", "guid",
               "rules", "children", "exclusive")
RULE_FIELDS = ("phrases", "patterns", "regex", "unless", "speakers", "roles")
TOP_FIELDS = ("name", "description", "version", "language", "codes")
UNIT_ROLES = ("respondent", "interviewer", "other")
DEFAULT_ROLES = ("respondent",)


def regex_flags():
    """Regular expressions in rules are matched case-insensitively (like phrases); ``(?-i)`` inside a
    pattern turns that off."""
    import regex

    return regex.IGNORECASE


@dataclass
class Codebook:
    """A codebook read from a file or a stored version.

    ``nodes`` are dicts in ``store_nodes`` format (key, label, parent,
    definition, include, exclude, examples, memo, rules, color, guid), parents
    before children. ``content_hash`` identifies the content whatever file
    format it came from.
    """

    name: str | None
    description: str | None
    version_note: str | None
    nodes: list[dict]
    source_format: str
    content_hash: str = ""
    language: str | None = None

    def __post_init__(self) -> None:
        self.nodes = [normalise_node(n) for n in self.nodes]
        if not self.content_hash:
            self.content_hash = hashlib.sha256(self.content_json().encode("utf-8")).hexdigest()

    def canonical(self) -> dict:
        """The content that identifies a version (not the file format or layout)."""
        return {"name": self.name, "description": self.description, "version": self.version_note,
                "language": self.language, "codes": self.nodes}

    def content_json(self) -> str:
        return json.dumps(self.canonical(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    def keys(self) -> list[str]:
        return [n["key"] for n in self.nodes]

    def node(self, key: str) -> dict:
        for node in self.nodes:
            if node["key"] == key:
                return node
        raise NotFound(f"no code '{key}' in the codebook '{self.name or ''}'")

    def rule_count(self) -> int:
        return sum(count_rules(n.get("rules")) for n in self.nodes)


def count_rules(rules: dict | None) -> int:
    """Number of positive rules (phrases, patterns, regex) in a rules dict."""
    if not rules:
        return 0
    return sum(len(rules.get(kind) or []) for kind in ("phrases", "patterns", "regex"))


def normalise_node(node: dict) -> dict:
    """A node dict with every field present, in a fixed order, empty values as None/[]."""
    def text(value):
        if value is None:
            return None
        value = str(value).strip()
        return value or None

    rules = node.get("rules") or None
    if rules:
        rules = {kind: rules[kind] for kind in RULE_FIELDS if rules.get(kind)} or None
    # "exclusive" (the children are mutually exclusive categories) is kept only when true, so the content,
    # and so the version hash, of a codebook without it is what it was before the field existed
    exclusive = {"exclusive": True} if node.get("exclusive") is True else {}
    return {
        "key": str(node["key"]).strip(),
        "label": text(node.get("label")) or "",
        "parent": text(node.get("parent")),
        "definition": text(node.get("definition")),
        "include": text(node.get("include")),
        "exclude": text(node.get("exclude")),
        "examples": [str(e).strip() for e in (node.get("examples") or []) if str(e).strip()],
        "memo": text(node.get("memo")),
        "rules": rules,
        "color": text(node.get("color")),
        "guid": text(node.get("guid")),
        **exclusive,
    }
