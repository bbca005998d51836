"""Respondents: participant ids with attributes (role, site, gender, …)."""

from __future__ import annotations

import sqlite3


def attribute_names(conn: sqlite3.Connection) -> list[str]:
    """Attribute names in the order they were imported."""
    return [r[0] for r in conn.execute(
        "SELECT name FROM respondent_attributes GROUP BY name ORDER BY MIN(position), name")]


def load_attributes(conn: sqlite3.Connection) -> dict[str, dict[str, str | None]]:
    """``{respondent_id: {attribute: value}}`` for every respondent (those without attributes map to {})."""
    result: dict[str, dict[str, str | None]] = {r[0]: {} for r in conn.execute("SELECT respondent_id FROM respondents")}
    for respondent_id, name, value in conn.execute(
        "SELECT respondent_id, name, value FROM respondent_attributes ORDER BY position"
    ):
        result.setdefault(respondent_id, {})[name] = value
    return result
