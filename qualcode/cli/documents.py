"""qualcode documents: the imported documents, with their respondent, units, words and hash."""

from __future__ import annotations

import typer

from qualcode.cli._util import FormatOption, ProjectOption

# Terminal headers; csv, json and md keep the column names of transcripts.list_documents.
# Two-line headers keep the table narrow enough for a terminal.
TABLE_HEADERS = {"respondent_units": "respondent\nunits", "interviewer_units": "interviewer\nunits",
                 "other_units": "other\nunits", "respondent_words": "respondent\nwords", "imported_at": "imported at"}


def documents_command(fmt: FormatOption = "table", project_dir: ProjectOption = None) -> None:
    """List the imported documents: format, respondent, units, words, import time and SHA-256 prefix.

    Units are counted by role (respondent, interviewer, other); "words" counts
    all speech, "respondent words" respondent speech only (as 'qualcode
    respondents' does). A document without a respondent (a focus group, a
    REFI-QDA project without cases) can be attributed with 'qualcode
    respondents assign'.

    Example:

        qualcode documents --format csv > documents.csv
    """
    from qualcode.cli._util import check_format, notice, open_project, render_table
    from qualcode.transcripts import list_documents

    fmt = check_format(fmt, ("table", "csv", "json", "md"))
    project = open_project(project_dir)
    try:
        table = list_documents(project.connect())
    finally:
        project.close()
    if table.empty:
        notice("No documents yet; import transcripts with 'qualcode import FILES'.")
        return
    unattributed = table.attrs.get("unattributed", [])
    shown = table
    if fmt == "table":
        # The terminal gets a narrower view: import time to the minute, no all-zero "other units".
        shown = table.assign(imported_at=table["imported_at"].str.slice(0, 16).str.replace("T", " "))
        if not shown["other_units"].any():
            shown = shown.drop(columns="other_units")
        shown = shown.rename(columns=TABLE_HEADERS)
    render_table(shown, fmt, title="Documents",
                 caption="words: all speech; respondent words: respondent speech only; sha256: first 12 hex digits")
    if len(unattributed):
        more = f" and {len(unattributed) - 5} more" if len(unattributed) > 5 else ""
        shown_names = ", ".join(unattributed[:5]) + more
        notice(f"{len(unattributed)} document(s) have respondent speech that belongs to no respondent ({shown_names});"
               " 'qualcode respondents assign DOCUMENT RESPONDENT_ID' attributes them.")


def register(app: typer.Typer) -> None:
    app.command("documents")(documents_command)
