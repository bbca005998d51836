"""qualcode codebook: validate, show, import, export, diff, rename and merge codebooks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from qualcode.cli._util import ForceOption, FormatOption, ProjectOption, plural

codebook_app = typer.Typer(
    name="codebook", no_args_is_help=True,
    help="Codebooks: validate, show, import, export, diff, rename and merge codes.\n\n"
         "The format (YAML, or a spreadsheet) is described in docs/codebook-format.md.\n\n"
         "Example:\n\n    qualcode codebook validate codebooks/bridge.yaml && qualcode codebook import codebooks/bridge.yaml",
)

FileArgument = Annotated[Path, typer.Argument(help="Codebook file: .yaml, .xlsx, .csv or .qdc.", show_default=False)]


@codebook_app.command("validate")
def validate_command(file: FileArgument) -> None:
    """Check a codebook file and list every problem with its line and column (sheet and cell for spreadsheets).

    Exits 1 when there is any problem. Needs no project.

    Example:

        qualcode codebook validate codebooks/bridge.yaml
    """
    from rich.markup import escape

    from qualcode.cli._util import err_console
    from qualcode.codebook import read_codebook_file

    codebook, problems = read_codebook_file(file)
    out = err_console()
    if problems:
        for problem in problems:
            # escaped: a quoted value such as "[x]" would otherwise be read as markup and vanish
            out.print(f"[bold red]Error:[/] {escape(str(problem))}", highlight=False, soft_wrap=True)
        out.print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {file}", highlight=False,
                  markup=False)
        raise typer.Exit(1)
    out.print(f"{file}: valid — {plural(len(codebook.nodes), 'code')}, {plural(codebook.rule_count(), 'rule')}"
              f" (version {codebook.content_hash[:12]})", highlight=False, markup=False)


@codebook_app.command("show")
def show_command(
    file: Annotated[Optional[Path], typer.Argument(
        help="A codebook file to show instead of the project's codebook.", show_default=False)] = None,
    fmt: FormatOption = "table",
    include_inactive: Annotated[bool, typer.Option(
        "--all", help="Also show codes that are no longer in the current codebook (inactive).")] = False,
    project_dir: ProjectOption = None,
) -> None:
    """Show the code tree; for a project, with the number of codings of each coder.

    'table' draws a tree; csv, json and md give one row per code.

    Example:

        qualcode codebook show --format md
    """
    from qualcode.cli._util import check_format, console, open_project, render_table
    from qualcode.codebook import codebook_overview, current_version_id, load_codebook_file, load_version

    fmt = check_format(fmt, ("table", "csv", "json", "md"))
    if file is not None:
        codebook = load_codebook_file(file)
        table = codebook_overview(codebook=codebook)
        title = codebook.name or str(file)
    else:
        project = open_project(project_dir)
        try:
            conn = project.connect()
            table = codebook_overview(conn, include_inactive=include_inactive)
            version_id = current_version_id(conn)
            title = (load_version(conn, version_id).name if version_id else None) or "Codebook"
        finally:
            project.close()
    if fmt != "table":
        render_table(table, fmt)
        return
    from rich.markup import escape
    from rich.tree import Tree

    fixed = {"key", "label", "depth", "parent", "rules", "active", "definition"}
    coders = [c for c in table.columns if c not in fixed]
    root = Tree(f"[bold]{escape(title)}[/]"
                + (f"  [dim](codings by {escape(', '.join(coders))})[/]" if coders else ""))
    branches = {}
    for row in table.itertuples(index=False):
        record = row._asdict()
        counts = escape("  ".join(f"{coder}: {record[coder]}" for coder in coders if record[coder]))
        # labels and keys are text: escaped so a label such as "Support [peer]" is shown, not read as markup
        text = f"[bold]{escape(record['label'])}[/] [cyan]{escape(record['key'])}[/]"
        if record["rules"]:
            text += f" [dim]{record['rules']} rules[/]"
        if not record["active"]:
            text += " [yellow](inactive)[/]"
        if counts:
            text += f"  [green]{counts}[/]"
        parent = branches.get(record["parent"], root)
        branches[record["key"]] = parent.add(text)
    console().print(root)


@codebook_app.command("import")
def import_command(
    file: FileArgument,
    force: Annotated[bool, typer.Option(
        "--force", help="Import even if codes that carry codings become inactive (their codings are then"
                        " no longer counted).")] = False,
    project_dir: ProjectOption = None,
) -> None:
    """Make a codebook file the project's current codebook (stored as a version keyed by its content).

    Codes are matched to the project's codes by GUID, then by key. Codes
    missing from the new file are kept as inactive; if any of them carry
    codings the import is refused unless --force. A .qdc file carries no
    include, exclude, examples, memos or rules: matched codes keep their
    stored ones. Importing the same content again changes nothing.

    Example:

        qualcode codebook import codebooks/bridge.yaml
    """
    from qualcode.cli._util import notice, open_project
    from qualcode.codebook import import_codebook, load_codebook_file

    codebook = load_codebook_file(file)
    project = open_project(project_dir)
    try:
        with project.transaction() as conn:
            result = import_codebook(conn, codebook, force=force)
    finally:
        project.close()
    renamed = f" {result['renamed']} renamed (same GUID)," if result["renamed"] else ""
    notice(f"Imported '{result['name'] or file}' as codebook version {result['version_id']}"
           f" ({result['content_hash'][:12]}): {plural(result['codes'], 'code')}, {plural(result['rules'], 'rule')};"
           f" {result['added']} added, {result['updated']} updated,{renamed} {result['reactivated']} reactivated,"
           f" {result['deactivated']} made inactive, {result['unchanged']} unchanged.")
    if result["kept_stored_fields"]:
        notice(f"A .{result['source_format']} file carries no include, exclude, examples, memos or rules:"
               f" {plural(result['kept_stored_fields'], 'code')} kept the stored ones.")


@codebook_app.command("export")
def export_command(
    out: Annotated[Optional[Path], typer.Argument(
        help="Output file; its suffix picks the format. Omit to print yaml, csv or md.", show_default=False)] = None,
    fmt: Annotated[Optional[str], typer.Option(
        "--format", "-f", help="yaml, xlsx, csv, md, docx or qdc (default: from the file suffix).",
        show_default=False)] = None,
    force: ForceOption = False,
    project_dir: ProjectOption = None,
) -> None:
    """Write the project's codebook as yaml, xlsx, csv, md, docx or qdc (REFI-QDA).

    md and docx give the appendix table of a paper: code, definition,
    include, exclude and an example.

    Example:

        qualcode codebook export appendix-codebook.docx
    """
    import sys

    from qualcode.cli._util import notice, open_project
    from qualcode.codebook import TEXT_EXPORT_FORMATS, codebook_text, export_codebook, project_codebook
    from qualcode.errors import InputError

    project = open_project(project_dir)
    try:
        conn = project.connect()
        if out is None or str(out) == "-":
            fmt = (fmt or "yaml").lower()
            if fmt not in TEXT_EXPORT_FORMATS:
                raise InputError(f"'{fmt}' cannot be printed; give an output file such as codebook.{fmt}")
            sys.stdout.write(codebook_text(project_codebook(conn), fmt))
            return
        path = export_codebook(conn, out, fmt, force=force)
    finally:
        project.close()
    notice(f"Wrote {path}")


@codebook_app.command("diff")
def diff_command(
    old: Annotated[Path, typer.Argument(help="The earlier codebook file.", show_default=False)],
    new: Annotated[Optional[Path], typer.Argument(
        help="The later codebook file (default: compare the project's codebook with OLD as the new one).",
        show_default=False)] = None,
    fmt: FormatOption = "table",
    project_dir: ProjectOption = None,
) -> None:
    """List codes added, removed, renamed, moved and redefined between two codebooks.

    With one file, the project's current codebook is the old one and the file the new.

    Example:

        qualcode codebook diff codebooks/bridge-v1.yaml codebooks/bridge-v2.yaml
    """
    import pandas as pd

    from qualcode.cli._util import check_format, notice, open_project, render_table
    from qualcode.codebook import diff_codebooks, load_codebook_file, project_codebook

    fmt = check_format(fmt, ("table", "csv", "json", "md"))
    if new is None:
        later = load_codebook_file(old)
        project = open_project(project_dir)
        try:
            earlier = project_codebook(project.connect())
        finally:
            project.close()
    else:
        earlier, later = load_codebook_file(old), load_codebook_file(new)
    changes = diff_codebooks(earlier, later)
    rows = []
    for item in changes["added"]:
        rows.append(("added", item["key"], f"{item['label']}" + (f" (under {item['parent']})" if item["parent"] else "")))
    for item in changes["removed"]:
        rows.append(("removed", item["key"], item["label"]))
    for item in changes["renamed"]:
        rows.append(("renamed", item["new"], f"was {item['old']} ({item['evidence']})"))
    for item in changes["moved"]:
        rows.append(("moved", item["key"], f"from {item['old_parent'] or '(top level)'} to"
                                           f" {item['new_parent'] or '(top level)'}"))
    for item in changes["redefined"]:
        rows.append(("redefined", item["key"], "changed: " + ", ".join(item["fields"])))
    if not rows:
        notice("No differences between the two codebooks.")
        if fmt == "table":
            return
    render_table(pd.DataFrame(rows, columns=["change", "code", "detail"]), fmt, title="Codebook changes")


@codebook_app.command("rename")
def rename_command(
    old: Annotated[str, typer.Argument(help="The code's current key.", show_default=False)],
    new: Annotated[str, typer.Argument(help="The new key.", show_default=False)],
    label: Annotated[Optional[str], typer.Option(help="A new label as well.", show_default=False)] = None,
    project_dir: ProjectOption = None,
) -> None:
    """Rename a code; its codings follow and the change is recorded in the project history.

    Example:

        qualcode codebook rename work.toll work.emotional --label "Emotional cost"
    """
    from qualcode.cli._util import notice, open_project
    from qualcode.codebook import rename_code

    project = open_project(project_dir)
    try:
        with project.transaction() as conn:
            result = rename_code(conn, old, new, label=label)
    finally:
        project.close()
    notice(f"Renamed {result['old']} to {result['new']} ('{result['label']}');"
           f" {plural(result['codings'], 'coding')} {'follows' if result['codings'] == 1 else 'follow'} it.")


@codebook_app.command("merge")
def merge_command(
    codes: Annotated[list[str], typer.Argument(help="The codes to merge.", show_default=False)],
    into: Annotated[str, typer.Option("--into", help="The code they become (existing, or new with --label).",
                                      show_default=False)],
    label: Annotated[Optional[str], typer.Option(help="Label of the merged code (required for a new key).",
                                                 show_default=False)] = None,
    project_dir: ProjectOption = None,
) -> None:
    """Merge codes into one: codings and reconciliation decisions move to it, the merged codes become inactive.

    Example:

        qualcode codebook merge sup.peer sup.supervision --into sup.people --label "Support from people"
    """
    from qualcode.cli._util import notice, open_project
    from qualcode.codebook import merge_codes

    project = open_project(project_dir)
    try:
        with project.transaction() as conn:
            result = merge_codes(conn, codes, into, label=label)
    finally:
        project.close()
    notice(f"Merged {', '.join(result['sources'])} into {result['into']}"
           f"{' (new code)' if result['created'] else ''}: {plural(result['codings_moved'], 'coding')} and"
           f" {plural(result['decisions_moved'], 'decision')} moved,"
           f" {plural(result['duplicates_dropped'], 'duplicate coding')} dropped.")


def register(app: typer.Typer) -> None:
    app.add_typer(codebook_app, name="codebook")
