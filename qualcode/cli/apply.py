"""qualcode apply: code the transcripts automatically with a codebook's rules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from qualcode.cli._util import FormatOption, ProjectOption, plural


def apply(
    codebook: Annotated[Optional[Path], typer.Argument(
        help="Codebook file to import and apply (default: the project's current codebook).",
        show_default=False)] = None,
    coder: Annotated[str, typer.Option(help="Coder name the codings are made as.")] = "auto",
    unit: Annotated[str, typer.Option(help="Span each coding covers: sentence, paragraph or turn.")] = "sentence",
    documents: Annotated[Optional[list[str]], typer.Option(
        "--documents", help="Only documents whose names match this glob pattern, e.g. 'SF*' (repeatable).",
        show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the summary without changing the project.")] = False,
    jobs: Annotated[int, typer.Option(help="spaCy processes to run in parallel.")] = 1,
    model: Annotated[Optional[str], typer.Option(
        help="An installed trained spaCy pipeline to use instead of the built-in offline one.",
        show_default=False)] = None,
    fmt: FormatOption = "table",
    project_dir: ProjectOption = None,
) -> None:
    """Apply a codebook's rules (phrases, token patterns, regex) to respondent speech as one coder.

    Each match codes its sentence (or --unit paragraph / turn) with origin
    'rule'. Running again replaces this coder's earlier rule codings: codings
    made again keep their ids (and exemplar marks), codings no longer made are
    removed; codings made by hand or imported are never touched. Prints, per
    code, the units coded and the respondents they come from.

    Example:

        qualcode apply codebooks/bridge.yaml --coder auto --unit sentence --jobs 2
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from qualcode.apply import apply_codebook
    from qualcode.cli._util import check_format, err_console, notice, open_project, render_table

    fmt = check_format(fmt, ("table", "csv", "json", "md"))
    project = open_project(project_dir)
    stderr = err_console()
    # shown on a terminal only, and only once matching starts (a codebook error comes first, alone)
    bar = Progress(TextColumn("Applying rules"), BarColumn(), MofNCompleteColumn(), TextColumn("paragraphs"),
                   TimeRemainingColumn(), console=stderr, transient=True, disable=not stderr.is_terminal)
    task = bar.add_task("apply", total=None, start=False)
    started = False

    def progress(done: int, total: int) -> None:
        nonlocal started
        if not started:
            bar.start()
            bar.start_task(task)
            started = True
        bar.update(task, completed=done, total=total)

    try:
        result = apply_codebook(project, codebook, coder=coder, unit=unit, documents=documents,
                                dry_run=dry_run, jobs=jobs, model=model, progress=progress)
    finally:
        if started:
            bar.stop()
        project.close()
    table = result.summary_frame()
    what = "would make" if dry_run else "made"
    caption = (f"{result.coder} {what} {plural(result.codings_added, 'coding')} by {result.unit} in"
               f" {plural(result.documents, 'document')}"
               f" ({result.tokens:,} tokens, {result.seconds:.1f} s)")
    name = result.codebook_name or "current"
    title = f"Dry run of codebook '{name}' (nothing written)" if dry_run else f"Codebook '{name}' applied"
    render_table(table, fmt, title=title, caption=caption)
    changes = (f"{result.codings_new} new, {result.codings_kept} unchanged (ids kept),"
               f" {result.codings_removed} removed (no longer made)")
    if dry_run:
        notice(f"Dry run: nothing was written. Rule codings of '{result.coder}' would be: {changes}.")
    else:
        notice(f"Rule codings of '{result.coder}': {changes}; codebook version {result.version_id}."
               " 'qualcode codings explain ID' shows why a coding was made.")


def register(app: typer.Typer) -> None:
    app.command("apply")(apply)
