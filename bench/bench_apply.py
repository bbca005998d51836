"""Apply benchmark: words/s of ``qualcode apply`` against the bare spaCy pipeline with the same matchers.

    python bench/bench_apply.py --words 1000000

Builds, in a temporary folder, a project whose respondent speech adds up to
``--words`` words (English-like text from bench/corpus.py, stored directly
with ``documents.add_document`` so the import is not part of the timing) and a
generated codebook of 50 codes (10 themes × 5) with 200 positive rules
(per code: two phrases — one code in four has a one-word phrase, the rest
two-word phrases —, one token pattern, one regex) and an ``unless`` on every
fifth code. Then, in the same run, each in its own child process so
its peak memory can be read on its own:

1. bare: ``qualcode.nlp.rule_pipeline`` with a PhraseMatcher, a Matcher and
   the compiled regexes holding the same rules, run with ``nlp.pipe`` over the
   same paragraph texts (loaded into memory before the clock starts);
2. qualcode: ``apply_codebook(project, codebook.yaml)`` end to end — read and
   validate the codebook, import it, read the units, segment, match, veto,
   and write the codings in one transaction.

Prints words/s of each, the ratio qualcode/bare (target ≤ 1.5) and each
child's peak resident memory (target ≤ 500 MB for qualcode).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import CONTENT_WORDS, transcript_turns  # noqa: E402


def build_project(folder: Path, words: int, seed: int) -> int:
    """A project with about ``words`` words of respondent speech; returns the exact count."""
    from qualcode import documents
    from qualcode.project import Project

    rng = random.Random(seed)
    project = Project.create(folder, name="apply benchmark")
    total = 0
    index = 0
    with project.transaction() as conn:
        while total < words:
            index += 1
            respondent = f"R{index:04d}"
            text, units = "", []
            for turn, (speaker, paragraphs) in enumerate(transcript_turns(rng, respondent, 6000), start=1):
                role = "interviewer" if speaker == "Interviewer" else "respondent"
                for paragraph in paragraphs:
                    text += f"{speaker}: "
                    start = len(text)
                    text += paragraph
                    units.append({"start": start, "end": len(text), "role": role, "speaker": speaker, "turn": turn,
                                  "respondent_id": respondent if role == "respondent" else None})
                    text += "\n\n"
                    if role == "respondent":
                        total += len(paragraph.split())
            documents.add_document(conn, name=f"{respondent}.txt", text=text, source_format="txt", units=units,
                                   respondent_id=respondent)
    project.close()
    return total


def write_codebook(path: Path, seed: int) -> tuple[int, int]:
    """50 codes under 10 themes, 200 positive rules; returns (codes, rules)."""
    import yaml

    rng = random.Random(seed)
    vocabulary = sorted(set(CONTENT_WORDS))
    themes = []
    rules_total = 0
    for t in range(10):
        children = []
        for c in range(5):
            a, b, d, e, f = rng.sample(vocabulary, 5)
            # one code in four has a one-word phrase; the others two-word phrases, as real codebooks mostly do.
            # This keeps the density of codings near that of the example study (a few per hundred words).
            rules = {
                "phrases": [f"{a} {b}", d if c % 4 == 0 else f"{d} {f}"],
                "patterns": [[{"LEMMA": rng.choice(vocabulary)}, {"IS_ALPHA": True, "OP": "?"},
                              {"LOWER": {"IN": rng.sample(vocabulary, 3)}}]],
                "regex": [rf"\b{e}\w*\s+(?:the|a|my)\s+\w+"],
            }
            if c == 0:
                rules["unless"] = [rng.choice(vocabulary)]
            rules_total += 4
            children.append({"key": f"t{t}.c{c}", "label": f"Code {t}.{c}", "definition": f"Talk about {a} and {d}.",
                             "rules": rules})
        themes.append({"key": f"t{t}", "label": f"Theme {t}", "children": children})
    path.write_text(yaml.safe_dump({"name": "Benchmark codebook", "language": "en", "codes": themes},
                                   sort_keys=False), encoding="utf-8")
    return 50, rules_total


def child_bare(project_dir: Path, codebook_path: Path) -> dict:
    """The bare pipeline and matchers over the respondent paragraphs."""
    import regex
    from spacy.matcher import Matcher, PhraseMatcher

    from qualcode.codebook import load_codebook_file, regex_flags
    from qualcode.nlp import rule_pipeline
    from qualcode.project import Project

    with Project.find(project_dir) as project:
        texts = [r[0] for r in project.connect().execute(
            "SELECT substr(d.text, u.start + 1, u.end - u.start) FROM units u JOIN documents d USING (document_id)"
            " WHERE u.role = 'respondent' ORDER BY d.name, u.seq")]
    nodes = load_codebook_file(codebook_path).nodes
    started = time.perf_counter()
    nlp = rule_pipeline("en")
    phrase_matcher = PhraseMatcher(nlp.vocab, attr="LEMMA")
    matcher = Matcher(nlp.vocab)
    regexes = []
    for node in nodes:
        rules = node["rules"] or {}
        phrases = rules.get("phrases", []) + [u for u in rules.get("unless", []) if isinstance(u, str)]
        if phrases:
            phrase_matcher.add(node["key"], list(nlp.pipe(phrases)))
        if rules.get("patterns"):
            matcher.add(node["key"], rules["patterns"])
        regexes += [regex.compile(r, regex_flags()) for r in rules.get("regex", [])]
    matches = 0
    tokens = 0
    for doc, text in nlp.pipe(((t, t) for t in texts), as_tuples=True, batch_size=256):
        tokens += len(doc)
        matches += len(phrase_matcher(doc)) + len(matcher(doc))
        for compiled in regexes:
            matches += sum(1 for _ in compiled.finditer(text, timeout=2.0))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "matches": matches, "tokens": tokens,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child_qualcode(project_dir: Path, codebook_path: Path, jobs: int) -> dict:
    # spaCy, regex and yaml are imported before the clock starts, as in the bare child
    import regex  # noqa: F401
    import spacy.matcher  # noqa: F401
    import yaml  # noqa: F401

    from qualcode.apply import apply_codebook
    from qualcode.project import Project

    with Project.find(project_dir) as project:
        started = time.perf_counter()
        result = apply_codebook(project, codebook_path, coder="auto", unit="sentence", jobs=jobs)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "codings": result.codings_added, "tokens": result.tokens,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_child(*args: str) -> dict:
    output = subprocess.run([sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, project_dir, codebook_path, *rest = args.child
        if kind == "bare":
            print(json.dumps(child_bare(Path(project_dir), Path(codebook_path))))
        else:
            print(json.dumps(child_qualcode(Path(project_dir), Path(codebook_path), int(rest[0]))))
        return

    with tempfile.TemporaryDirectory(prefix="qualcode-bench-apply-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        words = build_project(folder / "project", args.words, args.seed)
        codes, rules = write_codebook(folder / "codebook.yaml", args.seed)
        print(f"corpus: {words:,} words of respondent speech; codebook: {codes} codes, {rules} rules"
              f" (built in {time.perf_counter() - started:.1f} s)")
        bare = run_child("bare", str(folder / "project"), str(folder / "codebook.yaml"))
        ours = run_child("qualcode", str(folder / "project"), str(folder / "codebook.yaml"), str(args.jobs))
    print(f"bare spaCy + matchers : {bare['seconds']:7.1f} s  {words / bare['seconds']:>9,.0f} words/s"
          f"  peak {bare['peak_mb']:.0f} MB  ({bare['tokens']:,} tokens, {bare['matches']:,} raw matches)")
    print(f"qualcode apply        : {ours['seconds']:7.1f} s  {words / ours['seconds']:>9,.0f} words/s"
          f"  peak {ours['peak_mb']:.0f} MB  ({ours['codings']:,} codings, jobs={args.jobs})")
    ratio = ours["seconds"] / bare["seconds"]
    print(f"ratio qualcode / bare : {ratio:.2f} (target ≤ 1.5); peak memory target ≤ 500 MB:"
          f" {'met' if ours['peak_mb'] <= 500 else 'NOT met'}")


if __name__ == "__main__":
    main()
