"""qualcode serve through its HTTP API (starlette's TestClient): the lock, blindness, exact offsets,
codings, memos, search and reconciliation, each checked afterwards through the library."""

from __future__ import annotations

import json
import shutil
import sqlite3
import warnings

import pytest

from qualcode import memos
from qualcode.codings import load_codings
from qualcode.errors import InputError, NotFound
from qualcode.project import Project
from tests.conftest import code_phrase

with warnings.catch_warnings():  # newer starlette prefers another HTTP client for its TestClient
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from qualcode.server.app import create_app  # noqa: E402

TOKEN = "test-token-0123456789"
AUTH = {"X-Qualcode-Token": TOKEN}


def serve(root, **settings) -> TestClient:
    app = create_app(root, token=TOKEN, allowed_hosts=["testserver"], **settings)
    return TestClient(app)


def text_of(project_root, document_id):
    with Project.find(project_root) as project:
        return project.connect().execute("SELECT text FROM documents WHERE document_id = ?",
                                         (document_id,)).fetchone()[0]


@pytest.fixture
def two_coders(tiny_project_dir):
    """The tiny project with A's and B's codings on SF1 and SF2 and a memo of A's."""
    with Project.find(tiny_project_dir) as project, project.transaction() as conn:
        code_phrase(conn, "A", "work.caseload", "SF1.txt", "forty people on my books")
        code_phrase(conn, "B", "work.caseload", "SF1.txt", "I've got forty people on my books")
        code_phrase(conn, "A", "work.toll", "SF1.txt", "Some nights I don't sleep")
        code_phrase(conn, "B", "sup.peer", "SF2.txt", "we cover for each other")
        code_phrase(conn, "A", "sup.supervision", "SF2.txt", "Monthly supervision")
        code_phrase(conn, "B", "sup.supervision", "SF2.txt", "Monthly supervision")
        a_coding = load_codings(conn, coders=["A"])[0]
        memos.add_memo(conn, "A", "A-SECRET-MEMO on a coding", coding_id=a_coding.coding_id)
        memos.add_memo(conn, "A", "A-SECRET-MEMO on a document", document_id=1)
    return tiny_project_dir


# --------------------------------------------------------------------------- the lock

def test_the_api_needs_the_token_header(tiny_project_dir):
    with serve(tiny_project_dir, coder="B") as client:
        for headers in ({}, {"X-Qualcode-Token": "wrong"}, {"X-Qualcode-Token": ""}):
            response = client.get("/api/session", headers=headers)
            assert response.status_code == 403
            assert "token" in response.json()["error"].lower()
        response = client.post("/api/codings", json={"document_id": 1, "code": "work.toll", "start": 0, "end": 5})
        assert response.status_code == 403
        # the token in the query or a cookie is for the page, not the API
        assert client.get(f"/api/session?token={TOKEN}").status_code == 403
        ok = client.get("/api/session", headers=AUTH)
        assert ok.status_code == 200 and ok.json()["coder"] == "B"
    with Project.find(tiny_project_dir) as project:
        assert load_codings(project.connect()) == []


def test_the_page_and_static_files_need_the_token_or_its_cookie(tiny_project_dir):
    with serve(tiny_project_dir, coder="B") as client:
        refused = client.get("/")
        assert refused.status_code == 403
        assert "qualcode serve" in refused.text and "tiny" not in refused.text
        assert client.get("/static/app.js").status_code == 403
        page = client.get(f"/?token={TOKEN}")
        assert page.status_code == 200
        assert f'<meta name="qualcode-token" content="{TOKEN}">' in page.text
        cookie = page.headers["set-cookie"]
        assert "qualcode_token=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace(
            "Strict", "strict") and "Path=/" in cookie
        # the client keeps the cookie: the page and assets now load without ?token
        assert client.get("/").status_code == 200
        assert client.get("/static/app.js").status_code != 403
        client.cookies.clear()
        client.cookies.set("qualcode_token", "wrong")
        assert client.get("/").status_code == 403


