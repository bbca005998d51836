"""qualcode check-anonymity: likely residual identifiers in transcripts, printed masked."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from qualcode.cli._util import FormatOption, ProjectOption

# Exit code with --fail-on-findings when something was found (1 stays for errors, 2 for usage).
FINDINGS_EXIT_CODE = 3


def check_anonymity(
    targets: Annotated[Optional[list[str]], typer.Argument(
        help="Documents in the project to check (default: all); with --files, transcript files instead.",
        show_default=False)] = None,
    files: Annotated[bool, typer.Option(
        "--files", help="Check the files named as arguments (not yet imported) instead of project documents.")
    ] = False,
    identifiers: Annotated[Optional[Path], typer.Option(
        "--identifiers", help="File of the study's real names and places, one per line; never stored or printed.",
        show_default=False)] = None,
    names: Annotated[str, typer.Option(
        "--names", help="How to find person names: auto (a trained English spaCy pipeline if installed, else the"
                        " offline heuristic), ner, heuristic or none.")] = "auto",
    fail_on_findings: Annotated[bool, typer.Option(
        "--fail-on-findings", help=f"Exit with code {FINDINGS_EXIT_CODE} when anything is found (for scripts).")
    ] = False,
    fmt: FormatOption = "table",
    project_dir: ProjectOption = None,
) -> None:
    """Find likely identifiers left in transcripts: e-mail addresses, phone numbers, URLs, @handles,
    postcodes and ZIP codes, full dates, street addresses, names, and the study's own list of names.

    Each finding is printed with where to find it in the transcript file
    (SF4.txt:62:251 for line and column of .txt/.md; "SF9.docx paragraph 14";
    "TL1.vtt cue 12 (line 47)"), its kind and the match with most of it
    masked (de•••• d•••••); the full text is never printed. A document whose
    source file has gone or changed is placed in the text as stored, with
    its unit key (SF4.txt#12).
    Redaction placeholders (\\[named organisation], xxxx, \\[SF3]), speaker
    labels and respondent ids are not findings. With --files, folders are
    searched for transcripts as by 'qualcode import'; a file that cannot be
    read is listed with its problem and the others are still checked. Exit
    code 0 (also when something is found, unless --fail-on-findings: then
    3); 1 for errors, also when any file could not be checked.
    See docs/anonymity.md for what is detected and how well.

    Example:

        qualcode check-anonymity --identifiers real-names.txt

        qualcode check-anonymity --files new/SF12.docx new/SF13.txt --fail-on-findings --format csv
    """
    from qualcode import anonymity
    from qualcode.cli._util import check_format, notice, open_project, render_table
    from qualcode.errors import InputError

    fmt = check_format(fmt, ("table", "csv", "json", "md"))
    if names not in anonymity.NAME_METHODS:
        raise InputError(f"unknown --names '{names}'; choose one of {', '.join(anonymity.NAME_METHODS)}")
    listed = anonymity.read_identifiers(identifiers) if identifiers is not None else None
    if files:
        if not targets:
            raise InputError("--files needs at least one transcript file; e.g. qualcode check-anonymity --files SF4.txt")
        project = _optional_project(project_dir)
        language = project.language if project else "en"
        labels = project.interviewer_labels if project else None
        if project:
            project.close()
        from qualcode.transcripts import collect_files

        paths = collect_files(targets)  # folders searched once, here, so the summary can count the files
        rows = anonymity.check_files(paths or [Path(t) for t in targets], identifiers=listed, language=language,
                                     names=names, interviewer_labels=labels)
        checked = len(paths)
    else:
        project = open_project(project_dir)
        try:
            conn = project.connect()
            rows = anonymity.check_documents(conn, targets or None, identifiers=listed, language=project.language,
                                             names=names)
            checked = len(set(targets)) if targets else conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        finally:
            project.close()

    import pandas as pd

    failed = [row for row in rows if row["status"] == "failed"]
    rows = [row for row in rows if row["status"] != "failed"]
    table = pd.DataFrame(rows + failed, columns=anonymity.FINDING_COLUMNS)
    for column in ("line", "column", "paragraph", "cue", "start", "end"):
        # whole numbers, blank where a place has none (a float column would print 62.0)
        values = [None if pd.isna(v) else int(v) for v in table[column]]
        if fmt == "csv":  # the csv writer would infer floats again
            values = ["" if v is None else str(v) for v in values]
        table[column] = pd.Series(values, dtype=object, index=table.index)
    if fmt != "table":
        render_table(table, fmt)
    else:
        if rows:
            # on screen, "where" already says document and place in it
            render_table(table[table["status"] == "found"][["where", "kind", "masked"]], fmt,
                         title="Likely identifiers (masked)")
        if failed:
            render_table(table[table["status"] == "failed"][["where", "status", "message"]].rename(
                columns={"where": "file"}), fmt, title="Files not checked")
    what = "file" if files else "document"
    plural = "" if checked == 1 else "s"
    scanned = checked - len(failed)
    stored = sum(1 for row in rows if row["located"] == anonymity.LOCATED_IN_STORED)
    if rows:
        documents_with = len({row["document"] for row in rows})
        notice(f"{len(rows)} likely identifier(s) in {documents_with} of {scanned} {what}{plural};"
               " check each one and redact it in the source transcript")
        if stored:
            notice(f"{stored} of the findings could not be placed in a source file (it is no longer where it was"
                   " imported from, or has changed), so they are placed in the text as stored: find them by their"
                   " unit key (SF4.txt#12), as in coding sheets and `qualcode codings export --layout units`")
    else:
        notice(f"No likely identifiers found in {scanned} {what}{'' if scanned == 1 else 's'}.")
    if failed:
        raise InputError(f"{len(failed)} of {checked} file{plural} could not be checked: "
                         + "; ".join(row["message"] for row in failed[:3]) + ("; …" if len(failed) > 3 else "")
                         + " — fix them and check again (the others were checked)")
    if rows and fail_on_findings:
        raise typer.Exit(FINDINGS_EXIT_CODE)


def _optional_project(project_dir: Path | None):
    """The project when there is one (its language and interviewer labels help); --files works without."""
    from qualcode.errors import ProjectError
    from qualcode.project import Project

    try:
        return Project.find(project_dir)
    except ProjectError:
        if project_dir is not None:
            raise
        return None


def register(app: typer.Typer) -> None:
    app.command("check-anonymity")(check_anonymity)
