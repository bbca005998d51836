"""The command line beside a running server: `qualcode import` in another process while the page
saves codings. No "database is locked" reaches either side and nothing is lost."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings

from qualcode.codings import load_codings
from qualcode.project import Project

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from qualcode.server.app import create_app

TOKEN = "concurrency-token"
AUTH = {"X-Qualcode-Token": TOKEN}


def write_transcripts(folder, count: int, paragraphs: int) -> None:
    folder.mkdir()
    sentence = "We talk about the caseload and the waiting list and the team that covers for each other. "
    for number in range(1, count + 1):
        turns = []
        for index in range(paragraphs):
            turns.append(f"Interviewer: Question {index}?\n\nCC{number}: " + sentence * 6)
        (folder / f"CC{number}.txt").write_text("\n\n".join(turns) + "\n", encoding="utf-8")


def test_cli_import_beside_the_server_loses_nothing(tiny_project_dir, tmp_path):
    folder = tmp_path / "more"
    write_transcripts(folder, count=12, paragraphs=60)
    app = create_app(tiny_project_dir, coder="B", token=TOKEN, allowed_hosts=["testserver"])
    environment = {**os.environ, "QUALCODE_DEBUG": "1"}
    environment.pop("PYTEST_CURRENT_TEST", None)
    statuses, saved, counts = [], [], []
    with TestClient(app) as client:
        process = subprocess.Popen([sys.executable, "-m", "qualcode", "--project", str(tiny_project_dir), "import",
                                    str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment)
        try:
            position = 0
            # keep saving until the import is over, and at least 40 times
            while process.poll() is None or len(statuses) < 40:
                response = client.post("/api/codings", headers=AUTH, json={
                    "document_id": 1 + position % 3, "code": "work.toll", "start": position % 20,
                    "end": position % 20 + 5})
                statuses.append(response.status_code)
                if response.status_code == 201:
                    saved.append(response.json()["id"])
                # reads go on too: the documents list grows as the import commits
                listing = client.get("/api/documents", headers=AUTH)
                assert listing.status_code == 200
                counts.append(len(listing.json()))
                position += 1
                if len(statuses) > 5000:
                    break
            out, err = process.communicate(timeout=300)
        finally:
            if process.poll() is None:
                process.kill()
        documents_seen = len(client.get("/api/documents", headers=AUTH).json())
    assert process.returncode == 0, err.decode("utf-8", "replace")[-2000:]
    assert b"locked" not in err and b"Traceback" not in err
    # the saves overlapped the import (the last listing may come just before its final commit:
    # the count after the import is checked below)
    assert min(counts) < 15
    assert set(statuses) == {201}, f"not all saves succeeded: {sorted(set(statuses))}"
    assert documents_seen == 3 + 12
    with Project.find(tiny_project_dir) as project:
        stored = {c.coding_id for c in load_codings(project.connect(), coders=["B"])}
        imported = project.connect().execute("SELECT count(*) FROM documents WHERE name LIKE 'CC%'").fetchone()[0]
    assert stored == set(saved)
    assert imported == 12
