"""qualcode quotes: quotation tables for papers; quotes mark / unmark exemplars."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from qualcode.cli._util import ForceOption, ProjectOption

quotes_app = typer.Typer(
    invoke_without_command=True,
    no_args_is_help=False,
)


@quotes_app.callback()
def quotes(
    ctx: typer.Context,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write to FILE.xlsx, .docx, .md, .csv or .json.")] = None,
    coder: Annotated[Optional[str], typer.Option(help="Coder to quote (default: consensus, or the only coder).")] = None,
    theme: Annotated[Optional[list[str]], typer.Option("--theme", help="Codebook key of a theme (repeatable; default: every top-level theme).")] = None,
    label: Annotated[str, typer.Option(help="Label template: {respondent}, {number}, {document} or any attribute, e.g. '{role} {number}, {site}'.")] = "[{respondent}]",
    per_theme: Annotated[Optional[int], typer.Option("--per-theme", help="Pick N quotations per theme, spread across respondents.")] = None,
    max_words: Annotated[Optional[int], typer.Option("--max-words", help="Cut longer quotations at sentence boundaries, marking cuts with […].")] = None,
    exemplars_only: Annotated[bool, typer.Option("--exemplars-only", help="Only quotations marked with 'quotes mark'.")] = False,
    by: Annotated[Optional[str], typer.Option(help="Group quotations by a respondent attribute, e.g. role.")] = None,
    verbatim: Annotated[bool, typer.Option(help="Keep the coded text exactly as stored (no tidying, no trimming).")] = False,
    split: Annotated[bool, typer.Option(help="xlsx: one sheet per theme.")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="Without --out: table, csv, json or md on stdout.")] = "table",
    force: ForceOption = False,
    project: ProjectOption = None,
) -> None:
    """Quotation tables: one row per quotation with theme, code, respondent label and text.

    Example:

        qualcode quotes --per-theme 3 --max-words 60 --label "{role} {number}" --out quotes.docx

    Mark a favourite with 'qualcode quotes mark ID' (ID from the id column); marked exemplars come first.
    """
    if ctx.invoked_subcommand is not None:
        return
    from qualcode.cli._util import check_format, notice, open_project, render_table
    from qualcode.quotes import collect_quotations, quotes_markdown, write_quotes

    # a bad --format is refused before the quotations are collected, not after
    if out is None:
        fmt = check_format(fmt, ("table", "csv", "json", "md"))
    with open_project(project) as proj:
        result = collect_quotations(
            proj.connect(), coder=coder, themes=theme, label=label, per_theme=per_theme, max_words=max_words,
            exemplars_only=exemplars_only, by=by, verbatim=verbatim, language=proj.language,
        )
    for message in result.notices:
        notice(message)
    if out is not None:
        write_quotes(result, out, force=force, split=split)
        notice(f"Wrote {len(result.quotations)} quotations (coder {result.coder}) to {out}")
        return
    if fmt == "md":
        typer.echo(quotes_markdown(result), nl=False)
        return
    df = result.to_frame()
    if fmt == "table":
        df = df[["id", "theme", "label", "text"]]
    render_table(df, fmt, title=f"Quotations — coder {result.coder}")


def _set_exemplar(project, coding_id: int, marked: bool) -> None:
    from qualcode.cli._util import notice, open_project
    from qualcode.quotes import mark_exemplar

    with open_project(project) as proj, proj.transaction() as conn:
        changed = mark_exemplar(conn, coding_id, marked)
    if marked:
        notice(f"Coding {coding_id} {'marked as an exemplar' if changed else 'was already an exemplar'}.")
    else:
        notice(f"Coding {coding_id} {'is no longer an exemplar' if changed else 'was not an exemplar'}.")


@quotes_app.command("mark")
def mark(
    coding_id: Annotated[int, typer.Argument(help="Coding id (the id column of 'qualcode quotes').")],
    project: ProjectOption = None,
) -> None:
    """Mark a quotation as an exemplar: it is picked first by --per-theme.

    Example:

        qualcode quotes mark 412
    """
    _set_exemplar(project, coding_id, True)


@quotes_app.command("unmark")
def unmark(
    coding_id: Annotated[int, typer.Argument(help="Coding id.")],
    project: ProjectOption = None,
) -> None:
    """Remove the exemplar mark from a quotation.

    Example:

        qualcode quotes unmark 412
    """
    _set_exemplar(project, coding_id, False)


def register(app: typer.Typer) -> None:
    app.add_typer(quotes_app, name="quotes")
