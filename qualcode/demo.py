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
    from qualcode.agreement import coder_pair_for_demo, compute_agreement, landis_koch, sort_by_kappa
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

    def shown(value, digits=2):
        return "—" if value != value else f"{value:.{digits}f}"

    table = sort_by_kappa(result.per_code)[["code", "n", "a", "b", "c", "d", "percent", "kappa", "alpha", "ac1"]].copy()
    table["landis_koch"] = table["kappa"].map(landis_koch)
    for column, digits in (("percent", 1), ("kappa", 2), ("alpha", 2), ("ac1", 2)):
        table[column] = table[column].map(lambda v, d=digits: shown(v, d))
    pooled = result.pooled.iloc[0]
    compared = result.compared
    lines = [
        f"Coders: {coder_a} and {coder_b}" + (f" (of {', '.join(coders)})" if len(coders) > 2 else "") + ".",
        f"Compared {compared['count']} paragraphs in {len(compared['documents'])} documents: {compared['scope']}.",
        f"Pooled over codes (one summed table): κ = {shown(pooled['kappa'])}, α = {shown(pooled['alpha'])}, "
        f"AC1 = {shown(pooled['ac1'])}, agreement {shown(pooled['percent'], 1)}%.",
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


STAGES: list[Stage] = [
    _stage_init,
    _stage_import,
    _stage_respondents_import,
    _stage_respondents_list,
    _stage_agree,
    _stage_refi_export,
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
