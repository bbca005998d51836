"""Import benchmark: transcripts per second and MB/s, against merely reading and decoding.

    python bench/bench_import.py --files 1000 --chars 10000000

Generates a synthetic corpus (bench/corpus.py) in a temporary folder, then in
the same run times

1. the reference: read every file and decode it to text — UTF-8 for txt, vtt
   and srt; for docx and odt unzip the document XML and decode it; for rtf
   decode the bytes — the least any importer has to do;
2. ``qualcode.transcripts.import_paths`` into a fresh project: decoding,
   layout recognition, units, the anonymity check and one SQLite transaction
   per file.

and prints files/s, MB/s (of file bytes on disk) and the ratio of the two.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import generate_corpus  # noqa: E402

ZIP_MEMBERS = {".docx": "word/document.xml", ".odt": "content.xml"}


def read_and_decode(paths: list[Path]) -> int:
    """The reference: read and decode every file; returns the characters decoded."""
    characters = 0
    for path in paths:
        data = path.read_bytes()
        member = ZIP_MEMBERS.get(path.suffix)
        if member:
            with zipfile.ZipFile(path) as package:
                data = package.read(member)
        text = data.decode("latin-1" if path.suffix == ".rtf" else "utf-8")
        characters += len(text)
    return characters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--chars", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", action="store_true", help="profile the import and print the top functions")
    args = parser.parse_args()

    from qualcode import transcripts
    from qualcode.project import Project

    with tempfile.TemporaryDirectory(prefix="qualcode-bench-") as tmp:
        corpus_dir = Path(tmp) / "corpus"
        started = time.perf_counter()
        paths = generate_corpus(corpus_dir, files=args.files, chars=args.chars, seed=args.seed)
        generated = time.perf_counter() - started
        megabytes = sum(p.stat().st_size for p in paths) / 1e6
        print(f"corpus: {len(paths)} files, {megabytes:.1f} MB on disk, generated in {generated:.1f} s")

        started = time.perf_counter()
        characters = read_and_decode(paths)
        reference = time.perf_counter() - started

        project = Project.create(Path(tmp) / "project")
        # Time the anonymity check separately: it runs inside the import.
        scan_seconds = [0.0]
        scan = transcripts.import_.anonymity_warnings

        def timed_scan(*args):
            began = time.perf_counter()
            try:
                return scan(*args)
            finally:
                scan_seconds[0] += time.perf_counter() - began

        transcripts.import_.anonymity_warnings = timed_scan
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started = time.perf_counter()
        results = transcripts.import_paths(project, [corpus_dir])
        imported = time.perf_counter() - started
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        failed = [r for r in results if r.status != "imported"]
        if failed:
            raise SystemExit(f"{len(failed)} files did not import; first: {failed[0].message}")
        conn = project.connect()
        stored = conn.execute("SELECT SUM(length(text)) FROM documents").fetchone()[0]
        units = conn.execute("SELECT COUNT(*) FROM units").fetchone()[0]
        project.close()

    print(f"reference (read + decode): {reference:7.2f} s  {len(paths) / reference:8.0f} files/s"
          f"  {megabytes / reference:7.1f} MB/s  ({characters / 1e6:.1f} M characters decoded)")
    print(f"qualcode import:           {imported:7.2f} s  {len(paths) / imported:8.0f} files/s"
          f"  {megabytes / imported:7.1f} MB/s  ({stored / 1e6:.1f} M characters stored, {units} units)")
    print(f"  of which anonymity check: {scan_seconds[0]:5.2f} s; the rest (decode, layout, units, SQLite):"
          f" {imported - scan_seconds[0]:.2f} s = {len(paths) / (imported - scan_seconds[0]):.0f} files/s")
    print(f"ratio import / reference:  {imported / reference:7.1f}")


if __name__ == "__main__":
    main()
