"""Crash consistency: the real CLI killed (SIGKILL) at a random moment, then checked and rerun.

For each command: one uninterrupted run gives the final state and its
duration; then, ``campaign["kills"]`` times, a fresh copy of the starting
project runs the command in a subprocess that is killed after a seeded
random delay within that duration. After each kill the project must pass
every ``qualcode doctor`` check (SQLite's integrity check, no document
without units, no coding outside its text, no decision without its
consensus coding …); a command that is one transaction must have left the
state of no run or of a finished run; an export's target is absent or a
whole file; and rerunning the command must finish with the uninterrupted
run's final state.
"""

from __future__ import annotations

import random
import shutil
import signal
import time
import zipfile
from pathlib import Path

import pytest

from tests.reliability.conftest import CODEBOOK, EXAMPLE, problems, qualcode, sheet_settings, started, state

# name: (starting project, arguments, one transaction?, export target or None)
COMMANDS = {
    "import": ("empty", lambda t, out: ["import", t["corpus"]], False, None),
    "apply": ("documents", lambda t, out: ["apply", CODEBOOK, "--coder", "auto", "--unit", "sentence"], True, None),
    "codebook import": ("documents", lambda t, out: ["codebook", "import", CODEBOOK], True, None),
    "sheet import": ("sampled", lambda t, out: ["sheet", "import", EXAMPLE / "codings" / "coder_A.xlsx",
                                                "--coder", "A"], True, None),
    "reconcile --apply-sheet": ("coded", lambda t, out: ["reconcile", "A", "B", "--into", sheet_settings()[0],
                                                         "--unit", sheet_settings()[1], "--apply-sheet",
                                                         EXAMPLE / "codings" / "decisions.xlsx"], False, None),
    "refi import": ("empty", lambda t, out: ["import", t["qdpx"]], True, None),
    "export qdpx": ("coded", lambda t, out: ["export", "qdpx", out, "--force"], True, "qdpx"),
    "matrix --out xlsx": ("coded", lambda t, out: ["matrix", "--coder", "A", "--out", out, "--force"], True, "xlsx"),
}


def whole_export(path: Path, kind: str) -> bool:
    if not path.exists():
        return True
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None and bool(archive.namelist())
    except zipfile.BadZipFile:
        return False


@pytest.mark.parametrize("name", list(COMMANDS))
def test_killed_at_a_random_moment_then_rerun(name, templates, campaign, figures, tmp_path):
    start, arguments, atomic, export = COMMANDS[name]
    rng = random.Random(f"crash:{name}")

    reference = tmp_path / "reference"
    shutil.copytree(templates[start], reference)
    before = state(reference)
    out = tmp_path / f"reference.{export}" if export else None
    began = time.monotonic()
    result = qualcode(*arguments(templates, out), project=reference)
    duration = time.monotonic() - began
    assert result.returncode == 0, result.stderr[-2000:]
    finished = state(reference)
    assert problems(reference) == []

    for kill in range(campaign["kills"]):
        project = tmp_path / f"kill{kill}"
        shutil.copytree(templates[start], project)
        target = tmp_path / f"kill{kill}.{export}" if export else None
        process = started(*arguments(templates, target), project=project)
        time.sleep(rng.uniform(0.3, max(duration, 0.4)))
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        figures["kills"] += 1
        found = problems(project)
        assert found == [], f"{name}, kill {kill}: {found}"
        if atomic and not export:
            assert state(project) in (before, finished), f"{name}, kill {kill}: a half-done transaction is visible"
        if export:
            assert whole_export(target, export), f"{name}, kill {kill}: a half-written {target.name}"
            # a SIGKILL gives no chance to remove the temporary file beside the target; it is never the target
            figures["temporary files left"] += len([p for p in tmp_path.iterdir() if p.name.startswith(f".kill{kill}.")])
        rerun = qualcode(*arguments(templates, target), project=project)
        assert rerun.returncode == 0, f"{name}, kill {kill}: the rerun failed: {rerun.stderr[-1500:]}"
        assert state(project) == finished, f"{name}, kill {kill}: the rerun did not reach the finished state"
        if export:
            assert whole_export(target, export) and target.exists()
        figures["reruns"] += 1
        shutil.rmtree(project)
