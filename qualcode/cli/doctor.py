"""qualcode doctor: check that a project's database is whole and its records fit together."""

from __future__ import annotations

from typing import Annotated

import typer

from qualcode.cli._util import FormatOption, ProjectOption


def doctor(
    fix: Annotated[bool, typer.Option("--fix", help="Mend what can be mended without losing data.")] = False,
    fmt: FormatOption = "table",
    project_dir: ProjectOption = None,
) -> None:
    """Check the project: the database file, references between tables, documents without units, units and
    codings outside their text, codebook versions that are missing, memos and caches pointing at nothing, and
    reconciliation decisions without their consensus coding.

    Each problem is listed with where it is (ids and names, never transcript
    text) and how to mend it. --fix mends only what loses nothing: it removes
    memos and caches whose coding, document or unit is gone, and clears a
    coding's reference to a codebook version the project no longer holds (the
    coding stays). Exit code 1 while a problem remains.

    Examples:

        qualcode doctor

        qualcode doctor --fix --format csv > doctor.csv
    """
    import pandas as pd

    from qualcode.cli._util import check_format, notice, open_project, render_table
    from qualcode.doctor import check_project, fix_project

    fmt = check_format(fmt, ("table", "csv", "json", "md"))
    project = open_project(project_dir)
    try:
        if fix:
            with project.transaction() as conn:
                checks = fix_project(conn)
        else:
            checks = check_project(project.connect())
    finally:
        project.close()
    table = pd.DataFrame([c.as_row() for c in checks])
    if fmt == "table":
        table = table.drop(columns=["what"] + ([] if fix else ["fixed"]))
    render_table(table, fmt, title="Project check")
    remaining = [c for c in checks if not c.ok]
    fixed = sum(c.fixed for c in checks)
    if fixed:
        notice(f"Mended {fixed} record(s); nothing a coder made was removed.")
    if remaining:
        notice(f"{len(remaining)} check(s) found problems: " + "; ".join(f"{c.name} ({c.problems})" for c in remaining)
               + ". The 'mend' column says what to do.")
        raise typer.Exit(1)
    notice("Every check passed.")


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
