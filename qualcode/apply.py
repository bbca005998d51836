"""Applying a codebook's rules to the transcripts: the automatic first pass.

Every paragraph that a rule may look at goes once through a spaCy pipeline
(``qualcode.nlp.rule_pipeline``: sentences and lower-case lemmas) in batches
with ``nlp.pipe``; Docs are dropped as soon as they are matched, so memory
does not grow with the corpus. In each paragraph:

- ``phrases`` are matched with a ``PhraseMatcher`` on lemmas (the phrase is
  lemmatised by the same pipeline, so "waiting list" matches "Waiting lists");
- ``patterns`` are spaCy ``Matcher`` token patterns (LEMMA values are
  lower-case lemmas);
- ``regex`` are searched with the ``regex`` module, case-insensitively, with a
  time limit per paragraph so a catastrophically backtracking expression
  stops with an error naming the rule instead of hanging;
- a match belongs to the sentence where it starts; an ``unless`` phrase or
  pattern in the same sentence vetoes every match of that code there, and
  ``unless: {code: KEY}`` vetoes it where KEY applies;
- ``roles``/``speakers`` say whose speech a code's rules read (default:
  respondents only; interviewer turns only when a rule says ``roles:
  [interviewer]``).

Each (unit, code) with a surviving match becomes one coding over the chosen
unit (sentence, paragraph or turn) with origin ``rule``, the codebook version,
and a ``detail`` saying which rule matched which words (``rule``, ``kind``,
``matched``, ``start``, ``end`` of the first match, the ``unit`` key, and
``matches`` listing up to 20 when there are several). A run replaces the
coder's earlier rule codings (in the documents it covers) in one transaction,
but a coding it makes again (same code, document, start and end) is kept with
its id — so ``codings explain ID`` and exemplar marks stay with their passage —
and only updated (detail, codebook version); only codings no longer produced
are deleted and only new ones inserted. Codings made by hand or imported are
never touched.
"""

from __future__ import annotations

import fnmatch
import json
import sqlite3
import time
from itertools import islice
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from qualcode import store
from qualcode.errors import CodebookError, InputError
from qualcode.rules import RuleSet

APPLY_UNITS = ("sentence", "paragraph", "turn")
BATCH_SIZE = 256
MAX_MATCHES_IN_DETAIL = 20


@dataclass
class ApplyResult:
    """What a run did (or, for a dry run, would do)."""

    coder: str
    unit: str
    codebook_name: str | None
    content_hash: str
    version_id: int | None
    dry_run: bool
    documents: int
    paragraphs: int
    tokens: int
    codings_added: int
    codings_replaced: int
    seconds: float
    # codings_added counts every coding the run makes; of those, codings_new were not there before and
    # codings_kept were (same coder, code, document, start, end) and keep their ids. codings_removed are
    # earlier rule codings no longer produced; codings_replaced = kept + removed (the earlier ones).
    codings_new: int = 0
    codings_kept: int = 0
    codings_removed: int = 0
    summary: list[dict] = field(default_factory=list)

    def summary_frame(self):
        """Per code: key, label, units coded, respondents (a pandas DataFrame)."""
        import pandas as pd

        return pd.DataFrame(self.summary, columns=["code", "label", "units", "respondents", "matches"])


def select_documents(conn: sqlite3.Connection, documents: str | Iterable[str] | None) -> list[tuple[int, str]]:
    """(document_id, name) of the documents matching glob patterns (on the name or the name without suffix)."""
    rows = [(r[0], r[1]) for r in conn.execute("SELECT document_id, name FROM documents ORDER BY name")]
    if documents is None:
        return rows
    patterns = [documents] if isinstance(documents, str) else list(documents)
    chosen = [(i, name) for i, name in rows
              if any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(Path(name).stem, p) for p in patterns)]
    if not chosen:
        raise InputError(f"no document matches {', '.join(repr(p) for p in patterns)};"
                         " 'qualcode documents' lists them")
    return chosen


