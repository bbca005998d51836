"""Reading a codebook spreadsheet (.xlsx or .csv: one row per node, one column
per field), each problem reported with its sheet and cell.
"""

from __future__ import annotations

import json
from pathlib import Path

from qualcode.codebook.model import RULE_FIELDS
from qualcode.codebook.problems import MarkedList, MarkedMap, Problem, Where, suggest


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
            problems.append(Problem(where_of(1, index), f"unknown column '{name}'{suggest(name, SHEET_COLUMNS)};"
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


def marked_from_json(value, where: Where):
    if isinstance(value, dict):
        result = MarkedMap(where)
        for k, v in value.items():
            result[k] = marked_from_json(v, where)
            result.value_where[k] = where
            result.key_where[k] = where
        return result
    if isinstance(value, list):
        result = MarkedList(where)
        for v in value:
            result.append(marked_from_json(v, where))
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
        return marked_from_json(value, where)
    items = MarkedList(where)
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("["):
            try:
                items.append(marked_from_json(json.loads(line), where))
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


def parse_xlsx_codebook(path: Path, problems: list[Problem]):
    from qualcode.tables import WorkbookError, open_workbook

    try:
        workbook = open_workbook(path, data_only=True)
    except WorkbookError as exc:
        problems.append(Problem(Where(str(path)), str(exc).removeprefix(f"{path.name} is ")))
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


def parse_csv_codebook(path: Path, problems: list[Problem]):
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
