"""qualcode export qdpx: the project as a REFI-QDA project for NVivo, ATLAS.ti, MAXQDA, QualCoder.

(``qualcode import qdpx`` lives with the other importers and calls
``qualcode.refi.import_project``.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from qualcode.cli._util import ForceOption, ProjectOption

export_app = typer.Typer(
    help="Export the project for other programs (REFI-QDA .qdpx).\n\nExample:\n\n    qualcode export qdpx study.qdpx",
    no_args_is_help=True,
)


@export_app.command("qdpx")
def export_qdpx(
    out: Annotated[Path, typer.Argument(help="The .qdpx file to write.", show_default=False)],
    coder: Annotated[
        Optional[list[str]],
        typer.Option("--coder", "-c", help="Export only this coder's codings (repeat for several). A blind"
                                             " hand-off to another program: no other coder's codings go with it."),
    ] = None,
    force: ForceOption = False,
    project: ProjectOption = None,
) -> None:
    """Write the project as a REFI-QDA 1.0 project (.qdpx): documents as plain text, the codebook
    with its hierarchy and definitions, coders as users, respondents as cases with their attributes
    as variables, and every coding as a selection coded by its coder.

    Positions are Unicode code points from 0, end exclusive. GUIDs are kept in the project,
    so exporting again gives the same GUIDs.

    Example:

        qualcode export qdpx study.qdpx

        qualcode export qdpx for-nvivo.qdpx --coder anna
    """
    from qualcode.cli._util import notice, open_project
    from qualcode.refi import export_project

    if out.suffix.lower() != ".qdpx":
        from qualcode.errors import InputError

        raise InputError(f"{out} should end in .qdpx (a REFI-QDA project file)")
    with open_project(project) as opened:
        result = export_project(opened, out, coders=list(coder) if coder else None, force=force)
    for line in result.summary_lines():
        notice(line)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
