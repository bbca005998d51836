"""qualcode serve on the command line: bad input refused in one line, and the real server
started in a subprocess, asked over real HTTP with its token, and stopped."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import run_cli, table_rows

TABLES = ["codings", "coders", "decisions", "memos", "assignments"]


@pytest.mark.parametrize("arguments, message", [
    ([], "say whom the page is for"),
    (["--coder", "B", "--host", "0.0.0.0"], "--host 0.0.0.0 would let other computers reach the page; add --allow-remote"),
    (["--coder", "B", "--host", "192.168.1.20"], "add --allow-remote"),
    (["--reconcile", "A", "Z"], "no coder named 'A'"),
    (["--coder", "B", "--sample", "4"], "no double-coding sample 4 in this project"),
    (["--coder", "B", "--reconcile", "A", "B"], "not both or neither"),
    (["--coder", "B", "--port", "70000"], "is not a port number"),
    (["--coder", "B", "--host", "no-such-host.invalid"], "add --allow-remote"),
])
def test_bad_input_is_one_line_and_exit_1(tiny_project_dir, arguments, message):
    before = table_rows(tiny_project_dir, TABLES)
    result = run_cli("--project", tiny_project_dir, "serve", "--no-browser", *arguments)
    assert result.exit_code == 1, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert table_rows(tiny_project_dir, TABLES) == before


def test_a_port_in_use_is_refused(tiny_project_dir):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = taken.getsockname()[1]
        result = run_cli("--project", tiny_project_dir, "serve", "--coder", "B", "--no-browser", "--port", port)
    finally:
        taken.close()
    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is in use" in " ".join(result.output.split())


def test_reconcile_with_an_unknown_coder(tiny_project_dir):
    from qualcode.project import Project
    from tests.conftest import code_phrase

    with Project.find(tiny_project_dir) as project, project.transaction() as conn:
        code_phrase(conn, "A", "work.toll", "SF1.txt", "Some nights")
    result = run_cli("--project", tiny_project_dir, "serve", "--reconcile", "A", "Z", "--no-browser")
    assert result.exit_code == 1
    assert "no coder named 'Z' in this project (known coders: A)" in " ".join(result.output.split())


def test_help_has_an_example():
    result = run_cli("serve", "--help")
    assert result.exit_code == 0
    assert "qualcode serve --coder B" in result.output and "--allow-remote" in result.output


def test_the_real_server_answers_with_its_token_and_stops(tiny_project_dir):
    import httpx

    environment = {**os.environ}
    environment.pop("PYTEST_CURRENT_TEST", None)
    environment.pop("QUALCODE_DEBUG", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "qualcode", "--project", str(tiny_project_dir), "serve", "--coder", "B",
         "--no-browser", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stderr.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        url = None
        while url is None and time.monotonic() < deadline and process.poll() is None:
            for line in list(lines):
                found = re.search(r"at (http://127\.0\.0\.1:\d+/\?token=[\w-]+)", line)
                if found:
                    url = found.group(1)
            time.sleep(0.05)
        assert url, "".join(lines)
        assert "Serving project tiny for coder B at" in "".join(lines)
        base, token = url.split("/?token=")
        response = None
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"{base}/api/session", headers={"X-Qualcode-Token": token}, timeout=5)
                break
            except httpx.ConnectError:  # printed just before uvicorn starts accepting
                time.sleep(0.1)
        assert response is not None and response.status_code == 200
        assert response.json()["coder"] == "B" and response.json()["mode"] == "code"
        assert httpx.get(f"{base}/api/session", timeout=5).status_code == 403
        page = httpx.get(url, timeout=5)
        assert page.status_code == 200 and f'content="{token}"' in page.text
        port = base.rsplit(":", 1)[1]
        assert f"qualcode_token_{port}=" in page.headers["set-cookie"]
        saved = httpx.post(f"{base}/api/codings", headers={"X-Qualcode-Token": token},
                           json={"document_id": 1, "code": "work.toll", "start": 0, "end": 5}, timeout=5)
        assert saved.status_code == 201
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        reader.join(timeout=5)
    output = "".join(lines)
    assert process.returncode == 0, output
    assert "Stopped" in output
    assert output.count(token) == 1  # the URL is printed once; no access log repeats it
    assert "GET /api" not in output and "Traceback" not in output
    from qualcode.codings import load_codings
    from qualcode.project import Project

    with Project.find(tiny_project_dir) as project:
        assert [(c.coder, c.origin) for c in load_codings(project.connect())] == [("B", "browser")]


def test_the_listening_socket_lets_asyncio_turn_nagle_off():
    """asyncio sets TCP_NODELAY only on sockets made with IPPROTO_TCP; without it each answer waited ~40 ms."""
    import socket

    from qualcode.server.listen import bind_socket

    sock = bind_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        client = socket.create_connection(sock.getsockname())
        accepted, _ = sock.accept()
        assert accepted.proto == socket.IPPROTO_TCP  # what asyncio's _set_nodelay checks
        accepted.close()
        client.close()
    finally:
        sock.close()
