"""Shared fixtures: a small project built through the library, without the importers.

``tiny_project`` holds three respondents (SF1, SF2 with attributes; TL1
without), three documents with interviewer and respondent paragraphs, and a
small code tree (two themes, four codes). Tests add codings themselves.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qualcode import codebook, documents
from qualcode.project import Project

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"

TINY_CODES = [
    {"key": "work", "label": "Workload and capacity", "definition": "Pressure of work."},
    {"key": "work.caseload", "label": "Caseload pressure", "parent": "work",
     "definition": "Numbers of clients, being stretched.", "include": "Any mention of caseload size.",
     "exclude": "Stress without reference to numbers (use work.toll).", "examples": ["I've got forty on my books."]},
    {"key": "work.toll", "label": "Emotional toll", "parent": "work", "definition": "Stress, burnout."},
    {"key": "support", "label": "Support for staff", "definition": "Support staff receive."},
    {"key": "sup.supervision", "label": "Supervision", "parent": "support", "definition": "Supervision sessions."},
    {"key": "sup.peer", "label": "Peer support", "parent": "support", "definition": "Colleagues supporting each other."},
]


def document_from_turns(name: str, respondent: str, turns: list[tuple[str, str]]) -> dict:
    """Build text and units from (speaker, paragraph text) turns; 'Interviewer' marks the interviewer."""
    text, units = "", []
    for turn, (speaker, paragraph) in enumerate(turns, start=1):
        label = f"{speaker}: "
        text += label
        start = len(text)
        text += paragraph
        role = "interviewer" if speaker == "Interviewer" else "respondent"
        units.append({"start": start, "end": len(text), "speaker": speaker, "role": role, "turn": turn,
                      "respondent_id": respondent if role == "respondent" else None})
        text += "\n\n"
    return {"name": name, "text": text.rstrip("\n") + "\n", "units": units, "respondent_id": respondent}


TINY_DOCUMENTS = [
    document_from_turns("SF1.txt", "SF1", [
        ("Interviewer", "How is your caseload at the moment?"),
        ("SF1", "Honestly, it's a lot. I've got forty people on my books and that's too many."),
        ("Interviewer", "And how does that feel?"),
        ("SF1", "I take it home with me. Some nights I don't sleep. Supervision helps a bit."),
    ]),
    document_from_turns("SF2.txt", "SF2", [
        ("Interviewer", "Tell me about support."),
        ("SF2", "My team are brilliant, we cover for each other. The other workers on the team are my lifeline."),
        ("Interviewer", "And supervision?"),
        ("SF2", "Monthly supervision with my manager, which is fine."),
    ]),
    document_from_turns("TL1.txt", "TL1", [
        ("Interviewer", "What pressures do your staff face?"),
        ("TL1", "Caseloads are the big one. We've had vacancies for months."),
        ("TL1", "And people burn out. I've lost two good workers this year."),
    ]),
]


def build_tiny_project(root: Path) -> Project:
    project = Project.create(root, name="tiny")
    with project.transaction() as conn:
        for document in TINY_DOCUMENTS:
            documents.add_document(conn, source_format="txt", **document)
        codebook.store_nodes(conn, TINY_CODES)
        for position, (respondent, attrs) in enumerate({
            "SF1": {"role": "Support worker", "site": "Northvale"},
            "SF2": {"role": "Support worker", "site": "Eastbrook"},
        }.items()):
            for index, (name, value) in enumerate(attrs.items()):
                conn.execute(
                    "INSERT INTO respondent_attributes (respondent_id, name, value, position) VALUES (?, ?, ?, ?)",
                    (respondent, name, value, index),
                )
    return project


# -- helpers for tests that add codings and assignments by hand ------------------------------

def code_id(conn, key: str) -> int:
    return conn.execute("SELECT code_id FROM codes WHERE key = ?", (key,)).fetchone()[0]


def paragraph_span(conn, key: str) -> tuple[int, int, int]:
    """(document_id, start, end) of a paragraph unit such as 'SF1.txt#4'."""
    document, seq = key.split("#")
    return tuple(conn.execute(
        "SELECT u.document_id, u.start, u.end FROM units u JOIN documents d USING (document_id)"
        " WHERE d.name = ? AND u.seq = ?", (document, int(seq))).fetchone())


def phrase_span(conn, unit_key: str, words: str) -> tuple[int, int, int]:
    """(document_id, start, end) of ``words`` inside a paragraph."""
    document_id, start, end = paragraph_span(conn, unit_key)
    text = conn.execute("SELECT text FROM documents WHERE document_id = ?", (document_id,)).fetchone()[0]
    at = text.index(words, start)
    assert at + len(words) <= end
    return document_id, at, at + len(words)


def respondent_paragraph_spans(conn) -> list[tuple[int, int, int]]:
    """(document_id, start, end) of every respondent paragraph, documents by name, in order."""
    return [tuple(r) for r in conn.execute(
        "SELECT u.document_id, u.start, u.end FROM units u JOIN documents d USING (document_id)"
        " WHERE u.role = 'respondent' ORDER BY d.name, u.seq")]


def add_coded_spans(conn, plan, origin: str = "manual") -> None:
    """Add codings from ``(coder name, code key, (document_id, start, end))`` triples (coders created)."""
    from qualcode import codings, store

    codings.add_codings(conn, [
        {"coder_id": store.get_or_create_coder(conn, coder), "code_id": code_id(conn, key), "document_id": span[0],
         "start": span[1], "end": span[2], "origin": origin}
        for coder, key, span in plan
    ])


def code_phrase(conn, coder: str, key: str, document: str, phrase: str, *, until: str | None = None) -> None:
    """Code ``phrase`` (or from ``phrase`` to the end of ``until``) in ``document`` for ``coder`` (created)."""
    from qualcode import codings, store

    document_id, text = conn.execute("SELECT document_id, text FROM documents WHERE name = ?", (document,)).fetchone()
    start = text.index(phrase)
    end = text.index(until) + len(until) if until else start + len(phrase)
    codings.add_codings(conn, [{
        "coder_id": store.get_or_create_coder(conn, coder), "code_id": code_id(conn, key),
        "document_id": document_id, "start": start, "end": end, "origin": "manual",
    }])


def add_long_turn_document(project) -> None:
    """SF3.txt: an interviewer question, then one SF3 turn of three paragraphs (SF3.txt#2, #3, #4)."""
    paragraphs = ["First we talk about caseloads.", "Then about supervision.", "And last about my team."]
    text = "Interviewer: How is it?\n\nSF3: " + "\n\n".join(paragraphs) + "\n"
    question = text.index("How")
    units = [{"start": question, "end": question + len("How is it?"), "speaker": "Interviewer",
              "role": "interviewer", "turn": 1}]
    for paragraph in paragraphs:
        start = text.index(paragraph)
        units.append({"start": start, "end": start + len(paragraph), "speaker": "SF3", "role": "respondent",
                      "turn": 2, "respondent_id": "SF3"})
    with project.transaction() as conn:
        documents.add_document(conn, name="SF3.txt", text=text, source_format="txt", units=units,
                               respondent_id="SF3")


def batch_interrupted_at(folder: Path, monkeypatch, sources, stop_at: str) -> Path:
    """``folder`` with copies of the ``sources`` files; importing them is interrupted (Ctrl-C) in
    ``stop_at``, inside its transaction, after its document rows were written."""
    folder.mkdir()
    for source in sources:
        (folder / source.name).write_bytes(source.read_bytes())
    real_add = documents.add_document

    def add_then_interrupt(conn, **kwargs):
        real_add(conn, **kwargs)
        if kwargs["name"] == stop_at:
            raise KeyboardInterrupt

    monkeypatch.setattr(documents, "add_document", add_then_interrupt)
    return folder


def assign_paragraphs(project, coder: str, unit_keys) -> None:
    """Record paragraphs (keys such as 'SF1.txt#2') as an existing coder's assignments."""
    from qualcode import store

    with project.transaction() as conn:
        coder_id = store.coder_id(conn, coder)
        for key in unit_keys:
            unit_id = conn.execute("SELECT unit_id FROM units u JOIN documents d USING (document_id)"
                                   " WHERE d.name || '#' || u.seq = ?", (key,)).fetchone()[0]
            conn.execute("INSERT INTO assignments (coder_id, unit_id) VALUES (?, ?)", (coder_id, unit_id))


@pytest.fixture
def tiny_project(tmp_path) -> Project:
    project = build_tiny_project(tmp_path / "tiny")
    yield project
    project.close()


@pytest.fixture
def tiny_project_dir(tmp_path) -> Path:
    """The folder of a closed tiny project, for tests that go through the command line."""
    build_tiny_project(tmp_path / "tiny").close()
    return tmp_path / "tiny"


def run_cli(*args):
    """Run ``qualcode`` with these arguments (paths and numbers as text) in a CliRunner."""
    from typer.testing import CliRunner

    from qualcode.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def table_rows(project_dir: Path, tables) -> dict[str, list[tuple]]:
    """Every row of each table, in key order: a snapshot to show a command changed nothing."""
    with Project.find(project_dir) as project:
        conn = project.connect()
        return {table: [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1")] for table in tables}


@pytest.fixture
def shared_fixtures() -> Path:
    if not SHARED_FIXTURES.is_dir():
        pytest.skip(f"shared fixtures not found at {SHARED_FIXTURES} (they live beside the repository in CI)")
    return SHARED_FIXTURES


@pytest.fixture(autouse=True)
def _no_debug_env(monkeypatch):
    monkeypatch.delenv("QUALCODE_DEBUG", raising=False)
