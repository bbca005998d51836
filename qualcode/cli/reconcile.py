"""qualcode reconcile: settle two coders' disagreements into a consensus coder.

Three uses share the command name: ``reconcile CODER_A CODER_B`` (the
session, interactive or through a decisions sheet), ``reconcile status`` and
``reconcile log``. A click group cannot take positional arguments before its
subcommands, so ``ReconcileGroup`` reads an unknown first word as CODER_A and
routes it to the ``run`` subcommand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from qualcode.cli._util import ForceOption, ProjectOption


class ReconcileGroup(TyperGroup):
    """``reconcile A B …`` is ``reconcile run A B …``; ``status`` and ``log`` are subcommands."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


reconcile_app = typer.Typer(
    cls=ReconcileGroup,
    no_args_is_help=True,
    help="""Reconcile two coders into a consensus coding; show progress; list the decisions.

Three uses:

[bold]qualcode reconcile CODER_A CODER_B[/] [--into consensus] [--unit paragraph|turn|sentence] [--codes KEY ...] [--sheet FILE.xlsx | --apply-sheet FILE.xlsx]

[bold]qualcode reconcile status[/] [CODER_A CODER_B]

[bold]qualcode reconcile log[/] [--format table|md|csv|json|xlsx] [--out FILE]

Examples:

    qualcode reconcile coder_A coder_B

    qualcode reconcile coder_A coder_B --sheet decisions.xlsx

    qualcode reconcile coder_A coder_B --apply-sheet decisions.xlsx

    qualcode reconcile status

    qualcode reconcile log --out reconcile_log.md

Agreements go into the consensus coder at once; every decision is saved the
moment it is made, so running the same command again resumes at the first
open disagreement. ('run' may be written before the coder names; it is implied.)""",
)

CHOICES = {"a": "apply", "r": "reject", "A": "A", "B": "B", "s": "skip", "n": "note", "u": "undo", "q": "quit"}
PROMPT = "[a]pply  [r]eject  take [A]'s span  take [B]'s span  [s]kip  [n]ote  [u]ndo  [q]uit"
STYLE_A = "bold cyan underline"
STYLE_B = "black on yellow"

UnitOption = Annotated[
    str, typer.Option("--unit", "-u", help="Unit compared: paragraph, turn or sentence.", show_default=True)
]
IntoOption = Annotated[str, typer.Option("--into", help="Name of the consensus coder.", show_default=True)]
CodesOption = Annotated[
    Optional[list[str]],
    typer.Option("--codes", help="Only these code keys (repeat or separate with commas; a theme means its codes).",
                 show_default=False),
]


def _split_codes(codes: list[str] | None) -> list[str] | None:
    if not codes:
        return None
    keys = [key.strip() for item in codes for key in item.split(",") if key.strip()]
    return keys or None


@reconcile_app.command("run")
def run(
    coder_a: Annotated[str, typer.Argument(help="First coder (e.g. the one who coded everything).")],
    coder_b: Annotated[str, typer.Argument(help="Second coder.")],
    into: IntoOption = "consensus",
    unit: UnitOption = "paragraph",
    codes: CodesOption = None,
    sheet: Annotated[
        Optional[Path],
        typer.Option("--sheet", help="Write the open disagreements to this xlsx decisions sheet instead of asking.",
                     show_default=False),
    ] = None,
    apply_sheet: Annotated[
        Optional[Path],
        typer.Option("--apply-sheet", help="Apply a filled decisions sheet (all rows or none).", show_default=False),
    ] = None,
    compared_only: Annotated[
        bool, typer.Option("--compared-only", help="Leave out the paragraphs only one coder coded (by default"
                           " they go into the consensus with that coder's codings).")
    ] = False,
    force: ForceOption = False,
    project_dir: ProjectOption = None,
) -> None:
    """Reconcile CODER_A and CODER_B: one decision per disagreement, saved as it is made.

    Without --sheet or --apply-sheet each disagreement is shown with the unit
    text (A's span underlined, B's highlighted), the speaker, the code's
    definition, include and exclude, and what each coder did; answer with one
    letter. Quit at any time; run the same command again to resume.

    Example:

        qualcode reconcile coder_A coder_B --unit paragraph --into consensus
    """
    from qualcode import reconcile
    from qualcode.cli._util import notice, open_project
    from qualcode.errors import InputError

    if sheet is not None and apply_sheet is not None:
        raise InputError("give either --sheet (write decisions to fill in) or --apply-sheet (read them), not both")
    project = open_project(project_dir)
    code_keys = _split_codes(codes)
    try:
        if sheet is not None:
            session = reconcile.open_session(project, coder_a, coder_b, into=into, unit=unit, codes=code_keys,
                                             record_agreements=False)
            rows = reconcile.write_sheet(session, sheet, force=force)
            if rows == 0:
                total = len(session.disagreements())
                notice(f"Nothing to decide: {coder_a} and {coder_b} have {total} disagreement(s), none open;"
                       f" {sheet} was not written.")
                return
            notice(f"Wrote {rows} open disagreement(s) between {coder_a} and {coder_b} to {sheet}. Fill the"
                   f" Decision column, then: qualcode reconcile {coder_a} {coder_b} --apply-sheet {sheet}")
            return
        if apply_sheet is not None:
            summary = reconcile.reconcile_from_sheet(project, coder_a, coder_b, apply_sheet, into=into, unit=unit,
                                                     codes=code_keys, carry_single=not compared_only)
            notice(f"Applied {summary['applied']} decision(s) from {apply_sheet.name} into '{into}'"
                   f" ({summary['agreements']} agreement(s) recorded, {summary['skipped']} left open,"
                   f" {summary['unchanged']} already decided). {summary['open']} disagreement(s) remain open."
                   f" {summary['single']} single-coded paragraph code(s) carried over.")
            return
        session = reconcile.open_session(project, coder_a, coder_b, into=into, unit=unit, codes=code_keys,
                                         carry_single=not compared_only)
        _interactive(session)
    finally:
        project.close()


