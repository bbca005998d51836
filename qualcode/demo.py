"""The demo study: a fresh project built from the example study, step by step.

``demo_steps`` yields one ``Step`` per stage of the workflow; the CLI prints
each as it arrives. Library code, so it prints nothing itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from qualcode.errors import InputError


@dataclass
class Step:
    title: str
    lines: list[str] = field(default_factory=list)
    table: object | None = None  # a pandas DataFrame shown under the lines
    command: str | None = None  # the equivalent command a user would type


def example_study_dir() -> Path:
    """The example study shipped with qualcode (inside the package when installed
    from a wheel, beside it in a source checkout)."""
    import qualcode

    package_dir = Path(qualcode.__file__).resolve().parent
    for candidate in (package_dir / "_example" / "transcripts_example", package_dir.parent / "transcripts_example"):
        if (candidate / "respondents.csv").exists():
            return candidate
    raise InputError("the example study is missing from this installation; reinstall qualcode")


def example_codebook_path() -> Path:
    import qualcode

    package_dir = Path(qualcode.__file__).resolve().parent
    for candidate in (package_dir / "_example" / "codebooks", package_dir.parent / "codebooks"):
        path = candidate / "bridge.yaml"
        if path.exists():
            return path
    raise InputError("the example codebook is missing from this installation; reinstall qualcode")


DEMO_CONFIG_EXTRA = """
[speaker_map.TL5]
"Speaker 1" = "interviewer"
"Speaker 2" = "TL5"
"""


# Each stage takes the demo context and returns a Step. Later stages read what
# earlier ones stored in the context (e.g. the project).
Stage = Callable[[dict], Step]


def _stage_init(ctx: dict) -> Step:
    from qualcode.project import CONFIG_NAME, Project

    project = Project.create(ctx["directory"], name="Bridge care-coordination study (example)")
    # The example study uses generic labels in one transcript; map them as a user would.
    with (project.root / CONFIG_NAME).open("a", encoding="utf-8") as handle:
        handle.write(DEMO_CONFIG_EXTRA)
    project.close()
    ctx["project"] = Project.find(ctx["directory"])
    return Step(
        "Create a project",
        [f"Project folder: {ctx['project'].root}", "Created qualcode.db and qualcode.toml (with a speaker map for TL5)."],
        command=f"qualcode init {ctx['directory']}",
    )


def _stage_import(ctx: dict) -> Step:
    from qualcode import transcripts

    results = transcripts.import_paths(ctx["project"], [ctx["study"]])
    table = transcripts.results_frame(results)[["file", "respondent", "units", "words", "status"]]
    formats = sorted({Path(r.file).suffix for r in results})
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise InputError(f"the example study did not import cleanly: {failed[0].message}")
    findings = sum(r.findings for r in results)
    flagged = sum(1 for r in results if r.findings)
    return Step(
        "Import the transcripts",
        [f"Imported {len(results)} transcripts ({', '.join(formats)}); speaker turns split into paragraph units.",
         f"Anonymity check: {findings} possible identifier(s) in {flagged} transcript(s), listed by"
         " 'qualcode import' on stderr for a researcher to review."],
        table=table,
        command=f"qualcode import {ctx['study']}",
    )


def _stage_respondents_import(ctx: dict) -> Step:
    from qualcode.respondents import import_respondents

    csv_path = ctx["study"] / "respondents.csv"
    result = import_respondents(ctx["project"], csv_path)
    return Step(
        "Import respondent attributes",
        [f"Attributes {', '.join(result.attributes)} for {len(result.updated) + len(result.new)} respondents."],
        command=f"qualcode respondents import {csv_path}",
    )


def _stage_respondents_list(ctx: dict) -> Step:
    from qualcode.respondents import list_respondents

    table = list_respondents(ctx["project"].connect())
    columns = [c for c in ("respondent", "role", "site", "documents", "units", "words") if c in table.columns]
    return Step(
        "List respondents",
        ["Units and words count respondent speech only (interviewer turns belong to nobody)."],
        table=table[columns],
        command="qualcode respondents",
    )


def _stage_agree(ctx: dict) -> Step:
    """Agreement between the example study's two coders (read from the project, not assumed)."""
    from qualcode.agreement import (PERCENT_DIGITS, coder_pair_for_demo, compute_agreement, format_statistic,
                                    landis_koch, sort_by_kappa)
    from qualcode.errors import QualcodeError

    conn = ctx["project"].connect()
    coders = coder_pair_for_demo(conn)
    title = "Agreement between the two coders"
    if len(coders) < 2:
        found = ", ".join(coders) if coders else "none"
        return Step(title, [f"Skipped: agreement needs two coders with codings (found: {found})."],
                    command="qualcode agree CODER_A CODER_B")
    coder_a, coder_b = coders[:2]
    command = f"qualcode agree {coder_a} {coder_b} --unit paragraph"
    try:
        result = compute_agreement(conn, coder_a, coder_b, unit="paragraph", language=ctx["project"].language)
    except QualcodeError as exc:
        return Step(title, [f"Skipped: {exc}"], command=command)

    shown = format_statistic
    table = sort_by_kappa(result.per_code)[["code", "n", "a", "b", "c", "d", "percent", "kappa", "alpha", "ac1"]].copy()
    table["landis_koch"] = table["kappa"].map(landis_koch)
    table["percent"] = table["percent"].map(lambda value: shown(value, PERCENT_DIGITS))
    for column in ("kappa", "alpha", "ac1"):
        table[column] = table[column].map(shown)
    pooled = result.pooled.iloc[0]
    compared = result.compared
    lines = [
        f"Coders: {coder_a} and {coder_b}" + (f" (of {', '.join(coders)})" if len(coders) > 2 else "") + ".",
        f"Compared {compared['count']} paragraphs in {len(compared['documents'])} documents: {compared['scope']}.",
        f"Pooled over codes (one summed table): κ = {shown(pooled['kappa'])}, α = {shown(pooled['alpha'])}, "
        f"AC1 = {shown(pooled['ac1'])}, agreement {shown(pooled['percent'], PERCENT_DIGITS)}%.",
        "— marks a statistic that is undefined (e.g. a code neither coder used); see docs/methods/agreement.md.",
    ]
    return Step(title, lines, table=table, command=command)