def test_every_response_carries_the_security_headers(tiny_project_dir):
    with serve(tiny_project_dir, coder="B") as client:
        for response in (client.get("/api/documents", headers=AUTH), client.get("/"),
                         client.get("/api/nothing", headers=AUTH)):
            assert response.headers["cache-control"] == "no-store"
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"
            csp = response.headers["content-security-policy"]
            assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert client.get("/api/nothing", headers=AUTH).json() == {"error": "no API route GET /api/nothing"}


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example", ""])
def test_a_wrong_host_is_refused(tiny_project_dir, host):
    """DNS rebinding: a page on another name that resolves to 127.0.0.1 sends its own Host."""
    with serve(tiny_project_dir, coder="B") as client:
        response = client.get("/api/documents", headers={**AUTH, "Host": host})
        assert response.status_code == 403
        assert "Host" in response.json()["error"]


def test_a_served_app_answers_its_loopback_addresses_only(tiny_project_dir):
    from qualcode.server.security import served_hosts

    app = create_app(tiny_project_dir, coder="B", token=TOKEN, allowed_hosts=served_hosts("127.0.0.1", 8123))
    with TestClient(app, base_url="http://127.0.0.1:8123") as client:
        assert client.get("/api/session", headers=AUTH).status_code == 200
        for host in ("localhost:8123", "[::1]:8123"):
            assert client.get("/api/session", headers={**AUTH, "Host": host}).status_code == 200
        for host in ("127.0.0.1:8124", "localhost", "attacker.test:8123"):
            assert client.get("/api/session", headers={**AUTH, "Host": host}).status_code == 403


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "https://testserver"},
    {"Origin": "null"},
    {"Origin": "http://testserver.evil.example"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
])
def test_a_wrong_origin_is_refused_and_nothing_is_saved(tiny_project_dir, headers):
    with serve(tiny_project_dir, coder="B") as client:
        response = client.post("/api/codings", headers={**AUTH, **headers},
                               json={"document_id": 1, "code": "work.toll", "start": 0, "end": 5})
        assert response.status_code == 403
        assert "another site" in response.json()["error"]
        ok = client.post("/api/codings", headers={**AUTH, "Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
                         json={"document_id": 1, "code": "work.toll", "start": 0, "end": 5})
        assert ok.status_code == 201
    with Project.find(tiny_project_dir) as project:
        assert [(c.coder, c.start, c.end) for c in load_codings(project.connect())] == [("B", 0, 5)]


# --------------------------------------------------------------------------- blindness

def test_a_blind_coder_never_receives_another_coders_data(two_coders):
    with Project.find(two_coders) as project:
        conn = project.connect()
        a_codings = load_codings(conn, coders=["A"])
        b_ids = {c.coding_id for c in load_codings(conn, coders=["B"])}
    a_ids = {c.coding_id for c in a_codings}
    a_spans = {(c.document_id, c.start, c.end) for c in a_codings}
    received = []
    with serve(two_coders, coder="C") as client:  # C has coded nothing yet
        def get(path):
            response = client.get(path, headers=AUTH)
            assert response.status_code == 200, path
            received.append((path, response.text))
            return response.json()

        session = get("/api/session")
        assert session["coders"] is None and session["coder"] == "C"
        documents = get("/api/documents")
        assert all(d["codings"] == 0 and d["units_coded"] == 0 for d in documents)
        codebook = get("/api/codebook")
        assert all(code["count"] == 0 for code in codebook["codes"])
        for d in documents:
            get(f"/api/documents/{d['id']}")
            assert get(f"/api/documents/{d['id']}/codings") == []
            assert get(f"/api/memos?document_id={d['id']}") == []
        assert get("/api/memos") == []
        get("/api/search?q=forty people")
        created = client.post("/api/codings", headers=AUTH,
                              json={"document_id": 1, "code": "work.caseload", "start": 40, "end": 60})
        received.append(("POST", created.text))
        mine = created.json()["id"]
        assert [c["id"] for c in get("/api/documents/1/codings")] == [mine]
        assert {c["key"]: c["count"] for c in get("/api/codebook")["codes"]}["work.caseload"] == 1
        assert [d["codings"] for d in get("/api/documents")] == [1, 0, 0]
        # another coder's codings and memos cannot be reached by id either
        for a_id in a_ids | b_ids:
            for method in ("patch", "delete"):
                response = getattr(client, method)(f"/api/codings/{a_id}", headers=AUTH,
                                                   **({"json": {"code": "work.toll"}} if method == "patch" else {}))
                assert response.status_code == 404
                received.append((method, response.text))
        for memo_id in (1, 2):
            assert client.patch(f"/api/memos/{memo_id}", headers=AUTH, json={"text": "x"}).status_code == 404
            assert client.delete(f"/api/memos/{memo_id}", headers=AUTH).status_code == 404
        refused = client.post("/api/memos", headers=AUTH, json={"coding_id": min(a_ids), "text": "x"})
        assert refused.status_code == 404
        assert client.get("/api/disagreements", headers=AUTH).status_code == 404
    for path, body in received:
        assert "A-SECRET-MEMO" not in body, path
        for coding in _codings_in(json.loads(body)):
            assert coding["id"] not in a_ids | b_ids, path
            assert coding["coder"] == "C", path
            assert (coding["document_id"], coding["start"], coding["end"]) not in a_spans, path
    with Project.find(two_coders) as project:  # nothing of A's or B's changed
        assert {c.coding_id for c in load_codings(project.connect(), coders=["A", "B"])} == a_ids | b_ids
        assert len(memos.list_memos(project.connect(), coder="A")) == 2


def _codings_in(value):
    """Every coding-shaped object in a JSON value."""
    if isinstance(value, dict):
        if {"id", "coder", "start", "end", "code"} <= value.keys():
            yield value
        for item in value.values():
            yield from _codings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _codings_in(item)


# --------------------------------------------------------------------------- exact offsets

UNICODE_TRANSCRIPT = (
    "Interviewer: What helps?\r\n"
    "\r\n"
    "UC1: The team 👩‍👩‍👧 helps. My mate Nguyễn q\u0303uietly covers for me 🇫🇷 and 👍🏽 that's it.\r\n"
    "It carries on\r\n"
    "over lines. Then caf\u00e9 and cafe\u0301 and ǅ.\r\n"
)


def test_offsets_stored_are_exactly_the_selected_characters(tiny_project_dir, tmp_path):
    """A .txt with CRLF line ends, emoji (ZWJ sequences, flags, skin tones) and combining marks,
    imported by the real importer; codings posted for selections read back through the library."""
    from qualcode.transcripts import import_paths

    source = tmp_path / "UC1.txt"
    source.write_bytes(UNICODE_TRANSCRIPT.encode("utf-8"))
    with Project.find(tiny_project_dir) as project:
        results = import_paths(project, [source])
        assert [r.status for r in results] == ["imported"]
        document_id = project.connect().execute("SELECT document_id FROM documents WHERE name = 'UC1.txt'").fetchone()[0]
    text = text_of(tiny_project_dir, document_id)
    assert "\r" not in text and "👩‍👩‍👧" in text
    # CRLF line ends: a paragraph break became "\n\n" and a line break inside a paragraph a space
    assert "helps?\n\nUC1: The" in text and "carries on over lines" in text
    selections = ["👩‍👩‍👧", "Nguyễn q\u0303uietly", "q\u0303", "🇫🇷 and 👍🏽", "👍🏽", "on over lines",
                  "team 👩‍👩‍👧 helps. My mate", "ǅ", "helps?\n\nUC1: The", "caf\u00e9 and caf\u00e9"]
    with serve(tiny_project_dir, coder="B") as client:
        served_text = client.get(f"/api/documents/{document_id}", headers=AUTH).json()["text"]
        assert served_text == text
        posted = []
        for selection in selections:
            start = text.index(selection)
            response = client.post("/api/codings", headers=AUTH, json={
                "document_id": document_id, "code": "sup.peer", "start": start, "end": start + len(selection)})
            assert response.status_code == 201, response.text
            posted.append(response.json()["id"])
        # a span that would cut off the last code point of the text is still inside; one past is not
        beyond = client.post("/api/codings", headers=AUTH, json={
            "document_id": document_id, "code": "sup.peer", "start": 0, "end": len(text) + 1})
        assert beyond.status_code == 400 and "does not lie inside" in beyond.json()["error"]
        read_back = client.get(f"/api/documents/{document_id}/codings", headers=AUTH).json()
        assert [served_text[c["start"]:c["end"]] for c in read_back] == sorted(
            selections, key=lambda s: (text.index(s), text.index(s) + len(s)))
    with Project.find(tiny_project_dir) as project:
        stored = {c.coding_id: c for c in load_codings(project.connect(), coders=["B"])}
    assert [text[stored[i].start:stored[i].end] for i in posted] == selections
    assert all(stored[i].origin == "browser" for i in posted)


# --------------------------------------------------------------------------- codings, memos, search

def test_change_code_and_delete(two_coders):
    with serve(two_coders, coder="B") as client:
        codings = client.get("/api/documents/1/codings", headers=AUTH).json()
        assert [(c["code"], c["coder"]) for c in codings] == [("work.caseload", "B")]
        coding_id = codings[0]["id"]
        changed = client.patch(f"/api/codings/{coding_id}", headers=AUTH, json={"code": "work.toll"})
        assert changed.status_code == 200
        assert (changed.json()["id"], changed.json()["code"]) == (coding_id, "work.toll")
        for code, status in (("work", 400), ("missing.code", 400), (None, 400)):
            assert client.patch(f"/api/codings/{coding_id}", headers=AUTH, json={"code": code}).status_code == status
        assert client.delete(f"/api/codings/{coding_id}", headers=AUTH).json() == {"deleted": coding_id}
        again = client.delete(f"/api/codings/{coding_id}", headers=AUTH)
        assert again.status_code == 404 and "removed already" in again.json()["error"]
    with Project.find(two_coders) as project:
        assert [c.code_key for c in load_codings(project.connect(), coders=["B"])] == ["sup.peer", "sup.supervision"]
        assert len(load_codings(project.connect(), coders=["A"])) == 3


@pytest.mark.parametrize("body, message", [
    ({"code": "work.toll", "start": 0, "end": 5}, "'document_id' is missing"),
    ({"document_id": 1, "code": "work.toll", "start": "x", "end": 5}, "whole number"),
    ({"document_id": 1, "code": "work.toll", "start": "3", "end": 5}, "whole number"),
    ({"document_id": 1, "code": "work.toll", "start": 0.5, "end": 5}, "whole number"),
    ({"document_id": 1, "code": "work.toll", "start": 9, "end": 3}, "does not lie inside"),
    ({"document_id": 1, "code": "work", "start": 0, "end": 5}, "is a theme"),
    ({"document_id": 1, "code": 7, "start": 0, "end": 5}, "must be a code key"),
])
def test_bad_codings_are_400_with_one_line(tiny_project_dir, body, message):
    with serve(tiny_project_dir, coder="B") as client:
        response = client.post("/api/codings", headers=AUTH, json=body)
        assert response.status_code == 400
        assert message in response.json()["error"] and "\n" not in response.json()["error"]
        assert client.post("/api/codings", headers=AUTH, content=b"{not json").status_code == 400
        assert client.post("/api/codings", headers=AUTH, json=[1, 2]).status_code == 400
        assert client.post("/api/codings", headers=AUTH, json={**body, "document_id": 99, "code": "work.toll",
                                                                "start": 0, "end": 5}).status_code == 400
    with Project.find(tiny_project_dir) as project:
        assert load_codings(project.connect()) == []


def test_memo_crud(two_coders):
    with serve(two_coders, coder="B") as client:
        b_coding = client.get("/api/documents/1/codings", headers=AUTH).json()[0]
        on_document = client.post("/api/memos", headers=AUTH, json={"document_id": 1, "text": "Tired, not busy?"})
        assert on_document.status_code == 201
        on_coding = client.post("/api/memos", headers=AUTH, json={"coding_id": b_coding["id"], "text": "Boundary?"})
        assert on_coding.status_code == 201
        assert on_coding.json()["coding_id"] == b_coding["id"] and on_coding.json()["coder"] == "B"
        listed = client.get("/api/memos?document_id=1", headers=AUTH).json()
        assert [m["text"] for m in listed] == ["Tired, not busy?", "Boundary?"]
        assert client.get("/api/documents/1/codings", headers=AUTH).json()[0]["memo"] == "Boundary?"
        memo_id = on_document.json()["id"]
        changed = client.patch(f"/api/memos/{memo_id}", headers=AUTH, json={"text": "Tired."})
        assert changed.json()["text"] == "Tired." and changed.json()["updated_at"] >= on_document.json()["updated_at"]
        assert client.patch(f"/api/memos/{memo_id}", headers=AUTH, json={"text": " "}).status_code == 400
        assert client.post("/api/memos", headers=AUTH, json={"text": "no target"}).status_code == 400
        assert client.post("/api/memos", headers=AUTH,
                           json={"document_id": 1, "coding_id": b_coding["id"], "text": "two"}).status_code == 400
        assert client.delete(f"/api/memos/{memo_id}", headers=AUTH).json() == {"deleted": memo_id}
        assert client.delete(f"/api/memos/{memo_id}", headers=AUTH).status_code == 404
    with Project.find(two_coders) as project:
        kept = memos.list_memos(project.connect(), coder="B")
        assert [(m.coding_id, m.text) for m in kept] == [(b_coding["id"], "Boundary?")]
        assert len(memos.list_memos(project.connect(), coder="A")) == 2


def test_search_over_the_served_documents(tiny_project_dir):
    with serve(tiny_project_dir, coder="B") as client:
        hits = client.get("/api/search?q=SUPERVISION", headers=AUTH).json()
        assert [(h["document"], h["match"]) for h in hits] == [("SF1.txt", "Supervision"), ("SF2.txt", "supervision"),
                                                                ("SF2.txt", "supervision")]
        for hit in hits:
            assert text_of(tiny_project_dir, hit["document_id"])[hit["start"]:hit["end"]] == hit["match"]
        assert len(client.get("/api/search?q=supervision&limit=1", headers=AUTH).json()) == 1
        short = client.get("/api/search?q=a", headers=AUTH)
        assert short.status_code == 400 and "at least 2" in short.json()["error"]
        assert client.get("/api/search?q=ab&limit=zero", headers=AUTH).status_code == 400


def test_a_sample_server_shows_only_the_sample_documents(two_coders):
    from tests.conftest import assign_paragraphs

    with Project.find(two_coders) as project:
        with project.transaction() as conn:
            conn.execute("INSERT INTO samples (coder_id, fraction, seed, by, created_at)"
                         " VALUES ((SELECT coder_id FROM coders WHERE name = 'B'), 0.3, 7, 'respondent', 'now')")
        assign_paragraphs(project, "B", ["SF2.txt#2", "SF2.txt#4"])
        project.connect().execute("UPDATE assignments SET sample_id = 1")
    with serve(two_coders, coder="B", sample=1) as client:
        assert client.get("/api/session", headers=AUTH).json()["sample"] == 1
        assert [d["name"] for d in client.get("/api/documents", headers=AUTH).json()] == ["SF2.txt"]
        assert client.get("/api/documents/1", headers=AUTH).status_code == 404
        assert client.get("/api/documents/1/codings", headers=AUTH).status_code == 404
        assert client.post("/api/codings", headers=AUTH,
                           json={"document_id": 1, "code": "work.toll", "start": 0, "end": 5}).status_code == 404
        assert {h["document"] for h in client.get("/api/search?q=supervision", headers=AUTH).json()} == {"SF2.txt"}
        assert client.post("/api/codings", headers=AUTH,
                           json={"document_id": 2, "code": "work.toll", "start": 0, "end": 5}).status_code == 201
    with pytest.raises(NotFound, match="no double-coding sample 5"):
        create_app(two_coders, coder="B", sample=5)


def test_bad_settings_are_refused_before_serving(two_coders):
    with pytest.raises(NotFound, match="no coder named 'Z'"):
        create_app(two_coders, reconcile=("A", "Z"))
    with pytest.raises(InputError, match="not both or neither"):
        create_app(two_coders, coder="B", reconcile=("A", "B"))
    with pytest.raises(InputError, match="not both or neither"):
        create_app(two_coders)
    with pytest.raises(InputError, match="cannot reconcile at unit 'document'"):
        create_app(two_coders, reconcile=("A", "B"), unit="document")


def test_a_busy_database_is_409_after_retries_and_nothing_half_saved(tiny_project_dir, monkeypatch):
    from qualcode.server import served as app_module

    monkeypatch.setattr(app_module, "BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr(app_module, "BUSY_RETRY_SECONDS", 0.3)
    other = sqlite3.connect(tiny_project_dir / "qualcode.db", isolation_level=None)
    with serve(tiny_project_dir, coder="B") as client:
        assert client.get("/api/documents", headers=AUTH).status_code == 200
        other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
        try:
            busy = client.post("/api/codings", headers=AUTH,
                               json={"document_id": 1, "code": "work.toll", "start": 0, "end": 5})
            assert busy.status_code == 409
            assert "busy" in busy.json()["error"] and "nothing was saved" in busy.json()["error"]
            assert client.get("/api/documents/1/codings", headers=AUTH).json() == []  # reads still work (WAL)
        finally:
            other.execute("ROLLBACK")
        assert client.post("/api/codings", headers=AUTH,
                           json={"document_id": 1, "code": "work.toll", "start": 0, "end": 5}).status_code == 201
    other.close()
    with Project.find(tiny_project_dir) as project:
        assert len(load_codings(project.connect())) == 1


# --------------------------------------------------------------------------- reconciliation

def _decision_records(root):
    from qualcode.reconcile import decision_log

    with Project.find(root) as project:
        log = decision_log(project, coder_a="A", coder_b="B").drop(columns=["decided_at"])
        consensus = sorted((c.code_key, c.document_id, c.start, c.end, c.origin, json.dumps(c.detail, sort_keys=True))
                           for c in load_codings(project.connect(), coders=["consensus"]))
    return log.to_dict("records"), consensus


def test_reconcile_lists_disagreements_and_saves_decisions_as_the_cli_does(two_coders, tmp_path):
    from qualcode.reconcile import open_session

    cli_copy = tmp_path / "cli-copy"
    shutil.copytree(two_coders, cli_copy)
    with serve(two_coders, reconcile=("A", "B")) as client:
        session = client.get("/api/session", headers=AUTH).json()
        assert (session["mode"], session["coders"], session["into"], session["unit"]) == (
            "reconcile", ["A", "B"], "consensus", "paragraph")
        # both coders' codings are shown when reconciling
        assert {c["coder"] for c in client.get("/api/documents/1/codings", headers=AUTH).json()} == {"A", "B"}
        listed = client.get("/api/disagreements", headers=AUTH).json()
        assert [(d["unit_key"], d["code"], d["kind"]) for d in listed] == [
            ("SF1.txt#2", "work.caseload", "boundary"), ("SF1.txt#4", "work.toll", "presence"),
            ("SF2.txt#2", "sup.peer", "presence")]
        assert [d["unit_key"] for d in client.get("/api/disagreements?document_id=2", headers=AUTH).json()] == [
            "SF2.txt#2"]
        boundary, presence, peer = listed
        text = text_of(two_coders, 1)
        assert [text[s:e] for s, e in boundary["spans"]["A"]] == ["forty people on my books"]
        assert [text[s:e] for s, e in boundary["spans"]["B"]] == ["I've got forty people on my books"]
        assert boundary["proposal"] == boundary["spans"]["B"] and boundary["decision"] is None
        assert [d["codings"] for d in client.get("/api/documents", headers=AUTH).json()] == [2, 1]
        kept = client.post(f"/api/disagreements/{boundary['id']}/decision", headers=AUTH,
                           json={"decision": "keep", "note": "B's span reads whole"})
        assert kept.status_code == 200
        assert kept.json()["decision"] == {"decision": "keep", "spans": boundary["spans"]["B"],
                                           "note": "B's span reads whole"}
        again = client.post(f"/api/disagreements/{boundary['id']}/decision", headers=AUTH, json={"decision": "drop"})
        assert again.status_code == 409 and "already decided" in again.json()["error"]
        dropped = client.post(f"/api/disagreements/{presence['id']}/decision", headers=AUTH, json={"decision": "drop"})
        assert dropped.json()["decision"] == {"decision": "drop", "spans": [], "note": None}
        start = text_of(two_coders, 2).index("cover for each other")
        edit_span = [start, start + len("cover for each other")]
        edited = client.post(f"/api/disagreements/{peer['id']}/decision", headers=AUTH,
                             json={"decision": "edit", "spans": [edit_span]})
        assert edited.json()["decision"]["decision"] == "edit" and edited.json()["decision"]["spans"] == [edit_span]
        outside = client.post(f"/api/disagreements/{peer['id']}/decision", headers=AUTH,
                              json={"decision": "edit", "spans": [[0, 1], [2, 3]]})
        assert outside.status_code == 400
        assert client.post("/api/disagreements/1-bm9wZQ/decision", headers=AUTH,
                           json={"decision": "keep"}).status_code == 404
        assert [d["units_coded"] for d in client.get("/api/documents", headers=AUTH).json()] == [2, 1]
        assert client.post("/api/codings", headers=AUTH,
                           json={"document_id": 1, "code": "work.toll", "start": 0, "end": 5}).status_code == 404
    # the same decisions through the library the CLI uses, on a copy made before
    with Project.find(cli_copy) as project:
        cli_session = open_session(project, "A", "B")
        found = {d.unit_key: d for d in cli_session.disagreements()}
        cli_session.decide(found["SF1.txt#2"], "apply", note="B's span reads whole")
        cli_session.decide(found["SF1.txt#4"], "reject")
        cli_session.decide(found["SF2.txt#2"], "apply", span=tuple(edit_span))
    served_log, served_consensus = _decision_records(two_coders)
    cli_log, cli_consensus = _decision_records(cli_copy)
    assert served_log == cli_log
    assert [(r["unit"], r["decision"]) for r in served_log] == [
        ("SF2.txt#4", "agreed"), ("SF1.txt#2", "apply"), ("SF1.txt#4", "reject"), ("SF2.txt#2", "apply")]
    assert served_consensus == cli_consensus


def test_reconcile_resumes_and_undoes(two_coders):
    with serve(two_coders, reconcile=("A", "B")) as client:
        first = client.get("/api/disagreements", headers=AUTH).json()[0]
        client.post(f"/api/disagreements/{first['id']}/decision", headers=AUTH, json={"decision": "drop"})
    with serve(two_coders, reconcile=("A", "B")) as client:  # a restart sees the decision
        resumed = client.get("/api/disagreements", headers=AUTH).json()[0]
        assert resumed["id"] == first["id"] and resumed["decision"]["decision"] == "drop"
        undone = client.post("/api/disagreements/undo", headers=AUTH)
        assert undone.status_code == 200 and undone.json()["undone"]["decision"] is None
        assert client.post("/api/disagreements/undo", headers=AUTH).status_code == 409
        assert client.get("/api/disagreements", headers=AUTH).json()[0]["decision"] is None
