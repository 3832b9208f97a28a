"""``descentlab serve``: start the playground on a local web server.

Cheap to import: uvicorn and FastAPI are imported inside the command.
"""

from __future__ import annotations

import argparse
import socket
import sys

__all__ = ["register", "serve", "server_config", "HEAD_TIMEOUT", "BODY_TIMEOUT"]

_LOCAL_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")

#: seconds a connection may take to send a complete request head (from its opening, or from
#: the end of its previous answer); then it is closed. Idle keep-alive connections close sooner
#: (uvicorn's ``timeout_keep_alive``, 5 s).
HEAD_TIMEOUT = 10.0
#: seconds a request body may take to arrive (then 408; see ``descentlab.web._server``)
BODY_TIMEOUT = 30.0
#: connections and requests served at once; more get uvicorn's 503
MAX_CONCURRENCY = 256


def _is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) is this machine only.

    >>> [_is_loopback(h) for h in ("127.0.0.1", "::1", "[::1]", "localhost", "0.0.0.0", "::")]
    [True, True, True, True, False, False]
    """
    import ipaddress

    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to any interface
        return False


def _protocol():
    """uvicorn's h11 protocol, closing a connection whose request head is not complete within
    ``HEAD_TIMEOUT`` seconds. uvicorn itself only times out idle connections after an answer
    (``timeout_keep_alive``): a connection that is opened and sends nothing, or a request head
    sent a byte at a time, would stay open for ever."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeadTimeoutH11Protocol(H11Protocol):
        head_timeout = HEAD_TIMEOUT

        def _arm(self):
            self._head_cycle = self.cycle
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_expired)

        def _disarm(self):
            timer = getattr(self, "_head_timer", None)
            if timer is not None:
                timer.cancel()
                self._head_timer = None

        def _head_expired(self):
            self._head_timer = None
            if self.cycle is self._head_cycle and not self.transport.is_closing():
                self.transport.close()  # no request started since the timer was armed

        def connection_made(self, transport):
            super().connection_made(transport)
            self._arm()

        def data_received(self, data):
            super().data_received(data)
            if self.cycle is not getattr(self, "_head_cycle", None):
                self._disarm()  # a request head arrived

        def on_response_complete(self):
            super().on_response_complete()
            if not self.transport.is_closing():
                self._disarm()
                self._arm()

        def connection_lost(self, exc):
            self._disarm()
            super().connection_lost(exc)

    return HeadTimeoutH11Protocol


def server_config(app, *, log_level: str = "warning", head_timeout: float = HEAD_TIMEOUT):
    """The uvicorn configuration of ``descentlab serve``: the h11 protocol with a timeout on
    request heads, uvicorn's 5 s keep-alive timeout, and at most ``MAX_CONCURRENCY``
    connections at once."""
    import copy

    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    protocol = _protocol()
    protocol.head_timeout = head_timeout
    logging_config = copy.deepcopy(LOGGING_CONFIG)  # the playground's own lines look the same
    logging_config["loggers"]["descentlab.web"] = {"handlers": ["default"], "level": "INFO",
                                                   "propagate": False}
    return uvicorn.Config(app, log_level=log_level, http=protocol, timeout_keep_alive=5,
                          limit_concurrency=MAX_CONCURRENCY, lifespan="on",
                          log_config=logging_config)


def serve(args: argparse.Namespace) -> int:
    """Serve the playground until interrupted (Ctrl+C)."""
    import threading
    import webbrowser

    from descentlab._extras import require

    uvicorn = require("uvicorn", extra="web", feature="the playground")
    require("fastapi", extra="web", feature="the playground")
    from descentlab.web import create_app

    trusted = None if args.any_host else sorted({*_LOCAL_NAMES, args.host})
    app = create_app(trusted_hosts=trusted, body_timeout=BODY_TIMEOUT)
    # Bind first, so that a taken port or a bad address is one clear line, not a traceback, and
    # the banner names the port actually bound (--port 0 picks a free one).
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host.strip("[]"), args.port))
    except OSError as err:
        sock.close()
        print(f"descentlab serve: cannot listen on {args.host}:{args.port}: "
              f"{err.strerror or err}", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{'127.0.0.1' if shown in ('0.0.0.0', '[::]') else shown}:{port}/"
    if not _is_loopback(args.host):
        print(f"descentlab serve: warning: listening on {args.host}, not on loopback: the "
              "playground is now reachable from the network and unauthenticated (anyone who "
              "can reach this port can use it and spend this machine's CPU). Use "
              "--host 127.0.0.1 to keep it on this machine.", file=sys.stderr, flush=True)
    print(f"descentlab playground on {url}  (Ctrl+C to stop)", flush=True)
    if args.open:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    server = uvicorn.Server(server_config(app, log_level=args.log_level))
    server.run(sockets=[sock])
    return 0


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a port is an integer, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is in [0, 65535], got {port}")
    return port


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "serve", help="start the playground (a local web page) on 127.0.0.1",
        description="Start the playground: an interactive page to pick a surface or type a "
        "formula, click start points, tune several optimizers with sliders, play and scrub their "
        "trajectories, inspect their state, and export PNG / GIF / CSV. Every asset ships in the "
        "package; nothing is loaded from the internet. The JSON API is described at "
        "/openapi.json.",
    )
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only; any other "
                   "address makes the unauthenticated playground reachable from the network, "
                   "and a warning says so)")
    p.add_argument("--port", type=_port, default=8000,
                   help="port to listen on, in [0, 65535]; 0 picks a free one (default 8000)")
    p.add_argument("--open", action=argparse.BooleanOptionalAction, default=False,
                   help="open the page in a web browser (default: --no-open)")
    p.add_argument("--any-host", action="store_true",
                   help="answer requests for any Host header (default: only local names and "
                   "--host, which blocks DNS-rebinding pages)")
    p.add_argument("--log-level", default="warning",
                   choices=["critical", "error", "warning", "info", "debug"],
                   help="uvicorn's log level (default warning)")
    p.set_defaults(func=serve)
