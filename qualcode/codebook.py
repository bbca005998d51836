"""Codebooks: a hierarchy of themes → subthemes → codes.

The project's current tree lives in the ``codes`` table (every node — theme,
subtheme or code — is a row with a parent). Each imported codebook is also
kept whole in ``codebook_versions``, keyed by the hash of its content; every
coding records the version it was made with.

A codebook file is YAML (the format documented in docs/codebook-format.md),
a spreadsheet (.xlsx or .csv with key, label, parent, definition, include,
exclude … columns) or a REFI-QDA codebook (.qdc, read by ``qualcode.refi``).
Every file goes through one validation that reports problems with their place
in the file: line and column for YAML, sheet and cell for spreadsheets.

References inside a codebook — the only ones that can be wrong — are:

- ``parent: KEY`` on a node of a flat list (nesting under ``children`` sets
  the parent implicitly); parents must not form a cycle;
- ``unless: [{code: KEY}]`` in a rule: the code is vetoed in a sentence where
  the code KEY applies; these references must not form a cycle either
  (two codes vetoing each other would have no defined result).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from qualcode import store
from qualcode.errors import CodebookError, InputError, NotFound

# --------------------------------------------------------------------------
# the stored tree (used by every report)
# --------------------------------------------------------------------------


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


class Where(NamedTuple):
    """A place in a codebook file: text for messages, and line/column for YAML."""

    text: str
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class Problem:
    where: Where
    message: str

    def __str__(self) -> str:
        return f"{self.where.text}: {self.message}"

    @property
    def line(self) -> int | None:
        return self.where.line

    @property
    def column(self) -> int | None:
        return self.where.column


class MarkedMap(dict):
    """A mapping that remembers where it and each of its keys and values are in the file."""

    def __init__(self, where: Where):
        super().__init__()
        self.where = where
        self.key_where: dict = {}
        self.value_where: dict = {}
        self.value_source: dict = {}  # the text of plain scalars as written (YAML reads `yes` as True)

    def text_of(self, key) -> str:
        return self.value_source.get(key, str(self[key]))

    def at(self, key) -> Where:
        return self.value_where.get(key, self.where)

    def key_at(self, key) -> Where:
        return self.key_where.get(key, self.where)


class MarkedList(list):
    """A list that remembers where it and each item are in the file."""

    def __init__(self, where: Where):
        super().__init__()
        self.where = where
        self.item_where: list[Where] = []
        self.item_source: dict[int, str] = {}

    def text_of(self, index: int) -> str:
        return self.item_source.get(index, str(self[index]))

    def at(self, index: int) -> Where:
        return self.item_where[index] if index < len(self.item_where) else self.where


def _plain(value):
    """MarkedMap/MarkedList → plain dict/list (for storing as JSON)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


# -- YAML ---------------------------------------------------------------------

def _yaml_where(path_text: str, mark) -> Where:
    return Where(f"{path_text}:{mark.line + 1}:{mark.column + 1}", mark.line + 1, mark.column + 1)


def _read_yaml(path: Path, text: str, problems: list[Problem]):
    """Compose the YAML (keeping node positions) and convert it to Marked containers."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        where = _yaml_where(str(path), mark) if mark else Where(str(path))
        problems.append(Problem(where, f"malformed YAML: {what}; fix the indentation or quoting there"))
        return None
    except yaml.YAMLError as exc:
        problems.append(Problem(Where(str(path)), f"malformed YAML: {type(exc).__name__}"))
        return None
    if root is None:
        problems.append(Problem(Where(str(path)), "the file is empty; a codebook needs at least 'codes:'"))
        return None
    constructor = yaml.SafeLoader("")

    def convert(node):
        where = _yaml_where(str(path), node.start_mark)
        if isinstance(node, yaml.MappingNode):
            result = MarkedMap(where)
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    problems.append(Problem(_yaml_where(str(path), key_node.start_mark),
                                            "a mapping key must be a plain word"))
                    continue
                key = constructor.construct_object(key_node, deep=True)
                key_where = _yaml_where(str(path), key_node.start_mark)
                if key in result:
                    first = result.key_where[key]
                    problems.append(Problem(key_where, f"duplicate field '{key}' (already given at line {first.line});"
                                                       " keep one"))
                    continue
                result[key] = convert(value_node)
                if isinstance(value_node, yaml.ScalarNode):
                    result.value_source[key] = value_node.value
                result.key_where[key] = key_where
                result.value_where[key] = _yaml_where(str(path), value_node.start_mark)
            return result
        if isinstance(node, yaml.SequenceNode):
            result = MarkedList(where)
            for item in node.value:
                if isinstance(item, yaml.ScalarNode):
                    result.item_source[len(result)] = item.value
                result.append(convert(item))
                result.item_where.append(_yaml_where(str(path), item.start_mark))
            return result
        try:
            value = constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            problems.append(Problem(where, f"unreadable value ({getattr(exc, 'problem', None) or exc})"))
            return None
        if value is not None and not isinstance(value, (str, int, float, bool)):
            value = str(value)  # dates and the like: keep them as written text
        return value

    return convert(root)


def _read_utf8(path: Path, problems: list[Problem], what: str) -> str | None:
    """The file's text (a UTF-8 BOM dropped), or None with a problem saying how to save ``what`` as UTF-8."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(Problem(Where(str(path)), f"not UTF-8 text (byte {exc.start}); save {what} as UTF-8"))
        return None


