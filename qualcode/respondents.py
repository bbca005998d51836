"""Respondents: participant ids with attributes (role, site, gender, …)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from qualcode.errors import InputError


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


# -- respondents CSV import and listing -------------------------------------

ID_COLUMNS = ("respondent", "respondent_id", "id")
def read_csv_rows(path: Path | str, *, what: str = "respondent") -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header (cells stripped) and ``(row number, cells)`` rows of a CSV file; the number is the file line
    the row starts on (header = 1, an Excel ``sep=;`` line counts).

    Read by :func:`qualcode.tables.read_csv`: UTF-8 with or without BOM,
    UTF-16 or Windows-1252, comma, semicolon, tab or bar delimiters (or the
    one an Excel ``sep=;`` first line names). Blank rows are skipped.
    """
    from qualcode.tables import read_csv

    table = read_csv(path, what=what)
    return [cell.strip() for cell in table.header], [(row.line, row.cells) for row in table.rows]


@dataclass
class RespondentImport:
    """What ``import_respondents`` did: ids updated, ids new to the project, the attribute names
    in the file, project respondents the file does not mention, and attributes the file's
    respondents had that are not in the file: ``kept`` (default) or ``removed`` (``replace``)."""

    updated: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)
    not_in_file: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    replace: bool = False


def import_respondents(
    project,
    path: Path | str,
    *,
    id_column: str | None = None,
    allow_new: bool = False,
    replace: bool = False,
) -> RespondentImport:
    """Import respondent attributes from a CSV: an id column plus any attribute columns.

    The id column is ``id_column`` or the first column named respondent,
    respondent_id or id (case-insensitive). For each listed respondent the
    file's attributes are set (added or updated; empty cells are stored as
    missing) and attributes not in the file are kept — so a file with only
    respondent,role updates the role and keeps site, gender, … With
    ``replace`` a listed respondent's attributes not in the file are removed.
    Respondents not in the file are never changed. Ids that are not yet
    respondents in the project are refused, listed, unless ``allow_new`` —
    usually they are typos (SF04 for SF4) — except in a project with no
    respondents at all, where every id is new. Duplicate ids are refused with
    their row numbers. One transaction.
    """
    # long: the checks of every row come before the one transaction that stores them, and both read the same header map
    from natsort import natsorted

    from qualcode import store

    path = Path(path)
    header, rows = read_csv_rows(path)
    folded = [h.casefold() for h in header]
    if id_column is not None:
        if id_column.casefold() not in folded:
            raise InputError(f"{path.name}: no column named '{id_column}' (columns: {', '.join(header)});"
                             " check --id-column")
        id_index = folded.index(id_column.casefold())
    else:
        id_index = next((folded.index(c) for c in ID_COLUMNS if c in folded), None)
        if id_index is None:
            raise InputError(f"{path.name}: no id column (expected one named respondent, respondent_id or id;"
                             f" found {', '.join(header) or 'none'}); name it with --id-column COLUMN")
    for index, column in enumerate(header):
        if not column:
            raise InputError(f"{path.name}: column {index + 1} of the header row has no name; name it or delete it")
    duplicated = {c for c in folded if folded.count(c) > 1}
    if duplicated:
        raise InputError(f"{path.name}: the header row names column(s) {', '.join(sorted(duplicated))} twice;"
                         " rename one of them")
    attribute_columns = [i for i in range(len(header)) if i != id_index]
    file_attributes = [header[i] for i in attribute_columns]
    rows_by_id: dict[str, list[int]] = {}
    values: dict[str, list[tuple[str, str | None]]] = {}
    for row_number, cells in rows:
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            raise InputError(f"{path.name}: row {row_number} has {len(cells)} cells but the header has"
                             f" {len(header)} columns; check for a stray delimiter in that row")
        cells = cells + [""] * (len(header) - len(cells))
        respondent_id = cells[id_index].strip()
        if not respondent_id:
            raise InputError(f"{path.name}: row {row_number} has no respondent id; fill it in or delete the row")
        rows_by_id.setdefault(respondent_id, []).append(row_number)
        values[respondent_id] = [(header[i], cells[i].strip() or None) for i in attribute_columns]
    duplicates = {rid: numbers for rid, numbers in rows_by_id.items() if len(numbers) > 1}
    if duplicates:
        detail = "; ".join(f"{rid} in rows {', '.join(map(str, numbers))}" for rid, numbers in
                           natsorted(duplicates.items()))
        raise InputError(f"{path.name}: duplicate respondent ids ({detail}); keep one row per respondent")
    if not rows_by_id:
        raise InputError(f"{path.name} has a header but no respondent rows")
    with project.transaction() as conn:
        known = {r[0] for r in conn.execute("SELECT respondent_id FROM respondents")}
        new = natsorted(set(rows_by_id) - known)
        if new and known and not allow_new:
            shown = ", ".join(f"{rid} (row {rows_by_id[rid][0]})" for rid in new[:10])
            more = f" and {len(new) - 10} more" if len(new) > 10 else ""
            raise InputError(f"{path.name}: ids not in the project: {shown}{more}; correct them if they are typos,"
                             " or add --allow-new to add them as new respondents")
        from qualcode.documents import ensure_respondent

        # Attribute order (columns of listings): the project's order, then the file's new names.
        existing_names = attribute_names(conn)
        order = existing_names + [n for n in file_attributes if n not in existing_names]
        if replace:
            order = file_attributes + [n for n in existing_names if n not in file_attributes]
        in_file = set(file_attributes)
        others: set[str] = set()
        for respondent_id, attributes in values.items():
            ensure_respondent(conn, respondent_id)
            others.update(r[0] for r in conn.execute(
                "SELECT name FROM respondent_attributes WHERE respondent_id = ?", (respondent_id,))
                if r[0] not in in_file)
            if replace:
                conn.execute("DELETE FROM respondent_attributes WHERE respondent_id = ?", (respondent_id,))
            conn.executemany(
                "INSERT INTO respondent_attributes (respondent_id, name, value, position) VALUES (?, ?, ?, 0)"
                " ON CONFLICT (respondent_id, name) DO UPDATE SET value = excluded.value",
                [(respondent_id, name, value) for name, value in attributes],
            )
        conn.executemany("UPDATE respondent_attributes SET position = ? WHERE name = ?",
                         [(position, name) for position, name in enumerate(order)])
        not_in_file_attributes = [n for n in order if n in others]
        store.record_history(conn, "respondents import", file=path.name, respondents=len(values),
                             attributes=file_attributes, replace=replace,
                             **({"removed": not_in_file_attributes} if replace else {}))
    return RespondentImport(
        updated=natsorted(set(rows_by_id) & known),
        new=new,
        attributes=file_attributes,
        not_in_file=natsorted(known - set(rows_by_id)),
        kept=[] if replace else not_in_file_attributes,
        removed=not_in_file_attributes if replace else [],
        replace=replace,
    )


