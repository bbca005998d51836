"""qualcode codings: list codings and explain why one was made."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from qualcode.cli._util import FormatOption, ProjectOption

codings_app = typer.Typer(name="codings", no_args_is_help=True,
                          help="Codings: list them, and explain where one is and why it was made.")


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
    """List codings with their id, coder, code, document, respondent, origin, rule and text.

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
        table = codings_table(conn, coders=coder, code=code, respondents=respondent, documents=document)
    finally:
        project.close()
    render_table(table, fmt, title="Codings", caption=f"{len(table)} codings")


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


def register(app: typer.Typer) -> None:
    app.add_typer(codings_app, name="codings")
