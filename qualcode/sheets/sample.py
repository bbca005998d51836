"""The double-coding sample: drawing it reproducibly, recording it for a coder, and which units
each coder was handed.
"""

from __future__ import annotations

import math
import sqlite3

from qualcode import store
from qualcode.errors import InputError
from qualcode.sheets.layout import BY_CHOICES, SheetUnit


def draw_sample(units: list[SheetUnit], fraction: float, seed: int, by: str = "respondent") -> list[str]:
    """The respondents (or documents) drawn for double coding, in natural order.

    The candidates are the distinct respondent ids (or document names) of
    ``units`` in natural order (SF2 before SF10); ``round(fraction × n)`` of
    them, at least one, are drawn with ``random.Random(seed).sample``, so the
    same units, fraction and seed always give the same sample.
    """
    import random

    from natsort import natsorted

    if by not in BY_CHOICES:
        raise InputError(f"unknown sample grouping '{by}'; use --by respondent or --by document")
    if not 0 < fraction <= 1:
        raise InputError(f"the sample fraction must be above 0 and at most 1 (got {fraction}); e.g. --sample 0.3")
    groups = natsorted({_group_of(unit, by) for unit in units})
    if not groups:
        return []
    count = max(1, min(len(groups), math.floor(fraction * len(groups) + 0.5)))
    return natsorted(random.Random(seed).sample(groups, count))


def draw_coder_sample(conn: sqlite3.Connection, coder_id: int, coder_name: str, units: list[SheetUnit], *,
                      sample: float | None, seed: int | None, by: str, new_sample: bool):
    """The units a sheet for ``coder_name`` carries, with its double-coding sample recorded.

    Returns (units, sample_id, sampled groups, seed, reused, replaced sample_id). With ``sample`` None
    every unit is handed out and no sample is recorded; otherwise the coder's current sample is reused
    when the draw is the same, replaced when ``new_sample``, and an InputError otherwise (see export_sheet).
    """
    sample_id = None
    sampled: list[str] = []
    reused = False
    replaced: int | None = None
    if sample is not None:
        current = current_sample(conn, coder_id)
        if current is not None and not new_sample:
            if seed is None and current["fraction"] == float(sample) and current["by"] == by:
                seed = current["seed"]  # a re-export repeats the recorded draw
            if (current["fraction"], current["seed"], current["by"]) != (float(sample), seed, by):
                raise InputError(
                    f"coder '{coder_name}' already has a double-coding sample (sample {current['sample_id']}: "
                    f"{current['fraction']:g} by {current['by']}, seed {current['seed']}); re-export it with "
                    f"--sample {current['fraction']:g} --seed {current['seed']} --by {current['by']}, or add "
                    "--new-sample to replace it (codings already imported stay)")
            sample_id, reused = current["sample_id"], True
        if seed is None:
            import secrets

            seed = secrets.randbelow(1_000_000)
        sampled = draw_sample(units, sample, seed, by)
        chosen = set(sampled)
        units = [u for u in units if _group_of(u, by) in chosen]
        if current is not None and new_sample:
            replaced = current["sample_id"]
            conn.execute("DELETE FROM assignments WHERE coder_id = ? AND sample_id IS NOT NULL", (coder_id,))
        if sample_id is None:
            sample_id = conn.execute(
                "INSERT INTO samples (coder_id, fraction, seed, by, created_at) VALUES (?, ?, ?, ?, ?)",
                (coder_id, sample, seed, by, store.now())).lastrowid
    elif new_sample:
        raise InputError("--new-sample only makes sense with --sample FRACTION; add --sample 0.3 (for example)")
    return units, sample_id, sampled, seed, reused, replaced


def _group_of(unit: SheetUnit, by: str) -> str:
    if by == "respondent" and unit.respondent_id is not None:
        return unit.respondent_id
    return unit.document


def recorded_sample(conn: sqlite3.Connection, coder_id: int, meta: dict) -> int | None:
    """The sample a sheet was drawn for: the matching recorded sample, or a new record of it."""
    fraction, seed, by = meta.get("sample_fraction"), meta.get("sample_seed"), meta.get("sample_by")
    if fraction is None:
        return None
    row = conn.execute(
        "SELECT sample_id FROM samples WHERE coder_id = ? AND fraction = ? AND seed IS ? AND by IS ?"
        " ORDER BY sample_id DESC LIMIT 1", (coder_id, float(fraction), seed, by)).fetchone()
    if row:
        return row[0]
    return conn.execute(
        "INSERT INTO samples (coder_id, fraction, seed, by, created_at) VALUES (?, ?, ?, ?, ?)",
        (coder_id, float(fraction), seed, by, store.now())).lastrowid


def current_sample(conn: sqlite3.Connection, coder_id: int) -> dict | None:
    """The coder's current double-coding sample (the newest sample the coder's assignments
    refer to) as a dict of sample_id, fraction, seed, by; None when the coder has none."""
    row = conn.execute(
        "SELECT s.sample_id, s.fraction, s.seed, s.by FROM samples s WHERE s.sample_id ="
        " (SELECT MAX(sample_id) FROM assignments WHERE coder_id = ?)", (coder_id,)).fetchone()
    if row is None:
        return None
    return {"sample_id": row[0], "fraction": float(row[1]), "seed": row[2], "by": row[3]}


def assignments_table(conn: sqlite3.Connection, coders: list[str] | None = None):
    """Which units each coder was handed, per respondent and document: a DataFrame with
    coder, respondent, document, units, sample (fraction/seed/by or 'all')."""
    import pandas as pd
    from natsort import natsort_keygen

    sql = (
        "SELECT k.name AS coder, u.respondent_id AS respondent, d.name AS document, COUNT(*) AS units,"
        " s.sample_id, s.fraction, s.seed, s.by"
        " FROM assignments a JOIN coders k USING (coder_id) JOIN units u USING (unit_id)"
        " JOIN documents d ON d.document_id = u.document_id LEFT JOIN samples s ON s.sample_id = a.sample_id"
    )
    params: list = []
    if coders:
        sql += f" WHERE k.name IN ({','.join('?' * len(coders))})"
        params.extend(coders)
    sql += " GROUP BY k.name, u.respondent_id, d.name, s.sample_id"
    rows = [dict(r) for r in conn.execute(sql, params)]
    natural = natsort_keygen()
    rows.sort(key=lambda r: (r["coder"], natural(r["respondent"] or ""), natural(r["document"])))
    table = pd.DataFrame(
        [{
            "coder": r["coder"], "respondent": r["respondent"], "document": r["document"], "units": r["units"],
            "sample": (f"{r['fraction']:g} by {r['by']} (seed {r['seed']})" if r["sample_id"] is not None else "all"),
        } for r in rows],
        columns=["coder", "respondent", "document", "units", "sample"],
    )
    return table


def double_coded_units(conn: sqlite3.Connection, coder_a: str, coder_b: str) -> list[int]:
    """Unit ids (respondent paragraphs) both coders coded, in unit order: the scope ``agree`` and
    ``reconcile`` compare (``units.compared_paragraphs``: each coder's assignments, or for a coder
    without assignments the documents that coder coded). NotFound for an unknown coder."""
    from qualcode.units import compared_paragraphs

    return sorted(compared_paragraphs(conn, coder_a, coder_b).unit_ids)
