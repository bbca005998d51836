"""Writing a codebook: YAML, xlsx, csv, md and docx (and .qdc through
``qualcode.refi.qdc``).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from qualcode.codebook.model import Codebook
from qualcode.codebook.read_table import SHEET_COLUMNS
from qualcode.codebook.versions import project_codebook
from qualcode.errors import InputError


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
        from qualcode.refi.qdc import write_qdc

        return write_qdc(conn, path, force=force)
    return write_codebook(project_codebook(conn), path, fmt, force=force)
