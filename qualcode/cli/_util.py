"""Shared pieces of the command line: consoles, common options, rendering.

Stdout carries data; stderr carries talk (progress, notices, errors).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from qualcode.errors import InputError
from qualcode.exports import TABLE_FORMATS


def console() -> Console:
    """A console on the current stdout (created per call so test runners capture it).

    On a terminal, tables fit its width. Written to a file or pipe (no terminal,
    no COLUMNS), they get 120 columns rather than rich's 80, so wide tables
    such as agreement statistics stay readable in logs.
    """
    import os

    width = None
    if not sys.stdout.isatty() and "COLUMNS" not in os.environ:
        width = 120
    return Console(file=sys.stdout, soft_wrap=False, width=width)


def err_console() -> Console:
    """A console on the current stderr, for progress and notices."""
    return Console(file=sys.stderr, soft_wrap=True)


def plural(count: int, word: str) -> str:
    """``1 code``, ``2 codes``: a count with its noun, for notices and captions."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def notice(message: str) -> None:
    """A one-line notice on stderr."""
    err_console().print(message, highlight=False, markup=False)


ProjectOption = Annotated[
    Optional[Path],
    typer.Option("--project", "-p", help="Project folder (default: the nearest one from the current folder upward).",
                 show_default=False),
]

ForceOption = Annotated[bool, typer.Option("--force", help="Replace an existing output file.")]

FormatOption = Annotated[
    str, typer.Option("--format", "-f", help="Output format: table, csv, json or md.", show_default=True)
]


def open_project(project_dir: Path | None):
    """The project named by --project, or the nearest one upward from the cwd."""
    from qualcode.project import Project

    return Project.find(project_dir)


def check_format(fmt: str, allowed: tuple[str, ...]) -> str:
    fmt = fmt.lower()
    if fmt not in allowed:
        raise InputError(f"unknown format '{fmt}'; choose one of {', '.join(allowed)}")
    return fmt


# what a listing can print on stdout (files add xlsx, docx, tex)
STDOUT_FORMATS = TABLE_FORMATS


def output_format(fmt: str | None, out: Path | None, file_formats: tuple[str, ...]) -> str:
    """The format to produce: from --out's suffix when writing a file (it must agree with
    --format if both are given), else --format (default table) for stdout."""
    from qualcode.exports import format_from_path

    if fmt is not None:
        fmt = fmt.lower()
    if out is not None:
        from_suffix = format_from_path(out)
        if from_suffix not in file_formats:
            raise InputError(
                f"cannot write '{out.suffix or out.name}' here; use one of {', '.join('.' + f for f in file_formats)}"
            )
        if fmt not in (None, "table") and fmt != from_suffix:
            raise InputError(f"--format {fmt} does not match --out {out.name}; drop --format or change the suffix")
        return from_suffix
    fmt = fmt or "table"
    if fmt in STDOUT_FORMATS:
        return fmt
    if fmt in file_formats:
        raise InputError(f"--format {fmt} writes a file; add --out FILE.{fmt}")
    raise InputError(f"unknown format '{fmt}'; choose one of {', '.join(STDOUT_FORMATS + file_formats)}")


def render_table(df, fmt: str = "table", *, title: str | None = None, caption: str | None = None) -> None:
    """Print a DataFrame to stdout as a rich table, csv, json or markdown."""
    fmt = check_format(fmt, STDOUT_FORMATS)
    if fmt != "table":
        from qualcode.exports import table_to_text

        sys.stdout.write(table_to_text(df, fmt))
        return
    from rich.highlighter import ReprHighlighter
    from rich.table import Table
    from rich.text import Text

    # titles and captions carry names (codebook, coders) that may hold brackets: plain text, not markup
    table = Table(title=None if title is None else Text(title, style="table.title"),
                  caption=None if caption is None else Text(caption, style="table.caption"),
                  show_lines=False, title_justify="left")
    for column in df.columns:
        numeric = str(df[column].dtype).startswith(("int", "float"))
        table.add_column(str(column), justify="right" if numeric else "left", overflow="fold")
    # Cells are highlighted as rich does by default but never read as markup: they hold quotes and
    # names such as "[laughs]" or "[draft] SF4.txt", which markup would drop.
    highlight = ReprHighlighter()
    for row in df.itertuples(index=False):
        table.add_row(*[highlight("" if v is None or (isinstance(v, float) and v != v) else str(v)) for v in row])
    console().print(table)
