"""Precision and recall of the anonymity check on the labelled set, and its speed.

Run from the repository root:

    python bench/anonymity_eval.py            # offline heuristic for names
    python bench/anonymity_eval.py --names ner  # with an installed en_core_web_* pipeline

Prints markdown tables (the ones in docs/anonymity.md): the whole set, then
each batch of excerpts, then the time to scan a 2,500-word transcript.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qualcode import anonymity  # noqa: E402

LABELLED_SET = ROOT / "tests" / "fixtures" / "anonymity"
BATCHES = {
    "batch 1 (ex01–ex40, written first; rules tuned on it)": range(1, 41),
    "batch 2 (ex41–ex64, held out, then used for tuning)": range(41, 65),
    "batch 3 (ex65–ex80, written after tuning; one fix followed)": range(65, 81),
    "ex81 (NHS numbers, added with their detection)": range(81, 82),
    "batch 4 (ex82–ex95, written last; no change after it)": range(82, 96),
}


def table(rows: list[dict]) -> str:
    lines = ["| kind | labelled | found | correct | precision | recall |", "|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        if not row["labelled"] and not row["found"]:
            continue
        precision = "–" if row["precision"] is None else f"{row['precision']:.2f}"
        recall = "–" if row["recall"] is None else f"{row['recall']:.2f}"
        kind = f"**{row['kind']}**" if row["kind"] == "all" else row["kind"]
        lines.append(f"| {kind} | {row['labelled']} | {row['found']} | {row['correct']} | {precision} | {recall} |")
    return "\n".join(lines)


def scan_speed(names: str) -> tuple[float, float, int]:
    """(seconds for the first call, which opens the word frequencies; best of 5 later calls; characters)
    on 2,500 words of the labelled set."""
    words = " ".join(p.read_text(encoding="utf-8") for p in sorted(LABELLED_SET.glob("ex*.txt"))).split()
    text = " ".join((words * (2500 // len(words) + 1))[:2500])
    anonymity.names._word_probabilities.cache_clear()
    start = time.perf_counter()
    anonymity.scan_text(text, names=names)
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        anonymity.scan_text(text, names=names)
        best = min(best, time.perf_counter() - start)
    return first, best, len(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", default="heuristic", choices=["heuristic", "ner", "none"])
    args = parser.parse_args()
    print(f"## All {len(list(LABELLED_SET.glob('ex*.txt')))} excerpts (names: {args.names})\n")
    print(table(anonymity.evaluate_labelled_set(LABELLED_SET, names=args.names)))
    for title, numbers in BATCHES.items():
        files = [f"ex{n:02d}.txt" for n in numbers]
        print(f"\n### {title}\n")
        print(table(anonymity.evaluate_labelled_set(LABELLED_SET, names=args.names, files=files)))
    first, best, characters = scan_speed(args.names)
    print(f"\nScan of 2,500 words ({characters:,} characters): first call {first * 1000:.0f} ms (opens the"
          f" word frequencies; the first use on a machine builds their cache, a few seconds once),"
          f" then {best * 1000:.1f} ms (best of 5) = {best * 1000 * 10_000 / characters:.1f} ms per 10,000"
          f" characters.")


if __name__ == "__main__":
    main()
