"""qualcode demo: the whole workflow on the example study."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo(
    directory: Annotated[Path, typer.Argument(help="Folder for the demo project (must be new or empty).")] = Path(
        "qualcode-demo"
    ),
    force: Annotated[bool, typer.Option("--force", help="Rebuild the demo in a folder that already has one.")] = False,
) -> None:
    """Build a project from the example study and show each step of the workflow.

    Example:

        qualcode demo /tmp/bridge-demo
    """
    from rich.rule import Rule

    from qualcode.cli._util import console, render_table
    from qualcode.demo import demo_steps

    out = console()
    for number, step in enumerate(demo_steps(directory, force=force), start=1):
        out.print(Rule(f"[bold]{number}. {step.title}", align="left"))
        if step.command:
            out.print(f"[dim]$ {step.command}[/]", highlight=False)
        for line in step.lines:
            out.print(line, highlight=False, markup=False)
        if step.table is not None:
            render_table(step.table, "table")
    out.print(f"\nDone. The demo project is in {Path(directory).resolve()}; its outputs are in outputs/.")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