def _parse_yaml_codebook(path: Path, problems: list[Problem]):
    text = _read_utf8(path, problems, "the file")
    if text is None:
        return None
    data = _read_yaml(path, text, problems)
    if data is None:
        return None
    if not isinstance(data, MarkedMap):
        problems.append(Problem(getattr(data, "where", Where(str(path))),
                                "the file must be a mapping with name, description, version and codes"))
        return None
    for key in data:
        if key not in TOP_FIELDS:
            problems.append(Problem(data.key_at(key), f"unknown field '{key}'{_suggest(key, TOP_FIELDS)};"
                                                      f" the top level takes {', '.join(TOP_FIELDS)}"))
    codes = data.get("codes")
    if codes is None:
        problems.append(Problem(data.where, "no 'codes:' list; add the tree of codes under 'codes:'"))
        codes = MarkedList(data.where)
    elif not isinstance(codes, list):
        problems.append(Problem(data.at("codes"), "'codes' must be a list of codes (each starting with '- key:')"))
        codes = MarkedList(data.where)
    raw_nodes: list[MarkedMap] = []

    def flatten(items, parent_key, nested: bool):
        for index, item in enumerate(items):
            if not isinstance(item, MarkedMap):
                problems.append(Problem(items.at(index) if isinstance(items, MarkedList) else data.where,
                                        "each code must be a mapping with at least key and label"))
                continue
            if nested:
                if "parent" in item and item.get("parent") != parent_key:
                    problems.append(Problem(item.at("parent"),
                                            f"'parent: {item.get('parent')}' contradicts the nesting under"
                                            f" '{parent_key}'; remove the parent field"))
                item["_nested_parent"] = parent_key
            raw_nodes.append(item)
            children = item.get("children")
            if children is None:
                continue
            if not isinstance(children, list):
                problems.append(Problem(item.at("children"), "'children' must be a list of codes"))
                continue
            key = item.get("key")
            flatten(children, None if key is None else str(key), True)

    flatten(codes, None, False)
    meta = {field_name: (data.text_of(field_name) if isinstance(data.get(field_name), (int, float)) else
                         data.get(field_name)) for field_name in ("name", "description", "version", "language")}
    meta_where = {field_name: data.at(field_name) for field_name in meta}
    return meta, meta_where, raw_nodes


# -- spreadsheets ---------------------------------------------------------------

SHEET_COLUMNS = ("key", "label", "parent", "definition", "include", "exclude", "examples", "memo", "color",
                 "phrases", "patterns", "regex", "unless", "speakers", "roles", "guid")
LIST_COLUMNS = ("examples", "phrases", "regex")  # one item per line in the cell
NAME_LIST_COLUMNS = ("speakers", "roles")  # comma- or line-separated


def _unneutralise(value):
    """Undo safe_cell's apostrophe so a codebook survives an xlsx/csv round trip."""
    if isinstance(value, str) and value.startswith("'") and value[1:2] and value[1] in "=+-@\t\r":
        return value[1:]
    return value


def _table_rows_to_nodes(path: Path, header: list, rows: list[tuple[int, list]], where_of, problems: list[Problem]):
    """Spreadsheet rows → Marked nodes. ``where_of(row_number, column_index)`` gives a cell's place."""
    columns = {}
    for index, name in enumerate(header):
        name = str(name or "").strip().lower()
        if not name:
            continue
        if name not in SHEET_COLUMNS:
            problems.append(Problem(where_of(1, index), f"unknown column '{name}'{_suggest(name, SHEET_COLUMNS)};"
                                                        f" columns are {', '.join(SHEET_COLUMNS)}"))
            continue
        columns[name] = index
    for required in ("key", "label"):
        if required not in columns:
            problems.append(Problem(where_of(1, 0), f"no '{required}' column; the first row must name the columns"
                                                    " (key, label, parent, definition, include, exclude …)"))
    if problems:
        return []
    nodes = []
    for row_number, cells in rows:
        def cell(name):
            index = columns.get(name)
            if index is None or index >= len(cells):
                return None
            value = _unneutralise(cells[index])
            if isinstance(value, str):
                value = value.strip()
                return value or None
            return value

        if all(cell(name) is None for name in columns):
            continue  # blank row
        node = MarkedMap(where_of(row_number, columns["key"]))
        rules = MarkedMap(where_of(row_number, columns["key"]))
        for name, index in columns.items():
            value = cell(name)
            if value is None:
                continue
            where = where_of(row_number, index)
            target = rules if name in RULE_FIELDS else node
            if name in LIST_COLUMNS:
                items = MarkedList(where)
                for line in str(value).splitlines():
                    if line.strip():
                        items.append(line.strip())
                        items.item_where.append(where)
                value = items
            elif name in NAME_LIST_COLUMNS:
                items = MarkedList(where)
                for part in str(value).replace("\n", ",").split(","):
                    if part.strip():
                        items.append(part.strip())
                        items.item_where.append(where)
                value = items
            elif name in ("patterns", "unless"):
                value = _cell_rule_list(name, str(value), where, problems)
                if value is None:
                    continue
            target[name] = value
            target.value_where[name] = where
            target.key_where[name] = where
        if rules:
            node["rules"] = rules
            node.value_where["rules"] = rules.where
        nodes.append(node)
    return nodes


