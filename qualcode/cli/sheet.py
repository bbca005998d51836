"""qualcode sheet: Excel coding sheets out to a coder and back in, and the double-coding sample."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from qualcode.cli._util import ForceOption, FormatOption, ProjectOption

sheet_app = typer.Typer(
    help="Excel coding sheets: export one for a coder (optionally a double-coding sample), import it back.\n\n"
    "Example:\n\n    qualcode sheet export --coder B --sample 0.3 --seed 7 --out coder_B.xlsx",
    no_args_is_help=True,
)


@sheet_app.command("export")
def export(
    coder: Annotated[str, typer.Option("--coder", "-c", help="The coder the sheet is for.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="The workbook to write (.xlsx).", show_default=False)],
    codebook: Annotated[
        Optional[list[str]],
        typer.Option("--codebook", help="Only these codes (a theme key stands for its codes); repeatable."),
    ] = None,
    documents: Annotated[
        Optional[list[str]], typer.Option("--documents", "-d", help="Only these documents (name or stem); repeatable.")
    ] = None,
    sample: Annotated[
        Optional[float],
        typer.Option("--sample", help="Draw this fraction of respondents (or documents) for double coding, e.g. 0.3."),
    ] = None,
    seed: Annotated[
        Optional[int], typer.Option("--seed", help="Seed of the sample draw (the same seed gives the same sample).")
    ] = None,
    by: Annotated[str, typer.Option("--by", help="Sample whole respondents or whole documents.")] = "respondent",
    new_sample: Annotated[
        bool, typer.Option("--new-sample", help="Replace the coder's recorded sample with a new draw (codings "
                           "already imported stay).")
    ] = False,
    force: ForceOption = False,
    project: ProjectOption = None,
) -> None:
    """Write a coding sheet for one coder: a row per paragraph, a column per code.

    Only the coder's own earlier codings are filled in (blind double coding).
    With --sample the rows are a reproducible sample of respondents (or
    documents); the sample and the units handed out are recorded in the
    project, so agreement later compares exactly the double-coded units.
    Without --seed a seed is drawn, recorded and printed. A coder has one
    sample at a time: exporting again with the same --sample/--seed/--by
    (or without --seed) repeats the recorded draw; a different draw is
    refused unless --new-sample, which replaces the coder's sample.

    Example:

        qualcode sheet export --coder B --sample 0.3 --seed 7 --by respondent --out coder_B.xlsx
    """
    from qualcode.cli._util import notice, open_project
    from qualcode.sheets import export_sheet

    with open_project(project) as opened:
        result = export_sheet(opened, coder, out, codes=codebook, documents=documents, sample=sample, seed=seed,
                              by=by, force=force, new_sample=new_sample)
    notice(f"Wrote {result.path}: {result.units} paragraphs × {len(result.codes)} codes for coder '{result.coder}'"
           f" ({len(result.respondents)} respondents, {len(result.documents)} documents).")
    if result.fraction is not None:
        recorded = ("the recorded sample" if result.reused_sample else "recorded as sample")
        notice(f"Sample: {result.fraction:g} of {result.by}s with seed {result.seed} → {', '.join(result.sampled_groups)}"
               f" ({recorded} {result.sample_id}; --seed {result.seed} reproduces it).")
        if result.replaced_sample is not None:
            notice(f"Replaced the coder's earlier sample {result.replaced_sample}; its paragraphs no longer count"
                   " as assigned.")
    if result.prefilled:
        notice(f"Pre-filled {result.prefilled} marks from this coder's own earlier codings.")


@sheet_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="The filled coding sheet (.xlsx).", show_default=False)],
    coder: Annotated[str, typer.Option("--coder", "-c", help="The coder who filled it in.", show_default=False)],
    force_coder: Annotated[
        bool, typer.Option("--force-coder", help="Import a sheet that was exported for a different coder.")
    ] = False,
    project: ProjectOption = None,
) -> None:
    """Read a filled coding sheet back; every cell is checked before anything is saved.

    Problems are named by sheet and cell (Coding!F17). A re-import replaces
    the coder's earlier sheet codings for the sheet's paragraphs and reports
    how many marks were added, removed and kept.

    Example:

        qualcode sheet import coder_B.xlsx --coder B
    """
    from qualcode.cli._util import notice, open_project
    from qualcode.sheets import import_sheet

    with open_project(project) as opened:
        result = import_sheet(opened, file, coder, force_coder=force_coder)
    notice(f"Imported {result.path.name} for coder '{result.coder}': {result.units} paragraphs, "
           f"{result.marked} marks — {result.added} added, {result.removed} removed, {result.kept} kept.")
    for note in result.notes:
        notice(f"Note: {note}.")


@sheet_app.command("sample")
def sample_(
    coder: Annotated[
        Optional[list[str]], typer.Option("--coder", "-c", help="Only these coders; repeatable.")
    ] = None,
    fmt: FormatOption = "table",
    project: ProjectOption = None,
) -> None:
    """List which paragraphs each coder was handed (per respondent and document) and from which sample.

    Example:

        qualcode sheet sample --coder B --format csv
    """
    from qualcode.cli._util import open_project, render_table
    from qualcode.sheets import assignments_table

    with open_project(project) as opened:
        table = assignments_table(opened.connect(), coder)
    render_table(table, fmt, title="Units handed to each coder")


def register(app: typer.Typer) -> None:
    app.add_typer(sheet_app, name="sheet")
