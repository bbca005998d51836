"""The app behind ``qualcode serve``: a Starlette application over one project.

``create_app`` checks the settings (coder, sample, reconciliation) against
the project, opens the reconciliation session if asked, and returns the app:
the page at ``/``, its assets under ``/static/``, the JSON API under
``/api/`` (see ``api``), all behind ``security.SecurityMiddleware``.

Database work runs on one worker thread that owns the app's connection
(SQLite connections belong to the thread that opened them), so the event
loop never waits on the disk and the app's own writes never contend with
each other. Each action is one transaction, committed before the response
is sent. A database another process is writing (the CLI beside the server)
is waited for and retried for a few seconds, then answered 409.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from qualcode.errors import InputError, QualcodeError

STATIC_DIR = Path(__file__).resolve().parent / "static"
BUSY_TIMEOUT_MS = 2000   # SQLite waits this long for a lock at each attempt …
BUSY_RETRY_SECONDS = 6   # … and the action is retried until this much time has passed


class DatabaseBusy(QualcodeError):
    """Another program held the project database for longer than the server waits."""


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code in (5, 6) or "locked" in str(exc) or "busy" in str(exc)


class Backend:
    """Runs database work on one thread with that thread's own project connection."""

    def __init__(self, root: Path):
        self.root = root
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qualcode-db")
        self._project = None

    def _open(self):
        from qualcode.project import Project

        if self._project is None:
            project = Project.open(self.root)
            project.connect().execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._project = project
        return self._project

    def _call(self, work):
        deadline = time.monotonic() + BUSY_RETRY_SECONDS
        while True:
            project = self._open()
            try:
                return work(project)
            except sqlite3.OperationalError as exc:
                conn = project.connect()
                if conn.in_transaction:  # a failed COMMIT leaves the transaction open
                    conn.execute("ROLLBACK")
                if not _is_busy(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise DatabaseBusy("the project database is busy (another qualcode command is writing);"
                                       " nothing was saved, try again in a moment") from None
                time.sleep(0.05)

    def call(self, work):
        """Run ``work(project)`` on the database thread and wait for it (for setup, not handlers)."""
        return self._executor.submit(self._call, work).result()

    async def run(self, work):
        """Run ``work(project)`` on the database thread; await the result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(self._call, work))

    def close(self) -> None:
        def shut(_project):
            if self._project is not None:
                self._project.close()
                self._project = None

        try:
            self._executor.submit(shut, None).result()
        except RuntimeError:  # already shut down
            pass
        self._executor.shutdown(wait=True)


@dataclass
class Served:
    """What one server shows: the mode, the coder(s), the documents, and how it reaches the database."""

    root: Path
    project_name: str
    mode: str  # "code" or "reconcile"
    backend: Backend
    coder: str | None = None
    coders: tuple[str, str] | None = None
    into: str | None = None
    unit: str | None = None
    sample: int | None = None
    document_ids: list[int] | None = None  # None: every document
    session: object = None  # the reconcile Session, in reconcile mode
    token: str = ""
    cookie_name: str = ""
    codebook_version: int | None = field(default=None)

    @property
    def memo_coder(self) -> str:
        """Whose memos this server reads and writes: the coder, or the consensus coder when reconciling."""
        return self.coder if self.mode == "code" else self.into

    @property
    def coding_coders(self) -> list[str]:
        """Whose codings leave the server: only the coder's (blind), or both reconciled coders."""
        return [self.coder] if self.mode == "code" else list(self.coders)

    def serves(self, document_id: int) -> bool:
        return self.document_ids is None or document_id in self.document_ids


def create_app(project, *, coder: str | None = None, sample: int | None = None,
               reconcile: tuple[str, str] | list[str] | None = None, unit: str = "paragraph",
               into: str = "consensus", token: str | None = None, allowed_hosts: list[str] | None = None,
               cookie_name: str | None = None):
    """The Starlette app serving ``project`` (a Project or its folder) for one coder or one reconciliation.

    ``coder``: code as this coder (only their codings and memos are ever sent).
    ``sample``: only the documents of that double-coding sample. ``reconcile``:
    ``(A, B)`` for the reconcile view, at ``unit`` into ``into`` (the session is
    opened as ``qualcode reconcile`` opens it, agreements recorded). ``token``:
    the secret (a new one when None; read it from ``app.state.served.token``).
    ``allowed_hosts``: Host values to answer (default the loopback names on
    any port). ``cookie_name``: the page's cookie (default ``qualcode_token``).
    QualcodeError for bad settings (unknown sample, unknown coder to reconcile …).
    """
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from qualcode.project import Project
    from qualcode.server import api
    from qualcode.server.security import COOKIE_NAME, LOOPBACK_NAMES, SecurityMiddleware, new_token

    if isinstance(project, (str, Path)):
        project = Project.find(project)
    root = Path(project.root)
    if (coder is None) == (reconcile is None):
        raise InputError("serve one coder (--coder NAME) or one reconciliation (--reconcile A B), not both or neither")
    if reconcile is not None and sample is not None:
        raise InputError("--sample chooses documents to code; a reconciliation shows the units both coders coded")
    if coder is not None:
        coder = coder.strip()
        if not coder:
            raise InputError("a coder name cannot be empty; give one with --coder NAME")
    backend = Backend(root)
    served = Served(root=root, project_name=project.name, mode="code" if coder else "reconcile", backend=backend,
                    coder=coder, sample=sample, token=token or new_token(), cookie_name=cookie_name or COOKIE_NAME)
    try:
        if reconcile is not None:
            coder_a, coder_b = reconcile
            served.coders, served.into, served.unit = (coder_a, coder_b), into, unit

            def open_reconciliation(project_here):
                from qualcode.reconcile import open_session

                session = open_session(project_here, coder_a, coder_b, into=into, unit=unit)
                return session, list(session.scope.document_ids)

            served.session, served.document_ids = backend.call(open_reconciliation)
        elif sample is not None:
            from qualcode.spans import sample_document_ids

            served.document_ids = backend.call(lambda p: sample_document_ids(p.connect(), sample))
    except BaseException:
        backend.close()
        raise

    @asynccontextmanager
    async def lifespan(app):
        try:
            yield
        finally:
            backend.close()

    routes = [
        Route("/", api.page, methods=["GET"]),
        *api.ROUTES,
        Mount("/static", app=StaticFiles(directory=STATIC_DIR) if STATIC_DIR.is_dir() else api.missing_static,
              name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityMiddleware, token=served.token,
                               allowed_hosts=list(allowed_hosts) if allowed_hosts is not None else list(LOOPBACK_NAMES),
                               cookie_name=served.cookie_name)],
        lifespan=lifespan,
    )
    app.state.served = served
    return app


def page_html(token: str) -> str:
    """The page (static/index.html) with the token in ``<meta name="qualcode-token">``."""
    index = STATIC_DIR / "index.html"
    if index.is_file():
        html = index.read_text(encoding="utf-8")
    else:  # the page's files are missing from this installation
        html = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>qualcode</title></head>"
                "<body><p>The coding page's files are missing from this qualcode installation;"
                " reinstall qualcode.</p></body></html>")
    meta = f'<meta name="qualcode-token" content="{token}">'
    html, count = re.subn(r"<head(\s[^>]*)?>", lambda m: m.group(0) + meta, html, count=1, flags=re.IGNORECASE)
    return html if count else meta + html