def _marked_from_json(value, where: Where):
    if isinstance(value, dict):
        result = MarkedMap(where)
        for k, v in value.items():
            result[k] = _marked_from_json(v, where)
            result.value_where[k] = where
            result.key_where[k] = where
        return result
    if isinstance(value, list):
        result = MarkedList(where)
        for v in value:
            result.append(_marked_from_json(v, where))
            result.item_where.append(where)
        return result
    return value


def _cell_rule_list(name: str, text: str, where: Where, problems: list[Problem]):
    """A patterns cell holds JSON (a list of token patterns); an unless cell holds one item per line:
    a phrase, ``code: KEY``, or a JSON token pattern starting with '['."""
    if name == "patterns":
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(Problem(where, f"the patterns cell is not JSON ({exc.msg} at character {exc.pos + 1});"
                                           ' write e.g. [[{"LEMMA": "wait"}, {"LOWER": "list"}]]'))
            return None
        if isinstance(value, list) and value and all(isinstance(t, dict) for t in value):
            value = [value]  # a single pattern
        return _marked_from_json(value, where)
    items = MarkedList(where)
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("["):
            try:
                items.append(_marked_from_json(json.loads(line), where))
            except json.JSONDecodeError as exc:
                problems.append(Problem(where, f"an unless pattern is not JSON ({exc.msg})"))
                continue
        elif line.lower().startswith("code:"):
            ref = MarkedMap(where)
            ref["code"] = line[5:].strip()
            items.append(ref)
        else:
            items.append(line)
        items.item_where.append(where)
    return items


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _parse_xlsx_codebook(path: Path, problems: list[Problem]):
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a bad file
        problems.append(Problem(Where(str(path)), f"not a readable Excel workbook ({type(exc).__name__});"
                                                  " save it as .xlsx"))
        return None
    try:
        sheet_name = next((n for n in workbook.sheetnames if n.lower() == "codes"), workbook.sheetnames[0])
        sheet = workbook[sheet_name]
        all_rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        meta: dict = {}
        meta_where: dict = {}
        about = next((n for n in workbook.sheetnames if n.lower() == "about"), None)
        if about:
            for number, row in enumerate(workbook[about].iter_rows(values_only=True), start=1):
                if row and row[0] and str(row[0]).strip().lower() in ("name", "description", "version", "language"):
                    field_name = str(row[0]).strip().lower()
                    meta[field_name] = _unneutralise(row[1]) if len(row) > 1 else None
                    meta_where[field_name] = Where(f"{path}, sheet {about}, cell B{number}")
    finally:
        workbook.close()
    if not all_rows:
        problems.append(Problem(Where(f"{path}, sheet {sheet_name}"), "the sheet is empty"))
        return None

    def where_of(row_number, column_index):
        return Where(f"{path}, sheet {sheet_name}, cell {_column_letter(column_index)}{row_number}")

    nodes = _table_rows_to_nodes(path, all_rows[0], list(enumerate(all_rows[1:], start=2)), where_of, problems)
    meta.setdefault("name", path.stem)
    return meta, meta_where, nodes


def _parse_csv_codebook(path: Path, problems: list[Problem]):
    from qualcode.tables import CsvError, read_csv

    # the shared reader: UTF-8/UTF-16/Windows-1252, and the semicolons (or sep=; line) of a European Excel
    try:
        table = read_csv(path, what="code")
    except CsvError as exc:
        message = str(exc)
        # the reader's messages start with the file name, which the problem's place already gives
        if message.startswith(f"{path.name}: "):
            message = message[len(path.name) + 2:]
        elif message.startswith(f"{path.name} "):
            message = "the file " + message[len(path.name) + 1:]
        problems.append(Problem(Where(str(path)), message))
        return None
    header = table.header
    numbered = [(row.line, row.cells) for row in table.rows]

    def where_of(row_number, column_index):
        name = header[column_index] if column_index < len(header) else str(column_index + 1)
        return Where(f"{path}, line {row_number}, column {name}", row_number, column_index + 1)

    nodes = _table_rows_to_nodes(path, header, numbered, where_of, problems)
    return {"name": path.stem}, {}, nodes


# -- validation -------------------------------------------------------------------

def _check_language(language, where: Where, problems: list[Problem]) -> str | None:
    if language is None:
        return None
    from qualcode.errors import ProjectError
    from qualcode.project import _check_language as check

    language = str(language).strip()
    try:
        check(language)
    except ProjectError:
        problems.append(Problem(where, f"unsupported language '{language}'; use a spaCy language code such as"
                                       " en, de, fr, es, nl"))
        return None
    return language


def _text_value(node: MarkedMap, name: str, problems: list[Problem]):
    value = node.get(name)
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        problems.append(Problem(node.at(name), f"'{name}' must be text, not a {'list' if isinstance(value, list) else 'mapping'}"))
        return None
    return value if isinstance(value, str) else node.text_of(name)


