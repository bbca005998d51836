"""The coding page served from a background thread: for notebooks, tests and benchmarks.

``serving(project, coder="B")`` starts the same app ``qualcode serve`` runs,
with uvicorn, on a free port of 127.0.0.1, and yields the page's address
with its token; leaving the ``with`` block stops it. The command line runs
uvicorn in the foreground instead (``qualcode.cli.serve``).
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager


@contextmanager
def serving(project, *, start_timeout: float = 10.0, **settings):
    """Serve ``project`` (a Project or its folder) on 127.0.0.1 in a thread; yield ``http://…/?token=…``.

    ``settings`` are ``create_app``'s (``coder``, ``sample``, ``reconcile``, ``unit``, ``into`` …).
    """
    import uvicorn

    from qualcode.errors import QualcodeError
    from qualcode.server.app import create_app
    from qualcode.server.listen import bind_socket
    from qualcode.server.security import served_hosts

    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    try:
        app = create_app(project, allowed_hosts=served_hosts("127.0.0.1", port),
                         cookie_name=f"qualcode_token_{port}", **settings)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                                  name="qualcode-serve")
        thread.start()
        deadline = time.monotonic() + start_timeout
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not server.started:
            server.should_exit = True
            raise QualcodeError("the coding page's server did not start")
        try:
            yield f"http://127.0.0.1:{port}/?token={app.state.served.token}"
        finally:
            server.should_exit = True
            thread.join(10)
    finally:
        sock.close()
