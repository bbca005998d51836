"""Coding spans one at a time, as a coder does by highlighting text.

The functions a span-coding front end (``qualcode serve``) needs, kept in the
library so the front end holds no rule of its own: add one coding with its
checks (span inside the text, code known, active and codable), change its
code, remove it, all for one coder only; a document's outline (turns and
paragraphs); each document's progress for one coder; the documents of a
double-coding sample; the codebook with colours, shortcuts and one coder's
counts; and, for a reconciliation session, stable disagreement ids and the
spans a decision put into the consensus coder.

Offsets are code points into the stored text, end exclusive, as everywhere.
"""

from __future__ import annotations

import base64
import re
import sqlite3
from dataclasses import dataclass

from qualcode import store
from qualcode.codings import Coding, add_codings, delete_codings, load_codings
from qualcode.errors import InputError, NotFound

# Colour-blind-safe hues first (Okabe-Ito, Tol), then more; a code without a colour of its own
# takes the next one in codebook order, so the same codebook always gets the same colours.
PALETTE = (
    "#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7", "#88ccee", "#44aa99",
    "#117733", "#999933", "#ddcc77", "#cc6677", "#882255", "#aa4499", "#6699cc", "#997700", "#bbbbbb",
)
HEX_COLOUR = re.compile(r"^#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})$")
SHORTCUTS = 9


# --------------------------------------------------------------------------- one coder's codings

def codable_code(conn: sqlite3.Connection, key: str):
    """The code node ``key`` if a coder may apply it now: known, active and a code rather than a
    theme with codes beneath it (as in coding sheets). InputError otherwise."""
    from qualcode.codebook import load_tree

    if not isinstance(key, str) or not key.strip():
        raise InputError("no code given; choose a code key from the codebook")
    tree = load_tree(conn, include_inactive=True)
    node = tree.by_key.get(key)
    if node is None:
        raise InputError(f"no code '{key[:60]}' in the project's codebook; 'qualcode codebook show' lists the keys")
    if not node.active:
        raise InputError(f"code '{key}' is no longer in the current codebook; choose another code")
    if node.children:
        raise InputError(f"'{key}' is a theme; choose one of the codes beneath it")
    return node


def get_coding(conn: sqlite3.Connection, coding_id: int, *, coder: str | None = None) -> Coding:
    """The coding ``coding_id`` (only if it is ``coder``'s, when given); NotFound otherwise."""
    return _one_coding(conn, coding_id, coder)


def _one_coding(conn, coding_id: int, coder: str | None) -> Coding:
    row = conn.execute("SELECT c.document_id, k.name FROM codings c JOIN coders k USING (coder_id)"
                       " WHERE c.coding_id = ?", (coding_id,)).fetchone()
    if row is None or (coder is not None and row[1] != coder):
        who = f"coder '{coder}' has" if coder is not None else "the project has"
        raise NotFound(f"{who} no coding {coding_id} (removed already?)")
    for coding in load_codings(conn, coders=[row[1]], document_ids=[row[0]]):
        if coding.coding_id == coding_id:
            return coding
    raise NotFound(f"the project has no coding {coding_id}")  # pragma: no cover - deleted between the queries


