"""Manuscript fill: ``{{n:key}}``, ``{{ids:key}}`` and ``{{pct:key}}`` placeholders replaced by counts."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from qualcode.errors import InputError, NotFound, QualcodeError
from qualcode.themes.counts import CodedRespondents, coded_respondents, ids_text, n_text, percent_text


PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
# Only braces that start with a word are ours: "{{\\em x}}" (LaTeX) or "{{ }}" is left alone.
OURS = re.compile(r"^\s*[A-Za-z]")
# Half a placeholder: "{{n:key" never closed, or "n:key}}" never opened.
UNCLOSED = re.compile(r"\{\{\s*[A-Za-z]+\s*:")
UNOPENED = re.compile(r"\b(?:n|ids|pct)\s*:\s*[\w.\-]+[^{}]*\}\}")
PLACEHOLDER_KINDS = ("n", "ids", "pct")


@dataclass(frozen=True)
class Placeholder:
    """One ``{{kind:key|attribute=value,…}}`` found in a manuscript."""

    raw: str
    kind: str
    key: str
    filters: tuple[tuple[str, str], ...]
    where: str  # "line 12" / "paragraph 4" / "table 1, row 2, cell 3"


@dataclass(frozen=True)
class Problem:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class FillResult:
    """What a manuscript fill found (and, unless checking, wrote)."""

    source: Path
    out: Path | None
    placeholders: list[Placeholder]
    problems: list[Problem]
    coder: str
    notices: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)  # placeholder raw text -> replacement


def _split_unquoted(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside double quotes."""
    parts, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def parse_placeholder(raw: str, where: str) -> Placeholder:
    """Parse the inside of ``{{…}}``: ``kind:key`` then optionally ``|attr=value,attr=value``.

    Values may contain spaces as they are (``role=Support worker``); a value
    containing ',', '|' or '=' is written in double quotes (``site="North, East"``).
    Raises InputError with the position on any malformation.
    """
    body = raw.strip()
    if body.count('"') % 2:
        raise InputError(f"{where}: unbalanced double quote in '{{{{{raw}}}}}'")
    head, *rest = _split_unquoted(body, "|")
    if len(rest) > 1:
        raise InputError(f"{where}: '{{{{{raw}}}}}' has more than one '|'; join filters with ','")
    kind, colon, key = head.partition(":")
    kind, key = kind.strip(), key.strip()
    if not colon or not kind or not key:
        raise InputError(f"{where}: '{{{{{raw}}}}}' is not a placeholder of the form {{{{n:KEY}}}}, {{{{ids:KEY}}}} or {{{{pct:KEY}}}}")
    if kind not in PLACEHOLDER_KINDS:
        raise InputError(f"{where}: unknown placeholder kind '{kind}' in '{{{{{raw}}}}}'; use n, ids or pct")
    filters = []
    if rest:
        for part in _split_unquoted(rest[0], ","):
            name, equals, value = part.partition("=")
            name, value = name.strip(), value.strip()
            if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
                value = value[1:-1]
            if not equals or not name or not value:
                raise InputError(f"{where}: filter '{part.strip()}' in '{{{{{raw}}}}}' is not of the form attribute=value")
            filters.append((name, value))
    return Placeholder(raw=raw, kind=kind, key=key, filters=tuple(filters), where=where)


