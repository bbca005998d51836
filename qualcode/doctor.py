"""Checking a project: is the database whole, and does every record still fit the rest?

``check_project`` runs every check and returns one ``Check`` per check, in a
fixed order, each with its count of problems, up to ten examples of where
they are (ids and names, never transcript text) and how to mend them.
``fix_project`` mends only what can be mended without losing anything a
researcher made: records that point at something no longer there (a memo on
a deleted coding, a sentence cache of a deleted unit) are removed, and a
coding's reference to a codebook version the project no longer holds is
cleared (the coding itself stays). Everything else is reported with the
command that mends it, and left for the researcher to decide.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

EXAMPLES = 10


@dataclass
class Check:
    """One check of a project: what was checked, how many problems, where, and how to mend them."""

    name: str
    what: str
    problems: int = 0
    examples: list[str] = field(default_factory=list)
    mend: str = ""
    fixable: bool = False  # ``fix_project`` can mend it without losing data
    fixed: int = 0

    @property
    def ok(self) -> bool:
        return self.problems == 0

    def as_row(self) -> dict:
        status = ("fixed" if self.fixed else "ok") if self.ok else "problem"
        return {"check": self.name, "status": status, "problems": self.problems, "fixed": self.fixed,
                "what": self.what, "where": "; ".join(self.examples), "mend": "" if self.ok else self.mend}


def _check(name: str, what: str, rows: list[tuple], describe, mend: str, fixable: bool = False) -> Check:
    return Check(name=name, what=what, problems=len(rows), examples=[describe(r) for r in rows[:EXAMPLES]],
                 mend=mend, fixable=fixable)


# Each query returns the offending rows; (name, what, sql, describe, mend, fixable, fix sql).
QUERIES = [
    ("document without units", "every document with text has its units (paragraphs, turns)",
     "SELECT d.document_id, d.name FROM documents d WHERE length(d.text) > 0"
     " AND NOT EXISTS (SELECT 1 FROM units u WHERE u.document_id = d.document_id) ORDER BY d.document_id",
     lambda r: f"document {r[0]} ({r[1]})",
     "import the file again with 'qualcode import FILE --replace' (its codings are kept where their text is)",
     False, None),
    ("unit outside its text", "every unit lies inside its document's text",
     "SELECT u.unit_id, d.name, u.start, u.end FROM units u JOIN documents d USING (document_id)"
     " WHERE u.start < 0 OR u.end > length(d.text) OR u.end <= u.start ORDER BY u.unit_id",
     lambda r: f"unit {r[0]} of {r[1]} at {r[2]}–{r[3]}",
     "import the document again with 'qualcode import FILE --replace'", False, None),
    ("unit off its text", "every unit starts and ends on the words of its paragraph (units that no longer match"
     " the text begin or end in white space, or hold none)",
     "SELECT u.unit_id, d.name, u.start, u.end FROM units u JOIN documents d USING (document_id)"
     " WHERE u.start >= 0 AND u.end <= length(d.text) AND u.end > u.start"
     " AND trim(substr(d.text, u.start + 1, u.end - u.start), ' ' || char(9) || char(10) || char(13))"
     " IS NOT substr(d.text, u.start + 1, u.end - u.start) ORDER BY u.unit_id",
     lambda r: f"unit {r[0]} of {r[1]} at {r[2]}–{r[3]}",
     "the stored text changed under its units: import the document again with 'qualcode import FILE --replace'",
     False, None),
    ("overlapping units", "the units of a document follow one another without overlapping",
     "SELECT a.unit_id, d.name, a.start, a.end FROM units a JOIN units b ON b.document_id = a.document_id"
     " AND b.seq = a.seq + 1 JOIN documents d ON d.document_id = a.document_id"
     " WHERE b.start < a.end ORDER BY a.unit_id",
     lambda r: f"unit {r[0]} of {r[1]} at {r[2]}–{r[3]}",
     "import the document again with 'qualcode import FILE --replace'", False, None),
    ("coding outside its document", "every coding's span lies inside its document's text",
     "SELECT c.coding_id, d.name, c.start, c.end FROM codings c JOIN documents d USING (document_id)"
     " WHERE c.start < 0 OR c.end > length(d.text) OR c.end <= c.start ORDER BY c.coding_id",
     lambda r: f"coding {r[0]} in {r[1]} at {r[2]}–{r[3]}",
     "look at it with 'qualcode codings explain ID'; remove it in the coding page or re-import the coder's work",
     False, None),
    ("coding of a missing document", "every coding's document is in the project",
     "SELECT c.coding_id, c.document_id FROM codings c"
     " WHERE NOT EXISTS (SELECT 1 FROM documents d WHERE d.document_id = c.document_id) ORDER BY c.coding_id",
     lambda r: f"coding {r[0]} (document {r[1]})",
     "import the document again, then the coder's codings; the orphaned codings carry no text",
     False, None),
    ("coding of a missing code or coder", "every coding's code and coder are in the project",
     "SELECT c.coding_id, c.code_id, c.coder_id FROM codings c"
     " WHERE NOT EXISTS (SELECT 1 FROM codes k WHERE k.code_id = c.code_id)"
     " OR NOT EXISTS (SELECT 1 FROM coders r WHERE r.coder_id = c.coder_id) ORDER BY c.coding_id",
     lambda r: f"coding {r[0]} (code {r[1]}, coder {r[2]})",
     "import the codebook that holds the code again ('qualcode codebook import FILE')", False, None),
    ("missing codebook version", "every coding's codebook version, and the current one, is kept",
     "SELECT c.coding_id, c.codebook_version_id FROM codings c WHERE c.codebook_version_id IS NOT NULL"
     " AND NOT EXISTS (SELECT 1 FROM codebook_versions v WHERE v.version_id = c.codebook_version_id)"
     " UNION ALL SELECT NULL, m.value FROM meta m WHERE m.key = 'codebook_version'"
     " AND NOT EXISTS (SELECT 1 FROM codebook_versions v WHERE CAST(v.version_id AS TEXT) = m.value)",
     lambda r: f"coding {r[0]} (version {r[1]})" if r[0] is not None else f"the current version {r[1]}",
     "qualcode doctor --fix clears the reference (the codings stay); import the codebook again to record a current version",
     True, ["UPDATE codings SET codebook_version_id = NULL WHERE codebook_version_id IS NOT NULL AND NOT EXISTS"
            " (SELECT 1 FROM codebook_versions v WHERE v.version_id = codings.codebook_version_id)",
            "DELETE FROM meta WHERE key = 'codebook_version' AND NOT EXISTS"
            " (SELECT 1 FROM codebook_versions v WHERE CAST(v.version_id AS TEXT) = meta.value)"]),
    ("memo on nothing", "every memo's coding or document is in the project",
     "SELECT m.memo_id FROM memos m WHERE (m.coding_id IS NOT NULL AND NOT EXISTS"
     " (SELECT 1 FROM codings c WHERE c.coding_id = m.coding_id)) OR (m.document_id IS NOT NULL AND NOT EXISTS"
     " (SELECT 1 FROM documents d WHERE d.document_id = m.document_id))"
     " OR (m.coding_id IS NULL AND m.document_id IS NULL) ORDER BY m.memo_id",
     lambda r: f"memo {r[0]}", "qualcode doctor --fix removes them (what they were about is gone)", True,
     ["DELETE FROM memos WHERE (coding_id IS NOT NULL AND NOT EXISTS"
      " (SELECT 1 FROM codings c WHERE c.coding_id = memos.coding_id)) OR (document_id IS NOT NULL AND NOT EXISTS"
      " (SELECT 1 FROM documents d WHERE d.document_id = memos.document_id))"
      " OR (coding_id IS NULL AND document_id IS NULL)"]),
    ("cache of a missing unit", "cached sentences, sample assignments and exemplars point at units and codings",
     "SELECT DISTINCT 'sentences', unit_id FROM sentences s"
     " WHERE NOT EXISTS (SELECT 1 FROM units u WHERE u.unit_id = s.unit_id)"
     " UNION ALL SELECT DISTINCT 'sample assignments', unit_id FROM assignments a"
     " WHERE NOT EXISTS (SELECT 1 FROM units u WHERE u.unit_id = a.unit_id)"
     " UNION ALL SELECT 'exemplars', coding_id FROM exemplars e"
     " WHERE NOT EXISTS (SELECT 1 FROM codings c WHERE c.coding_id = e.coding_id)",
     lambda r: f"{r[0]} of unit {r[1]}", "qualcode doctor --fix removes them (sentences are rebuilt on demand;"
     " 'qualcode sheet sample' then shows what is left of each coder's sample)", True,
     ["DELETE FROM sentences WHERE NOT EXISTS (SELECT 1 FROM units u WHERE u.unit_id = sentences.unit_id)",
      "DELETE FROM assignments WHERE NOT EXISTS (SELECT 1 FROM units u WHERE u.unit_id = assignments.unit_id)",
      "DELETE FROM exemplars WHERE NOT EXISTS (SELECT 1 FROM codings c WHERE c.coding_id = exemplars.coding_id)"]),
    ("decision without its consensus coding", "every reconciliation decision that applies a code has that"
     " code in its consensus coder",
     "SELECT x.decision_id, x.unit_key, k.key FROM decisions x JOIN codes k USING (code_id)"
     " WHERE x.undone = 0 AND x.decision IN ('apply', 'A', 'B', 'agreed') AND x.a_applied + x.b_applied > 0"
     " AND NOT (x.decision = 'agreed' AND x.a_applied + x.b_applied < 2)"
     " AND NOT EXISTS (SELECT 1 FROM codings c JOIN coders r USING (coder_id) WHERE r.name = x.into_coder"
     " AND c.code_id = x.code_id AND c.document_id = x.document_id AND c.start < x.end AND c.end > x.start)"
     " ORDER BY x.decision_id",
     lambda r: f"decision {r[0]} ({r[1]} × {r[2]})",
     "undo the decision and decide again ('qualcode reconcile A B', key u), or rerun the decisions sheet",
     False, None),
]


def check_project(conn: sqlite3.Connection) -> list[Check]:
    """Every check of the project's database, in order (the first is SQLite's own integrity check)."""
    integrity = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    checks = [Check(name="database integrity", what="SQLite's own check of the file (PRAGMA integrity_check)",
                    problems=0 if integrity == ["ok"] else len(integrity),
                    examples=[] if integrity == ["ok"] else integrity[:EXAMPLES],
                    mend="restore the project folder from a backup; the file itself is damaged")]
    keys = conn.execute("PRAGMA foreign_key_check").fetchall()
    checks.append(Check(name="references", what="every reference between tables points at a row (foreign keys)",
                        problems=len(keys), examples=[f"{r[0]} row {r[1]} → {r[2]}" for r in keys[:EXAMPLES]],
                        mend="see the checks below for what each kind of dangling reference means"))
    for name, what, sql, describe, mend, fixable, _ in QUERIES:
        checks.append(_check(name, what, conn.execute(sql).fetchall(), describe, mend, fixable))
    return checks


def fix_project(conn: sqlite3.Connection) -> list[Check]:
    """Mend what can be mended without losing data (in the caller's transaction); return the checks after,
    each with ``fixed`` counting what was mended."""
    before = {c.name: c for c in check_project(conn)}
    for name, _, _, _, _, fixable, statements in QUERIES:
        if fixable and not before[name].ok:
            for statement in statements:
                conn.execute(statement)
    after = check_project(conn)
    for check in after:
        if check.name in before and check.fixable:
            check.fixed = before[check.name].problems - check.problems
            if check.fixed:
                check.examples = before[check.name].examples
    return after