def add_coding(conn: sqlite3.Connection, *, coder: str, code: str, document_id: int, start: int, end: int,
               origin: str = "browser") -> Coding:
    """Store one coding of ``code`` on ``start``–``end`` of a document by ``coder``; return it.

    The span must lie inside the stored text (``0 <= start < end <= len``);
    the code must be codable (``codable_code``). The coder is created if new.
    Recorded with the current codebook version. Call inside a transaction.
    """
    for name, value in (("document_id", document_id), ("start", start), ("end", end)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise InputError(f"{name} must be a whole number")
    node = codable_code(conn, code)
    from qualcode.codebook import current_version_id

    coder_id = store.get_or_create_coder(conn, coder)
    add_codings(conn, [{"coder_id": coder_id, "code_id": node.code_id, "document_id": document_id, "start": start,
                        "end": end, "origin": origin, "codebook_version_id": current_version_id(conn)}])
    coding_id = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
    return _one_coding(conn, coding_id, coder)


def change_code(conn: sqlite3.Connection, coding_id: int, code: str, *, coder: str) -> Coding:
    """Give ``coder``'s coding ``coding_id`` another (codable) code, same span; return it.
    NotFound if the coding is not the coder's. Call inside a transaction."""
    _one_coding(conn, coding_id, coder)
    node = codable_code(conn, code)
    from qualcode.codebook import current_version_id

    conn.execute("UPDATE codings SET code_id = ?, codebook_version_id = ? WHERE coding_id = ?",
                 (node.code_id, current_version_id(conn), coding_id))
    return _one_coding(conn, coding_id, coder)


def remove_coding(conn: sqlite3.Connection, coding_id: int, *, coder: str) -> int:
    """Delete ``coder``'s coding ``coding_id`` (its memos go with it); return its id.
    NotFound if the coding is not the coder's (or was removed already)."""
    _one_coding(conn, coding_id, coder)
    delete_codings(conn, store.coder_id(conn, coder), coding_ids=[coding_id])
    return coding_id


# --------------------------------------------------------------------------- documents

@dataclass(frozen=True)
class DocumentProgress:
    document_id: int
    name: str
    respondent_id: str | None
    units: int
    units_coded: int
    codings: int


def documents_progress(conn: sqlite3.Connection, coders: list[str] | None,
                       document_ids: list[int] | None = None) -> list[DocumentProgress]:
    """Each document (or those in ``document_ids``) by name, with its paragraph count, how many
    paragraphs carry at least one coding of ``coders`` and how many codings they made.
    ``coders=[]`` counts nothing (a coder with no codings yet)."""
    from qualcode.units import coverage, load_units

    sql = "SELECT document_id, name, respondent_id FROM documents"
    params: list = []
    if document_ids is not None:
        ids = list(document_ids)
        sql += f" WHERE document_id IN ({','.join('?' * len(ids))})" if ids else " WHERE 0"
        params = ids
    documents = conn.execute(sql + " ORDER BY name", params).fetchall()
    wanted = [d[0] for d in documents]
    units = load_units(conn, "paragraph", documents=wanted, respondents_only=False)
    codings = load_codings(conn, coders=coders if coders is not None else None, document_ids=wanted) \
        if coders != [] else []
    covered = coverage(units, ((None, c.document_id, c.start, c.end) for c in codings))
    units_per_doc: dict[int, int] = {}
    coded_per_doc: dict[int, int] = {}
    for index, unit in enumerate(units):
        units_per_doc[unit.document_id] = units_per_doc.get(unit.document_id, 0) + 1
        if (index, None) in covered:
            coded_per_doc[unit.document_id] = coded_per_doc.get(unit.document_id, 0) + 1
    codings_per_doc: dict[int, int] = {}
    for coding in codings:
        codings_per_doc[coding.document_id] = codings_per_doc.get(coding.document_id, 0) + 1
    return [DocumentProgress(d[0], d[1], d[2], units_per_doc.get(d[0], 0), coded_per_doc.get(d[0], 0),
                             codings_per_doc.get(d[0], 0)) for d in documents]


def document_outline(conn: sqlite3.Connection, document_id: int) -> dict:
    """A document for display: ``id``, ``name``, ``respondent_id``, ``text`` (the stored text),
    ``turns`` (start, end, speaker, role, respondent_id) and ``units`` (the paragraphs: id,
    start, end, role, respondent_id). NotFound for an unknown document."""
    from qualcode.units import load_units

    row = conn.execute("SELECT document_id, name, respondent_id, text FROM documents WHERE document_id = ?",
                       (document_id,)).fetchone()
    if row is None:
        raise NotFound(f"document {document_id} is not in the project")
    turns = [{"start": u.start, "end": u.end, "speaker": u.speaker or u.respondent_id or u.role, "role": u.role,
              "respondent_id": u.respondent_id}
             for u in load_units(conn, "turn", documents=[document_id], respondents_only=False)]
    paragraphs = [{"id": u.unit_ids[0], "start": u.start, "end": u.end, "role": u.role,
                   "respondent_id": u.respondent_id}
                  for u in load_units(conn, "paragraph", documents=[document_id], respondents_only=False)]
    return {"id": row[0], "name": row[1], "respondent_id": row[2], "text": row[3], "turns": turns,
            "units": paragraphs}


def sample_document_ids(conn: sqlite3.Connection, sample_id: int) -> list[int]:
    """The documents holding the units of double-coding sample ``sample_id``; NotFound (naming
    the recorded samples) when there is no such sample."""
    if conn.execute("SELECT 1 FROM samples WHERE sample_id = ?", (sample_id,)).fetchone() is None:
        known = [str(r[0]) for r in conn.execute("SELECT sample_id FROM samples ORDER BY sample_id")]
        hint = f"recorded samples: {', '.join(known)}" if known else \
            "none is recorded yet; draw one with 'qualcode sheet export --coder NAME --sample 0.3'"
        raise NotFound(f"no double-coding sample {sample_id} in this project ({hint})")
    return [r[0] for r in conn.execute(
        "SELECT DISTINCT u.document_id FROM assignments a JOIN units u USING (unit_id) WHERE a.sample_id = ?"
        " ORDER BY u.document_id", (sample_id,))]


# --------------------------------------------------------------------------- the codebook for coding

def codebook_for_coding(conn: sqlite3.Connection, coders: list[str] | None) -> dict:
    """The codebook as a coder sees it while coding: ``name``, ``version`` and ``codes`` in tree
    order, each with key, label, parent, depth (0 for a theme at the top), definition, include,
    exclude, examples, color (its own, or a stable palette colour), codable (a code that may be
    applied now), active, shortcut ("1".."9" for the first nine codable codes) and count (codings
    of ``coders`` on the code or beneath it; ``coders=[]`` counts nothing)."""
    from qualcode.codebook import current_version_id, load_tree

    tree = load_tree(conn, include_inactive=True)
    version = current_version_id(conn)
    name_row = conn.execute("SELECT name FROM codebook_versions WHERE version_id = ?", (version,)).fetchone() \
        if version is not None else None
    direct: dict[int, int] = {}
    if coders != []:
        for coding in load_codings(conn, coders=coders):
            direct[coding.code_id] = direct.get(coding.code_id, 0) + 1
    codes, shortcut, palette_index = [], 0, 0
    for key in tree.preorder():
        node = tree.by_key[key]
        codable = node.active and not node.children
        colour = node.color if node.color and HEX_COLOUR.match(node.color) else None
        if colour is None:
            colour = PALETTE[palette_index % len(PALETTE)]
            palette_index += 1
        shortcut_key = None
        if codable and shortcut < SHORTCUTS:
            shortcut += 1
            shortcut_key = str(shortcut)
        codes.append({
            "key": key, "label": node.label, "parent": node.parent_key if node.parent_key in tree else None,
            "depth": tree.depth(key) - 1, "definition": node.definition, "include": node.include,
            "exclude": node.exclude, "examples": list(node.examples), "color": colour.lower(),
            "codable": codable, "active": node.active, "shortcut": shortcut_key,
            "count": sum(direct.get(tree.by_key[k].code_id, 0) for k in tree.descendants(key)),
        })
    return {"name": name_row[0] if name_row else None, "version": version, "codes": codes}


# --------------------------------------------------------------------------- reconciliation, one decision at a time

def disagreement_id(disagreement) -> str:
    """A stable id for a disagreement of a reconciliation session (its unit key and code id),
    safe in a URL path; ``parse_disagreement_id`` reverses it."""
    unit = base64.urlsafe_b64encode(disagreement.unit_key.encode("utf-8")).decode("ascii").rstrip("=")
    return f"{disagreement.code_id}-{unit}"


def parse_disagreement_id(ident: str) -> tuple[str, int]:
    """``(unit_key, code_id)`` of an id made by ``disagreement_id``; NotFound for anything else."""
    code, _, unit = ident.partition("-")
    try:
        if not code.isdigit() or not unit:
            raise ValueError
        unit_key = base64.b64decode(unit + "=" * (-len(unit) % 4), altchars=b"-_", validate=True).decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise NotFound(f"'{ident[:40]}' is not a disagreement id") from None
    return unit_key, int(code)


def decision_spans(session, disagreement) -> list[tuple[int, int]]:
    """The consensus spans the active closing decision on ``disagreement`` created (empty when it
    is open or was rejected), read from the consensus coder's codings."""
    conn = session.project.connect()
    row = conn.execute(
        "SELECT decision_id FROM decisions WHERE coder_a = ? AND coder_b = ? AND into_coder = ? AND unit_level = ?"
        " AND unit_key = ? AND code_id = ? AND undone = 0 AND decision IN ('apply', 'reject', 'A', 'B')"
        " ORDER BY decision_id DESC LIMIT 1",
        (session.coder_a, session.coder_b, session.into, session.unit, disagreement.unit_key,
         disagreement.code_id)).fetchone()
    if row is None:
        return []
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT c.start, c.end FROM codings c JOIN coders k USING (coder_id) WHERE k.name = ? AND c.origin = 'reconcile'"
        " AND json_extract(c.detail, '$.decision_id') = ? ORDER BY c.start", (session.into, row[0]))]
