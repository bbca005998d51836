"""qualcode init: create a project."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the project (created if missing).")] = Path("."),
    name: Annotated[Optional[str], typer.Option(help="Project name (default: the folder name).")] = None,
    language: Annotated[str, typer.Option(help="spaCy language code of the transcripts.")] = "en",
    interviewer: Annotated[
        Optional[list[str]],
        typer.Option("--interviewer", help="A speaker label that marks the interviewer (repeatable)."),
    ] = None,
    id_rule: Annotated[
        str, typer.Option(help="'stem' (SF4.docx → SF4) or a regular expression with a group named id.")
    ] = "stem",
) -> None:
    """Create a project: qualcode.db (SQLite) and qualcode.toml (settings).

    Example:

        qualcode init my-study --language en --interviewer I --interviewer Facilitator
    """
    from qualcode.cli._util import notice
    from qualcode.project import Project

    project = Project.create(directory, name=name, language=language, interviewer_labels=interviewer, id_rule=id_rule)
    notice(f"Created project '{project.name}' in {project.root}")
    notice("Next: qualcode import TRANSCRIPTS... and qualcode respondents import respondents.csv")
    project.close()


def register(app: typer.Typer) -> None:
    app.command("init")(init)