def display_console():
    """The console the interactive session draws on (stderr: this is talk, not data).

    Unlike ``err_console()`` it does not soft-wrap, so panels wrap their text
    inside the border instead of being cropped to one line; on a terminal it
    takes the terminal's width, otherwise (piped, captured) 100 columns.
    """
    import sys

    from rich.console import Console

    width = None if sys.stderr.isatty() else 100
    return Console(file=sys.stderr, soft_wrap=False, width=width)


def _interactive(session) -> None:
    from qualcode.cli._util import notice

    out = display_console()
    everything = session.disagreements()
    total = len(everything)
    position = {d.ident: index for index, d in enumerate(everything, start=1)}
    agreements = len(session.agreements())
    notice(f"{session.coder_a} vs {session.coder_b} by {session.unit}: {agreements} agreement(s) and"
           f" {len(session.carried())} single-coded paragraph code(s) are in '{session.into}';"
           f" {total} disagreement(s), {len(session.disagreements('open'))} open.")
    skipped: set = set()
    current = None
    # Notes typed but not yet saved, per disagreement: a note belongs to its disagreement, so it
    # survives an undo that moves away from it, and an undone decision's note comes back.
    notes: dict = {}
    while True:
        if current is None:
            pending = [d for d in session.disagreements("open") if d.ident not in skipped]
            if not pending:
                break
            current = pending[0]
            _show(out, session, current, position.get(current.ident, 0), total, notes.get(current.ident))
        try:
            answer = _ask()
        except (typer.Abort, EOFError, KeyboardInterrupt):
            answer = "q"
            out.print()
        choice = CHOICES[answer]
        if choice == "quit":
            if notes.get(current.ident):
                session.decide(current, "skip", note=notes.pop(current.ident))
            break
        if choice == "note":
            try:
                typed = typer.prompt("Note", err=True, default=notes.get(current.ident, ""), show_default=False)
            except (typer.Abort, EOFError, KeyboardInterrupt):
                continue
            if typed.strip():
                notes[current.ident] = typed
            else:
                notes.pop(current.ident, None)
            continue
        if choice == "undo":
            undone = session.undo_last()
            if undone is None:
                notice("Nothing to undo.")
                continue
            notice(f"Undone: '{undone.decision}' on {undone.unit_key} × {undone.code_key}.")
            if undone.disagreement is not None:
                if undone.note and not notes.get(undone.disagreement.ident):
                    notes[undone.disagreement.ident] = undone.note
                skipped.discard(undone.disagreement.ident)
                current = undone.disagreement
                _show(out, session, current, position.get(current.ident, 0), total, notes.get(current.ident))
            continue
        session.decide(current, choice, note=notes.pop(current.ident, None))
        if choice == "skip":
            skipped.add(current.ident)
        current = None
    remaining = len(session.disagreements("open"))
    notice(f"Saved. {total - remaining}/{total} disagreements decided, {remaining} open.")
    if remaining:
        notice(f"Run 'qualcode reconcile {session.coder_a} {session.coder_b}' again to continue.")