def _string_list(container: MarkedMap, name: str, problems: list[Problem], what: str) -> list[tuple[str, Where]]:
    value = container.get(name)
    if value is None:
        return []
    if isinstance(value, (str, int, float)):
        return [(value if isinstance(value, str) else container.text_of(name), container.at(name))]
    if not isinstance(value, list):
        problems.append(Problem(container.at(name), f"'{name}' must be a list of {what}"))
        return []
    out = []
    for index, item in enumerate(value):
        where = value.at(index) if isinstance(value, MarkedList) else container.at(name)
        if isinstance(item, (dict, list)) or item is None:
            problems.append(Problem(where, f"each item of '{name}' must be text (one of the {what})"))
            continue
        text = (item if isinstance(item, str) else value.text_of(index)).strip()
        if not text:
            problems.append(Problem(where, f"an empty item in '{name}'; remove it"))
            continue
        out.append((text, where))
    return out


_VOCAB = None


def _pattern_problems(pattern, where: Where) -> list[Problem]:
    """Validate a spaCy Matcher token pattern with spaCy's own schema and Matcher."""
    global _VOCAB
    if not isinstance(pattern, list) or not pattern or not all(isinstance(t, dict) for t in pattern):
        return [Problem(where, "a token pattern must be a non-empty list of token mappings,"
                               " e.g. [{LEMMA: wait}, {LOWER: list}]")]
    from spacy.matcher import Matcher
    from spacy.schemas import validate_token_pattern
    from spacy.vocab import Vocab

    plain = _plain(pattern)
    errors = validate_token_pattern(plain)
    if errors:
        first = errors[0]
        token_where = where
        # "[pattern -> 1 -> FOO] …": point at token 1 when we know where it is
        parts = first.split("->")
        if len(parts) > 1 and parts[1].strip().isdigit() and isinstance(pattern, MarkedList):
            token_where = pattern.at(int(parts[1].strip()))
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return [Problem(token_where, f"spaCy rejects this token pattern: {first}{more}")]
    if _VOCAB is None:
        _VOCAB = Vocab()
    try:
        Matcher(_VOCAB, validate=True).add("check", [plain])
    except Exception as exc:  # spaCy raises ValueError subclasses with multi-line text
        message = " ".join(str(exc).split())
        return [Problem(where, f"spaCy rejects this token pattern: {message[:200]}")]
    return []


def _check_unless_item(item, where: Where, problems: list[Problem]):
    """An unless item: a phrase, a token pattern, or {code: KEY}. Returns the normalised item."""
    if isinstance(item, str):
        return item.strip() or None
    if isinstance(item, list):
        found = _pattern_problems(item, where)
        problems.extend(found)
        return None if found else _plain(item)
    if isinstance(item, dict):
        if set(item) != {"code"} or not str(item.get("code") or "").strip():
            problems.append(Problem(where, "an unless mapping must be {code: KEY} naming a code of this codebook"))
            return None
        return {"code": str(item["code"]).strip()}
    problems.append(Problem(where, "an unless item must be a phrase, a token pattern or {code: KEY}"))
    return None


def _check_rules(node_key: str, rules, where: Where, problems: list[Problem]):
    """Validate one node's rules; return the normalised rules dict (or None)."""
    import regex

    if rules is None:
        return None, []
    if not isinstance(rules, dict):
        problems.append(Problem(where, f"'rules' of '{node_key}' must be a mapping of phrases, patterns, regex, unless,"
                                       " speakers, roles"))
        return None, []
    for name in rules:
        if name not in RULE_FIELDS:
            problems.append(Problem(rules.key_at(name) if isinstance(rules, MarkedMap) else where,
                                    f"unknown rule field '{name}'{_suggest(name, RULE_FIELDS)};"
                                    f" rules take {', '.join(RULE_FIELDS)}"))
    marked = rules if isinstance(rules, MarkedMap) else _marked_from_json(rules, where)
    out: dict = {}
    out["phrases"] = [text for text, _ in _string_list(marked, "phrases", problems, "phrases")]
    out["regex"] = []
    for text, item_where in _string_list(marked, "regex", problems, "regular expressions"):
        try:
            regex.compile(text, regex_flags())
        except regex.error as exc:
            position = f" at character {exc.pos + 1}" if getattr(exc, "pos", None) is not None else ""
            problems.append(Problem(item_where, f"invalid regular expression ({exc.msg}{position})"))
            continue
        out["regex"].append(text)
    patterns = marked.get("patterns")
    out["patterns"] = []
    if patterns is not None:
        if not isinstance(patterns, list):
            problems.append(Problem(marked.at("patterns"), "'patterns' must be a list of token patterns"))
        else:
            if patterns and all(isinstance(t, dict) for t in patterns):
                problems.append(Problem(marked.at("patterns"), "'patterns' must be a list of token patterns (a list"
                                                               " of lists); put this pattern in its own '- [...]' item"))
            else:
                for index, pattern in enumerate(patterns):
                    item_where = patterns.at(index) if isinstance(patterns, MarkedList) else where
                    found = _pattern_problems(pattern, item_where)
                    problems.extend(found)
                    if not found:
                        out["patterns"].append(_plain(pattern))
    references: list[tuple[str, Where]] = []
    unless = marked.get("unless")
    out["unless"] = []
    if unless is not None:
        if not isinstance(unless, list):
            unless_list = MarkedList(marked.at("unless"))
            unless_list.append(unless)
            unless_list.item_where.append(marked.at("unless"))
            unless = unless_list
        for index, item in enumerate(unless):
            item_where = unless.at(index) if isinstance(unless, MarkedList) else where
            normalised = _check_unless_item(item, item_where, problems)
            if normalised is None:
                continue
            if isinstance(normalised, dict):
                references.append((normalised["code"], item_where))
            out["unless"].append(normalised)
    out["speakers"] = [text for text, _ in _string_list(marked, "speakers", problems, "speaker labels")]
    roles = []
    for text, item_where in _string_list(marked, "roles", problems, "roles"):
        if text.lower() not in UNIT_ROLES:
            problems.append(Problem(item_where, f"unknown role '{text}'; roles are {', '.join(UNIT_ROLES)}"))
            continue
        roles.append(text.lower())
    out["roles"] = roles
    out = {k: v for k, v in out.items() if v}
    return (out or None), references


