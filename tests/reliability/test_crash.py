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
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from tests.reliability.conftest import CODEBOOK, EXAMPLE, problems, qualcode, sheet_settings, started, state


@dataclass
class Command:
    start: str  # the starting project in ``templates``
    arguments: Callable  # (templates, export target) → the command's arguments
    atomic: bool = True  # one transaction: a kill leaves the state of no run or of a finished run
    export: str | None = None  # the export target's suffix
    repeatable: bool = True  # rerunning a finished run succeeds (a rename of a code already renamed does not)
    stdin: str = ""  # what the user types


ANSWERS = "a\n" * 2000  # apply every disagreement, one decision at a time
COMMANDS = {
    "import": Command("empty", lambda t, out: ["import", t["corpus"]], atomic=False),
    "apply": Command("documents", lambda t, out: ["apply", CODEBOOK, "--coder", "auto", "--unit", "sentence"]),
    "codebook import": Command("documents", lambda t, out: ["codebook", "import", CODEBOOK]),
    "codebook rename": Command("coded", lambda t, out: ["codebook", "rename", "work.toll", "work.cost", "--label",
                                                        "Emotional cost"], repeatable=False),
    "codebook merge": Command("coded", lambda t, out: ["codebook", "merge", "sup.peer", "sup.supervision", "--into",
                                                       "sup.people", "--label", "Support from people"],
                              repeatable=False),
    "sheet import": Command("sampled", lambda t, out: ["sheet", "import", EXAMPLE / "codings" / "coder_A.xlsx",
                                                       "--coder", "A"]),
    "codings import": Command("codebook", lambda t, out: ["codings", "import", t["codings csv"]]),
    "reconcile (answers typed)": Command("coded", lambda t, out: ["reconcile", "A", "B", "--into", "consensus",
                                                                  "--unit", "paragraph"], atomic=False, stdin=ANSWERS),
    "reconcile --apply-sheet": Command("coded", lambda t, out: ["reconcile", "A", "B", "--into", sheet_settings()[0],
                                                                "--unit", sheet_settings()[1], "--apply-sheet",
                                                                EXAMPLE / "codings" / "decisions.xlsx"], atomic=False),
    "refi import": Command("empty", lambda t, out: ["import", t["qdpx"]]),
    "sheet export": Command("codebook", lambda t, out: ["sheet", "export", "--coder", "C", "--sample", "0.3",
                                                        "--seed", "3", "--out", out, "--force"], export="xlsx"),
    "export qdpx": Command("coded", lambda t, out: ["export", "qdpx", out, "--force"], export="qdpx"),
    "matrix --out xlsx": Command("coded", lambda t, out: ["matrix", "--coder", "A", "--out", out, "--force"],
                                 export="xlsx"),
    "quotes --out docx": Command("coded", lambda t, out: ["quotes", "--coder", "A", "--out", out, "--force"],
                                 export="docx"),
    "counts --out csv": Command("coded", lambda t, out: ["counts", "--coder", "A", "--out", out, "--force"],
                                export="csv"),
    "codebook export xlsx": Command("coded", lambda t, out: ["codebook", "export", out, "--force"], export="xlsx"),
    "codings export": Command("coded", lambda t, out: ["codings", "export", "--out", out, "--force"], export="csv"),
    "agree --out xlsx": Command("coded", lambda t, out: ["agree", "A", "B", "--out", out, "--force"], export="xlsx"),
}


def whole_export(path: Path, kind: str, whole: bytes | None = None) -> bool:
    """The export target is absent, or a whole file: a zip that reads back, or the csv of a finished run."""
    if not path.exists():
        return True
    if kind == "csv":
        return path.read_bytes() == whole
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None and bool(archive.namelist())
    except zipfile.BadZipFile:
        return False


@pytest.mark.parametrize("name", list(COMMANDS))
def test_killed_at_a_random_moment_then_rerun(name, templates, campaign, figures, tmp_path):
    command = COMMANDS[name]
    rng = random.Random(f"crash:{name}")

    def run(project, target):
        return qualcode(*command.arguments(templates, target), project=project, stdin=command.stdin)

    reference = tmp_path / "reference"
    shutil.copytree(templates[command.start], reference)
    before = state(reference)
    out = tmp_path / f"reference.{command.export}" if command.export else None
    began = time.monotonic()
    result = run(reference, out)
    duration = time.monotonic() - began
    assert result.returncode == 0, result.stderr[-2000:]
    finished = state(reference)
    assert problems(reference) == []
    whole = out.read_bytes() if out and command.export == "csv" else None

    for kill in range(campaign["kills"]):
        project = tmp_path / f"kill{kill}"
        shutil.copytree(templates[command.start], project)
        target = tmp_path / f"kill{kill}.{command.export}" if command.export else None
        process = started(*command.arguments(templates, target), project=project, stdin=command.stdin)
        time.sleep(rng.uniform(0.0, duration))  # anywhere from start-up to the end of the run
        alive = process.poll() is None
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        figures["kills"] += 1
        left = state(project)
        # where the kill landed: before the first commit, part way, or after the run had finished
        if command.export:  # an export's work is its file (a sheet export also records the sample drawn)
            done, untouched = target.exists() and left == finished, not target.exists() and left == before
        else:
            done, untouched = left == finished and left != before, left == before
        figures["kills after the end" if done or not alive else "kills before any change" if untouched
                else "kills part way"] += 1
        found = problems(project)
        assert found == [], f"{name}, kill {kill}: {found}"
        if command.atomic:
            assert left in (before, finished), f"{name}, kill {kill}: a half-done transaction is visible"
        if command.export:
            assert whole_export(target, command.export, whole), f"{name}, kill {kill}: a half-written {target.name}"
            # a SIGKILL gives no chance to remove the temporary file beside the target; it is never the target
            figures["temporary files left"] += len([p for p in tmp_path.iterdir() if p.name.startswith(f".kill{kill}.")])
        if command.repeatable or state(project) != finished:
            rerun = run(project, target)
            assert rerun.returncode == 0, f"{name}, kill {kill}: the rerun failed: {rerun.stderr[-1500:]}"
            figures["reruns"] += 1
        assert state(project) == finished, f"{name}, kill {kill}: the rerun did not reach the finished state"
        if command.export:
            assert target.exists() and whole_export(target, command.export, whole)
        shutil.rmtree(project)
