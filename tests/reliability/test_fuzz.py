"""Fuzzing every reader with mutated real files: exit 0 or 1, never a traceback or a hang, nothing changed on failure.

Seeds are real files: the example study's transcripts (txt, docx, odt, rtf,
vtt, srt), ../shared/fixtures' captions, and files qualcode itself writes
(a codebook as yaml/csv/xlsx/.qdc, a coding sheet, a codings CSV, a .qdpx).
Hypothesis draws mutations: bytes flipped, cut, repeated or inserted, the
file truncated, and for zip formats (docx, odt, xlsx, qdpx) one XML member
mutated and the archive rebuilt, so the XML readers are reached. Each case
runs the real command in-process on a fresh copy of a project and must end
with exit code 0 or 1, no exception, within 5 s, and, when it fails, with the
project's records unchanged.

A failing input is shrunk by hypothesis and written to
``tests/reliability/found/READER-found.EXT``; moved to
``tests/reliability/regressions/READER-HASH.EXT`` (HASH: the first 8 hex
digits of its SHA-256) with the fix, it is replayed by
``test_regressions_stay_fixed``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.conftest import REPO_ROOT, SHARED_FIXTURES, run_cli
from tests.reliability.conftest import base_projects, rebuilt_zip, state

EXAMPLE = REPO_ROOT / "transcripts_example"
HERE = Path(__file__).parent
FOUND = HERE / "found"
REGRESSIONS = HERE / "regressions"
LIMIT_SECONDS = 5.0


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, tuple[Path, str, list[str]]]:
    """reader name → (seed file, base project ('empty' or 'tiny'), command arguments before the file)."""
    root = tmp_path_factory.mktemp("seeds")
    bases = base_projects(root, [("A", "work.toll", "Some nights I don't sleep"),
                                 ("A", "work.caseload", "forty people on my books")])
    made = {}
    for fmt in ("yaml", "csv", "xlsx", "qdc"):
        out = root / f"codebook.{fmt}"
        assert run_cli("codebook", "export", out, "--project", root / "tiny").exit_code == 0
        made[f"codebook {fmt}"] = (out, "empty", ["codebook", "import"])
    codings_csv = root / "codings.csv"
    assert run_cli("codings", "export", "--coder", "A", "--out", codings_csv, "--project", root / "tiny").exit_code == 0
    sheet = root / "sheet_B.xlsx"
    assert run_cli("sheet", "export", "--coder", "B", "--out", sheet, "--project", root / "tiny").exit_code == 0
    qdpx = root / "tiny.qdpx"
    assert run_cli("export", "qdpx", qdpx, "--project", root / "tiny").exit_code == 0
    respondents = root / "respondents.csv"
    respondents.write_text("respondent_id,role,site\nSF1,Support worker,Northvale\nSF2,Team lead,Eastbrook\n",
                           encoding="utf-8")
    made.update({
        "codings csv": (codings_csv, "tiny", ["codings", "import"]),
        "coding sheet": (sheet, "tiny", ["sheet", "import", "--coder", "B"]),
        "qdpx": (qdpx, "empty", ["import"]),
        "respondents csv": (respondents, "tiny", ["respondents", "import"]),
        "txt": (EXAMPLE / "SF1.txt", "empty", ["import"]),
        "docx": (EXAMPLE / "SF2.docx", "empty", ["import"]),
        "odt": (EXAMPLE / "SF6.odt", "empty", ["import"]),
        "rtf": (EXAMPLE / "SF8.rtf", "empty", ["import"]),
        "vtt": (EXAMPLE / "SF3.vtt", "empty", ["import"]),
        "srt": (EXAMPLE / "TL4.srt", "empty", ["import"]),
    })
    teams = SHARED_FIXTURES / "transcripts" / "webvtt-py_teams_timeframe.vtt"
    if teams.exists():
        made["teams vtt"] = (teams, "empty", ["import"])
    made["_bases"] = bases
    return made


def mutate_bytes(data: bytes, draw) -> bytes:
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "repeat", "insert", "truncate", "special"]))
        if not data:
            data = bytearray(draw(st.binary(min_size=1, max_size=16)))
            continue
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[at:at + draw(st.integers(1, 64))]
        elif kind == "repeat":
            data[at:at] = data[at:at + draw(st.integers(1, 64))] * draw(st.integers(1, 8))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
        elif kind == "truncate":
            del data[at:]
        else:  # bytes readers find hard: NUL, BOMs, lone surrogates in UTF-8, CR, quotes, markup
            data[at:at] = draw(st.sampled_from([b"\x00", b"\xef\xbb\xbf", b"\xff\xfe", b"\xed\xa0\x80", b"\r",
                                                b'"', b"<", b"&", b"{", b"\\", b"-->", b"=cmd|' /C calc'!A0"]))
    return bytes(data)


def mutate(path: Path, draw) -> bytes:
    data = path.read_bytes()
    if zipfile.is_zipfile(path) and draw(st.booleans()):
        with zipfile.ZipFile(path) as source:
            names = source.namelist()
            xml = [n for n in names if n.endswith((".xml", ".qde", ".rels"))] or names
            target = draw(st.sampled_from(sorted(xml)))
            body = source.read(target)
        return rebuilt_zip(path, replace={target: mutate_bytes(body, draw)})
    return mutate_bytes(data, draw)


class Hang(Exception):
    pass


def run_case(seed_path: Path, base: Path, arguments: list[str], data: bytes, work: Path) -> str | None:
    """Run one case; return what went wrong, or None."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    project = work / "project"
    shutil.copytree(base, project)
    case = work / seed_path.name
    case.write_bytes(data)
    before = state(project)

    def alarm(signum, frame):
        raise Hang()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(int(LIMIT_SECONDS * 3))
    began = time.monotonic()
    try:
        result = run_cli(*arguments, case, "--project", project)
    except Hang:
        return f"hang: over {LIMIT_SECONDS * 3:.0f} s"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    elapsed = time.monotonic() - began
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return f"traceback: {type(result.exception).__name__}: {result.exception}"
    if result.exit_code not in (0, 1):
        return f"exit code {result.exit_code}"
    if "Traceback" in result.output:
        return "a traceback was printed"
    if elapsed > LIMIT_SECONDS:
        return f"slow: {elapsed:.1f} s"
    if result.exit_code == 1 and state(project) != before:
        return "the project changed although the command failed"
    return None