def _find_cycle(edges: dict[str, list[str]]) -> list[str] | None:
    """A cycle in a directed graph as a list of nodes (first repeated at the end), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in edges.get(node, []):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if state.get(target) is None:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in list(edges):
        if state.get(node) is None:
            found = visit(node)
            if found:
                return found
    return None


def _build_codebook(path: Path, source_format: str, meta: dict, meta_where: dict, raw_nodes: list,
                    problems: list[Problem]) -> Codebook | None:
    first_seen: dict[str, Where] = {}
    nodes: list[dict] = []
    node_where: dict[str, MarkedMap] = {}
    references: list[tuple[str, str, Where, str]] = []  # (from key, to key, where, kind)
    for raw in raw_nodes:
        for name in raw:
            if name not in NODE_FIELDS and name != "_nested_parent":
                problems.append(Problem(raw.key_at(name), f"unknown field '{name}'{_suggest(name, NODE_FIELDS)};"
                                                          f" a code takes {', '.join(NODE_FIELDS)}"))
        key = raw.get("key")
        if key is None or isinstance(key, (dict, list)) or not str(key).strip():
            problems.append(Problem(raw.at("key") if "key" in raw else raw.where,
                                    "a code without a key; give every code a short unique key such as 'work.caseload'"))
            continue
        key = str(key).strip()
        if any(ch.isspace() for ch in key):
            problems.append(Problem(raw.at("key"), f"the key '{key}' contains spaces; use dots, dashes or underscores"))
        duplicate = key in first_seen
        if duplicate:
            first = first_seen[key]
            line = f"line {first.line}" if first.line else first.text
            problems.append(Problem(raw.at("key"), f"duplicate code key '{key}' (first defined at {line});"
                                                   " give each code its own key"))
        else:
            first_seen[key] = raw.at("key")
        label = _text_value(raw, "label", problems)
        if label is None or not label.strip():
            problems.append(Problem(raw.at("label") if "label" in raw else raw.where,
                                    f"code '{key}' has an empty label; give it a short human-readable label"))
        examples = raw.get("examples")
        if isinstance(examples, (str, int, float)) and not isinstance(examples, bool):
            examples = [str(examples)]
        elif examples is not None:
            examples = [text for text, _ in _string_list(raw, "examples", problems, "quotations")]
        parent = raw.get("_nested_parent")
        if parent is None and raw.get("parent") is not None:
            parent = str(raw.get("parent")).strip() or None
            if parent is not None:
                references.append((key, parent, raw.at("parent"), "parent"))
        exclusive = raw.get("exclusive", False)
        if not isinstance(exclusive, bool):
            problems.append(Problem(raw.at("exclusive"), f"code '{key}': 'exclusive' must be true or false"))
        rules, rule_refs = _check_rules(key, raw.get("rules"), raw.at("rules"), problems)
        for target, where in rule_refs:
            references.append((key, target, where, "unless"))
        if duplicate:
            continue
        node_where[key] = raw
        nodes.append({
            "key": key, "label": label or "", "parent": parent,
            "definition": _text_value(raw, "definition", problems),
            "include": _text_value(raw, "include", problems),
            "exclude": _text_value(raw, "exclude", problems),
            "examples": examples or [], "memo": _text_value(raw, "memo", problems), "rules": rules,
            "color": _text_value(raw, "color", problems), "guid": _text_value(raw, "guid", problems),
            **({"exclusive": True} if exclusive is True else {}),
        })
    known = set(first_seen)
    parent_edges: dict[str, list[str]] = {}
    unless_edges: dict[str, list[str]] = {}
    edge_where: dict[tuple[str, str, str], Where] = {}
    for source, target, where, kind in references:
        edge_where.setdefault((kind, source, target), where)
        if target not in known:
            what = f"an unknown parent '{target}'" if kind == "parent" else f"an unknown code '{target}' in 'unless'"
            problems.append(Problem(where, f"code '{source}' names {what}{_suggest(target, known)};"
                                           " define that code or fix the key"))
            continue
        (parent_edges if kind == "parent" else unless_edges).setdefault(source, []).append(target)
    for edges, kind, what in ((parent_edges, "parent", "parents"), (unless_edges, "unless", "'unless' code references")):
        cycle = _find_cycle(edges)
        if cycle:
            where = edge_where[(kind, cycle[0], cycle[1])]
            problems.append(Problem(where, f"the {what} form a cycle: {' → '.join(cycle)}; break it"))
    if not nodes and not problems:
        problems.append(Problem(Where(str(path)), "the codebook has no codes"))
    language = _check_language(meta.get("language"), meta_where.get("language", Where(str(path))), problems)
    for name in ("name", "description", "version"):
        if isinstance(meta.get(name), (dict, list)):
            problems.append(Problem(meta_where.get(name, Where(str(path))), f"'{name}' must be text"))
            meta[name] = None
    if problems:
        return None
    nodes = _parents_first(nodes)
    return Codebook(
        name=None if meta.get("name") is None else str(meta["name"]),
        description=None if meta.get("description") is None else str(meta["description"]),
        version_note=None if meta.get("version") is None else str(meta["version"]),
        nodes=nodes, source_format=source_format, language=language,
    )


def _parents_first(nodes: list[dict]) -> list[dict]:
    """Reorder so every parent precedes its children (stable otherwise; input is acyclic)."""
    by_key = {n["key"]: n for n in nodes}
    placed: set[str] = set()
    ordered: list[dict] = []

    def place(node: dict) -> None:
        if node["key"] in placed:
            return
        parent = node.get("parent")
        if parent in by_key and parent not in placed:
            place(by_key[parent])
        placed.add(node["key"])
        ordered.append(node)

    for node in nodes:
        place(node)
    # preorder: a flat file's children follow their parent, like a nested one
    children: dict[str | None, list[dict]] = {}
    for node in ordered:
        children.setdefault(node.get("parent"), []).append(node)
    result: list[dict] = []

    def walk(parent):
        for child in children.get(parent, []):
            result.append(child)
            walk(child["key"])

    walk(None)
    return result


PARSERS = {
    ".yaml": ("yaml", _parse_yaml_codebook),
    ".yml": ("yaml", _parse_yaml_codebook),
    ".xlsx": ("xlsx", _parse_xlsx_codebook),
    ".csv": ("csv", _parse_csv_codebook),
}


def read_codebook_file(path: Path | str) -> tuple[Codebook | None, list[Problem]]:
    """Parse and validate a codebook file; return the codebook (None if invalid) and every problem found."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in PARSERS and suffix != ".qdc":
        return None, [Problem(Where(str(path)), f"cannot read '{suffix or 'no suffix'}' codebooks; use .yaml, .xlsx,"
                                                " .csv or .qdc")]
    if not path.is_file():
        return None, [Problem(Where(str(path)), "no such file")]
    if suffix == ".qdc":
        from qualcode.errors import QualcodeError
        from qualcode.refi import read_qdc

        try:
            return read_qdc(path), []
        except QualcodeError as exc:
            message = str(exc)
            # the reader's messages start with the path, which the problem's place already gives
            if message.startswith(f"{path} "):
                message = "the file " + message[len(str(path)) + 1:]
            return None, [Problem(Where(str(path)), message)]
    source_format, parser = PARSERS[suffix]
    problems: list[Problem] = []
    parsed = parser(path, problems)
    if parsed is None:
        return None, problems
    meta, meta_where, raw_nodes = parsed
    codebook = _build_codebook(path, source_format, meta, meta_where, raw_nodes, problems)
    problems.sort(key=lambda p: (p.where.line or 0, p.where.column or 0))
    return codebook, problems


