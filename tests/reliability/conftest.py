"""The reliability campaign: crash, concurrency, fuzz, attack and blindness suites.

Every test here is marked ``reliability``. The default run takes a quick slice
(a few kills per command, a few hundred fuzz cases) that fits the CI budget;
``pytest -m reliability`` runs the full campaign (100 kills per command,
10,000 fuzz cases). ``python bench/reliability.py`` runs it and prints the
figures each test records (``figures`` fixture).
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, build_tiny_project, code_phrase

QUICK = {"kills": 2, "fuzz_cases": 24, "concurrent_rounds": 2}
FULL = {"kills": 100, "fuzz_cases": 850, "concurrent_rounds": 20}

_FIGURES: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.reliability)


@pytest.fixture(scope="session")
def campaign(request) -> dict:
    """The sizes of this run: the full campaign under ``-m reliability``, else the quick slice."""
    full = "reliability" in (request.config.getoption("markexpr") or "") or os.environ.get("QUALCODE_CAMPAIGN") == "full"
    sizes = dict(FULL if full else QUICK)
    for name in sizes:  # QUALCODE_KILLS=10 and the like set one size
        if os.environ.get(f"QUALCODE_{name.upper()}"):
            sizes[name] = int(os.environ[f"QUALCODE_{name.upper()}"])
    return sizes


@pytest.fixture
def figures(request):
    """Counts a test records for the campaign's table: ``figures["kills"] += 1``."""
    return _FIGURES[request.node.originalname or request.node.name]


def pytest_sessionfinish(session, exitstatus):
    target = os.environ.get("QUALCODE_RELIABILITY_REPORT")
    if target and _FIGURES:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        path = Path(target) / f"figures-{worker}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({k: dict(v) for k, v in _FIGURES.items()}, indent=1))


def state(project_dir: Path) -> dict:
    """What a finished command leaves, without ids and timestamps: documents, units, codings, codes, decisions."""
    conn = sqlite3.connect(project_dir / "qualcode.db")
    try:
        return {
            "documents": sorted(conn.execute("SELECT name, sha256, text, respondent_id FROM documents")),
            "units": sorted(conn.execute("SELECT d.name, u.seq, u.start, u.end, u.role, u.respondent_id"
                                         " FROM units u JOIN documents d USING (document_id)")),
            "codes": sorted(conn.execute("SELECT key, label, active FROM codes")),
            "codings": sorted(conn.execute(
                "SELECT k.name, c.key, d.name, x.start, x.end, x.origin, coalesce(x.memo, '')"
                " FROM codings x JOIN coders k USING (coder_id) JOIN codes c USING (code_id)"
                " JOIN documents d ON d.document_id = x.document_id")),
            "decisions": sorted(conn.execute("SELECT unit_key, decision, undone FROM decisions")),
            "respondents": sorted(conn.execute("SELECT respondent_id, name, value FROM respondent_attributes")),
        }
    finally:
        conn.close()


def problems(project_dir: Path) -> list[str]:
    """What ``qualcode doctor`` finds wrong (integrity, orphans, spans, decisions without codings)."""
    from qualcode.doctor import check_project

    conn = sqlite3.connect(project_dir / "qualcode.db")
    try:
        return [f"{c.name}: {c.examples}" for c in check_project(conn) if not c.ok]
    finally:
        conn.close()


EXAMPLE = REPO_ROOT / "transcripts_example"
CODEBOOK = REPO_ROOT / "codebooks" / "bridge.yaml"


def qualcode(*args, project: Path, timeout: float = 300, stdin: str | None = None) -> subprocess.CompletedProcess:
    """The real CLI run to its end in a subprocess (``stdin``: what a user would type)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    return subprocess.run([sys.executable, "-m", "qualcode", *map(str, args), "--project", str(project)],
                          capture_output=True, text=True, timeout=timeout, env=env, input=stdin or "")


def started(*args, project: Path, capture: bool = False, stdin: str | None = None) -> subprocess.Popen:
    """The real CLI started in a subprocess; ``capture`` keeps its output for ``communicate()``; ``stdin`` is
    written to it at once (what a user would type)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    where = subprocess.PIPE if capture else subprocess.DEVNULL
    process = subprocess.Popen([sys.executable, "-m", "qualcode", *map(str, args), "--project", str(project)],
                               stdout=where, stderr=where, env=env, stdin=subprocess.PIPE)
    try:
        process.stdin.write((stdin or "").encode())
        process.stdin.close()
    except BrokenPipeError:  # pragma: no cover - the command ended before reading
        pass
    process.stdin = None  # closed: communicate() has nothing more to send
    return process