def _stage_refi_export(ctx: dict) -> Step:
    from qualcode.refi import export_project

    out = ctx["outputs"] / "bridge.qdpx"
    result = export_project(ctx["project"], out, force=True)
    return Step(
        "Export for NVivo, ATLAS.ti, MAXQDA or QualCoder (REFI-QDA)",
        [f"outputs/{out.name}: {result.documents} transcripts as plain text, {result.codes} codes with their"
         f" hierarchy and definitions, {result.cases} respondents as cases with {result.variables} attribute"
         f" variables, {result.codings} codings by {', '.join(result.coders) if result.coders else 'no coder yet'}.",
         "Add --coder NAME to hand one coder's work (and nothing else) to another program."],
        command="qualcode export qdpx outputs/bridge.qdpx",
    )


def _report_coder(ctx: dict) -> tuple[str | None, str]:
    """The coder results are reported from: consensus if it exists, else the default coder,
    else (several coders, no consensus) the first by name, said so. Cached in the context."""
    if "report_coder" not in ctx:
        from qualcode.codings import default_coder

        conn = ctx["project"].connect()
        coder = default_coder(conn)
        note = f"coder: {coder}" if coder else ""
        if coder is None:
            names = [r[0] for r in conn.execute(
                "SELECT DISTINCT k.name FROM codings c JOIN coders k USING (coder_id) ORDER BY k.name")]
            if names:
                coder = names[0]
                note = f"coder: {coder} (no consensus yet; the first of {', '.join(names)})"
        ctx["report_coder"] = (coder, note)
    return ctx["report_coder"]


def _coder_option(coder: str | None) -> str:
    return f" --coder {coder}" if coder else ""


