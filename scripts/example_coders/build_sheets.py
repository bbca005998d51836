"""Rebuild the example study's two filled coding sheets from decisions.py.

    python scripts/example_coders/build_sheets.py OUT_FOLDER

Builds the example project in a temporary folder the way `qualcode demo`
does, exports coder A's sheet (every respondent paragraph) and coder B's
(the seeded 30 % sample by respondent), fills them from the reviewed
decisions in decisions.py, imports both into a fresh copy and prints their
agreement. Write to transcripts_example/codings/ only when the importer's
paragraph splitting or the sheet layout has changed (and then rebuild
decisions.xlsx for reconcile the same way).
"""

import shutil
import sys
import tempfile
from pathlib import Path

from openpyxl import load_workbook

from qualcode import demo, sheets, transcripts
from qualcode.agreement import compute_agreement
from qualcode.codebook import import_codebook, load_tree
from qualcode.project import CONFIG_NAME, Project
from qualcode.respondents import import_respondents

sys.path.insert(0, str(Path(__file__).parent))
from decisions import A, B_CHANGES, SAMPLE  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
STUDY = REPO / "transcripts_example"


def build_project(root: Path) -> Project:
    project = Project.create(root, name="Bridge care-coordination study (example)")
    with (project.root / CONFIG_NAME).open("a", encoding="utf-8") as handle:
        handle.write(demo.DEMO_CONFIG_EXTRA)
    project.close()
    project = Project.find(root)
    results = transcripts.import_paths(project, [STUDY])
    assert not [r for r in results if r.status == "failed"], results
    import_respondents(project, STUDY / "respondents.csv")
    with project.transaction() as conn:
        import_codebook(conn, REPO / "codebooks" / "bridge.yaml")
    return project


def fill(path: Path, decisions: dict, mark) -> None:
    workbook = load_workbook(path)
    sheet = workbook["Coding"]
    columns = {str(c.value)[len("code:"):]: c.column for c in sheet[1] if str(c.value).startswith("code:")}
    unit_column = next(c.column for c in sheet[1] if c.value == "#unit")
    seen = set()
    for row in range(3, sheet.max_row + 1):
        key = sheet.cell(row, unit_column).value
        for code in decisions.get(key, []):
            sheet.cell(row, columns[code]).value = mark
        seen.add(key)
    assert set(decisions) <= seen, set(decisions) - seen
    workbook.save(path)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="example_coders_"))
    project = build_project(work / "project")
    conn = project.connect()
    units = {u.key for u in sheets.load_sheet_units(conn)}
    assert set(A) <= units, set(A) - units
    leaves = set(sheets.resolve_codes(load_tree(conn), None))
    for key, codes in A.items():
        assert set(codes) <= leaves and len(set(codes)) == len(codes), (key, codes)

    sheets.export_sheet(project, "A", out / "coder_A.xlsx", force=True)
    result_b = sheets.export_sheet(project, "B", out / "coder_B.xlsx", sample=SAMPLE["fraction"],
                                   seed=SAMPLE["seed"], by=SAMPLE["by"], force=True)
    sample_units = [u for u in sheets.load_sheet_units(conn) if u.respondent_id in result_b.sampled_groups]
    decisions_b = {}
    for unit in sample_units:
        codes = list(A.get(unit.key, []))
        if unit.key in B_CHANGES:
            add, drop, _why = B_CHANGES[unit.key]
            assert all(c in codes for c in drop) and not any(c in codes for c in add), unit.key
            codes = [c for c in codes if c not in drop] + add
        if codes:
            decisions_b[unit.key] = codes
    assert set(B_CHANGES) <= {u.key for u in sample_units}
    fill(out / "coder_A.xlsx", A, "x")
    fill(out / "coder_B.xlsx", decisions_b, 1)
    project.close()

    check = build_project(work / "check")
    for coder in ("A", "B"):
        sheets.import_sheet(check, out / f"coder_{coder}.xlsx", coder)
    agreement = compute_agreement(check.connect(), "A", "B", unit="paragraph")
    print(agreement.compared["scope"])
    print(agreement.pooled[["a", "b", "c", "d", "kappa", "percent"]].to_string())
    check.close()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