@pytest.fixture(scope="session")
def templates(tmp_path_factory) -> dict[str, Path]:
    """Starting projects, built once: empty, with documents, with the codebook, with both coders' sheets."""
    from qualcode import transcripts
    from qualcode.codebook import import_codebook
    from qualcode.project import Project
    from qualcode.respondents import import_respondents
    from qualcode.sheets import export_sheet, import_sheet

    root = tmp_path_factory.mktemp("templates")
    made = {}
    Project.create(root / "empty").close()
    made["empty"] = root / "empty"

    project = Project.create(root / "documents")
    transcripts.import_paths(project, [EXAMPLE])
    import_respondents(project, EXAMPLE / "respondents.csv")
    project.close()
    made["documents"] = root / "documents"

    shutil.copytree(made["documents"], root / "codebook")
    with Project.find(root / "codebook") as project, project.transaction() as conn:
        import_codebook(conn, CODEBOOK)
    made["codebook"] = root / "codebook"

    shutil.copytree(made["codebook"], root / "sampled")
    with Project.find(root / "sampled") as project:
        export_sheet(project, "B", root / "sheet_B.xlsx", sample=0.3, seed=7, by="respondent", force=True)
    made["sampled"] = root / "sampled"

    shutil.copytree(made["sampled"], root / "coded")
    with Project.find(root / "coded") as project:
        for coder in ("A", "B"):
            import_sheet(project, EXAMPLE / "codings" / f"coder_{coder}.xlsx", coder)
    made["coded"] = root / "coded"

    corpus = root / "corpus"
    corpus.mkdir()
    rng = random.Random(5)
    words = "support visit caseload waiting list housing benefits supervision team client family".split()
    for index in range(240):
        turns = [f"Interviewer: question {index}?", f"R{index}: " + " ".join(rng.choice(words) for _ in range(300))]
        (corpus / f"R{index:03d}.txt").write_text("\n\n".join(turns) + "\n", encoding="utf-8")
    made["corpus"] = corpus

    qdpx = root / "coded.qdpx"
    result = qualcode("export", "qdpx", qdpx, project=made["coded"])
    assert result.returncode == 0, result.stderr
    made["qdpx"] = qdpx

    codings_csv = root / "codings_A.csv"
    result = qualcode("codings", "export", "--coder", "A", "--out", codings_csv, project=made["coded"])
    assert result.returncode == 0, result.stderr
    made["codings csv"] = codings_csv
    return made


def sheet_settings() -> tuple[str, str]:
    from qualcode.reconcile import sheet_settings as read

    about = read(EXAMPLE / "codings" / "decisions.xlsx")
    return about["into"], about["unit"]


def base_projects(root: Path, codings: list[tuple[str, str, str]]) -> dict[str, Path]:
    """An empty project and the tiny one with these (coder, code key, phrase of SF1.txt) codings."""
    from qualcode.project import Project

    Project.create(root / "empty").close()
    build_tiny_project(root / "tiny").close()
    with Project.find(root / "tiny") as project, project.transaction() as conn:
        for coder, key, phrase in codings:
            code_phrase(conn, coder, key, "SF1.txt", phrase)
    return {"empty": root / "empty", "tiny": root / "tiny"}


def rebuilt_zip(path: Path, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    """The zip at ``path`` written again with some members' bytes replaced and others added."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as rebuilt:
        for name in source.namelist():
            rebuilt.writestr(name, (replace or {}).get(name, source.read(name)))
        for name, data in (add or {}).items():
            rebuilt.writestr(name, data)
    return out.getvalue()
