"""The app behind ``qualcode serve``: a Starlette application over one project.

``create_app`` checks the settings (coder, sample, reconciliation) against
the project, opens the reconciliation session if asked, and returns the app:
the page at ``/``, its assets under ``/static/``, the JSON API under
``/api/`` (see ``api``), all behind ``security.SecurityMiddleware``. The
database thread and the server's state are in ``served``.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from qualcode.errors import InputError
from qualcode.server.served import STATIC_DIR, Backend, Served

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