def _stage_theme_counts(ctx: dict) -> Step:
    from qualcode.errors import QualcodeError
    from qualcode.themes import compute_counts, theme_table_from, write_theme_table

    title = "Respondents per theme: the theme table"
    coder, note = _report_coder(ctx)
    if coder is None:
        return Step(title, ["Skipped: no coder has coded anything yet."], command="qualcode counts --table")
    command = f"qualcode counts --table{_coder_option(coder)} --out outputs/themes.docx"
    try:
        counts = compute_counts(ctx["project"].connect(), coder=coder, level="subtheme")
    except QualcodeError as exc:
        return Step(title, [f"Skipped: {exc}"], command=command)
    themes = theme_table_from(counts)
    write_theme_table(themes, ctx["outputs"] / "themes.docx", force=True)
    lines = [f"{note.capitalize()}; N = {counts.denominator} respondents with transcript text.",
             "n is distinct respondents: a theme counts each respondent once, however many subthemes they touch.",
             *[f"Note: {line}" for line in counts.notices],
             "Wrote outputs/themes.docx (a journal-style Word table; also .xlsx, .md, .tex)."]
    return Step(title, lines, table=themes.table.drop(columns=["Description"]), command=command)


def _stage_matrix(ctx: dict) -> Step:
    from qualcode.errors import QualcodeError
    from qualcode.themes import framework_matrix, write_matrix

    title = "Framework matrix"
    coder, note = _report_coder(ctx)
    command = f"qualcode matrix --cells text{_coder_option(coder)} --out outputs/matrix.xlsx"
    if coder is None:
        return Step(title, ["Skipped: no coder has coded anything yet."], command=command)
    try:
        result = framework_matrix(ctx["project"].connect(), coder=coder, cells="text")
    except QualcodeError as exc:
        return Step(title, [f"Skipped: {exc}"], command=command)
    write_matrix(result, ctx["outputs"] / "matrix.xlsx", force=True)
    return Step(title, [
        f"Wrote outputs/matrix.xlsx: {len(result.flat)} respondents × codes, one sheet per theme "
        f"({', '.join(result.sheets)}); each cell holds the respondent's coded passages ({note}).",
    ], command=command)


def _stage_fill(ctx: dict) -> Step:
    from qualcode.errors import QualcodeError
    from qualcode.themes import fill_manuscript

    title = "Fill the counts into a manuscript"
    # .markdown, not .md: importing the study folder must not take the manuscript for a transcript
    source = ctx["study"] / "manuscript_example.markdown"
    out = ctx["outputs"] / "results_filled.md"
    coder, note = _report_coder(ctx)
    command = f"qualcode fill {source.name}{_coder_option(coder)} --out outputs/results_filled.md"
    if coder is None:
        return Step(title, ["Skipped: no coder has coded anything yet."], command=command)
    if not source.exists():
        return Step(title, ["Skipped: the example manuscript is missing from this installation."], command=command)
    try:
        result = fill_manuscript(ctx["project"].connect(), source, out, coder=coder, force=True)
    except QualcodeError as exc:
        return Step(title, [f"Skipped: {exc}"], command=command)
    filled = out.read_text(encoding="utf-8").split("## Workload and capacity", 1)[-1].split("##", 1)[0]
    paragraph = " ".join(filled.split())
    return Step(title, [
        f"Replaced {len(result.placeholders)} placeholders such as {{{{n:workload}}}} and "
        f"{{{{n:work.toll|role=Support worker}}}} ({note}); wrote outputs/results_filled.md:",
        "",
        paragraph,
    ], command=command)


def _stage_quotes(ctx: dict) -> Step:
    from qualcode.errors import QualcodeError
    from qualcode.quotes import collect_quotations, write_quotes

    title = "Quote tables"
    coder, note = _report_coder(ctx)
    label = "{role} {number}, {site}"
    command = f'qualcode quotes{_coder_option(coder)} --per-theme 3 --max-words 60 --label "{label}" --out outputs/quotes.docx'
    if coder is None:
        return Step(title, ["Skipped: no coder has coded anything yet."], command=command)
    project = ctx["project"]
    try:
        result = collect_quotations(project.connect(), coder=coder, per_theme=3, max_words=60, label=label,
                                    language=project.language)
    except QualcodeError as exc:
        return Step(title, [f"Skipped: {exc}"], command=command)
    for name in ("quotes.docx", "quotes.xlsx", "quotes.md"):
        write_quotes(result, ctx["outputs"] / name, force=True)
    lines = [
        f"Wrote outputs/quotes.docx, quotes.xlsx and quotes.md: {len(result.quotations)} quotations, 3 per theme "
        f"spread across respondents, cut at sentence boundaries to about 60 words ({note}). The first two themes:",
        "",
    ]
    shown_themes: list[str] = []
    for quotation in result.quotations:
        if quotation.theme not in shown_themes:
            if len(shown_themes) == 2:
                break
            shown_themes.append(quotation.theme)
            lines.append(f"{quotation.theme}")
        lines.append(f"  “{quotation.text}” ({quotation.label})")
    return Step(title, lines, command=command)


