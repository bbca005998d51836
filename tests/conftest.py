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


def _document(name: str, respondent: str, turns: list[tuple[str, str]]):
    """Build text and units from (speaker, paragraph text) turns; 'Interviewer' marks the interviewer."""
    text, units, position = "", [], 0
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
    _document("SF1.txt", "SF1", [
        ("Interviewer", "How is your caseload at the moment?"),
        ("SF1", "Honestly, it's a lot. I've got forty people on my books and that's too many."),
        ("Interviewer", "And how does that feel?"),
        ("SF1", "I take it home with me. Some nights I don't sleep. Supervision helps a bit."),
    ]),
    _document("SF2.txt", "SF2", [
        ("Interviewer", "Tell me about support."),
        ("SF2", "My team are brilliant, we cover for each other. The other workers on the team are my lifeline."),
        ("Interviewer", "And supervision?"),
        ("SF2", "Monthly supervision with my manager, which is fine."),
    ]),
    _document("TL1.txt", "TL1", [
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


@pytest.fixture
def tiny_project(tmp_path) -> Project:
    project = build_tiny_project(tmp_path / "tiny")
    yield project
    project.close()


@pytest.fixture
def shared_fixtures() -> Path:
    if not SHARED_FIXTURES.is_dir():
        pytest.skip(f"shared fixtures not found at {SHARED_FIXTURES} (they live beside the repository in CI)")
    return SHARED_FIXTURES


@pytest.fixture(autouse=True)
def _no_debug_env(monkeypatch):
    monkeypatch.delenv("QUALCODE_DEBUG", raising=False)
