"""The JSON API of ``qualcode serve`` (see docs/serve.md for every route).

Each handler parses the request, calls library functions on the database
thread (``Backend.run``) and renders their result: no rule of coding,
memos, search or reconciliation lives here. Blindness is enforced in one
place, ``Served.coding_coders`` / ``Served.memo_coder``: a server for one
coder reads and writes that coder's codings and memos only.

Errors are JSON ``{"error": "..."}``: 400 bad input, 404 unknown (or not
served) thing, 409 conflict (busy database, already decided), never
transcript text.
"""

from __future__ import annotations

import json
import logging

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from qualcode.errors import InputError, NotFound, QualcodeError
from qualcode.server.served import DatabaseBusy, Served, page_html

logger = logging.getLogger("qualcode.server")

MAX_BODY_BYTES = 1_000_000


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class Conflict(QualcodeError):
    """The request is well formed but cannot be done in the current state."""


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def endpoint(handler):
    """Wrap ``handler(request, served)`` so every failure is a one-line JSON error."""

    async def wrapped(request: Request):
        served: Served = request.app.state.served
        try:
            result = await handler(request, served)
        except ApiError as exc:
            return _error(exc.status, exc.message)
        except (DatabaseBusy, Conflict) as exc:
            return _error(409, str(exc))
        except NotFound as exc:
            return _error(404, str(exc))
        except InputError as exc:
            return _error(400, str(exc))
        except QualcodeError as exc:
            return _error(409, str(exc))
        except Exception as exc:  # no traceback, no transcript-bearing locals in the answer
            logger.error("unexpected failure in %s %s (%s)", request.method, request.url.path, type(exc).__name__)
            return _error(500, f"unexpected failure ({type(exc).__name__}); nothing was saved")
        if isinstance(result, Response):
            return result
        status, payload = result if isinstance(result, tuple) else (200, result)
        return JSONResponse(payload, status_code=status)

    wrapped.__name__ = handler.__name__
    return wrapped


# --------------------------------------------------------------------------- request helpers

async def _body(request: Request) -> dict:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(400, "the request body is too large")
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the request body is not JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return data


def _int(value, name: str, *, text: bool = False) -> int:
    """A whole number from a JSON body (a number, not a string) or, with ``text``, from a query string."""
    if text and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"'{name}' must be a whole number")
    return value


def _required(data: dict, name: str):
    if name not in data or data[name] is None:
        raise ApiError(400, f"'{name}' is missing")
    return data[name]