def _paragraphs(conn: sqlite3.Connection, document_ids: list[int], roles: set[str]) -> list[tuple]:
    marks = ",".join("?" * len(document_ids))
    role_marks = ",".join("?" * len(roles))
    return conn.execute(
        "SELECT u.unit_id, u.document_id, d.name, u.seq, u.turn, u.start, u.end, u.speaker, u.role, u.respondent_id"
        f" FROM units u JOIN documents d USING (document_id) WHERE u.document_id IN ({marks})"
        f" AND u.role IN ({role_marks}) ORDER BY d.name, u.seq",
        (*document_ids, *sorted(roles)),
    ).fetchall()


def _cached_sentences(conn: sqlite3.Connection, unit_ids: list[int]) -> dict[int, list[tuple[int, int]]]:
    cached: dict[int, list[tuple[int, int]]] = {}
    for chunk_start in range(0, len(unit_ids), 900):
        chunk = unit_ids[chunk_start:chunk_start + 900]
        for unit_id, start, end in conn.execute(
                f"SELECT unit_id, start, end FROM sentences WHERE unit_id IN ({','.join('?' * len(chunk))})"
                " ORDER BY unit_id, start", chunk):
            cached.setdefault(unit_id, []).append((start, end))
    return cached


def _paragraph_texts(conn: sqlite3.Connection, paragraphs: list[tuple]) -> Iterator[tuple[str, tuple[int, str]]]:
    """(paragraph text, (index into ``paragraphs``, text)), one document's text in memory at a time.

    The text rides along as context because ``Doc.text`` rebuilds it token by token.
    """
    current_id, current_text = None, ""
    for index, row in enumerate(paragraphs):
        if row[1] != current_id:
            current_id = row[1]
            current_text = conn.execute("SELECT text FROM documents WHERE document_id = ?", (current_id,)).fetchone()[0]
        text = current_text[row[5]:row[6]]
        yield text, (index, text)


def _codebook_nodes(conn: sqlite3.Connection, codebook, language: str):
    """(Codebook object or None, nodes, name, content hash) for the codebook to apply."""
    from qualcode import codebook as codebook_module

    if codebook is None:
        current = codebook_module.project_codebook(conn)
        loaded = None
    else:
        loaded = codebook if isinstance(codebook, codebook_module.Codebook) else codebook_module.load_codebook_file(codebook)
        current = loaded
    if current.language and current.language != language:
        raise CodebookError(f"the codebook is written for language '{current.language}' but the project's language is"
                            f" '{language}'; set [project] language in qualcode.toml or use a codebook for '{language}'")
    return loaded, current.nodes, current.name, current.content_hash