def placeholder_value(placeholder: Placeholder, data: CodedRespondents) -> str:
    """The replacement text: '(12)', '[SF3; SF5]' or '80%'.

    Filters restrict respondents: the same attribute repeated means any of
    its values, different attributes must all match. The % uses the filtered
    respondents with text as its denominator.
    """
    data.tree.node(placeholder.key)
    population = set(data.respondents)
    wanted: dict[str, set[str]] = {}
    for name, value in placeholder.filters:
        wanted.setdefault(name, set()).add(value)
    for name, values in wanted.items():
        data.check_attribute(name)
        known = {str(v) for attrs in data.attributes.values() if (v := attrs.get(name)) not in (None, "")}
        for value in values:
            if value not in known:
                from natsort import natsorted

                raise NotFound(f"no respondent has {name}={value} (known values: {', '.join(natsorted(known))})")
        population = {r for r in population if data.attribute_value(r, name) in values}
    coded = data.by_node[placeholder.key].respondents & population
    if placeholder.kind == "n":
        return n_text(len(coded))
    if placeholder.kind == "ids":
        return ids_text(coded) or "[none]"
    if not population:
        raise InputError(f"no respondent with text matches the filters of {{{{{placeholder.raw}}}}}, so % is undefined")
    return percent_text(len(coded), len(population))


def _scan_text(text: str, where: str, placeholders: list, problems: list) -> list[tuple[int, int, Placeholder | None]]:
    """Find placeholders in one line/paragraph; record malformed ones as problems."""
    found = []
    for match in PLACEHOLDER.finditer(text):
        if not OURS.match(match.group(1)):
            continue
        try:
            placeholder = parse_placeholder(match.group(1), where)
        except QualcodeError as exc:
            problems.append(Problem(where, str(exc).removeprefix(f"{where}: ")))
            found.append((match.start(), match.end(), None))
            continue
        placeholders.append(placeholder)
        found.append((match.start(), match.end(), placeholder))
    leftover = PLACEHOLDER.sub(lambda m: "" if OURS.match(m.group(1)) else m.group(0), text)
    if UNCLOSED.search(leftover) or UNOPENED.search(leftover):
        problems.append(Problem(where, "unmatched '{{' or '}}' (a placeholder must open and close on one line)"))
    return found


def _resolve(found, data: CodedRespondents, problems: list, values: dict) -> list[tuple[int, int, str]]:
    replacements = []
    for start, end, placeholder in found:
        if placeholder is None:
            continue
        try:
            value = placeholder_value(placeholder, data)
        except QualcodeError as exc:
            problems.append(Problem(placeholder.where, str(exc)))
            continue
        values["{{" + placeholder.raw + "}}"] = value
        replacements.append((start, end, value))
    return replacements


def _apply(text: str, replacements) -> str:
    for start, end, value in sorted(replacements, reverse=True):
        text = text[:start] + value + text[end:]
    return text


