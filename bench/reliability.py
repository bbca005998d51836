"""The reliability campaign's figures: runs tests/reliability and prints what it did and what went wrong.

The suites (crash, concurrency, fuzz, attacks, blindness) record what they do
in a ``figures`` fixture; this script runs them with pytest, collects those
counts from every worker and pytest's own outcomes, and prints one table:
runs (tests), kills, reruns, fuzz cases, tracebacks, hangs, changed on
failure, attacks refused, hand-offs checked, and the tests that failed.

    python bench/reliability.py                 # the quick slice (what CI runs), about a minute
    python bench/reliability.py --full          # the full campaign: 100 kills per command, 12,750 fuzz cases
    python bench/reliability.py --full --kills 15 --workers 2

Options after ``--`` go to pytest (``-- -k crash``). Exit code 1 when a test failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (row, figure names summed into it), in the order printed
ROWS = [
    ("kills (SIGKILL at a random moment)", ["kills"]),
    ("… landing before any change", ["kills before any change"]),
    ("… landing part way (a non-atomic command)", ["kills part way"]),
    ("… landing after the run had finished", ["kills after the end"]),
    ("reruns after a kill", ["reruns"]),
    ("temporary files left beside a target", ["temporary files left"]),
    ("concurrent rounds (two writers, or page + CLI)", ["concurrent rounds"]),
    ("page saves beside the CLI", ["page saves beside the CLI"]),
    ("writers that waited too long and ran again", ["waited too long, ran again"]),
    ("fuzz cases", ["fuzz cases"]),
    ("fuzz regressions replayed", ["regressions replayed"]),
    ("tracebacks", ["traceback", "a traceback was printed", "exit code"]),
    ("hangs (over 15 s) or slow cases (over 5 s)", ["hang", "slow"]),
    ("changed on failure", ["changed on failure"]),
    ("attacks refused or made harmless", ["attacks refused", "busy refusals"]),
    ("hand-offs to B checked for traces of A", ["hand-offs checked"]),
    ("page answers compared", ["server answers compared"]),
]


def outcomes(junit: Path) -> tuple[Counter, list[str]]:
    counts, failed = Counter(), []
    for case in ET.parse(junit).getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        kind = kinds[0] if kinds else "passed"
        counts[kind] += 1
        if kind in ("failure", "error"):
            failed.append(f"{case.get('classname')}::{case.get('name')}")
    return counts, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the full campaign (pytest -m reliability sizes)")
    parser.add_argument("--kills", type=int, help="kills per command (default: 2 quick, 100 full)")
    parser.add_argument("--fuzz-cases", type=int, help="fuzz cases per reader (default: 24 quick, 850 full)")
    parser.add_argument("--rounds", type=int, help="concurrent rounds per pair (default: 2 quick, 20 full)")
    parser.add_argument("--seed", type=int, default=0, help="draw other fuzz cases (0: the fixed, derandomized ones)")
    parser.add_argument("--workers", type=int, default=1, help="pytest-xdist workers")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest after --")
    args = parser.parse_args()

    report = Path(tempfile.mkdtemp(prefix="qualcode-reliability-"))
    env = dict(os.environ, QUALCODE_RELIABILITY_REPORT=str(report))
    if args.full:
        env["QUALCODE_CAMPAIGN"] = "full"
    for name, value in (("KILLS", args.kills), ("FUZZ_CASES", args.fuzz_cases), ("CONCURRENT_ROUNDS", args.rounds),
                        ("FUZZ_SEED", args.seed or None)):
        if value is not None:
            env[f"QUALCODE_{name}"] = str(value)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/reliability",
               f"--junitxml={report / 'junit.xml'}", *(["-n", str(args.workers)] if args.workers > 1 else []),
               *args.pytest_args]
    began = time.monotonic()
    finished = subprocess.run(command, cwd=ROOT, env=env)
    elapsed = time.monotonic() - began

    figures: Counter = Counter()
    for path in report.glob("figures-*.json"):
        for test in json.loads(path.read_text()).values():
            figures.update(test)
    counts, failed = outcomes(report / "junit.xml")
    sizes = {"kills": env.get("QUALCODE_KILLS", "100" if args.full else "2"),
             "fuzz": env.get("QUALCODE_FUZZ_CASES", "850" if args.full else "24")}
    print()
    print(f"qualcode reliability campaign ({'full' if args.full else 'quick slice'}: {sizes['kills']} kills per"
          f" command, {sizes['fuzz']} fuzz cases per reader), {elapsed / 60:.1f} min on {os.cpu_count()} CPUs,"
          f" Python {platform.python_version()}")
    print()
    print("| figure | count |")
    print("|---|---:|")
    print(f"| runs (tests passed / failed / skipped) | {counts['passed']} / {counts['failure'] + counts['error']}"
          f" / {counts['skipped']} |")
    for label, names in ROWS:
        print(f"| {label} | {sum(figures[n] for n in names):,} |")
    for name in failed:
        print(f"failed: {name}")
    return 0 if finished.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