def validate_codebook_file(path: Path | str) -> list[Problem]:
    """Every problem in a codebook file (an empty list when it is valid)."""
    return read_codebook_file(path)[1]


def load_codebook_file(path: Path | str) -> Codebook:
    """Parse and validate a codebook file (.yaml, .xlsx, .csv, .qdc); CodebookError on the first problem."""
    codebook, problems = read_codebook_file(path)
    if problems:
        more = f" ({len(problems) - 1} more problems: run 'qualcode codebook validate {path}')" if len(problems) > 1 else ""
        raise CodebookError(f"{problems[0]}{more}")
    assert codebook is not None
    return codebook


# --------------------------------------------------------------------------
# the codebook in a project: import, versions, current tree
# --------------------------------------------------------------------------

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


def _normal_guid(value: str | None) -> str | None:
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
               if (g := _normal_guid(n.get("guid"))) and g in key_by_guid}
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
    by_guid = {_normal_guid(n.guid): n for n in existing.by_key.values() if _normal_guid(n.guid)}
    renames: dict[int, str] = {}
    kept = 0
    if codebook.source_format in KEYLESS_FORMATS:
        codebook = rekey_by_guid(codebook, {g: n.key for g, n in by_guid.items()}, set(existing.by_key))
        nodes = []
        matched = 0
        for node in codebook.nodes:
            stored = existing.by_key.get(node["key"])
            if stored is not None and _normal_guid(stored.guid) == _normal_guid(node["guid"]):
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
        stored = by_guid.get(_normal_guid(node["guid"]))
        if stored is None or stored.key == node["key"]:
            continue
        # the file's key is free (no stored code has it) and the stored key is not used by the file
        if node["key"] not in existing and stored.key not in file_keys:
            renames[stored.code_id] = node["key"]
    return codebook, renames, kept


def _one_transaction(function):
    """Run a function that writes through ``conn`` in one transaction (the caller's, when it has one open),
    so a library caller without ``project.transaction()`` cannot be left with half a change."""
    import functools

    @functools.wraps(function)
    def in_transaction(conn: sqlite3.Connection, *args, **kwargs):
        with store.transaction(conn):
            return function(conn, *args, **kwargs)

    return in_transaction


