"""Concurrency: two writers at once on one project; one waits (or fails with a clear message), nothing lost or doubled.

Pairs of real CLI commands run at the same moment in two subprocesses (the
second started after a seeded random delay), and the coding page saves
codings while a CLI command writes. Each writer must finish (exit 0), or
fail with the one "database is busy" message and leave nothing half done;
the project then passes every ``qualcode doctor`` check and holds exactly
what running the two one after the other leaves.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import time
import warnings

import pytest

from tests.conftest import run_cli
from tests.reliability.conftest import CODEBOOK, EXAMPLE, problems, qualcode, sheet_settings, started, state

# pair: (starting project, first command, second command)
PAIRS = {
    "apply + sheet import": ("sampled", ["apply", CODEBOOK, "--coder", "auto", "--unit", "sentence"],
                             ["sheet", "import", EXAMPLE / "codings" / "coder_A.xlsx", "--coder", "A"]),
    "import + reconcile --apply-sheet": (
        "coded", ["import", "CORPUS"],
        ["reconcile", "A", "B", "--into", "INTO", "--unit", "UNIT", "--apply-sheet",
         EXAMPLE / "codings" / "decisions.xlsx"]),
    "codebook import + apply": ("documents", ["codebook", "import", CODEBOOK],
                                ["apply", CODEBOOK, "--coder", "auto"]),
}


def filled(arguments, templates):
    into, unit = sheet_settings()
    return [{"CORPUS": templates["corpus"], "INTO": into, "UNIT": unit}.get(a, a) if isinstance(a, str) else a
            for a in arguments]


@pytest.mark.parametrize("pair", list(PAIRS))
def test_two_writers_at_once_lose_and_double_nothing(pair, templates, campaign, figures, tmp_path):
    start, first, second = PAIRS[pair]
    first, second = filled(first, templates), filled(second, templates)
    rng = random.Random(f"concurrency:{pair}")

    reference = tmp_path / "reference"
    shutil.copytree(templates[start], reference)
    for arguments in (first, second):
        result = qualcode(*arguments, project=reference)
        assert result.returncode == 0, result.stderr[-1500:]
    expected = state(reference)

    for round_ in range(campaign["concurrent_rounds"]):
        project = tmp_path / f"round{round_}"
        shutil.copytree(templates[start], project)
        one = started(*first, project=project, capture=True)
        time.sleep(rng.uniform(0, 1.5))
        two = started(*second, project=project, capture=True)
        for process, arguments in ((one, first), (two, second)):
            out, err = process.communicate(timeout=600)
            err = err.decode("utf-8", "replace")
            assert "Traceback" not in err and "unexpected failure" not in err, err[-1500:]
            if process.returncode != 0:  # the one clear message, then the command is simply run again
                assert process.returncode == 1 and "database is busy" in err, err[-1500:]
                figures["waited too long, ran again"] += 1
                rerun = qualcode(*arguments, project=project)
                assert rerun.returncode == 0, rerun.stderr[-1500:]
        assert problems(project) == []
        assert state(project) == expected, f"{pair}, round {round_}: something was lost or doubled"
        figures["concurrent rounds"] += 1
        shutil.rmtree(project)


def test_the_coding_page_saves_while_a_cli_command_writes(templates, campaign, figures, tmp_path):
    """The page's saves go on, each 201 or a clear 409 "busy", while 'apply' writes; every saved coding is kept once."""
    with warnings.catch_warnings():  # newer starlette prefers another HTTP client for its TestClient
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from qualcode.codings import load_codings
    from qualcode.project import Project
    from qualcode.server.app import create_app

    token = "concurrency-token-0123456789"
    for round_ in range(campaign["concurrent_rounds"]):
        project = tmp_path / f"page{round_}"
        shutil.copytree(templates["codebook"], project)
        app = create_app(project, coder="page", token=token, allowed_hosts=["testserver"])
        saved, statuses = [], []
        with TestClient(app) as client:
            process = started("apply", CODEBOOK, "--coder", "auto", "--unit", "sentence", project=project,
                              capture=True)
            position, overlapped = 0, 0
            while process.poll() is None or position < 20:
                overlapped += process.poll() is None
                response = client.post("/api/codings", headers={"X-Qualcode-Token": token}, json={
                    "document_id": 1 + position % 5, "code": "work.caseload", "start": position, "end": position + 4})
                statuses.append(response.status_code)
                if response.status_code == 201:
                    saved.append(response.json()["id"])
                else:
                    assert response.status_code == 409 and "busy" in response.text, response.text
                position += 1
            out, err = process.communicate(timeout=600)
        assert process.returncode == 0 and b"Traceback" not in err, err[-1500:]
        assert overlapped > 5, "the saves did not overlap the command"
        with Project.find(project) as opened:
            stored = [c.coding_id for c in load_codings(opened.connect(), coders=["page"])]
            auto = len(load_codings(opened.connect(), coders=["auto"]))
        assert sorted(stored) == sorted(saved) and len(set(stored)) == len(stored)
        reference = tmp_path / f"reference{round_}"
        shutil.copytree(templates["codebook"], reference)
        assert qualcode("apply", CODEBOOK, "--coder", "auto", "--unit", "sentence", project=reference).returncode == 0
        with Project.find(reference) as opened:
            assert auto == len(load_codings(opened.connect(), coders=["auto"]))
        assert problems(project) == []
        figures["page saves beside the CLI"] += len(saved)
        figures["concurrent rounds"] += 1


def test_a_writer_that_waits_too_long_says_so_and_saves_nothing(tmp_path, monkeypatch, figures):
    """Another program holds the write lock: the command gives up after the busy timeout with one clear line."""
    from qualcode import store
    from tests.conftest import build_tiny_project

    build_tiny_project(tmp_path / "tiny").close()
    before = state(tmp_path / "tiny")
    monkeypatch.setattr(store, "BUSY_TIMEOUT_SECONDS", 0.3)
    holder = sqlite3.connect(tmp_path / "tiny" / "qualcode.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = run_cli("apply", CODEBOOK, "--coder", "auto", "--project", tmp_path / "tiny")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1, result.output
    assert "database is busy" in result.output and "Traceback" not in result.output
    assert state(tmp_path / "tiny") == before
    figures["busy refusals"] += 1
