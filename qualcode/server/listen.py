"""Where the server listens: whether an address is this machine only, and the listening socket.

The socket is made with ``IPPROTO_TCP`` as its protocol: asyncio turns
Nagle's algorithm off (``TCP_NODELAY``) only on connections whose socket says
so, and without it every answer waits about 40 ms for the browser's delayed
acknowledgement (the headers and the body are two writes).
"""

from __future__ import annotations

from qualcode.errors import InputError

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_socket(host: str, port: int):
    """A listening socket on ``host``:``port`` (0: a free port), or InputError saying why not."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, family if ":" in host else socket.AF_UNSPEC,
                                   socket.SOCK_STREAM)
    except socket.gaierror:
        raise InputError(f"cannot serve on host '{host}': no such address on this machine; use --host 127.0.0.1")
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # so asyncio sets TCP_NODELAY
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(64)
    except OSError as exc:
        sock.close()
        import errno

        if exc.errno == errno.EADDRINUSE:
            raise InputError(f"port {port} on {host} is in use (another server?); choose another with --port N,"
                             " or --port 0 for a free one") from None
        raise InputError(f"cannot serve on {host}:{port} ({exc.strerror or exc}); choose another --host or --port") \
            from None
    sock.set_inheritable(True)
    return sock