@_one_transaction
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
        _replace_code_references(conn, {old_key}, key)
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


def _snapshot(conn: sqlite3.Connection, source_format: str) -> int:
    """Store the tree as it now is as a new version (after a rename or merge) and make it current."""
    return _store_version(conn, dataclass_replace(project_codebook(conn), source_format=source_format))


def dataclass_replace(codebook: Codebook, **changes) -> Codebook:
    values = {"name": codebook.name, "description": codebook.description, "version_note": codebook.version_note,
              "nodes": codebook.nodes, "source_format": codebook.source_format, "language": codebook.language}
    values.update(changes)
    return Codebook(**values)


def _code_row(conn: sqlite3.Connection, key: str):
    row = conn.execute("SELECT code_id, key, label, parent_id, active, rules FROM codes WHERE key = ?",
                       (key,)).fetchone()
    if row is None:
        known = [r[0] for r in conn.execute("SELECT key FROM codes WHERE active = 1")]
        raise NotFound(f"no code '{key}' in the project{_suggest(key, known)}; 'qualcode codebook show' lists the keys")
    return row


def _replace_code_references(conn: sqlite3.Connection, old_keys: set[str], new_key: str) -> None:
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


@_one_transaction
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
    _replace_code_references(conn, {old}, new)
    codings = conn.execute("SELECT COUNT(*) FROM codings WHERE code_id = ?", (row["code_id"],)).fetchone()[0]
    version_id = _snapshot(conn, "rename")
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


@_one_transaction
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
    _replace_code_references(conn, {r["key"] for r in moving}, into)
    version_id = _snapshot(conn, "merge")
    result = {"sources": [r["key"] for r in moving], "into": into, "created": created,
              "codings_moved": moved_codings, "duplicates_dropped": dropped, "decisions_moved": moved_decisions,
              "version_id": version_id}
    store.record_history(conn, "codebook merge", **result)
    return result


# --------------------------------------------------------------------------
# comparing two codebooks
# --------------------------------------------------------------------------

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
        key_by_guid = {g: n["key"] for n in keyed.nodes if (g := _normal_guid(n.get("guid")))}
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


# --------------------------------------------------------------------------
# writing codebooks: yaml, xlsx, csv, md, docx (qdc through qualcode.refi)
# --------------------------------------------------------------------------

EXPORT_FORMATS = ("yaml", "xlsx", "csv", "md", "docx", "qdc")
TEXT_EXPORT_FORMATS = ("yaml", "csv", "md")


SUFFIX_FORMATS = {"yaml": "yaml", "yml": "yaml", "xlsx": "xlsx", "csv": "csv", "md": "md", "markdown": "md",
                  "docx": "docx", "qdc": "qdc"}


def export_format_from_path(path: Path | str, fmt: str | None = None) -> str:
    """The format to write ``path`` in: ``fmt`` if given, else the suffix's. A known suffix that
    contradicts ``fmt`` is an InputError (a .csv holding YAML would mislead every reader)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    implied = SUFFIX_FORMATS.get(suffix)
    if fmt:
        fmt = fmt.lower()
        fmt = SUFFIX_FORMATS.get(fmt, fmt)
        if fmt in EXPORT_FORMATS and implied is not None and implied != fmt:
            raise InputError(f"{path} ends in .{suffix} but --format is {fmt}; name the file with .{fmt}"
                             f" or drop --format")
    else:
        fmt = implied or suffix
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"cannot write a codebook as '{fmt}'; choose one of {', '.join(EXPORT_FORMATS)}")
    return fmt


def _yaml_tree(codebook: Codebook) -> dict:
    children: dict[str | None, list[dict]] = {}
    for node in codebook.nodes:
        children.setdefault(node["parent"], []).append(node)

    def entry(node: dict) -> dict:
        out: dict = {"key": node["key"], "label": node["label"]}
        for name in ("definition", "include", "exclude"):
            if node[name]:
                out[name] = node[name]
        if node["examples"]:
            out["examples"] = list(node["examples"])
        for name in ("memo", "color", "guid"):
            if node[name]:
                out[name] = node[name]
        if node["rules"]:
            out["rules"] = _yaml_rules(node["rules"])
        if node.get("exclusive"):
            out["exclusive"] = True
        kids = children.get(node["key"], [])
        if kids:
            out["children"] = [entry(k) for k in kids]
        return out

    document: dict = {}
    for name, value in (("name", codebook.name), ("description", codebook.description),
                        ("version", codebook.version_note), ("language", codebook.language)):
        if value:
            document[name] = value
    document["codes"] = [entry(n) for n in children.get(None, [])]
    return document


class _FlowList(list):
    """A token pattern: written on one line, as spaCy's docs write them."""


def _yaml_rules(rules: dict) -> dict:
    out = {}
    for kind, value in rules.items():
        if kind == "patterns":
            value = [_FlowList(pattern) for pattern in value]
        elif kind == "unless":
            value = [_FlowList(item) if isinstance(item, list) else item for item in value]
        out[kind] = value
    return out


