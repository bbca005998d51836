"""Reading a YAML codebook (the format in docs/codebook-format.md) with the
place of every key and value kept for messages.
"""

from __future__ import annotations

from pathlib import Path

from qualcode.codebook.model import TOP_FIELDS
from qualcode.codebook.problems import MarkedList, MarkedMap, Problem, Where, suggest, yaml_where


def _read_yaml(path: Path, text: str, problems: list[Problem]):
    """Compose the YAML (keeping node positions) and convert it to Marked containers."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        where = yaml_where(str(path), mark) if mark else Where(str(path))
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
        where = yaml_where(str(path), node.start_mark)
        if isinstance(node, yaml.MappingNode):
            result = MarkedMap(where)
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    problems.append(Problem(yaml_where(str(path), key_node.start_mark),
                                            "a mapping key must be a plain word"))
                    continue
                key = constructor.construct_object(key_node, deep=True)
                key_where = yaml_where(str(path), key_node.start_mark)
                if key in result:
                    first = result.key_where[key]
                    problems.append(Problem(key_where, f"duplicate field '{key}' (already given at line {first.line});"
                                                       " keep one"))
                    continue
                result[key] = convert(value_node)
                if isinstance(value_node, yaml.ScalarNode):
                    result.value_source[key] = value_node.value
                result.key_where[key] = key_where
                result.value_where[key] = yaml_where(str(path), value_node.start_mark)
            return result
        if isinstance(node, yaml.SequenceNode):
            result = MarkedList(where)
            for item in node.value:
                if isinstance(item, yaml.ScalarNode):
                    result.item_source[len(result)] = item.value
                result.append(convert(item))
                result.item_where.append(yaml_where(str(path), item.start_mark))
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


def parse_yaml_codebook(path: Path, problems: list[Problem]):
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
            problems.append(Problem(data.key_at(key), f"unknown field '{key}'{suggest(key, TOP_FIELDS)};"
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
