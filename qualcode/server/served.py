"""What a running server holds: its database thread (``Backend``), what it shows (``Served``), and the page.

Database work runs on one worker thread that owns the server's connection
(SQLite connections belong to the thread that opened them), so the event
loop never waits on the disk and the server's own writes never contend with
each other. Each action is one transaction, committed before the response
is sent. A database another process is writing (the CLI beside the server)
is waited for and retried for a few seconds, then reported as
``DatabaseBusy`` (answered 409 by the API).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from qualcode.errors import QualcodeError
from qualcode.store import is_busy

STATIC_DIR = Path(__file__).resolve().parent / "static"
BUSY_TIMEOUT_MS = 2000   # SQLite waits this long for a lock at each attempt …
BUSY_RETRY_SECONDS = 6   # … and the action is retried until this much time has passed


class DatabaseBusy(QualcodeError):
    """Another program held the project database for longer than the server waits."""


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
                if not is_busy(exc):
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