def _stage_participants(ctx: dict) -> Step:
    from qualcode.errors import QualcodeError
    from qualcode.participants import participant_table

    title = "Participant characteristics"
    command = "qualcode participants table --by role,gender,site,years_in_role"
    conn = ctx["project"].connect()
    from qualcode.respondents import attribute_names

    wanted = [name for name in ("role", "gender", "site", "years_in_role") if name in attribute_names(conn)]
    try:
        result = participant_table(conn, by=wanted or None)
    except QualcodeError as exc:
        return Step(title, [f"Skipped: {exc}"], command=command)
    return Step(title, [f"N = {result.denominator} respondents with transcript text.",
                        *[f"Note: {line}" for line in result.notices]],
                table=result.display(), command=command)


def _stage_reconcile(ctx: dict) -> Step:
    """Reconcile the example study's two coders from the decisions sheet shipped with it."""
    from qualcode import reconcile
    from qualcode.errors import QualcodeError
    from qualcode.exports import write_table

    title = "Reconcile the two coders into a consensus"
    sheet = ctx["study"] / "codings" / "decisions.xlsx"
    command = "qualcode reconcile CODER_A CODER_B --apply-sheet decisions.xlsx"
    if not sheet.exists():
        return Step(title, ["Skipped: the example study has no codings/decisions.xlsx."], command=command)
    try:
        about = reconcile.sheet_settings(sheet)
        coder_a, coder_b, into, unit = about["coder_a"], about["coder_b"], about["into"], about["unit"]
        command = f"qualcode reconcile {coder_a} {coder_b} --into {into} --apply-sheet {sheet.name}"
        summary = reconcile.reconcile_from_sheet(ctx["project"], coder_a, coder_b, sheet, into=into, unit=unit)
        status = reconcile.open_session(ctx["project"], coder_a, coder_b, into=into, unit=unit,
                                        record_agreements=False).status()
        log = reconcile.decision_log(ctx["project"], coder_a=coder_a, coder_b=coder_b, into=into)
        write_table(log, ctx["outputs"] / "reconcile_log.md", force=True)
    except QualcodeError as exc:
        return Step(title, [f"Skipped: {exc}"], command=command)
    return Step(title, [
        f"{summary['agreements']} agreements went into '{into}' automatically; {summary['applied']} disagreements"
        f" were settled from codings/decisions.xlsx, the sheet the two coders filled in at their meeting"
        f" ({summary['open']} left open). Interactively: qualcode reconcile {coder_a} {coder_b}.",
        f"Paragraphs outside the double-coded sample keep their one coder's codings ({summary['single']}"
        f" paragraph × code pairs), so '{into}' covers the whole study.",
        "Wrote outputs/reconcile_log.md: every decision with what each coder did and the note, the audit trail"
        " for the methods section (qualcode reconcile log).",
        f"From here on counts and tables use '{into}'; 'qualcode agree {coder_a} {into}' shows how far a coder"
        " moved. Progress per code (qualcode reconcile status):",
    ], table=status.drop(columns=["label"]), command=command)


def _stage_apply_codebook(ctx: dict) -> Step:
    """Import the example codebook and apply its rules as coder 'auto'."""
    from qualcode.apply import apply_codebook

    path = example_codebook_path()
    result = apply_codebook(ctx["project"], path, coder="auto", unit="sentence")
    table = result.summary_frame()[["code", "label", "units", "respondents"]]
    return Step(
        "Apply the codebook's rules as coder 'auto'",
        [f"Codebook '{result.codebook_name}' imported as version {result.version_id}; its rules coded"
         f" {result.codings_added} sentences of respondent speech ({result.tokens:,} tokens in {result.seconds:.1f} s).",
         "units = sentences coded; respondents = distinct respondents among them. 'qualcode codings explain ID'"
         " shows which rule matched which words."],
        table=table,
        command=f"qualcode apply {path.name} --coder auto",
    )