def _ask() -> str:
    from qualcode.cli._util import notice

    while True:
        answer = typer.prompt(PROMPT, err=True, prompt_suffix="\n> ").strip()
        if answer in CHOICES:
            return answer
        if answer.lower() in ("apply", "reject", "skip", "note", "undo", "quit"):
            return answer[0].lower()
        notice(f"'{answer}' is not one of a, r, A, B, s, n, u, q (A and B are capitals).")


MARK_A = ("«", "»")
MARK_B = ("⟦", "⟧")


def marked_text(text: str, offset: int, a_spans, b_spans):
    """The unit text with A's spans between « » and B's between ⟦ ⟧, styled as well.

    The markers keep the spans visible where colour and underline are not
    shown (NO_COLOR, a pipe, a log); the styles make them stand out where
    they are. Spans are absolute positions; ``offset`` is the text's start.
    """
    from rich.text import Text

    def clip(spans):
        return [(max(0, s - offset), min(len(text), e - offset)) for s, e in spans if e - offset > 0 and s - offset < len(text)]

    a, b = clip(a_spans), clip(b_spans)
    cuts = sorted({0, len(text), *(p for span in a + b for p in span)})
    body = Text()
    for position, following in zip(cuts, cuts[1:] + [None]):
        # closing markers before opening ones at the same place
        body.append("".join(MARK_B[1] for s, e in b if e == position), style=STYLE_B)
        body.append("".join(MARK_A[1] for s, e in a if e == position), style=STYLE_A)
        body.append("".join(MARK_A[0] for s, e in a if s == position and e > s), style=STYLE_A)
        body.append("".join(MARK_B[0] for s, e in b if s == position and e > s), style=STYLE_B)
        if following is None:
            break
        in_a = any(s <= position < e for s, e in a)
        in_b = any(s <= position < e for s, e in b)
        style = " ".join(x for x, inside in ((STYLE_A, in_a), (STYLE_B, in_b)) if inside) or None
        body.append(text[position:following], style=style)
    return body


def legend(coder_a: str, coder_b: str):
    """``«A» = coder_a   ⟦B⟧ = coder_b``, each in its coder's style."""
    from rich.text import Text

    return Text.assemble((f"{MARK_A[0]}A{MARK_A[1]} = {coder_a}", STYLE_A), "   ",
                         (f"{MARK_B[0]}B{MARK_B[1]} = {coder_b}", STYLE_B))


def _show(out, session, d, index: int, total: int, note: str | None = None) -> None:
    """The disagreement as a person needs it to decide (on stderr: this is talk, not data)."""
    from rich.panel import Panel
    from rich.rule import Rule
    from rich.text import Text

    from qualcode.reconcile import describe_action

    out.print(Rule(Text(f"{index}/{total}  {d.unit_key} · {d.code_key}"), align="left"))
    who = f"Respondent {d.respondent_id or '—'}, speaker {d.speaker or '—'}"
    kind = "boundaries differ" if d.kind == "boundary" else (
        f"only {session.coder_a if d.a_applied else session.coder_b} applied it")
    out.print(Text(f"{who}  ·  {kind}", style="dim"))
    out.print(legend(session.coder_a, session.coder_b))
    out.print(Panel(marked_text(d.text, d.start, d.a_spans, d.b_spans)))
    code = Text()
    code.append(f"{d.code_label}", style="bold")
    code.append(f"  ({d.code_key})\n")
    for name, value in (("Definition", d.definition), ("Include", d.include), ("Exclude", d.exclude)):
        if value:
            code.append(f"{name}: ", style="bold")
            code.append(f"{value}\n")
    out.print(code, end="")
    out.print(Text.assemble((f"{session.coder_a}: ", STYLE_A),
                            describe_action(d.a_spans, d.start, d.end, d.text)))
    out.print(Text.assemble((f"{session.coder_b}: ", STYLE_B),
                            describe_action(d.b_spans, d.start, d.end, d.text)))
    if note:
        out.print(Text.assemble(("Note (saved with the decision): ", "bold"), note))


