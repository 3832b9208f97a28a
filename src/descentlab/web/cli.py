"""``descentlab serve``: start the playground on a local web server.

Cheap to import: uvicorn and FastAPI are imported inside the command.
"""

from __future__ import annotations

import argparse
import socket
import sys

__all__ = ["register", "serve"]

_LOCAL_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


def serve(args: argparse.Namespace) -> int:
    """Serve the playground until interrupted (Ctrl+C)."""
    import threading
    import webbrowser

    from descentlab._extras import require

    uvicorn = require("uvicorn", extra="web", feature="the playground")
    require("fastapi", extra="web", feature="the playground")
    from descentlab.web import create_app

    trusted = None if args.any_host else sorted({*_LOCAL_NAMES, args.host})
    app = create_app(trusted_hosts=trusted)
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
    print(f"descentlab playground on {url}  (Ctrl+C to stop)", flush=True)
    if args.open:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    server = uvicorn.Server(uvicorn.Config(app, log_level=args.log_level))
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
                   help="address to bind (default 127.0.0.1: this machine only)")
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
