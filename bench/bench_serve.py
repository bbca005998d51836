"""Benchmark: qualcode serve's API on the example study plus one 30,000-word transcript.

Builds, in a temporary folder, the example study project exactly as
``qualcode demo`` does (``qualcode.demo.demo_steps``), imports one synthetic
transcript of about 30,000 words (sentences from ``bench/corpus.py``) with the
real importer, and then, in this one process, through starlette's
TestClient (the whole ASGI app: security middleware, handler, database
thread, JSON), for a server of coder B:

1. GET the large document and its codings (what the page loads to open it);
2. POST /api/codings: saving one coding (one transaction, committed before the
   answer), ``--saves`` times on the example study's documents;
3. the bare library insert of the same coding (``qualcode.codings.add_codings``
   in its own transaction on an open connection), as many times;
4. the library call the handler makes (``qualcode.spans.add_coding``: span,
   code and codebook checks, insert, read back), as many times;

and prints the median and 95th percentile of each, and the ratio of (2) to (3).
Run:

    python bench/bench_serve.py
    python bench/bench_serve.py --saves 50 --words 5000   # quick
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def write_large_transcript(path: Path, words: int, seed: int) -> int:
    """A ``Name: text`` transcript of at least ``words`` words; returns its word count."""
    from corpus import transcript_turns

    rng = random.Random(seed)
    turns = transcript_turns(rng, "BIG1", words * 6)
    blocks = [f"{speaker}: " + "\n\n".join(paragraphs) for speaker, paragraphs in turns]
    text = "\n\n".join(blocks) + "\n"
    path.write_text(text, encoding="utf-8")
    return len(text.split())


def timed(function, repeat: int) -> tuple[list[float], object]:
    timings, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        timings.append(time.perf_counter() - start)
    return timings, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=30_000, help="words in the large transcript")
    parser.add_argument("--saves", type=int, default=200, help="codings saved through the API (and the library)")
    parser.add_argument("--loads", type=int, default=20, help="times the large document is loaded")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from qualcode import codings, store
    from qualcode.demo import demo_steps
    from qualcode.project import Project
    from qualcode.transcripts import import_paths

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    from qualcode.server.app import create_app

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        started = time.perf_counter()
        for _ in demo_steps(folder / "study"):
            pass
        large = folder / "BIG1.txt"
        words = write_large_transcript(large, args.words, args.seed)
        with Project.find(folder / "study") as project:
            import_paths(project, [large])
            conn = project.connect()
            big_id, big_chars = conn.execute(
                "SELECT document_id, length(text) FROM documents WHERE name = 'BIG1.txt'").fetchone()
            documents = [tuple(r) for r in conn.execute(
                "SELECT document_id, length(text) FROM documents WHERE name != 'BIG1.txt' ORDER BY document_id")]
            code_id, code_key = conn.execute(
                "SELECT code_id, key FROM codes c WHERE active = 1 AND NOT EXISTS"
                " (SELECT 1 FROM codes k WHERE k.parent_id = c.code_id) ORDER BY position, key LIMIT 1").fetchone()
            study = {"documents": conn.execute("SELECT count(*) FROM documents").fetchone()[0],
                     "codings": conn.execute("SELECT count(*) FROM codings").fetchone()[0]}
        setup_seconds = time.perf_counter() - started

        rng = random.Random(args.seed)
        spans = []
        for _ in range(args.saves):
            document_id, length = rng.choice(documents)
            start = rng.randrange(0, length - 40)
            spans.append((document_id, start, start + rng.randrange(5, 40)))

        token = "bench-token"
        headers = {"X-Qualcode-Token": token}
        app = create_app(folder / "study", coder="B", token=token, allowed_hosts=["testserver"])
        with TestClient(app) as client:
            def open_large():
                document = client.get(f"/api/documents/{big_id}", headers=headers)
                its_codings = client.get(f"/api/documents/{big_id}/codings", headers=headers)
                assert document.status_code == 200 and its_codings.status_code == 200
                return len(document.content) + len(its_codings.content)

            open_large()  # warm: the database thread and its connection
            load_times, payload_bytes = timed(open_large, args.loads)

            save_times = []
            for document_id, start, end in spans:
                body = {"document_id": document_id, "code": code_key, "start": start, "end": end}
                begin = time.perf_counter()
                response = client.post("/api/codings", headers=headers, json=body)
                save_times.append(time.perf_counter() - begin)
                assert response.status_code == 201, response.text

        with Project.find(folder / "study") as project:
            conn = project.connect()
            coder_id = store.get_or_create_coder(conn, "bench-library")
            library_times = []
            for document_id, start, end in spans:
                row = {"coder_id": coder_id, "code_id": code_id, "document_id": document_id, "start": start,
                       "end": end, "origin": "browser"}
                begin = time.perf_counter()
                with project.transaction():
                    codings.add_codings(conn, [row])
                library_times.append(time.perf_counter() - begin)
            from qualcode import spans as span_codings

            checked_times = []
            for document_id, start, end in spans:
                begin = time.perf_counter()
                with project.transaction():
                    span_codings.add_coding(conn, coder="bench-library", code=code_key, document_id=document_id,
                                            start=start, end=end)
                checked_times.append(time.perf_counter() - begin)

    ms = 1000
    rows = [
        ("open the large document + its codings (2 GETs)", load_times),
        ("save one coding: POST /api/codings", save_times),
        ("same coding, bare library insert + commit", library_times),
        ("same coding, qualcode.spans.add_coding (the handler's call: checks + read back)", checked_times),
    ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"example study: {study['documents']} documents ({study['documents'] - 1} + BIG1.txt), {study['codings']}"
          f" codings; BIG1.txt: {words:,} words, {big_chars:,} characters; {payload_bytes:,} bytes of JSON to open it")
    print(f"setup {setup_seconds:.1f} s; Python {platform.python_version()}; load average {load:.2f};"
          f" {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print()
    print("| | runs | median ms | p95 ms |")
    print("|---|---:|---:|---:|")
    for label, values in rows:
        print(f"| {label} | {len(values)} | {statistics.median(values) * ms:.2f} | {percentile(values, 0.95) * ms:.2f} |")
    ratio = statistics.median(save_times) / statistics.median(library_times)
    print(f"| ratio save through the API / library (medians) | | {ratio:.1f} | |")


if __name__ == "__main__":
    main()