@reconcile_app.command("status")
def status(
    coder_a: Annotated[Optional[str], typer.Argument(help="First coder (default: the recorded reconciliation).",
                                                     show_default=False)] = None,
    coder_b: Annotated[Optional[str], typer.Argument(help="Second coder.", show_default=False)] = None,
    into: Annotated[Optional[str], typer.Option("--into", help="Consensus coder (default: as recorded, else"
                                                " 'consensus').", show_default=False)] = None,
    unit: Annotated[Optional[str], typer.Option("--unit", "-u", help="Unit (default: as recorded, else"
                                                " paragraph).", show_default=False)] = None,
    codes: CodesOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv, json or md.")] = "table",
    project_dir: ProjectOption = None,
) -> None:
    """Progress per code: agreements, disagreements, decided, open, single-coded.

    Without coder names, the reconciliation recorded in the project is shown
    (name them when there are several). Reads only.

    Example:

        qualcode reconcile status coder_A coder_B --format md
    """
    from qualcode import reconcile
    from qualcode.cli._util import notice, open_project, render_table
    from qualcode.errors import InputError

    if (coder_a is None) != (coder_b is None):
        raise InputError("name both coders (CODER_A CODER_B) or neither")
    project = open_project(project_dir)
    try:
        recorded = reconcile.recorded_sessions(project)
        if coder_a is None:
            if not recorded:
                raise InputError("no reconciliation has been started in this project; run"
                                 " 'qualcode reconcile CODER_A CODER_B'")
            if len(recorded) > 1:
                listed = "; ".join(f"{r['coder_a']} {r['coder_b']} into {r['into']} by {r['unit']}" for r in recorded)
                raise InputError(f"several reconciliations are recorded ({listed}); name the coders and --into")
            coder_a, coder_b = recorded[0]["coder_a"], recorded[0]["coder_b"]
            into = into or recorded[0]["into"]
            unit = unit or recorded[0]["unit"]
        else:
            match = [r for r in recorded if (r["coder_a"], r["coder_b"]) == (coder_a, coder_b)
                     and (into is None or r["into"] == into)]
            if match:
                into = into or match[0]["into"]
                unit = unit or match[0]["unit"]
        session = reconcile.open_session(project, coder_a, coder_b, into=into or "consensus",
                                         unit=unit or "paragraph", codes=_split_codes(codes),
                                         record_agreements=False)
        df = session.status()
        total = df.iloc[-1]
        notice(f"{coder_a} vs {coder_b} into '{session.into}' by {session.unit}: {total['decided']}/"
               f"{total['disagreements']} disagreements decided, {total['open']} open;"
               f" {total['agreed']} agreements.")
        render_table(df, fmt, title=f"Reconciliation {coder_a} + {coder_b} → {session.into}")
    finally:
        project.close()


@reconcile_app.command("log")
def log(
    coder_a: Annotated[Optional[str], typer.Argument(help="Only decisions between these coders.",
                                                     show_default=False)] = None,
    coder_b: Annotated[Optional[str], typer.Argument(help="Second coder.", show_default=False)] = None,
    into: Annotated[Optional[str], typer.Option("--into", help="Only decisions into this consensus coder.",
                                                show_default=False)] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", "-f", help="table, md, csv, json or xlsx (xlsx needs"
                                               " --out; default: from --out's suffix, else table).",
                                               show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write to this file (.md, .csv, .json, .xlsx,"
                                                " .docx).", show_default=False)] = None,
    include_undone: Annotated[bool, typer.Option("--include-undone", help="Also list undone decisions, marked"
                                                 " 'undone'.")] = False,
    force: ForceOption = False,
    project_dir: ProjectOption = None,
) -> None:
    """Every reconciliation decision (unit, code, A, B, decision, note, time): the audit trail.

    Undone decisions are left out unless --include-undone.

    Example:

        qualcode reconcile log --out reconcile_log.md
    """
    from qualcode import reconcile
    from qualcode.cli._util import notice, open_project, render_table
    from qualcode.errors import InputError
    from qualcode.exports import format_from_path, write_table

    if (coder_a is None) != (coder_b is None):
        raise InputError("name both coders (CODER_A CODER_B) or neither")
    fmt = fmt.lower() if fmt else None
    allowed = ("table", "md", "csv", "json", "xlsx", "docx")
    if fmt is not None and fmt not in allowed:
        raise InputError(f"unknown format '{fmt}'; choose one of {', '.join(allowed)}")
    if out is not None and fmt is not None and fmt != "table" and format_from_path(out) != fmt:
        raise InputError(f"--format {fmt} does not match the file {out.name}; give it the suffix .{fmt}")
    if out is None and fmt in ("xlsx", "docx"):
        raise InputError(f"--format {fmt} writes a file; add --out FILE.{fmt}")
    project = open_project(project_dir)
    try:
        df = reconcile.decision_log(project, coder_a=coder_a, coder_b=coder_b, into=into,
                                    include_undone=include_undone)
        if out is not None:
            write_table(df, out, force=force, sheet_name="Decisions", title="Reconciliation decisions")
            notice(f"Wrote {len(df)} decision(s) to {out}")
        else:
            render_table(df, fmt or "table", title="Reconciliation decisions")
    finally:
        project.close()


def register(app: typer.Typer) -> None:
    app.add_typer(reconcile_app, name="reconcile")