READERS = ["txt", "docx", "odt", "rtf", "vtt", "srt", "teams vtt", "respondents csv", "codings csv",
           "codebook yaml", "codebook csv", "codebook xlsx", "codebook qdc", "coding sheet", "qdpx"]


@pytest.mark.parametrize("reader", READERS)
def test_mutated_files_end_cleanly(reader, seeds, campaign, figures, tmp_path):
    if reader not in seeds:
        pytest.skip(f"no seed for {reader} (../shared/fixtures missing)")
    seed_path, base_name, arguments = seeds[reader]
    base = seeds["_bases"][base_name]

    # the same cases on every run (derandomized), unless QUALCODE_FUZZ_SEED asks for another draw
    chosen = int(os.environ.get("QUALCODE_FUZZ_SEED", "0"))

    @settings(max_examples=campaign["fuzz_cases"], deadline=None, database=None, derandomize=not chosen,
              suppress_health_check=list(HealthCheck))
    @seed(chosen)
    @given(st.data())
    def case(data):
        mutated = mutate(seed_path, data.draw)
        figures["fuzz cases"] += 1
        wrong = run_case(seed_path, base, arguments, mutated, tmp_path / "case")
        if wrong:
            kind = wrong.split(":")[0]
            figures[{"the project changed although the command failed": "changed on failure"}.get(kind, kind)] += 1
            # hypothesis runs the shrunk input last: the file left is the smallest that fails
            FOUND.mkdir(exist_ok=True)
            (FOUND / f"{reader.replace(' ', '_')}-found{seed_path.suffix}").write_bytes(mutated)
        assert wrong is None, f"{reader}: {wrong}"

    case()


def test_regressions_stay_fixed(seeds, figures, tmp_path):
    """Every input the fuzzer once broke qualcode with, replayed (file name: READER-HASH.EXT)."""
    kept = sorted(REGRESSIONS.glob("*.*"))
    assert kept, "the regression inputs are missing"
    for path in kept:
        reader = path.name.rsplit("-", 1)[0].replace("_", " ")
        assert path.name.rsplit("-", 1)[1].split(".")[0] == hashlib.sha256(path.read_bytes()).hexdigest()[:8]
        seed_path, base_name, arguments = seeds[reader]
        wrong = run_case(seed_path, seeds["_bases"][base_name], arguments, path.read_bytes(), tmp_path / path.name)
        assert wrong is None, f"{path.name}: {wrong}"
        figures["regressions replayed"] += 1
