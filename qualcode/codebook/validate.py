"""The one validation every codebook file goes through, whatever its format:
fields, rules (phrases, patterns, regex, unless, speakers, roles), parents
and vetoes without cycles; each problem with its place in the file.
"""

from __future__ import annotations

from pathlib import Path

from qualcode.codebook.model import NODE_FIELDS, RULE_FIELDS, UNIT_ROLES, Codebook, regex_flags
from qualcode.codebook.problems import MarkedList, MarkedMap, Problem, Where, plain_value, suggest
from qualcode.codebook.read_table import marked_from_json


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

    plain = plain_value(pattern)
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
        return None if found else plain_value(item)
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
                                    f"unknown rule field '{name}'{suggest(name, RULE_FIELDS)};"
                                    f" rules take {', '.join(RULE_FIELDS)}"))
    marked = rules if isinstance(rules, MarkedMap) else marked_from_json(rules, where)
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
                        out["patterns"].append(plain_value(pattern))
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


def build_codebook(path: Path, source_format: str, meta: dict, meta_where: dict, raw_nodes: list,
                    problems: list[Problem]) -> Codebook | None:
    # long: one pass over the nodes that gathers every problem with its place; split, the passes would share half a dozen accumulators
    first_seen: dict[str, Where] = {}
    nodes: list[dict] = []
    node_where: dict[str, MarkedMap] = {}
    references: list[tuple[str, str, Where, str]] = []  # (from key, to key, where, kind)
    for raw in raw_nodes:
        for name in raw:
            if name not in NODE_FIELDS and name != "_nested_parent":
                problems.append(Problem(raw.key_at(name), f"unknown field '{name}'{suggest(name, NODE_FIELDS)};"
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
            problems.append(Problem(where, f"code '{source}' names {what}{suggest(target, known)};"
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
