"""Codebooks: a hierarchy of themes → subthemes → codes.

The project's current tree lives in the ``codes`` table (every node — theme,
subtheme or code — is a row with a parent). Each imported codebook is also
kept whole in ``codebook_versions``, keyed by the hash of its content; every
coding records the version it was made with.
"""

from __future__ import annotations

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