def apply_codebook(
    project,
    codebook=None,
    *,
    coder: str = "auto",
    unit: str = "sentence",
    documents: str | Iterable[str] | None = None,
    dry_run: bool = False,
    jobs: int = 1,
    model: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ApplyResult:
    """Apply a codebook's rules to the project's transcripts as ``coder``.

    Kept whole as the one place that sequences a run: checks, matching, then the dry-run report or one
    transaction that writes the codings.

    ``codebook`` is None (the project's current codebook), a path (imported
    first, in the same transaction) or a ``Codebook``. ``unit`` is the span
    each coding covers: sentence, paragraph or turn. ``documents`` limits the
    run to documents whose names match glob patterns (only their earlier rule
    codings are replaced). ``jobs`` > 1 runs spaCy in that many processes;
    ``model`` names an installed trained spaCy pipeline. ``progress(done,
    total)`` is called with paragraphs processed. With ``dry_run`` nothing is
    written. Returns an ``ApplyResult`` with a per-code summary.
    """
    from qualcode.codebook import import_codebook, load_tree
    from qualcode.nlp import rule_pipeline

    started = time.perf_counter()
    if unit not in APPLY_UNITS:
        raise InputError(f"cannot code by '{unit}'; choose one of {', '.join(APPLY_UNITS)}")
    if jobs < 1:
        raise InputError("--jobs must be 1 or more")
    coder = coder.strip()
    if not coder:
        raise InputError("a coder name cannot be empty; give one with --coder NAME")
    conn = project.connect()
    language = project.language
    loaded, nodes, codebook_name, content_hash = _codebook_nodes(conn, codebook, language)
    needs_lemmas = any(
        (node.get("rules") or {}).get("phrases") or (node.get("rules") or {}).get("patterns")
        or any(not isinstance(u, dict) for u in (node.get("rules") or {}).get("unless", []))
        for node in nodes)
    nlp = rule_pipeline(language, model, lemmas=needs_lemmas)
    rules = RuleSet(nodes, nlp)
    chosen = select_documents(conn, documents)
    document_ids = [i for i, _ in chosen]
    paragraphs = _paragraphs(conn, document_ids, rules.needed_roles())
    # sentences already cached by qualcode.units are reused, so agreement at --unit sentence sees the same ones
    cached = _cached_sentences(conn, [p[0] for p in paragraphs])

    total = len(paragraphs)
    hits, unit_spans, new_sentences, tokens = _match_paragraphs(
        nlp, rules, paragraphs, _paragraph_texts(conn, paragraphs), cached, unit=unit, jobs=jobs, progress=progress)

    summary = _summary(nodes, rules, hits, unit_spans)
    result = ApplyResult(coder=coder, unit=unit, codebook_name=codebook_name, content_hash=content_hash,
                         version_id=None, dry_run=dry_run, documents=len(chosen), paragraphs=total, tokens=tokens,
                         codings_added=len(hits), codings_replaced=0, seconds=0.0, summary=summary)
    if dry_run:
        from qualcode.codebook import current_version_id

        _dry_run_plan(conn, result, coder, None if documents is None else document_ids, hits, unit_spans)

        if loaded is None:
            result.version_id = current_version_id(conn)
        else:
            row = conn.execute("SELECT version_id FROM codebook_versions WHERE content_hash = ?",
                               (content_hash,)).fetchone()
            result.version_id = row[0] if row else None
        result.seconds = time.perf_counter() - started
        return result

    with project.transaction() as conn:
        coder_id = store.get_or_create_coder(conn, coder)
        if loaded is not None:
            # this coder's rule codings of codes the file drops are replaced below, so they do not
            # make the import refuse; anyone else's codings of those codes do
            version_id = import_codebook(conn, loaded, replacing_rule_codings=(
                coder_id, None if documents is None else document_ids))["version_id"]
        else:
            from qualcode.codebook import current_version_id

            version_id = current_version_id(conn)
        code_ids = {key: node.code_id for key, node in load_tree(conn).by_key.items()}
        conn.executemany("INSERT OR IGNORE INTO sentences (unit_id, start, end) VALUES (?, ?, ?)", new_sentences)
        # Written directly rather than through codings.add_codings: every span is a stored unit (or a
        # sentence inside one), so its checks cannot fail, and for a large corpus they cost as much as
        # the matching. Chunks keep the JSON of every detail from being in memory at once.
        written, kept, removed_ids = _write_rule_codings(
            conn, coder_id, version_id, code_ids, hits, unit_spans, None if documents is None else document_ids)
        store.record_history(conn, "apply", coder=coder, unit=unit, version_id=version_id,
                             content_hash=content_hash, documents=len(chosen), codings=len(hits), added=written,
                             removed=len(removed_ids), kept=kept, model=model)
    result.version_id = version_id
    result.codings_replaced = len(removed_ids) + kept
    result.codings_new = written
    result.codings_removed = len(removed_ids)
    result.codings_kept = kept
    result.seconds = time.perf_counter() - started
    return result


def _match_paragraphs(nlp, rules: RuleSet, paragraphs: list, texts, cached: dict, *, unit: str, jobs: int,
                      progress: Callable[[int, int], None] | None):
    """Run the rules over every paragraph: (hits, unit_spans, new_sentences, tokens).

    ``hits`` maps (unit key, code key) to its first matches, ``unit_spans`` each unit key to
    (document_id, start, end, respondent_id); ``new_sentences`` are the sentences not cached yet
    (``cached`` is updated with them); ``tokens`` counts the tokens spaCy saw."""
    from qualcode.units import sentence_spans

    new_sentences: list[tuple[int, int, int]] = []
    # unit key → (document_id, start, end, respondent_id); hits: (unit key, code) → matches
    unit_spans: dict[str, tuple[int, int, int, str | None]] = {}
    hits: dict[tuple[str, str], list[tuple]] = {}
    tokens = 0
    total = len(paragraphs)
    eligible_cache: dict[tuple[str, str | None, str | None], list[str]] = {}
    done = 0
    for doc, (index, text) in nlp.pipe(texts, as_tuples=True, batch_size=BATCH_SIZE, n_process=jobs):
        unit_id, document_id, name, seq, turn, p_start, p_end, speaker, role, respondent = paragraphs[index]
        tokens += len(doc)
        spans = cached.get(unit_id)
        if spans is None:
            spans = [(p_start + s, p_start + e) for s, e in sentence_spans(text, doc)]
            new_sentences.extend((unit_id, s, e) for s, e in spans)
            cached[unit_id] = spans
        sentence_starts = [s - p_start for s, _ in spans]
        profile = (role, speaker, respondent)
        eligible = eligible_cache.get(profile)
        if eligible is None:
            names = {n.casefold() for n in (speaker, respondent) if n}
            eligible = [key for key in rules.order
                        if role in rules.codes[key].roles
                        and (not rules.codes[key].speakers or names & rules.codes[key].speakers)]
            eligible_cache[profile] = eligible
        applied = rules.match(doc, text, sentence_starts, eligible, name)
        for (sentence, key), matches in applied.items():
            if unit == "sentence":
                unit_key = f"{name}#{seq}.{sentence + 1}"
                s_start, s_end = spans[sentence]
                unit_spans.setdefault(unit_key, (document_id, s_start, s_end, respondent))
            elif unit == "paragraph":
                unit_key = f"{name}#{seq}"
                unit_spans.setdefault(unit_key, (document_id, p_start, p_end, respondent))
            else:
                unit_key = f"{name}#t{turn}"
                known = unit_spans.get(unit_key)
                unit_spans[unit_key] = (document_id, known[1] if known else p_start, p_end, respondent)
            bucket = hits.setdefault((unit_key, key), [])
            for description, kind, matched, start, end in matches:
                if len(bucket) < MAX_MATCHES_IN_DETAIL:
                    bucket.append((description, kind, matched, start + p_start, end + p_start))
        done += 1
        if progress is not None and (done % 64 == 0 or done == total):
            progress(done, total)
    if progress is not None and total == 0:
        progress(0, 0)
    if unit == "turn":
        # a turn coding covers the whole turn, not only up to its last matching paragraph
        turn_extent: dict[str, tuple[int, int]] = {}
        for row in paragraphs:
            key = f"{row[2]}#t{row[4]}"
            known = turn_extent.get(key)
            turn_extent[key] = (min(known[0], row[5]), max(known[1], row[6])) if known else (row[5], row[6])
        unit_spans = {k: (d, *turn_extent[k], r) for k, (d, s, e, r) in unit_spans.items()}
    return hits, unit_spans, new_sentences, tokens


def _write_rule_codings(conn: sqlite3.Connection, coder_id: int, version_id: int | None, code_ids: dict[str, int],
                        hits: dict, unit_spans: dict, document_ids: list[int] | None):
    """Replace the coder's earlier rule codings (of ``document_ids``, or all) with ``hits``: new spans
    inserted, unchanged ones kept with a fresh detail, the rest deleted. Returns (written, kept, removed_ids)."""
    from qualcode.codings import delete_codings

    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
    created = store.now()
    earlier = _earlier_rule_codings(conn, coder_id, document_ids)
    produced: set[tuple[int, int, int, int]] = set()
    removed_ids: list[int] = []

    def detail_of(unit_key: str, matches: list) -> str:
        first = matches[0]
        detail = {"rule": first[0], "kind": first[1], "matched": first[2], "start": first[3],
                  "end": first[4], "unit": unit_key}
        if len(matches) > 1:
            detail["matches"] = [{"rule": m[0], "kind": m[1], "matched": m[2], "start": m[3], "end": m[4]}
                                 for m in matches]
        return encode(detail)

    def new_rows():
        for (unit_key, key), matches in hits.items():  # readers order codings themselves
            document_id, start, end, _ = unit_spans[unit_key]
            identity = (code_ids[key], document_id, start, end)
            produced.add(identity)
            if identity in earlier:
                continue
            yield (coder_id, code_ids[key], document_id, start, end, "rule", version_id,
                   detail_of(unit_key, matches), created)

    def kept_rows():
        for (unit_key, key), matches in hits.items():
            document_id, start, end, _ = unit_spans[unit_key]
            coding_ids = earlier.get((code_ids[key], document_id, start, end))
            if coding_ids:
                yield (version_id, detail_of(unit_key, matches), coding_ids[0])

    written = _execute_in_chunks(
        conn,
        "INSERT INTO codings (coder_id, code_id, document_id, start, end, origin, codebook_version_id,"
        " detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", new_rows())
    kept = _execute_in_chunks(
        conn, "UPDATE codings SET codebook_version_id = ?, detail = ? WHERE coding_id = ?", kept_rows())
    for identity, coding_ids in earlier.items():
        # a repeated identical coding (there should be none) goes too: one per span is enough
        removed_ids.extend(coding_ids if identity not in produced else coding_ids[1:])
    if removed_ids:
        delete_codings(conn, coder_id, coding_ids=removed_ids)
    return written, kept, removed_ids


def _execute_in_chunks(conn: sqlite3.Connection, sql: str, rows: Iterable[tuple], size: int = 5000) -> int:
    """Run ``sql`` for every row, a chunk at a time, so a large corpus's rows are never all in memory at once.

    Returns how many rows were executed.
    """
    pending = iter(rows)
    done = 0
    while True:
        chunk = list(islice(pending, size))
        if not chunk:
            return done
        conn.executemany(sql, chunk)
        done += len(chunk)


def _dry_run_plan(conn: sqlite3.Connection, result: ApplyResult, coder: str, document_ids: list[int] | None,
                  hits: dict, unit_spans: dict) -> None:
    """Fill in how many codings a run would add, keep and remove (codes matched by key)."""
    row = conn.execute("SELECT coder_id FROM coders WHERE name = ?", (coder,)).fetchone()
    earlier = _earlier_rule_codings(conn, row[0], document_ids) if row else {}
    code_ids = {key: code_id for code_id, key in conn.execute("SELECT code_id, key FROM codes")}
    produced = set()
    for unit_key, key in hits:
        document_id, start, end, _ = unit_spans[unit_key]
        produced.add((code_ids.get(key), document_id, start, end))
    result.codings_kept = sum(1 for identity in produced if identity in earlier)
    result.codings_new = len(produced) - result.codings_kept
    result.codings_removed = sum(len(ids) if identity not in produced else len(ids) - 1
                                 for identity, ids in earlier.items())
    result.codings_replaced = result.codings_removed + result.codings_kept


def _earlier_rule_codings(conn: sqlite3.Connection, coder_id: int,
                          document_ids: list[int] | None) -> dict[tuple[int, int, int, int], list[int]]:
    """The coder's rule codings: ``{(code_id, document_id, start, end): [coding ids, oldest first]}``."""
    sql = "SELECT coding_id, code_id, document_id, start, end FROM codings WHERE coder_id = ? AND origin = 'rule'"
    params: list = [coder_id]
    if document_ids is not None:
        sql += " AND document_id IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(document_ids))
    earlier: dict[tuple[int, int, int, int], list[int]] = {}
    for coding_id, code_id, document_id, start, end in conn.execute(sql + " ORDER BY coding_id", params):
        earlier.setdefault((code_id, document_id, start, end), []).append(coding_id)
    return earlier


def _summary(nodes: list[dict], rules: RuleSet, hits: dict, unit_spans: dict) -> list[dict]:
    units_by_code: dict[str, int] = {}
    respondents_by_code: dict[str, set] = {}
    matches_by_code: dict[str, int] = {}
    for (unit_key, key), matches in hits.items():
        units_by_code[key] = units_by_code.get(key, 0) + 1
        matches_by_code[key] = matches_by_code.get(key, 0) + len(matches)
        respondent = unit_spans[unit_key][3]
        if respondent:
            respondents_by_code.setdefault(key, set()).add(respondent)
    return [
        {"code": node["key"], "label": node["label"], "units": units_by_code.get(node["key"], 0),
         "respondents": len(respondents_by_code.get(node["key"], ())), "matches": matches_by_code.get(node["key"], 0)}
        for node in nodes if node["key"] in rules.codes
    ]


# --------------------------------------------------------------------------
# why a coding was made
# --------------------------------------------------------------------------

def explain_coding(conn: sqlite3.Connection, coding_id: int) -> dict:
    """Where a coding is, its text, and why it was made.

    Returns coding_id, coder, code, code_label (the label path), document,
    start, end, respondent, speaker, units (paragraph keys it overlaps),
    text, origin, codebook (name and version), created_at, memo, and for
    rule codings ``rule``, ``kind`` and ``matches`` (each with the rule, the
    matched words and their offsets relative to ``text``).
    """
    from qualcode.codebook import load_tree
    from qualcode.errors import NotFound

    row = conn.execute(
        "SELECT c.coding_id, k.name AS coder, co.key, c.document_id, d.name AS document, c.start, c.end, c.origin,"
        " c.codebook_version_id, c.detail, c.memo, c.created_at, substr(d.text, c.start + 1, c.end - c.start) AS text,"
        " v.name AS version_name, v.content_hash"
        " FROM codings c JOIN coders k USING (coder_id) JOIN codes co USING (code_id)"
        " JOIN documents d USING (document_id) LEFT JOIN codebook_versions v ON v.version_id = c.codebook_version_id"
        " WHERE c.coding_id = ?", (coding_id,)).fetchone()
    if row is None:
        raise NotFound(f"no coding {coding_id} in the project; 'qualcode codings list' shows the ids")
    tree = load_tree(conn, include_inactive=True)
    units = conn.execute(
        "SELECT seq, speaker, role, respondent_id FROM units WHERE document_id = ? AND start < ? AND end > ?"
        " ORDER BY seq", (row["document_id"], row["end"], row["start"])).fetchall()
    detail = json.loads(row["detail"]) if row["detail"] else None
    matches = []
    if detail:
        for match in detail.get("matches") or [detail]:
            if "start" in match and "end" in match:
                matches.append({"rule": match.get("rule"), "kind": match.get("kind"), "matched": match.get("matched"),
                                "start": match["start"] - row["start"], "end": match["end"] - row["start"]})
            else:
                matches.append({"rule": match.get("rule"), "kind": match.get("kind"), "matched": match.get("matched"),
                                "start": None, "end": None})
    respondents = sorted({u["respondent_id"] for u in units if u["respondent_id"]})
    speakers = sorted({u["speaker"] for u in units if u["speaker"]})
    return {
        "coding_id": row["coding_id"], "coder": row["coder"], "code": row["key"],
        "code_label": tree.label_path(row["key"]) if row["key"] in tree else row["key"],
        "document": row["document"], "start": row["start"], "end": row["end"],
        "respondent": ", ".join(respondents) or None, "speaker": ", ".join(speakers) or None,
        "units": [f"{row['document']}#{u['seq']}" for u in units],
        "unit": (detail or {}).get("unit"),
        "text": row["text"], "origin": row["origin"], "codebook_version_id": row["codebook_version_id"],
        "codebook": row["version_name"], "codebook_hash": row["content_hash"], "created_at": row["created_at"],
        "memo": row["memo"], "rule": (detail or {}).get("rule"), "kind": (detail or {}).get("kind"),
        "matches": matches,
    }
