"""The lock on the local coding page: a token, Host and Origin checks, security headers.

A small ASGI middleware in front of the whole app:

- ``Host`` must be one of the served addresses (a web page that rebinds its
  own name to 127.0.0.1 sends its own name: refused, so DNS rebinding reads
  nothing);
- an ``Origin``, when sent, must be ``http://`` + a served address (a page on
  another site cannot post codings: CSRF); a state-changing request marked
  cross-site by ``Sec-Fetch-Site`` is refused too;
- ``/api/*`` needs the ``X-Qualcode-Token`` header (a custom header cannot be
  sent cross-origin without a CORS preflight, which is never answered);
  the page and ``/static/*`` need the token in the query (``?token=``) or the
  HttpOnly cookie the page sets;
- every response carries ``Cache-Control: no-store``, ``nosniff``, a strict
  Content-Security-Policy, ``Referrer-Policy: no-referrer`` and frame denial.

Refusals say what to do and carry no project data.
"""

from __future__ import annotations

import json
import secrets
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs, urlsplit

TOKEN_HEADER = "x-qualcode-token"
TOKEN_QUERY = "token"
COOKIE_NAME = "qualcode_token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
SAFE_METHODS = ("GET", "HEAD")

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
                           " connect-src 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode("ascii")),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]

FORBIDDEN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>qualcode: token needed</title></head>
<body><h1>This page needs its token</h1>
<p>Open the address that <code>qualcode serve</code> printed when it started
(it ends in <code>?token=…</code>). The token changes every time the server starts.</p>
</body></html>
"""


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def served_hosts(host: str, port: int) -> list[str]:
    """The Host header values a server on ``host``:``port`` answers: the loopback names and ``host``."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    names = list(LOOPBACK_NAMES) + ([shown] if shown not in LOOPBACK_NAMES else [])
    return [f"{name}:{port}" for name in names]


def host_allowed(value: str | None, allowed: list[str]) -> bool:
    """Whether a Host header (``name:port``) is served. An allowed entry without a port allows
    that name on any port (what a test client or an unbound app uses)."""
    if not value:
        return False
    value = value.strip().lower()
    for entry in allowed:
        entry = entry.lower()
        if value == entry:
            return True
        if not _has_port(entry) and _name_of(value) == entry:
            return True
    return False


def _has_port(entry: str) -> bool:
    return entry.rsplit("]", 1)[-1].count(":") == 1


def _name_of(host: str) -> str:
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def origin_allowed(origin: str, allowed: list[str]) -> bool:
    """Whether an Origin header is ``http://`` + a served address."""
    parts = urlsplit(origin)
    if parts.scheme != "http" or not parts.netloc or parts.path not in ("", "/") or parts.query:
        return False
    return host_allowed(parts.netloc, allowed)


def same_token(given: str | None, token: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode("utf-8"), token.encode("utf-8"))


def cookie_token(header: str | None, name: str) -> str | None:
    if not header:
        return None
    cookies = SimpleCookie()
    try:
        cookies.load(header)
    except CookieError:
        return None
    morsel = cookies.get(name)
    return morsel.value if morsel is not None else None


class SecurityMiddleware:
    """ASGI middleware: refuse what is not from the served page with its token; add security headers.

    ``token``: the secret; ``allowed_hosts``: Host values served (see ``host_allowed``);
    ``cookie_name``: the cookie the page sets (per port, so two servers on one machine
    do not overwrite each other's).
    """

    def __init__(self, app, *, token: str, allowed_hosts: list[str], cookie_name: str = COOKIE_NAME):
        self.app = app
        self.token = token
        self.allowed_hosts = list(allowed_hosts)
        self.cookie_name = cookie_name

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no websockets are served
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            return
        headers = {}
        for key, value in scope.get("headers", []):
            headers.setdefault(key.decode("latin-1").lower(), value.decode("latin-1"))
        path = scope.get("path", "")
        is_api = path == "/api" or path.startswith("/api/")
        refusal = self._refusal(scope, headers, path, is_api)
        if refusal is not None:
            await _refuse(send, refusal, is_api)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = dict(message)
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refusal(self, scope, headers: dict, path: str, is_api: bool) -> str | None:
        if not host_allowed(headers.get("host"), self.allowed_hosts):
            return "this server answers only at the address qualcode serve printed (the Host header is not it)"
        origin = headers.get("origin")
        if origin is not None and not origin_allowed(origin, self.allowed_hosts):
            return "requests from another site are refused (the Origin header is not this server)"
        method = scope.get("method", "GET").upper()
        if method not in SAFE_METHODS and headers.get("sec-fetch-site") not in (None, "same-origin", "none"):
            return "changes from another site are refused (Sec-Fetch-Site is not same-origin)"
        if is_api:
            if not same_token(headers.get(TOKEN_HEADER), self.token):
                return "the X-Qualcode-Token header is missing or wrong; reload the page from the printed address"
            return None
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = query.get(TOKEN_QUERY, [None])[0]
        if same_token(given, self.token) or same_token(cookie_token(headers.get("cookie"), self.cookie_name),
                                                       self.token):
            return None
        return "token needed"


async def _refuse(send, message: str, is_api: bool) -> None:
    if is_api:
        body = json.dumps({"error": message}).encode("utf-8")
        content_type = b"application/json"
    else:
        body = FORBIDDEN_PAGE.encode("utf-8")
        content_type = b"text/html; charset=utf-8"
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
                + SECURITY_HEADERS})
    await send({"type": "http.response.body", "body": body})
