"""The playground's FastAPI application: routes, error handling, static files, security headers.

Two kinds of endpoints. Cheap ones (the page, static files, the catalogs, ``/api/expression``)
are plain ``def`` functions or static files, served by FastAPI's own thread pool. Heavy ones
(``/api/grid``, ``/api/run``, ``/api/cloud``, the exports) run in a separate, bounded pool of
``heavy_workers`` threads (:class:`HeavyPool`), so that however many heavy requests arrive, the
cheap ones never wait behind them; at most ``heavy_queue`` more wait for a heavy thread, and
beyond that a heavy request is answered 503 ("busy, retry"). While a heavy request computes, its
connection is watched: when the client goes away, the work is cancelled at its next step (see
``descentlab.web._service``) and one line is logged (logger ``descentlab.web``, level WARNING;
``descentlab serve`` prints it as uvicorn prints its own lines), never a traceback.

Slow clients: a request body must arrive within ``body_timeout`` seconds (else 408), and
``descentlab serve`` closes connections that send no complete request head in time (see
``descentlab.web.cli``).

Errors:

* a request that does not match its model (wrong types, NaN, too many runs x steps, a grid too
  fine, ...) -> 422 ``{"detail": "<readable message>", "errors": [...pydantic's list...]}``;
* a request the library refuses (unknown optimizer or surface, a hyperparameter out of its
  range, a formula the safe parser rejects or that is complex or undefined at a start, a number
  past the float range, a request whose estimated cost is over the cap)
  -> 422 ``{"detail": "<the library's message>"}``;
* a host name that is not trusted -> 400 (see ``create_app(trusted_hosts=...)``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import logging
import threading
import time
from pathlib import Path

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from descentlab import __version__
from descentlab.web import _models as m
from descentlab.web import _service as service

STATIC = Path(__file__).resolve().parent / "static"

_CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'none'")

_gif_slot = threading.BoundedSemaphore(1)  # one GIF rendering at a time (matplotlib is slow)
log = logging.getLogger("descentlab.web")


class HeavyPool:
    """The heavy endpoints' own threads: ``workers`` compute, ``queue`` more may wait.

    ``await pool.call(request, fn, body)`` runs ``fn(body, cancel)`` on a pool thread while it
    watches the client: if the client disconnects, ``cancel`` is set (the computation stops at
    its next step), one line is logged, and None is returned (nobody is left to answer).
    """

    def __init__(self, workers: int, queue: int):
        self.workers = workers
        self._pool = cf.ThreadPoolExecutor(workers, thread_name_prefix="descentlab-heavy")
        self._slots = threading.BoundedSemaphore(workers + queue)

    async def call(self, request: Request, fn, body):
        if not self._slots.acquire(blocking=False):
            raise service.RequestError(
                "the server is busy with other heavy requests; try again in a moment", 503)
        cancel = threading.Event()

        def work():
            try:
                return fn(body, cancel)
            finally:
                self._slots.release()

        t0 = time.perf_counter()
        future = asyncio.get_running_loop().run_in_executor(self._pool, work)
        watcher = asyncio.ensure_future(_disconnected(request.receive))
        try:
            await asyncio.wait({future, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if future.done():
                return future.result()
            cancel.set()
            log.warning("client went away: %s %s cancelled after %.1f s", request.method,
                        request.url.path, time.perf_counter() - t0)
            future.add_done_callback(_quiet)
            return None
        except asyncio.CancelledError:  # the server is shutting down
            cancel.set()
            future.add_done_callback(_quiet)
            raise
        finally:
            watcher.cancel()

    def shutdown(self):
        self._pool.shutdown(wait=False, cancel_futures=True)


async def _disconnected(receive) -> None:
    """Return when the client has gone away. The body was read before the endpoint ran, so the
    server's next message is the disconnect (uvicorn waits for it without polling)."""
    while True:
        message = await receive()
        if message.get("type") == "http.disconnect":
            return
        await asyncio.sleep(0.05)  # (an unexpected message: do not spin)


