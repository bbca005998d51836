"""qualcode serve: code by highlighting text in a local browser page, or reconcile two coders there."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from qualcode.cli._util import ProjectOption
from qualcode.server.listen import bind_socket, is_loopback


def _may_open_browser() -> bool:
    import os
    import sys

    if os.environ.get("CI"):
        return False
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    return True


def serve(
    coder: Annotated[Optional[str], typer.Option(
        help="Code as this coder: only this coder's codings and memos are shown and saved.", show_default=False)] = None,
    sample: Annotated[Optional[int], typer.Option(
        help="Only the documents of this double-coding sample (its number; 'qualcode sheet sample' lists them).",
        show_default=False)] = None,
    reconcile: Annotated[Optional[tuple[str, str]], typer.Option(
        "--reconcile", metavar="A B", help="Reconcile these two coders instead of coding.", show_default=False)] = None,
    unit: Annotated[str, typer.Option(help="Unit of the reconciliation: paragraph, turn or sentence.")] = "paragraph",
    into: Annotated[str, typer.Option(help="Consensus coder the reconciliation is saved into.")] = "consensus",
    host: Annotated[str, typer.Option(help="Address to listen on (this machine only by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")] = 0,
    allow_remote: Annotated[bool, typer.Option(
        "--allow-remote", help="Allow a --host other than this machine (other computers could connect).")] = False,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open the page in a browser.")] = False,
    project_dir: ProjectOption = None,
) -> None:
    """Code by highlighting text in a page served from this machine, or reconcile two coders there.

    The page's address, with a secret token, is printed once on stderr (and
    opened in the browser). Every coding is saved in the project the moment it
    is made; Ctrl+C stops the server. A page for --coder B never receives
    another coder's codings or memos.

    Examples:

        qualcode serve --coder B

        qualcode serve --coder B --sample 1 --no-browser

        qualcode serve --reconcile A B --unit paragraph --into consensus
    """
    from qualcode.cli._util import notice, open_project
    from qualcode.errors import InputError

    if reconcile is not None and all(name is None for name in reconcile):
        reconcile = None  # typer gives (None, None) for a tuple option left out
    if coder is None and reconcile is None:
        raise InputError("say whom the page is for: --coder NAME to code, or --reconcile A B to reconcile")
    if not 0 <= port <= 65535:
        raise InputError(f"--port {port} is not a port number (0 to 65535)")
    remote = not is_loopback(host)
    if remote and not allow_remote:
        raise InputError(f"--host {host} would let other computers reach the page; add --allow-remote if you mean it,"
                         " or leave --host out to serve this machine only")
    project = open_project(project_dir)
    project.close()
    sock = bind_socket(host, port)
    try:
        from qualcode.server.app import create_app
        from qualcode.server.security import new_token, served_hosts

        bound_port = sock.getsockname()[1]
        token = new_token()
        app = create_app(project, coder=coder, sample=sample, reconcile=reconcile, unit=unit, into=into,
                         token=token, allowed_hosts=served_hosts(host, bound_port),
                         cookie_name=f"qualcode_token_{bound_port}")
        shown_host = f"[{host}]" if ":" in host else host
        url = f"http://{shown_host}:{bound_port}/?token={token}"
        whom = f"for coder {coder}" if coder else f"to reconcile {reconcile[0]} and {reconcile[1]} into {into}"
        if remote:
            notice(f"Warning: serving on {host}: anyone who can reach this computer and has the address can read the"
                   " transcripts; the connection is not encrypted.")
        notice(f"Serving project {project.name} {whom} at {url}  (Ctrl+C stops)")
        if not no_browser and _may_open_browser():
            import webbrowser

            try:
                webbrowser.open(url)
            except Exception:  # no browser is not an error: the address is printed
                pass
        import uvicorn

        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                timeout_graceful_shutdown=5)
        try:
            uvicorn.Server(config).run(sockets=[sock])
        except KeyboardInterrupt:  # uvicorn stops cleanly on Ctrl+C, then passes the signal on
            pass
        notice("Stopped; every coding saved from the page is in the project.")
    finally:
        sock.close()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
