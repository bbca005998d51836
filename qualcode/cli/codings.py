"""qualcode codings: list codings and explain why one was made."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from qualcode.cli._util import ForceOption, FormatOption, ProjectOption

codings_app = typer.Typer(
    name="codings", no_args_is_help=True,
    help="Codings: list them, and explain where one is and why it was made.\n\n"
         "Example:\n\n    qualcode codings list --coder auto --code work.caseload",
)


@codings_app.command("list")
def list_command(
    coder: Annotated[Optional[list[str]], typer.Option(help="Only this coder (repeatable).", show_default=False)] = None,
    code: Annotated[Optional[str], typer.Option(
        help="Only this code, or a theme and the codes beneath it.", show_default=False)] = None,
    respondent: Annotated[Optional[list[str]], typer.Option(
        help="Only codings in this respondent's speech (repeatable).", show_default=False)] = None,
    document: Annotated[Optional[list[str]], typer.Option(
        help="Only this document, by name (repeatable).", show_default=False)] = None,
    fmt: FormatOption = "table",
    project_dir: ProjectOption = None,
) -> None:
    """List codings with their id, coder, code, document, respondent, origin, rule, text and memo.

    Example:

        qualcode codings list --coder auto --code work --respondent SF4
    """
    from qualcode.cli._util import check_format, open_project, render_table
    from qualcode.codings import codings_table

    fmt = check_format(fmt, ("table", "csv", "json", "md"))
    project = open_project(project_dir)
    try:
        conn = project.connect()
        if coder:
            from qualcode.store import coder_id

            for name in coder:
                coder_id(conn, name)  # an unknown coder is an error, not an empty list
        if respondent:
            _check_known(conn, respondent, "SELECT respondent_id FROM respondents", "respondent",
                         "'qualcode respondents' lists them", casefold=True)
        if document:
            _check_known(conn, document, "SELECT name FROM documents", "document", "'qualcode documents' lists them")
        table = codings_table(conn, coders=coder, code=code, respondents=respondent, documents=document)
    finally:
        project.close()
    if fmt == "table":  # a terminal is narrow: offsets and long rules go to csv/json only
        table = table[["id", "coder", "code", "respondent", "document", "origin", "rule", "text", "memo"]].copy()
        table["rule"] = table["rule"].map(lambda rule: rule if len(rule) <= 28 else rule[:27] + "…")
        table["memo"] = table["memo"].map(lambda memo: (lambda one_line: one_line if len(one_line) <= 40 else
                                                        one_line[:39] + "…")(" ".join(memo.split())))
    render_table(table, fmt, title="Codings", caption=f"{len(table)} coding{'' if len(table) == 1 else 's'}")


def _check_known(conn, wanted: list[str], sql: str, what: str, hint: str, casefold: bool = False) -> None:
    """An unknown respondent or document is an error naming the known ones, not an empty list."""
    from qualcode.errors import NotFound

    known = sorted({row[0] for row in conn.execute(sql)})
    fold = (lambda v: v.casefold()) if casefold else (lambda v: v)
    folded = {fold(k) for k in known}
    for name in wanted:
        if fold(name) not in folded:
            shown = ", ".join(known[:20]) + (f" … ({len(known)} in all; {hint})" if len(known) > 20 else "")
            listing = f"known {what}s: {shown}" if known else f"the project has no {what}s yet"
            raise NotFound(f"no {what} '{name}' in this project ({listing})")


@codings_app.command("explain")
def explain_command(
    coding_id: Annotated[int, typer.Argument(metavar="ID", help="The coding's id (see 'qualcode codings list').",
                                             show_default=False)],
    fmt: Annotated[str, typer.Option("--format", "-f", help="Output format: text or json.")] = "text",
    project_dir: ProjectOption = None,
) -> None:
    """Show where a coding is, its text with the matched words highlighted, and which rule matched them.

    Example:

        qualcode codings explain 42
    """
    import json
    import sys

    from rich.text import Text

    from qualcode.apply import explain_coding
    from qualcode.cli._util import check_format, console, open_project

    fmt = check_format(fmt, ("text", "json"))
    project = open_project(project_dir)
    try:
        info = explain_coding(project.connect(), coding_id)
    finally:
        project.close()
    if fmt == "json":
        sys.stdout.write(json.dumps(info, ensure_ascii=False, indent=2) + "\n")
        return
    out = console()
    where = f"{info['document']} characters {info['start']}–{info['end']}"
    if info["unit"]:
        where += f" (unit {info['unit']})"
    elif info["units"]:
        where += f" (in {', '.join(info['units'])})"
    lines = [
        ("Coding", f"{info['coding_id']} by {info['coder']}"),
        ("Code", f"{info['code']} — {info['code_label']}"),
        ("Where", where),
        ("Respondent", info["respondent"] or "none (interviewer or unassigned speech)"),
        ("Origin", info["origin"] + (f", codebook version {info['codebook_version_id']}"
                                     f" ({info['codebook'] or 'unnamed'})" if info["codebook_version_id"] else "")),
    ]
    for label, value in lines:
        out.print(Text.assemble((f"{label:<11}", "bold"), value))
    text = Text(info["text"])
    for match in info["matches"]:
        if match["start"] is not None and 0 <= match["start"] < match["end"] <= len(info["text"]):
            text.stylize("bold reverse", match["start"], match["end"])
    out.print(Text("Text", style="bold"))
    out.print(text)
    if info["origin"] == "rule" and info["matches"]:
        out.print(Text("Why", style="bold"))
        for match in info["matches"]:
            out.print(Text.assemble("  ", (match["rule"] or "?", "cyan"), " matched ",
                                    (f"\u201c{match['matched']}\u201d", "bold")))
    elif info["origin"] != "rule":
        out.print(Text.assemble(("Why", "bold"), f"  made by a person ({info['origin']}), not by a rule"))
    if info["memo"]:
        out.print(Text.assemble(("Memo", "bold"), f"  {info['memo']}"))


# --format spans|units was the first name of --layout; --format means table|csv|json|md elsewhere,
# so it is kept only as a hidden, deprecated alias.
LegacyLayoutOption = Annotated[Optional[str], typer.Option("--format", "-f", hidden=True, show_default=False)]
LAYOUTS = ("spans", "units")


def _layout(layout: str | None, legacy_format: str | None) -> str | None:
    """The --layout value, taking the deprecated --format spans|units into account."""
    from qualcode.cli._util import notice
    from qualcode.errors import InputError

    if legacy_format is not None:
        if layout is not None and layout.lower() != legacy_format.lower():
            raise InputError(f"--format {legacy_format} and --layout {layout} disagree; give --layout only")
        notice(f"Note: --format {legacy_format} is deprecated here; use --layout {legacy_format.lower()}.")
        layout = layout or legacy_format
    if layout is None:
        return None
    if layout.lower() not in LAYOUTS:
        raise InputError(f"unknown layout '{layout}'; choose --layout spans or --layout units")
    return layout.lower()


@codings_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(metavar="FILE.csv", help="Codings in the spans or units format.",
                                         show_default=False)],
    layout: Annotated[Optional[str], typer.Option(
        "--layout", "-l", help="spans or units (default: recognised from the header row).", show_default=False)] = None,
    legacy_format: LegacyLayoutOption = None,
    project_dir: ProjectOption = None,
) -> None:
    """Import codings made elsewhere (R, a script, another tool) from a CSV file.

    Two layouts, recognised by their header: spans (coder,document,start,end,code)
    with character offsets into the stored text, and units (coder,unit,code)
    with paragraph ids such as SF4.docx#12. Every row is checked first; one bad
    row (named by its line) stops the whole import. Unknown coders are created.

    Example:

        qualcode codings import codings_from_r.csv --layout units
    """
    from qualcode.cli._util import notice, open_project
    from qualcode.exchange import import_codings

    layout = _layout(layout, legacy_format)
    project = open_project(project_dir)
    try:
        result = import_codings(project, file, layout)
    finally:
        project.close()
    notice(f"Imported {result.path.name} ({result.format} layout): {result.rows} rows, {result.added} codings added"
           f", {result.already_present} already present; coders: {', '.join(result.coders)}"
           + (f" (new: {', '.join(result.created_coders)})" if result.created_coders else "") + ".")
    for message in result.notices:  # e.g. the file was read as Windows-1252
        notice(message)


@codings_app.command("export")
def export_command(
    out: Annotated[str, typer.Option("--out", "-o", metavar="FILE.csv|-", help="The CSV file to write, or - for stdout.",
                                     show_default=False)] = "-",
    layout: Annotated[Optional[str], typer.Option(
        "--layout", "-l", help="spans (character offsets) or units (paragraph ids); default spans.",
        show_default=False)] = None,
    legacy_format: LegacyLayoutOption = None,
    coder: Annotated[Optional[list[str]], typer.Option(help="Only this coder (repeatable).", show_default=False)] = None,
    force: ForceOption = False,
    project_dir: ProjectOption = None,
) -> None:
    """Export codings as CSV in the spans or units format, for R, a script or another tool.

    spans: one row per coding (coder,document,start,end,code,memo). units: one
    row per coder, paragraph and code that a coding overlaps (coder,unit,code).
    Either file can be read back with 'qualcode codings import'.

    Example:

        qualcode codings export --coder A --coder B --layout units --out codings.csv
    """
    import sys

    from qualcode.cli._util import notice, open_project
    from qualcode.exchange import export_codings

    layout = _layout(layout, legacy_format) or "spans"
    project = open_project(project_dir)
    try:
        result = export_codings(project.connect(), None if out == "-" else out, layout, coder, force=force)
    finally:
        project.close()
    if result.text is not None:
        sys.stdout.write(result.text)
    else:
        notice(f"Wrote {result.path}: {result.rows} rows ({result.format} layout) for {', '.join(result.coders) or 'no coder'}.")


def register(app: typer.Typer) -> None:
    app.add_typer(codings_app, name="codings")