def _quiet(future):
    """Collect a cancelled computation's outcome (Cancelled, or its answer) without a log."""
    if not future.cancelled():
        future.exception()


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` with 413, before parsing them.

    The request models cap list lengths, but only after the body is read and parsed; this caps the
    bytes read: a declared ``Content-Length`` is checked first, and the body (chunked or not) is
    read here, counting, then handed to the app in one piece.
    """

    def __init__(self, app, max_bytes: int, timeout: float = 30.0):
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        chunks, size = [], 0
        deadline = anyio.current_time() + self.timeout
        while True:
            try:
                with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
                    message = await receive()
            except TimeoutError:
                await JSONResponse(
                    {"detail": f"the request body did not arrive within {self.timeout:g} s"},
                    status_code=408, headers={"Connection": "close"})({"type": "http"}, None,
                                                                       send)
                return
            if message["type"] != "http.request":  # the client went away: nothing to answer
                log.warning("client went away: %s %s while sending its request body",
                            scope.get("method"), scope.get("path"))
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body, delivered = b"".join(chunks), False

        async def replay():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send):
        await JSONResponse({"detail": f"request body over {self.max_bytes:,} bytes"},
                           status_code=413)({"type": "http"}, None, send)


class SecurityHeaders:
    """ASGI middleware: CSP, nosniff and no-referrer on every answer, no-store on the API's.

    Plain ASGI rather than ``@app.middleware("http")`` (Starlette's BaseHTTPMiddleware), which
    wraps ``receive`` and hides a client's disconnect from the endpoint."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope.get("path", "").startswith("/api/")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                have = {k.lower() for k, _ in headers}
                extra = [(b"content-security-policy", _CSP.encode()),
                         (b"x-content-type-options", b"nosniff"),
                         (b"referrer-policy", b"no-referrer")]
                if api:
                    extra.append((b"cache-control", b"no-store"))
                headers += [(k, v) for k, v in extra if k not in have]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _readable(errors) -> str:
    parts = []
    for e in errors:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
        msg = str(e.get("msg", "invalid value")).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts) or "invalid request"


def _error_list(exc: RequestValidationError) -> list[dict]:
    """pydantic's errors, with a number past the float range said so (a JSON integer of
    hundreds of digits is "not a valid number" to pydantic, which does not say why)."""
    errors = []
    for e in exc.errors():
        e2 = {k: v for k, v in e.items() if k in ("loc", "msg", "type")}
        v = e.get("input")
        if (e.get("type") in ("float_type", "float_parsing", "finite_number")
                and isinstance(v, int) and not isinstance(v, bool)):
            e2["msg"] = m.past_float_range(v)
        errors.append(e2)
    return errors


def build_app(*, trusted_hosts=None, heavy_workers: int | None = None, heavy_queue: int = 32,
              body_timeout: float = 30.0) -> FastAPI:
    app = FastAPI(
        title="descentlab playground",
        version=__version__,
        description="Steer the lecture's optimizers by hand: surfaces, vectorized runs, metrics, "
        "internal state. Every request is bounded (see GET /api/limits).",
        docs_url=None,  # Swagger UI and ReDoc load their assets from a CDN; the page stays offline
        redoc_url=None,
    )
    import os

    heavy = HeavyPool(heavy_workers or max(1, min(4, os.cpu_count() or 1)), heavy_queue)
    app.state.heavy = heavy
    app.router.on_shutdown.append(heavy.shutdown)
    app.add_middleware(BodyLimit, max_bytes=m.LIMITS.max_body_bytes, timeout=body_timeout)
    if trusted_hosts:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(trusted_hosts))

    app.add_middleware(SecurityHeaders)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        errors = _error_list(exc)
        return JSONResponse({"detail": _readable(errors), "errors": errors}, status_code=422)

    @app.exception_handler(ValueError)
    async def refused(request: Request, exc: ValueError):
        status = getattr(exc, "status", 422)
        return JSONResponse({"detail": str(exc)}, status_code=status)

    # ----------------------------------------------------------------- page
    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # ----------------------------------------------------------------- catalog
    # Answers are built as plain JSON-ready dicts by _service and sent as they are (no second
    # validation pass over large arrays); ``response_model`` documents their shape in the schema.
    errors = {422: {"model": m.ErrorAnswer, "description": "invalid or refused request"}}

    @app.get("/api/limits", summary="Caps on the work one request may ask for",
             response_model=m.Limits)
    def limits():
        return JSONResponse(m.LIMITS.model_dump())

    @app.get("/api/optimizers", summary="The optimizers and their hyperparameters' schemas",
             response_model=list[m.OptimizerInfo])
    def optimizers():
        return JSONResponse(service.optimizer_catalog())

    @app.get("/api/surfaces", summary="The surface catalog (bounds, minima, data options)",
             response_model=m.SurfaceCatalog)
    def surfaces():
        return JSONResponse(service.surface_catalog())

    # ----------------------------------------------------------------- computing
    @app.post("/api/expression", summary="Check a formula in x and y (the lab's safe parser)",
              response_model=m.ExpressionAnswer, responses=errors)
    def expression(body: m.ExpressionRequest):
        return JSONResponse(service.check_expression(body.text))

    async def heavy_answer(request, fn, body, answer=JSONResponse):
        out = await heavy.call(request, fn, body)
        return Response(status_code=499) if out is None else answer(out)

    @app.post("/api/grid", summary="A surface's values on a grid (contours) and its minima",
              response_model=m.GridAnswer, responses=errors)
    async def grid(body: m.GridRequest, request: Request):
        return await heavy_answer(request, service.grid, body)

    @app.post("/api/run", summary="Run optimizers x starts with descentlab.lab.run",
              response_model=m.RunAnswer, responses=errors)
    async def run(body: m.RunRequest, request: Request):
        return await heavy_answer(request, service.run, body)

    @app.post("/api/cloud", summary="Minibatch gradients of a data surface at one point",
              response_model=m.CloudAnswer, responses=errors)
    async def cloud(body: m.CloudRequest, request: Request):
        return await heavy_answer(request, service.cloud, body)

    def csv_answer(text):
        return Response(text, media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="descentlab.csv"'})

    @app.post("/api/export/csv", summary="The runs of a run request as CSV",
              response_class=Response,
              responses={200: {"content": {"text/csv": {}}, "description": "one row per step"}})
    async def export_csv(body: m.RunRequest, request: Request):
        return await heavy_answer(request, service.csv, body, csv_answer)

    def gif(body, cancel):
        from descentlab.web._gif import render_gif

        if not _gif_slot.acquire(timeout=30):
            raise service.RequestError("another GIF is being rendered; try again shortly", 503)
        try:
            return render_gif(body, cancel)
        finally:
            _gif_slot.release()

    def gif_answer(data):
        return Response(data, media_type="image/gif",
                        headers={"Content-Disposition": 'attachment; filename="descentlab.gif"'})

    @app.post("/api/export/gif", summary="The runs of a run request as an animated GIF",
              response_class=Response,
              responses={200: {"content": {"image/gif": {}}, "description": "the animation"},
                         503: {"description": "another GIF is being rendered; retry"}})
    async def export_gif(body: m.GifRequest, request: Request):
        return await heavy_answer(request, gif, body, gif_answer)

    return app