@dataclass
class Assignment:
    """What ``assign_respondent`` changed: the document, its respondent before and after, the
    units given the respondent (``units_set`` had none, ``units_changed`` had another one),
    and whether the respondent is new to the project."""

    document: str
    respondent: str
    previous_document_respondent: str | None
    document_respondent: str | None
    units_set: int = 0
    units_changed: int = 0
    new_respondent: bool = False
    speaker: str | None = None


def assign_respondent(
    project,
    document: str,
    respondent_id: str,
    *,
    speaker: str | None = None,
    force: bool = False,
) -> Assignment:
    """Attribute a document (or one speaker in it) to a respondent, in one transaction.

    For documents imported without a respondent: a REFI-QDA project without
    cases, a focus group, a transcript with unmapped labels. Without
    ``speaker``, the document's respondent becomes ``respondent_id`` and so do
    its respondent-role units that have none. With ``speaker`` (a label as in
    the transcript, case-insensitive) only that speaker's respondent-role units
    are given the respondent; the document's respondent is set only when it
    has none and all its respondent speech then belongs to one respondent (as
    import does for a focus group). Changing a document or units that already
    have a different respondent is refused unless ``force``; with ``force``
    and no ``speaker`` every respondent-role unit of the document is
    reassigned. Positions and codings are untouched.
    """
    from qualcode import store
    from qualcode.documents import ensure_respondent
    from qualcode.errors import NotFound

    respondent_id = respondent_id.strip()
    if not respondent_id:
        raise InputError("give a respondent id, e.g. qualcode respondents assign FG1.txt SF4")
    if respondent_id.casefold() in ("interviewer", "other"):
        raise InputError(f"'{respondent_id}' is a role, not a respondent id; give the respondent's id (e.g. SF4)")
    with project.transaction() as conn:
        row = conn.execute("SELECT document_id, name, respondent_id FROM documents WHERE name = ?",
                           (document,)).fetchone()
        if row is None:
            row = conn.execute("SELECT document_id, name, respondent_id FROM documents WHERE name = ? COLLATE NOCASE",
                               (document,)).fetchone()
        if row is None:
            raise NotFound(f"no document '{document}' in the project; 'qualcode documents' lists them")
        document_id, name, previous = row[0], row[1], row[2]
        units = conn.execute(
            "SELECT unit_id, speaker, respondent_id FROM units WHERE document_id = ? AND role = 'respondent'"
            " ORDER BY seq", (document_id,)).fetchall()
        if speaker is not None:
            label = speaker.strip().casefold()
            targets = [u for u in units if (u[1] or "").strip().casefold() == label]
            if not targets:
                raise InputError(f"{name} has no respondent speech by speaker '{speaker}'; give the label as written"
                                 " in the transcript ('qualcode documents' lists the documents)")
        else:
            targets = [u for u in units if u[2] is None or force]
        conflicting = [u for u in targets if u[2] is not None and u[2] != respondent_id]
        problems = []
        if conflicting:
            others = sorted({u[2] for u in conflicting})
            problems.append(f"{len(conflicting)} unit(s) already belong to {', '.join(others)}")
        if speaker is None and previous is not None and previous != respondent_id:
            problems.append(f"the document belongs to {previous}")
        if problems and not force:
            raise InputError(f"{name}: {' and '.join(problems)}; add --force to reassign to {respondent_id}"
                             + ("" if speaker else ", or name one speaker with --speaker LABEL"))
        new_respondent = conn.execute("SELECT 1 FROM respondents WHERE respondent_id = ?",
                                      (respondent_id,)).fetchone() is None
        ensure_respondent(conn, respondent_id)
        changing = [u for u in targets if u[2] != respondent_id]
        conn.executemany("UPDATE units SET respondent_id = ? WHERE unit_id = ?",
                         [(respondent_id, u[0]) for u in changing])
        document_respondent = previous
        if speaker is None:
            document_respondent = respondent_id
        elif previous is None:
            owners = {r[0] for r in conn.execute(
                "SELECT DISTINCT respondent_id FROM units WHERE document_id = ? AND role = 'respondent'",
                (document_id,))}
            if owners == {respondent_id}:
                document_respondent = respondent_id
        if document_respondent != previous:
            conn.execute("UPDATE documents SET respondent_id = ? WHERE document_id = ?",
                         (document_respondent, document_id))
        result = Assignment(
            document=name, respondent=respondent_id, previous_document_respondent=previous,
            document_respondent=document_respondent,
            units_set=sum(1 for u in changing if u[2] is None),
            units_changed=sum(1 for u in changing if u[2] is not None),
            new_respondent=new_respondent, speaker=speaker)
        store.record_history(conn, "respondents assign", document=name, respondent=respondent_id,
                             speaker=speaker is not None, units=len(changing), forced=force)
    return result


