"""qualcode import: transcripts (and REFI-QDA projects) into the project."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from qualcode.cli._util import FormatOption, ProjectOption

# How many anonymity findings per file are printed; the rest are counted.
SHOWN_WARNINGS_PER_FILE = 5


def import_command(
    paths: Annotated[list[str], typer.Argument(help="Transcript files or folders (searched recursively).",
                                               show_default=False)],
    respondent: Annotated[Optional[str], typer.Option(
        "--respondent", "-r", help="Respondent id for these files (default: from the file name, e.g. SF4.docx → SF4).",
        show_default=False)] = None,
    format_hint: Annotated[Optional[str], typer.Option(
        "--format-hint", help="Read every file as this format (txt, md, docx, odt, rtf, vtt, srt) whatever its extension.",
        show_default=False)] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Refuse a file in which the anonymity check finds likely identifiers.")] = False,
    identifiers: Annotated[Optional[Path], typer.Option(
        "--identifiers", help="File of real names and places (one per line) to look for; never stored.",
        show_default=False)] = None,
    speaker_map: Annotated[Optional[Path], typer.Option(
        "--speaker-map", help="CSV with columns document,speaker,respondent (focus groups, generic labels).",
        show_default=False)] = None,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Replace documents already imported under the same file name, or re-read an identical"
                          " file whose parse differs under the current speaker map and settings (not if they have"
                          " codings).")
    ] = False,
    fmt: FormatOption = "table",
    project_dir: ProjectOption = None,
) -> None:
    """Import transcripts: .txt .md .docx .odt .rtf .vtt .srt (or a REFI-QDA .qdpx project).

    Speaker turns are recognised in the usual layouts (Name: text, [Name] text,
    Speaker 1:, Otter, Zoom and Teams captions, SubRip); each file is imported
    on its own, so a bad file does not stop the others. The table of imported,
    replaced, unchanged and failed files goes to stdout ("units" and "words" count the
    whole document, "respondent units" and "respondent words" respondent speech
    only); exit code 1 if any file failed. After adding a speaker map, apply it
    with --replace. Ctrl-C keeps the files finished so far and lists them.

    Example:

        qualcode import transcripts/ --identifiers real-names.txt

        qualcode import FG1.docx --speaker-map speakers.csv
    """
    from qualcode.cli._util import check_format, open_project

    check_format(fmt, ("table", "csv", "json", "md"))
    project = open_project(project_dir)
    try:
        qdpx = _qdpx_paths(paths)
        if qdpx is not None:
            _import_qdpx(project, qdpx)
            return
        _import_transcripts(project, paths, respondent=respondent, format_hint=format_hint, strict=strict,
                            identifiers=identifiers, speaker_map=speaker_map, replace=replace, fmt=fmt)
    finally:
        project.close()


def _qdpx_paths(paths: list[str]) -> list[str] | None:
    """The REFI-QDA projects named (``import qdpx FILE`` or FILE.qdpx), or None for transcripts."""
    from qualcode.errors import InputError

    if paths and paths[0] == "qdpx" and not Path("qdpx").exists():
        if len(paths) < 2:
            raise InputError("give the REFI-QDA project to import: qualcode import qdpx PROJECT.qdpx")
        return paths[1:]
    qdpx = [p for p in paths if p.lower().endswith(".qdpx")]
    if qdpx and len(qdpx) != len(paths):
        raise InputError("import REFI-QDA projects (.qdpx) and transcripts in separate commands")
    return qdpx or None


def _import_qdpx(project, paths: list[str]) -> None:
    """Hand REFI-QDA projects to qualcode.refi; its summary goes to stderr (it is talk, not a table)."""
    from qualcode.cli._util import notice
    from qualcode.refi import import_project

    for path in paths:
        result = import_project(project, Path(path))
        for line in result.summary_lines():
            notice(line)


def _import_transcripts(project, paths, *, respondent, format_hint, strict, identifiers, speaker_map, replace,
                        fmt) -> None:
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn)

    from qualcode import transcripts
    from qualcode.anonymity import read_identifiers
    from qualcode.cli._util import err_console, notice

    # the same reader as check-anonymity's, so both accept and refuse the same files; never stored
    names = read_identifiers(identifiers) if identifiers else None
    # The spinner and elapsed time keep moving while one large file is being read.
    with Progress(SpinnerColumn(), TextColumn("Importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=err_console(), transient=True) as bar:
        task = bar.add_task("", total=None)

        def progress(done: int, total: int, result) -> None:
            bar.update(task, completed=done, total=total, description=result.file)

        try:
            results = transcripts.import_paths(
                project, paths, respondent=respondent, strict=strict, identifiers=names, progress=progress,
                replace=replace, speaker_map=speaker_map, format_hint=format_hint)
        except transcripts.ImportInterrupted as caught:
            results, current, interrupted = caught.results, caught.current, True
        else:
            current, interrupted = None, False
    _show_warnings(results)
    if interrupted:
        # The files finished before Ctrl-C are saved: show them, so the user knows where to resume.
        if results:
            _render_results(results, fmt)
        notice(f"Interrupted: {len(results)} file(s) done (listed above)"
               + (f"; {current} was not saved" if current else "") + ". Run the same command again to continue:"
               " files already imported are reported as unchanged.")
        raise typer.Exit(130)
    if not results:
        notice("No transcript files found (supported: " + ", ".join(transcripts.SUPPORTED_SUFFIXES) + ").")
        return
    _render_results(results, fmt)
    failed = [r for r in results if r.status == "failed"]
    if failed:
        from rich.markup import escape

        console = err_console()
        for result in failed:
            # escaped: a file name such as "[draft] SF4.txt" would otherwise be read as markup and vanish
            console.print(f"[bold red]Error:[/] {escape(result.message)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)


def _show_warnings(results) -> None:
    from qualcode.cli._util import notice

    for result in results:
        for warning in result.warnings[:SHOWN_WARNINGS_PER_FILE]:
            notice(f"Warning: {warning}")
        hidden = len(result.warnings) - SHOWN_WARNINGS_PER_FILE
        if hidden > 0:
            notice(f"Warning: {result.file}: {hidden} more; run 'qualcode check-anonymity' to see them all")


# Table headers for the terminal; csv, json and md keep the column names of results_frame.
TABLE_HEADERS = {"respondent_units": "respondent\nunits", "respondent_words": "respondent\nwords"}


def _render_results(results, fmt: str) -> None:
    from qualcode import transcripts
    from qualcode.cli._util import notice, render_table

    frame = transcripts.results_frame(results)
    if fmt == "table":
        frame = frame.rename(columns=TABLE_HEADERS)
    render_table(frame, fmt, title="Import",
                 caption="units, words: the whole document; respondent units, words: respondent speech only"
                 " (as in 'qualcode respondents')")
    counts = {status: sum(r.status == status for r in results)
              for status in ("imported", "replaced", "unchanged", "failed")}
    notice(f"Imported {counts['imported']}, " + (f"replaced {counts['replaced']}, " if counts["replaced"] else "")
           + f"unchanged {counts['unchanged']}, failed {counts['failed']}.")


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