def fill_manuscript(
    conn: sqlite3.Connection,
    source: Path | str,
    out: Path | str | None = None,
    *,
    coder: str | None = None,
    check: bool = False,
    force: bool = False,
) -> FillResult:
    """Replace ``{{n:key}}``, ``{{ids:key}}`` and ``{{pct:key}}`` placeholders in a markdown /
    text or docx manuscript with counts from ``coder``'s codings.

    With ``check`` nothing is written and problems are returned. Otherwise any
    problem (malformed placeholder, unknown key, attribute or value) raises
    InputError naming each one by line (markdown) or paragraph (docx), and
    nothing is written.
    """
    source = Path(source)
    if not source.is_file():
        raise InputError(f"{source} does not exist; give the manuscript file to fill")
    suffix = source.suffix.lower()
    if suffix not in (".md", ".markdown", ".txt", ".docx"):
        raise InputError(f"cannot fill '{source.suffix}' files; use a .md (or .txt) or .docx manuscript")
    if not check:
        if out is None:
            raise InputError("give the filled file's name with --out FILE")
        out = Path(out)
        if (out.suffix.lower() == ".docx") != (suffix == ".docx"):
            raise InputError(f"--out {out.name} must have the same kind of suffix as {source.name}")
        if out.resolve() == source.resolve():
            raise InputError("--out must differ from the manuscript: the placeholders are its source")
        from qualcode.exports import check_overwrite

        check_overwrite(out, force)
    data = coded_respondents(conn, coder=coder)
    placeholders: list[Placeholder] = []
    problems: list[Problem] = []
    values: dict[str, str] = {}
    if suffix == ".docx":
        document, paragraphs = _docx_paragraphs(source)
        plan = []
        for paragraph, where in paragraphs:
            text = "".join(run.text for run in paragraph.runs)
            found = _scan_text(text, where, placeholders, problems)
            if len(PLACEHOLDER.findall(paragraph.text)) > len(PLACEHOLDER.findall(text)):
                # python-docx's paragraph.text also reads hyperlinks and fields, which runs do not hold
                problems.append(Problem(where, "a placeholder inside a hyperlink or field cannot be filled;"
                                               " remove the link around it"))
            plan.append((paragraph, _resolve(found, data, problems, values)))
    else:
        try:
            lines = source.read_text(encoding="utf-8-sig").splitlines(keepends=True)
        except UnicodeDecodeError:
            raise InputError(f"{source} is not UTF-8 text; save it as UTF-8 and try again") from None
        plan = []
        for number, line in enumerate(lines, start=1):
            found = _scan_text(line, f"line {number}", placeholders, problems)
            plan.append((line, _resolve(found, data, problems, values)))
    result = FillResult(source=source, out=None if check else out, placeholders=placeholders, problems=problems,
                        coder=data.coder, notices=data.notices(), values=values)
    if check:
        return result
    if problems:
        raise InputError(
            f"{source.name}: {len(problems)} placeholder problem(s), nothing written — "
            + "; ".join(str(p) for p in problems)
        )
    from qualcode.exports import atomic_write

    with atomic_write(out, force) as tmp:
        if suffix == ".docx":
            for paragraph, replacements in plan:
                if replacements:
                    _replace_in_runs(paragraph, replacements)
            document.save(tmp)
        else:
            tmp.write_text("".join(_apply(line, replacements) for line, replacements in plan), encoding="utf-8")
    return result


def _docx_paragraphs(path: Path):
    """Every paragraph of the body (numbered) and of tables, headers and footers, with where it is."""
    import docx

    try:
        document = docx.Document(str(path))
    except Exception:
        raise InputError(f"{path} is not a readable Word (.docx) file; open and save it again in Word") from None
    out = [(paragraph, f"paragraph {number}") for number, paragraph in enumerate(document.paragraphs, start=1)]
    for table_number, table in enumerate(document.tables, start=1):
        for row_number, row in enumerate(table.rows, start=1):
            seen = set()
            for cell_number, cell in enumerate(row.cells, start=1):
                if id(cell._tc) in seen:  # merged cells repeat
                    continue
                seen.add(id(cell._tc))
                for paragraph in cell.paragraphs:
                    out.append((paragraph, f"table {table_number}, row {row_number}, cell {cell_number}"))
    for section_number, section in enumerate(document.sections, start=1):
        for part_name, part in (("header", section.header), ("footer", section.footer)):
            if part.is_linked_to_previous and section_number > 1:
                continue
            for paragraph in part.paragraphs:
                out.append((paragraph, f"section {section_number} {part_name}"))
    return document, out


def _replace_in_runs(paragraph, replacements: list[tuple[int, int, str]]) -> None:
    """Replace character ranges of a paragraph's run text, even when Word split a placeholder
    over several runs: the replacement takes the formatting of the run where the placeholder
    starts; the rest of the placeholder is removed from the following runs, whose other text
    and formatting stay as they were."""
    runs = list(paragraph.runs)
    for start, end, value in sorted(replacements, reverse=True):
        offset = 0
        first = True
        for run in runs:
            text = run.text
            run_start, run_end = offset, offset + len(text)
            offset = run_end
            if run_end <= start or run_start >= end:
                continue
            cut_from, cut_to = max(start, run_start) - run_start, min(end, run_end) - run_start
            if first:
                run.text = text[:cut_from] + value + text[cut_to:]
                first = False
            else:
                run.text = text[:cut_from] + text[cut_to:]