def list_respondents(conn: sqlite3.Connection):
    """One row per respondent: id, attributes, documents, units and words (respondent speech only).

    Returns a pandas DataFrame in natural id order (SF2 before SF10).
    """
    import pandas as pd
    from natsort import natsorted

    from qualcode.transcripts.speakers import count_words

    attributes = load_attributes(conn)
    names = attribute_names(conn)
    stats: dict[str, dict] = {rid: {"documents": set(), "units": 0, "words": 0} for rid in attributes}
    for document_id, respondent_id in conn.execute(
        "SELECT document_id, respondent_id FROM documents WHERE respondent_id IS NOT NULL"
    ):
        stats.setdefault(respondent_id, {"documents": set(), "units": 0, "words": 0})["documents"].add(document_id)
    texts: dict[int, str] = {}
    for document_id, respondent_id, start, end in conn.execute(
        "SELECT document_id, respondent_id, start, end FROM units"
        " WHERE role = 'respondent' AND respondent_id IS NOT NULL ORDER BY document_id"
    ):
        if document_id not in texts:
            texts.clear()  # units come grouped by document: keep one text in memory
            texts[document_id] = conn.execute("SELECT text FROM documents WHERE document_id = ?",
                                              (document_id,)).fetchone()[0]
        entry = stats.setdefault(respondent_id, {"documents": set(), "units": 0, "words": 0})
        entry["documents"].add(document_id)
        entry["units"] += 1
        entry["words"] += count_words(texts[document_id][start:end])
    rows = []
    for respondent_id in natsorted(stats):
        row = {"respondent": respondent_id}
        for name in names:
            row[name] = attributes.get(respondent_id, {}).get(name)
        entry = stats[respondent_id]
        row.update(documents=len(entry["documents"]), units=entry["units"], words=entry["words"])
        rows.append(row)
    return pd.DataFrame(rows, columns=["respondent", *names, "documents", "units", "words"])
