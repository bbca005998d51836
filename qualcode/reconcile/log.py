"""The decision log: every decision of a reconciliation, undone ones included, as a table."""

from __future__ import annotations


# -- the log -------------------------------------------------------------------------------

LOG_COLUMNS = ["decided_at", "coder_a", "coder_b", "into", "unit", "respondent", "code", "label", "kind", "A", "B",
               "decision", "span", "note"]


def decision_log(project, *, coder_a: str | None = None, coder_b: str | None = None, into: str | None = None,
                 include_undone: bool = False):
    """Every reconciliation decision in the order made, as a DataFrame (the audit trail).

    Columns: decided_at, coder_a, coder_b, into, unit, respondent, code,
    label, kind (agreement / presence / boundary), A and B (applied / not
    applied), decision (agreed, apply, reject, A, B, skip), span (the
    consensus span's characters, ``start–end``), note. Undone decisions are
    left out unless ``include_undone`` (then a column ``undone`` marks them).
    """
    import pandas as pd

    clauses, params = [], []
    for column, value in (("d.coder_a", coder_a), ("d.coder_b", coder_b), ("d.into_coder", into)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if not include_undone:
        clauses.append("d.undone = 0")
    sql = (
        "SELECT d.*, c.key AS code, c.label AS label, (SELECT u.respondent_id FROM units u WHERE"
        " u.document_id = d.document_id AND u.start <= d.start AND u.end > d.start LIMIT 1) AS respondent"
        " FROM decisions d JOIN codes c USING (code_id)"
    )
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY d.decision_id"
    records = []
    for r in project.connect().execute(sql, params):
        kind = "agreement" if r["decision"] == "agreed" else (
            "boundary" if r["a_applied"] and r["b_applied"] else "presence")
        record = {
            "decided_at": r["decided_at"], "coder_a": r["coder_a"], "coder_b": r["coder_b"], "into": r["into_coder"],
            "unit": r["unit_key"], "respondent": r["respondent"], "code": r["code"], "label": r["label"],
            "kind": kind, "A": "applied" if r["a_applied"] else "not applied",
            "B": "applied" if r["b_applied"] else "not applied", "decision": r["decision"],
            "span": f"{r['span_start']}–{r['span_end']}" if r["span_start"] is not None else "",
            "note": r["note"] or "",
        }
        if include_undone:
            record["undone"] = "undone" if r["undone"] else ""
        records.append(record)
    return pd.DataFrame(records, columns=LOG_COLUMNS + (["undone"] if include_undone else []))