def _stage_sheet_export(ctx: dict) -> Step:
    """A blank, blind coding sheet for coder B's double-coding sample."""
    from qualcode.sheets import export_sheet

    out = ctx["outputs"] / "coding_sheet_B.xlsx"
    result = export_sheet(ctx["project"], "B", out, sample=0.3, seed=7, by="respondent", force=True)
    return Step(
        "Export a coding sheet for the second coder",
        [f"outputs/{out.name}: {result.units} paragraphs × {len(result.codes)} codes, a sample of"
         f" {result.fraction:g} of respondents drawn with seed {result.seed}: {', '.join(result.sampled_groups)}.",
         "One row per paragraph, one column per code (definition in the header comment, only 1 or x accepted),"
         " a Codebook and an Instructions sheet. Blind: it carries no other coder's codings.",
         "The sample and the paragraphs handed out are recorded in the project for 'qualcode agree'."],
        command=f"qualcode sheet export --coder B --sample 0.3 --seed 7 --by respondent --out outputs/{out.name}",
    )


def _stage_sheet_import(ctx: dict) -> Step:
    """Import the example study's two filled coding sheets (coder A: everything; coder B: the sample)."""
    import pandas as pd

    from qualcode.sheets import import_sheet

    folder = ctx["study"] / "codings"
    rows = []
    for coder in ("A", "B"):
        result = import_sheet(ctx["project"], folder / f"coder_{coder}.xlsx", coder)
        rows.append({"coder": coder, "file": f"coder_{coder}.xlsx", "paragraphs": result.units,
                     "marks": result.marked, "added": result.added, "removed": result.removed, "kept": result.kept})
    return Step(
        "Import the two coders' filled sheets",
        ["Every cell was checked before anything was saved (unit ids, unchanged text, known codes, 1/x only);"
         " each mark became a coding of the whole paragraph. Coder B's sheet is the same sample as the one"
         " exported above: the same seed draws the same respondents."],
        table=pd.DataFrame(rows),
        command="qualcode sheet import codings/coder_A.xlsx --coder A && qualcode sheet import codings/coder_B.xlsx --coder B",
    )


def _stage_sample(ctx: dict) -> Step:
    """Which respondents and paragraphs are double-coded."""
    from qualcode.sheets import assignments_table, double_coded_units

    conn = ctx["project"].connect()
    table = assignments_table(conn, ["B"])
    both = double_coded_units(conn, "A", "B")
    total = conn.execute("SELECT COUNT(*) FROM units WHERE role = 'respondent'").fetchone()[0]
    return Step(
        "The double-coding sample",
        [f"{len(both)} of {total} respondent paragraphs ({len(both) / total:.0%}) were coded by both A and B;"
         " agreement is computed on exactly these.",
         "Paragraphs handed to coder B, by respondent and document:"],
        table=table,
        command="qualcode sheet sample --coder B",
    )


STAGES: list[Stage] = [
    _stage_init,
    _stage_import,
    _stage_respondents_import,
    _stage_respondents_list,
    _stage_apply_codebook,
    _stage_sheet_export,
    _stage_sheet_import,
    _stage_sample,
    _stage_agree,
    _stage_reconcile,
    _stage_refi_export,
    _stage_theme_counts,
    _stage_matrix,
    _stage_fill,
    _stage_quotes,
    _stage_participants,
]


def demo_steps(directory: Path | str, *, force: bool = False) -> Iterator[Step]:
    """Build the demo project in ``directory`` and yield what each stage did."""
    directory = Path(directory).expanduser().resolve()
    if directory.exists() and any(directory.iterdir()):
        if not force:
            raise InputError(f"{directory} is not empty; choose a new folder or add --force to rebuild the demo there")
        import shutil

        for name in ("qualcode.db", "qualcode.db-wal", "qualcode.db-shm", "qualcode.toml"):
            (directory / name).unlink(missing_ok=True)
        shutil.rmtree(directory / "outputs", ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "outputs").mkdir(exist_ok=True)
    ctx: dict = {"directory": directory, "outputs": directory / "outputs", "study": example_study_dir()}
    try:
        for stage in STAGES:
            yield stage(ctx)
    finally:
        if "project" in ctx:
            ctx["project"].close()