def codebook_to_yaml(codebook: Codebook) -> str:
    """The codebook as block-style YAML in the layout of codebooks/bridge.yaml (nested children, one field a
    line, multi-line text as ``|`` blocks, token patterns on one line)."""
    import yaml

    class Dumper(yaml.SafeDumper):
        def increase_indent(self, flow=False, indentless=False):
            # indent list items under their key ("codes:\n  - key: …"), as people write YAML
            return super().increase_indent(flow, False)

    def text(dumper, value):
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    def flow(dumper, value):
        return dumper.represent_sequence("tag:yaml.org,2002:seq", list(value), flow_style=True)

    Dumper.add_representer(str, text)
    Dumper.add_representer(_FlowList, flow)
    return yaml.dump(_yaml_tree(codebook), Dumper=Dumper, sort_keys=False, allow_unicode=True, width=88,
                     default_flow_style=False, indent=2)


def _sheet_frame(codebook: Codebook):
    import pandas as pd

    rows = []
    for node in codebook.nodes:
        rules = node["rules"] or {}
        unless_lines = []
        for item in rules.get("unless", []):
            if isinstance(item, dict):
                unless_lines.append(f"code: {item['code']}")
            elif isinstance(item, list):
                unless_lines.append(json.dumps(item, ensure_ascii=False))
            else:
                unless_lines.append(item)
        rows.append({
            "key": node["key"], "label": node["label"], "parent": node["parent"] or "",
            "definition": node["definition"] or "", "include": node["include"] or "",
            "exclude": node["exclude"] or "", "examples": "\n".join(node["examples"]), "memo": node["memo"] or "",
            "color": node["color"] or "", "phrases": "\n".join(rules.get("phrases", [])),
            "patterns": json.dumps(rules["patterns"], ensure_ascii=False) if rules.get("patterns") else "",
            "regex": "\n".join(rules.get("regex", [])), "unless": "\n".join(unless_lines),
            "speakers": ", ".join(rules.get("speakers", [])), "roles": ", ".join(rules.get("roles", [])),
            "guid": node["guid"] or "",
        })
    return pd.DataFrame(rows, columns=list(SHEET_COLUMNS))


def appendix_frame(codebook: Codebook):
    """The appendix table of a paper: code, definition, include, exclude, example (themes as rows too)."""
    import pandas as pd

    depth: dict[str, int] = {}
    rows = []
    for node in codebook.nodes:
        depth[node["key"]] = depth.get(node["parent"], 0) + 1 if node["parent"] else 1
        indent = "\u2003" * (depth[node["key"]] - 1)  # em spaces keep the hierarchy visible in Word and markdown
        rows.append({
            "Code": f"{indent}{node['label']}", "Key": node["key"], "Definition": node["definition"] or "",
            "Include": node["include"] or "", "Exclude": node["exclude"] or "",
            "Example": f"\u201c{node['examples'][0]}\u201d" if node["examples"] else "",
        })
    return pd.DataFrame(rows, columns=["Code", "Key", "Definition", "Include", "Exclude", "Example"])


def codebook_text(codebook: Codebook, fmt: str) -> str:
    """A codebook as yaml, csv or md text."""
    from qualcode.exports import markdown_table, table_to_text

    if fmt == "yaml":
        return codebook_to_yaml(codebook)
    if fmt == "csv":
        return table_to_text(_sheet_frame(codebook), "csv")
    if fmt == "md":
        title = codebook.name or "Codebook"
        lines = [f"# {title}", ""]
        if codebook.version_note:
            lines += [f"Version: {codebook.version_note}", ""]
        if codebook.description:
            lines += [codebook.description, ""]
        return "\n".join(lines) + "\n" + markdown_table(appendix_frame(codebook))
    raise InputError(f"'{fmt}' is not a text format; write it to a file instead")


def write_codebook(codebook: Codebook, path: Path | str, fmt: str | None = None, *, force: bool = False) -> Path:
    """Write a codebook to ``path`` as yaml, xlsx, csv, md or docx (atomic; no overwrite without force)."""
    from qualcode.exports import atomic_write, write_docx_table, write_xlsx

    path = Path(path)
    fmt = export_format_from_path(path, fmt)
    if fmt == "qdc":
        raise InputError("a REFI-QDA codebook is written from a project: use export_codebook")
    with atomic_write(path, force) as tmp:
        if fmt in TEXT_EXPORT_FORMATS:
            tmp.write_text(codebook_text(codebook, fmt), encoding="utf-8")
        elif fmt == "xlsx":
            import pandas as pd

            about = pd.DataFrame(
                [("name", codebook.name or ""), ("description", codebook.description or ""),
                 ("version", codebook.version_note or ""), ("language", codebook.language or "")],
                columns=["field", "value"])
            write_xlsx({"Codes": _sheet_frame(codebook), "About": about}, tmp)
        elif fmt == "docx":
            title = codebook.name or "Codebook"
            if codebook.version_note:
                title += f" ({codebook.version_note})"
            write_docx_table(appendix_frame(codebook), tmp, title=title)
    return path


def export_codebook(conn: sqlite3.Connection, path: Path | str, fmt: str | None = None, force: bool = False) -> Path:
    """Write the project's current codebook as yaml, xlsx, csv, md, docx or qdc (REFI-QDA)."""
    fmt = export_format_from_path(path, fmt)
    if fmt == "qdc":
        from qualcode.refi import write_qdc

        return write_qdc(conn, path, force=force)
    return write_codebook(project_codebook(conn), path, fmt, force=force)


# --------------------------------------------------------------------------
# overview for `codebook show`
# --------------------------------------------------------------------------

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
