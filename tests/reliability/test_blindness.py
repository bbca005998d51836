"""Blindness: after alice has coded, nothing handed to B holds any trace of her work.

The test is differential. Two projects are the same but for alice: in one
she has coded the whole study and written memos, in the other she has not.
Everything handed to B is made from both and compared: B's coding sheet
(every cell of every sheet, hidden ones included, sheet states, defined
names, comments, data validations), the REFI-QDA export for ``--coder B``
(users, sources, every selection and coding) and every answer the coding
page's server gives B (documents, texts, codings, codebook counts, memos,
search). Any difference is a trace of alice. The raw bytes of each file are
also searched for her name and her memo's text.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, run_cli

EXAMPLE = REPO_ROOT / "transcripts_example"
CODEBOOK = REPO_ROOT / "codebooks" / "bridge.yaml"
MEMO = "ALICE-MEMO-5d1e: her private reading of this passage"
TOKEN = "blindness-token-0123456789"


@pytest.fixture(scope="module")
def twins(tmp_path_factory) -> dict[str, Path]:
    """'without': B has coded her sample; 'with': the same, and alice has coded everything and written memos."""
    from qualcode import memos, transcripts
    from qualcode.codebook import import_codebook
    from qualcode.codings import load_codings
    from qualcode.project import Project
    from qualcode.respondents import import_respondents
    from qualcode.sheets import export_sheet, import_sheet

    root = tmp_path_factory.mktemp("blindness")
    without = root / "without" / "study"  # the same folder name: the page shows it
    project = Project.create(without)
    transcripts.import_paths(project, [EXAMPLE])
    import_respondents(project, EXAMPLE / "respondents.csv")
    with project.transaction() as conn:
        import_codebook(conn, CODEBOOK)
    export_sheet(project, "B", root / "drawn.xlsx", sample=0.3, seed=7, by="respondent", force=True)
    import_sheet(project, EXAMPLE / "codings" / "coder_B.xlsx", "B")
    project.close()

    with_alice = root / "with" / "study"
    shutil.copytree(without, with_alice)
    with Project.find(with_alice) as project:
        import_sheet(project, EXAMPLE / "codings" / "coder_A.xlsx", "alice", force_coder=True)
        result = run_cli("apply", CODEBOOK, "--coder", "alice", "--project", with_alice)
        assert result.exit_code == 0, result.output
        with project.transaction() as conn:
            codings = load_codings(conn, coders=["alice"])
            assert len(codings) > 50
            for coding in codings[:20]:
                memos.add_memo(conn, "alice", MEMO, coding_id=coding.coding_id)
            memos.add_memo(conn, "alice", MEMO, document_id=codings[0].document_id)
    return {"without": without, "with": with_alice, "root": root}


def workbook_contents(path: Path) -> dict:
    """Everything a workbook can carry, hidden or not, in comparable form."""
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    contents = {"sheets": [], "names": sorted((n, str(d.attr_text)) for n, d in workbook.defined_names.items())}
    for sheet in workbook.worksheets:
        contents["sheets"].append({
            "title": sheet.title, "state": sheet.sheet_state,
            "cells": [[c.value for c in row] for row in sheet.iter_rows()],
            "comments": [(c.coordinate, c.comment.text) for row in sheet.iter_rows() for c in row if c.comment],
            "validations": sorted(str(v.formula1) + str(v.sqref) for v in sheet.data_validations.dataValidation),
            "names": sorted((n, str(d.attr_text)) for n, d in sheet.defined_names.items()),
        })
    return contents


def without_timestamps(contents: dict) -> dict:
    """The sheet's 'exported at' cells differ between any two exports: blank them."""
    text = json.dumps(contents, default=str, sort_keys=True)
    return json.loads(re.sub(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?(\+00:00|Z)?", "TIME", text))


def traces(path: Path) -> list[str]:
    """alice's name or her memo's text anywhere in a zip's members (or in the file's raw bytes)."""
    found = []
    members = {}
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = {name: archive.read(name) for name in archive.namelist()}
    members["(raw)"] = path.read_bytes()
    for name, data in members.items():
        if b"alice" in data.lower():
            found.append(f"{name}: alice")
        if MEMO[:16].encode() in data:
            found.append(f"{name}: her memo")
    return found


def test_the_coding_sheet_for_b_holds_no_trace_of_alice(twins, figures, tmp_path):
    sheets = {}
    for name in ("without", "with"):
        out = tmp_path / f"sheet_B_{name}.xlsx"
        result = run_cli("sheet", "export", "--coder", "B", "--out", out, "--project", twins[name])
        assert result.exit_code == 0, result.output
        assert "alice" not in result.output
        sheets[name] = out
    assert traces(sheets["with"]) == []
    assert without_timestamps(workbook_contents(sheets["with"])) == without_timestamps(
        workbook_contents(sheets["without"]))
    figures["hand-offs checked"] += 1


def qde_contents(path: Path) -> dict:
    from lxml import etree

    with zipfile.ZipFile(path) as archive:
        root = etree.fromstring(archive.read("project.qde"))
        sources = sorted(n for n in archive.namelist() if n.startswith("Sources/"))
    namespace = {"q": root.nsmap[None]}
    # GUIDs are drawn for each export: compare codes by name
    code_names = {c.get("guid"): c.get("name") for c in root.iterfind(".//q:Code", namespace)}
    users = sorted(u.get("name") for u in root.iterfind(".//q:Users/q:User", namespace))
    selections = sorted(
        (source.get("name"), s.get("startPosition"), s.get("endPosition"),
         sorted(code_names[c.find("q:CodeRef", namespace).get("targetGUID")]
                for c in s.iterfind("q:Coding", namespace)),
         (s.findtext("q:Description", default="", namespaces=namespace)))
        for source in root.iterfind(".//q:TextSource", namespace)
        for s in source.iterfind("q:PlainTextSelection", namespace))
    notes = sorted(n.get("name") or "" for n in root.iterfind(".//q:Notes/q:Note", namespace))
    return {"users": users, "selections": selections, "sources": len(sources), "notes": notes}


def test_the_refi_export_for_b_holds_no_trace_of_alice(twins, figures, tmp_path):
    exports = {}
    for name in ("without", "with"):
        out = tmp_path / f"B_{name}.qdpx"
        result = run_cli("export", "qdpx", out, "--coder", "B", "--project", twins[name])
        assert result.exit_code == 0, result.output
        exports[name] = out
    assert traces(exports["with"]) == []
    handed = qde_contents(exports["with"])
    assert handed["users"] == ["B"] and handed["selections"]
    assert handed == qde_contents(exports["without"])
    figures["hand-offs checked"] += 1


def test_the_coding_page_for_b_answers_as_if_alice_had_never_coded(twins, figures):
    import warnings

    with warnings.catch_warnings():  # newer starlette prefers another HTTP client for its TestClient
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from qualcode.server.app import create_app

    answers = {}
    for name in ("without", "with"):
        app = create_app(twins[name], coder="B", token=TOKEN, allowed_hosts=["testserver"])
        seen = []
        with TestClient(app) as client:
            def get(path):
                response = client.get(path, headers={"X-Qualcode-Token": TOKEN})
                seen.append((path, response.status_code, response.text))
                return response.json() if response.status_code == 200 else None

            get("/api/session")
            for document in get("/api/documents"):
                get(f"/api/documents/{document['id']}")
                get(f"/api/documents/{document['id']}/codings")
                get(f"/api/memos?document_id={document['id']}")
            get("/api/codebook")
            get("/api/memos")
            for query in ("caseload", "trust", "her private reading"):
                get(f"/api/search?q={query}")
            get("/api/disagreements")
            page = client.get(f"/?token={TOKEN}")
            seen.append(("/", page.status_code, page.text))
        answers[name] = seen
    for path, status, body in answers["with"]:
        assert "alice" not in body.lower() and MEMO[:16] not in body, path
    assert answers["with"] == answers["without"]
    figures["hand-offs checked"] += 1
    figures["server answers compared"] += len(answers["with"])