def _query_int(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    return None if value in (None, "") else _int(value, name, text=True)


def _code_mode(served: Served) -> None:
    if served.mode != "code":
        raise ApiError(404, "this server reconciles two coders; coding is done with 'qualcode serve --coder NAME'")


def _reconcile_mode(served: Served) -> None:
    if served.mode != "reconcile":
        raise ApiError(404, "this server codes for one coder; disagreements are shown by 'qualcode serve --reconcile A B'")


def _check_served(served: Served, document_id: int) -> None:
    if not served.serves(document_id):
        raise NotFound(f"document {document_id} is not among the documents this server shows")


# --------------------------------------------------------------------------- rendering

def _coding_json(coding, memo: str | None) -> dict:
    return {"id": coding.coding_id, "document_id": coding.document_id, "code": coding.code_key,
            "start": coding.start, "end": coding.end, "coder": coding.coder, "origin": coding.origin,
            "memo": memo}


def _codings_json(conn, codings) -> list[dict]:
    from qualcode.memos import shown_memos

    memos = shown_memos(conn, codings)
    return [_coding_json(c, memos.get(c.coding_id)) for c in codings]


def _memo_json(memo) -> dict:
    return {"id": memo.id, "document_id": memo.document_id, "coding_id": memo.coding_id, "coder": memo.coder,
            "text": memo.text, "created_at": memo.created_at, "updated_at": memo.updated_at}


def _disagreement_json(served: Served, disagreement) -> dict:
    from qualcode.spans import decision_spans, disagreement_id
    from qualcode.units import merge_intervals

    coder_a, coder_b = served.coders
    proposal = [list(s) for s in merge_intervals(disagreement.a_spans + disagreement.b_spans)]
    decision = None
    if disagreement.decision is not None:
        spans = [list(s) for s in decision_spans(served.session, disagreement)]
        name = {"reject": "drop", "A": "A", "B": "B"}.get(disagreement.decision)
        if name is None:  # apply: the union of both coders' spans, or a span the reconciler chose
            name = "keep" if spans == proposal else "edit"
        decision = {"decision": name, "spans": spans, "note": disagreement.decision_note}
    return {"id": disagreement_id(disagreement), "document_id": disagreement.document_id,
            "document": disagreement.document, "unit": {"start": disagreement.start, "end": disagreement.end},
            "unit_key": disagreement.unit_key, "respondent_id": disagreement.respondent_id,
            "code": disagreement.code_key, "kind": disagreement.kind,
            "spans": {coder_a: [list(s) for s in disagreement.a_spans],
                      coder_b: [list(s) for s in disagreement.b_spans]},
            "proposal": proposal, "decision": decision}


# --------------------------------------------------------------------------- the page

async def page(request: Request):
    from qualcode.server.security import TOKEN_QUERY

    served: Served = request.app.state.served
    response = HTMLResponse(page_html(served.token))
    if request.query_params.get(TOKEN_QUERY):  # the middleware let it through, so it is the token
        response.set_cookie(served.cookie_name, served.token, httponly=True, samesite="strict", path="/")
    return response


# --------------------------------------------------------------------------- session, documents, codebook

@endpoint
async def session_info(request: Request, served: Served):
    def work(project):
        from qualcode.codebook import current_version_id

        return current_version_id(project.connect())

    version = await served.backend.run(work)
    return {"mode": served.mode, "coder": served.coder, "coders": list(served.coders) if served.coders else None,
            "into": served.into, "unit": served.unit, "sample": served.sample, "project": served.root.name,
            "codebook_version": version, "readonly": False}


@endpoint
async def documents(request: Request, served: Served):
    from qualcode.spans import documents_progress

    def work(project):
        conn = project.connect()
        rows = documents_progress(conn, served.coding_coders if served.mode == "code" else [], served.document_ids)
        open_count: dict[int, int] = {}
        decided_count: dict[int, int] = {}
        if served.mode == "reconcile":
            for d in served.session.disagreements():
                target = open_count if d.is_open else decided_count
                target[d.document_id] = target.get(d.document_id, 0) + 1
        out = []
        for row in rows:
            item = {"id": row.document_id, "name": row.name, "respondent_id": row.respondent_id, "units": row.units,
                    "units_coded": row.units_coded, "codings": row.codings}
            if served.mode == "reconcile":
                item["units_coded"] = decided_count.get(row.document_id, 0)
                item["codings"] = open_count.get(row.document_id, 0)
            out.append(item)
        return out

    return await served.backend.run(work)


@endpoint
async def document(request: Request, served: Served):
    from qualcode.spans import document_outline

    document_id = request.path_params["document_id"]
    _check_served(served, document_id)
    return await served.backend.run(lambda project: document_outline(project.connect(), document_id))


@endpoint
async def document_codings(request: Request, served: Served):
    from qualcode.codings import load_codings

    document_id = request.path_params["document_id"]
    _check_served(served, document_id)

    def work(project):
        conn = project.connect()
        if conn.execute("SELECT 1 FROM documents WHERE document_id = ?", (document_id,)).fetchone() is None:
            raise NotFound(f"document {document_id} is not in the project")
        codings = load_codings(conn, coders=served.coding_coders, document_ids=[document_id])
        return _codings_json(conn, codings)

    return await served.backend.run(work)


@endpoint
async def codebook(request: Request, served: Served):
    from qualcode.spans import codebook_for_coding

    return await served.backend.run(
        lambda project: codebook_for_coding(project.connect(), served.coding_coders if served.mode == "code" else []))


# --------------------------------------------------------------------------- codings

@endpoint
async def add_coding(request: Request, served: Served):
    _code_mode(served)
    data = await _body(request)
    document_id = _int(_required(data, "document_id"), "document_id")
    start = _int(_required(data, "start"), "start")
    end = _int(_required(data, "end"), "end")
    code = _required(data, "code")
    if not isinstance(code, str):
        raise ApiError(400, "'code' must be a code key")
    _check_served(served, document_id)

    def work(project):
        from qualcode import spans

        with project.transaction() as conn:
            coding = spans.add_coding(conn, coder=served.coder, code=code, document_id=document_id, start=start,
                                      end=end, origin="browser")
        return _codings_json(conn, [coding])[0]

    return 201, await served.backend.run(work)


def _served_coding(conn, served: Served, coding_id: int):
    from qualcode.spans import get_coding

    coding = get_coding(conn, coding_id, coder=served.coder)
    if not served.serves(coding.document_id):
        raise NotFound(f"coder '{served.coder}' has no coding {coding_id} in the documents this server shows")
    return coding


@endpoint
async def change_coding(request: Request, served: Served):
    _code_mode(served)
    coding_id = request.path_params["coding_id"]
    data = await _body(request)
    code = _required(data, "code")
    if not isinstance(code, str):
        raise ApiError(400, "'code' must be a code key")

    def work(project):
        from qualcode import spans

        with project.transaction() as conn:
            _served_coding(conn, served, coding_id)
            coding = spans.change_code(conn, coding_id, code, coder=served.coder)
        return _codings_json(conn, [coding])[0]

    return await served.backend.run(work)


@endpoint
async def delete_coding(request: Request, served: Served):
    _code_mode(served)
    coding_id = request.path_params["coding_id"]

    def work(project):
        from qualcode import spans

        with project.transaction() as conn:
            _served_coding(conn, served, coding_id)
            return spans.remove_coding(conn, coding_id, coder=served.coder)

    return {"deleted": await served.backend.run(work)}


# --------------------------------------------------------------------------- memos

@endpoint
async def list_memos(request: Request, served: Served):
    from qualcode.memos import list_memos as list_library_memos

    document_id = _query_int(request, "document_id")
    if document_id is not None:
        _check_served(served, document_id)

    def work(project):
        conn = project.connect()
        memos = list_library_memos(conn, coder=served.memo_coder, document_id=document_id)
        if served.document_ids is not None:
            coding_documents = {r[0]: r[1] for r in conn.execute("SELECT coding_id, document_id FROM codings")} \
                if any(m.coding_id for m in memos) else {}
            memos = [m for m in memos if served.serves(m.document_id if m.document_id is not None
                                                       else coding_documents.get(m.coding_id, -1))]
        return [_memo_json(m) for m in memos]

    return await served.backend.run(work)


@endpoint
async def add_memo(request: Request, served: Served):
    data = await _body(request)
    text = _required(data, "text")
    document_id = data.get("document_id")
    coding_id = data.get("coding_id")
    document_id = None if document_id is None else _int(document_id, "document_id")
    coding_id = None if coding_id is None else _int(coding_id, "coding_id")
    if (document_id is None) == (coding_id is None):
        raise ApiError(400, "give exactly one of 'document_id' and 'coding_id'")
    if document_id is not None:
        _check_served(served, document_id)

    def work(project):
        from qualcode.memos import add_memo as add_library_memo

        with project.transaction() as conn:
            if coding_id is not None and served.mode == "code":
                _served_coding(conn, served, coding_id)
            memo = add_library_memo(conn, served.memo_coder, text, document_id=document_id, coding_id=coding_id)
        return _memo_json(memo)

    return 201, await served.backend.run(work)


@endpoint
async def change_memo(request: Request, served: Served):
    memo_id = request.path_params["memo_id"]
    data = await _body(request)
    text = _required(data, "text")

    def work(project):
        from qualcode.memos import update_memo

        with project.transaction() as conn:
            memo = update_memo(conn, memo_id, text, coder=served.memo_coder)
        return _memo_json(memo)

    return await served.backend.run(work)


@endpoint
async def delete_memo(request: Request, served: Served):
    memo_id = request.path_params["memo_id"]

    def work(project):
        from qualcode.memos import delete_memo as delete_library_memo

        with project.transaction() as conn:
            return delete_library_memo(conn, memo_id, coder=served.memo_coder)

    return {"deleted": await served.backend.run(work)}


# --------------------------------------------------------------------------- search

@endpoint
async def search(request: Request, served: Served):
    from qualcode.search import search_documents

    query = request.query_params.get("q", "")
    limit = _query_int(request, "limit") or 200
    if limit > 1000:
        raise ApiError(400, "'limit' can be at most 1000")

    def work(project):
        hits = search_documents(project.connect(), query, document_ids=served.document_ids, limit=limit)
        return [{"document_id": h.document_id, "document": h.document, "start": h.start, "end": h.end,
                 "before": h.before, "match": h.match, "after": h.after} for h in hits]

    return await served.backend.run(work)


# --------------------------------------------------------------------------- reconciliation

@endpoint
async def disagreements(request: Request, served: Served):
    _reconcile_mode(served)
    document_id = _query_int(request, "document_id")

    def work(project):
        return [_disagreement_json(served, d) for d in served.session.disagreements()
                if document_id is None or d.document_id == document_id]

    return await served.backend.run(work)


DECISION_NAMES = {"keep": "apply", "edit": "apply", "drop": "reject", "apply": "apply", "reject": "reject",
                  "A": "A", "B": "B"}


@endpoint
async def decide(request: Request, served: Served):
    from qualcode.spans import parse_disagreement_id

    _reconcile_mode(served)
    unit_key, code_id = parse_disagreement_id(request.path_params["disagreement_id"])
    data = await _body(request)
    name = _required(data, "decision")
    if name not in DECISION_NAMES:
        raise ApiError(400, "'decision' must be keep, drop or edit")
    note = data.get("note")
    if note is not None and not isinstance(note, str):
        raise ApiError(400, "'note' must be text")
    span = None
    if name == "edit":
        spans = _required(data, "spans")
        if (not isinstance(spans, list) or len(spans) != 1 or not isinstance(spans[0], list)
                or len(spans[0]) != 2):
            raise ApiError(400, "'spans' must hold one [start, end] pair for an edited span")
        span = (_int(spans[0][0], "start"), _int(spans[0][1], "end"))

    def work(project):
        session = served.session
        found = session.find(unit_key, code_id)
        if found is None:
            raise NotFound("no such disagreement between the coders shown")
        if not found.is_open:
            raise Conflict(f"{found.unit_key} × {found.code_key} is already decided ('{found.decision}');"
                           " undo that decision first")
        session.decide(found, DECISION_NAMES[name], note=note, span=span)
        return _disagreement_json(served, session.find(unit_key, code_id))

    return await served.backend.run(work)


@endpoint
async def undo_decision(request: Request, served: Served):
    _reconcile_mode(served)

    def work(project):
        undone = served.session.undo_last()
        if undone is None:
            raise Conflict("no decision of this reconciliation to undo")
        current = undone.disagreement
        return {"undone": _disagreement_json(served, current) if current is not None else None}

    return await served.backend.run(work)


async def missing_static(scope, receive, send):
    """Stands in for the page's files when an installation lacks them."""
    await Response("the page's files are missing from this qualcode installation", status_code=404,
                   media_type="text/plain")(scope, receive, send)


@endpoint
async def not_found(request: Request, served: Served):
    raise ApiError(404, f"no API route {request.method} {request.url.path}")


ROUTES = [
    Route("/api/session", session_info, methods=["GET"]),
    Route("/api/documents", documents, methods=["GET"]),
    Route("/api/documents/{document_id:int}", document, methods=["GET"]),
    Route("/api/documents/{document_id:int}/codings", document_codings, methods=["GET"]),
    Route("/api/codebook", codebook, methods=["GET"]),
    Route("/api/codings", add_coding, methods=["POST"]),
    Route("/api/codings/{coding_id:int}", change_coding, methods=["PATCH"]),
    Route("/api/codings/{coding_id:int}", delete_coding, methods=["DELETE"]),
    Route("/api/memos", list_memos, methods=["GET"]),
    Route("/api/memos", add_memo, methods=["POST"]),
    Route("/api/memos/{memo_id:int}", change_memo, methods=["PATCH"]),
    Route("/api/memos/{memo_id:int}", delete_memo, methods=["DELETE"]),
    Route("/api/search", search, methods=["GET"]),
    Route("/api/disagreements", disagreements, methods=["GET"]),
    Route("/api/disagreements/undo", undo_decision, methods=["POST"]),
    Route("/api/disagreements/{disagreement_id}/decision", decide, methods=["POST"]),
    Route("/api/{rest:path}", not_found, methods=["GET", "POST", "PATCH", "DELETE", "PUT"]),
]
