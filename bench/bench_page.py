"""Benchmark: the coding page in headless Chromium on a 30,000-word transcript.

Builds, in a temporary folder, a project with the example study's codebook,
one synthetic transcript of about 30,000 words (``bench_serve``'s, imported
with the real importer) and ``--codings`` codings of coder B on it at random
spans, serves it with ``qualcode serve --coder B`` in its own process (as a
coder runs it), opens the page in Debian's Chromium through Playwright,
and measures inside the page, with ``performance.now()``:

1. **reference**: the same text put into one ``<pre>`` and laid out (what a
   browser needs at least to show the text at all);
2. **render**: the page's ``renderTranscript()`` (paragraphs, turns,
   highlights, tags) and layout;
3. **open**: ``openDocument()``: three API calls, JSON, render, layout;
4. **scroll**: the transcript scrolled from top to bottom in 40 steps, each
   step timed to the next animation frame (the longest frame is the lag a
   reader could feel);
5. **save**: ``applyCode()`` on a span: the POST, then the page's reload of
   the document's codings, counts and progress, and the re-render, i.e. the
   time until the new highlight is on screen.

It prints medians and the ratio of each to the reference. Run:

    python bench/bench_page.py
    python bench/bench_page.py --words 5000 --runs 3   # quick
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import statistics
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_serve import write_large_transcript  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("QUALCODE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

MEASURE = """async ([runs, span, key]) => {
  const timings = {reference: [], render: [], open: [], scroll: [], save: []};
  const frame = () => new Promise((done) => requestAnimationFrame(() => done()));
  const layout = () => document.body.getBoundingClientRect().height + $("transcript").scrollHeight;
  for (let run = 0; run < runs; run++) {
    const pre = document.createElement("pre");
    let t = performance.now();
    pre.textContent = state.doc.text;
    document.body.append(pre);
    layout();
    timings.reference.push(performance.now() - t);
    pre.remove();

    t = performance.now();
    renderTranscript();
    layout();
    timings.render.push(performance.now() - t);

    t = performance.now();
    await openDocument(state.doc.id);
    layout();
    timings.open.push(performance.now() - t);

    const pane = $("transcript").closest(".pane");
    pane.scrollTop = 0;
    await frame();
    const step = pane.scrollHeight / 40;
    let longest = 0;
    for (let i = 0; i < 40; i++) {
      t = performance.now();
      pane.scrollTop += step;
      await frame();
      longest = Math.max(longest, performance.now() - t);
    }
    timings.scroll.push(longest);

    t = performance.now();
    await applyCode(key, {start: span[0] + run * 7, end: span[1] + run * 7});
    layout();
    timings.save.push(performance.now() - t);
  }
  return timings;
}"""


@contextmanager
def served(project_dir: Path):
    """``qualcode serve --coder B`` in a subprocess; yield the address it prints."""
    process = subprocess.Popen([sys.executable, "-m", "qualcode", "serve", "--coder", "B", "--no-browser",
                                "--project", str(project_dir)], stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stderr:
            found = re.search(r"(http://\S+/\?token=\S+)", line)
            if found:
                break
        else:
            raise SystemExit("qualcode serve did not start")
        yield found.group(1)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=30_000)
    parser.add_argument("--codings", type=int, default=600, help="codings of coder B on the large transcript")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from qualcode import codings, store
    from qualcode.codebook import import_codebook
    from qualcode.project import Project
    from qualcode.transcripts import import_paths

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        large = folder / "BIG1.txt"
        words = write_large_transcript(large, args.words, args.seed)
        project = Project.create(folder / "study")
        import_paths(project, [large])
        with project.transaction() as conn:
            import_codebook(conn, REPO / "codebooks" / "bridge.yaml")
            document_id, length = conn.execute("SELECT document_id, length(text) FROM documents").fetchone()
            code_ids = [r[0] for r in conn.execute(
                "SELECT code_id FROM codes c WHERE active = 1 AND NOT EXISTS"
                " (SELECT 1 FROM codes k WHERE k.parent_id = c.code_id)")]
            coder = store.get_or_create_coder(conn, "B")
            rng = random.Random(args.seed)
            rows = []
            for _ in range(args.codings):
                start = rng.randrange(0, length - 400)
                rows.append({"coder_id": coder, "code_id": rng.choice(code_ids), "document_id": document_id,
                             "start": start, "end": start + rng.randrange(20, 400), "origin": "manual"})
            codings.add_codings(conn, rows)
        project.close()

        with served(folder / "study") as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url)
            page.wait_for_selector("#transcript .para")
            key = page.evaluate("state.codebook.codes.find((c) => c.codable).key")
            timings = page.evaluate(MEASURE, [args.runs, [1000, 1060], key])
            paragraphs = page.evaluate("document.querySelectorAll('#transcript .para').length")
            browser_version = browser.version
            browser.close()

    reference = statistics.median(timings["reference"])
    print(f"qualcode page benchmark: BIG1.txt {words:,} words, {paragraphs:,} paragraphs, {args.codings} codings;"
          f" {args.runs} runs; Chromium {browser_version}, Python {platform.python_version()}")
    print(f"{'':58} {'median ms':>10} {'max ms':>8} {'× reference':>12}")
    rows = [
        ("reference: the text in one <pre>, laid out", "reference"),
        ("render: paragraphs, turns, highlights, tags, laid out", "render"),
        ("open: 3 API calls + JSON + render", "open"),
        ("scroll: longest frame while scrolling top to bottom", "scroll"),
        ("save: POST + reload codings/counts + re-render", "save"),
    ]
    for label, name in rows:
        values = timings[name]
        median = statistics.median(values)
        ratio = f"{median / reference:12.1f}" if name != "reference" else f"{1:12.1f}"
        print(f"{label:58} {median:10.1f} {max(values):8.1f} {ratio}")


if __name__ == "__main__":
    main()
