"""The playground's FastAPI application: routes, error handling, static files, security headers.

Endpoints are plain ``def`` functions, so FastAPI runs them in its worker thread pool and the event
loop keeps answering while NumPy computes. Errors:

* a request that does not match its model (wrong types, NaN, too many runs x steps, a grid too
  fine, ...) -> 422 ``{"detail": "<readable message>", "errors": [...pydantic's list...]}``;
* a request the library refuses (unknown optimizer or surface, a hyperparameter out of its
  range, a formula the safe parser rejects) -> 422 ``{"detail": "<the library's message>"}``;
* a host name that is not trusted -> 400 (see ``create_app(trusted_hosts=...)``).
"""

from __future__ import annotations

import threading
from pathlib import Path

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


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` with 413, before parsing them.

    The request models cap list lengths, but only after the body is read and parsed; this caps the
    bytes read: a declared ``Content-Length`` is checked first, and the body (chunked or not) is
    read here, counting, then handed to the app in one piece.
    """

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
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


def _readable(errors) -> str:
    parts = []
    for e in errors:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
        msg = str(e.get("msg", "invalid value")).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts) or "invalid request"


def build_app(*, trusted_hosts=None) -> FastAPI:
    app = FastAPI(
        title="descentlab playground",
        version=__version__,
        description="Steer the lecture's optimizers by hand: surfaces, vectorized runs, metrics, "
        "internal state. Every request is bounded (see GET /api/limits).",
        docs_url=None,  # Swagger UI and ReDoc load their assets from a CDN; the page stays offline
        redoc_url=None,
    )
    app.add_middleware(BodyLimit, max_bytes=m.LIMITS.max_body_bytes)
    if trusted_hosts:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(trusted_hosts))

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", _CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")}
                  for e in exc.errors()]
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

    @app.post("/api/grid", summary="A surface's values on a grid (contours) and its minima",
              response_model=m.GridAnswer, responses=errors)
    def grid(body: m.GridRequest):
        return JSONResponse(service.grid(body))

    @app.post("/api/run", summary="Run optimizers x starts with descentlab.lab.run",
              response_model=m.RunAnswer, responses=errors)
    def run(body: m.RunRequest):
        return JSONResponse(service.run(body))

    @app.post("/api/cloud", summary="Minibatch gradients of a data surface at one point",
              response_model=m.CloudAnswer, responses=errors)
    def cloud(body: m.CloudRequest):
        return JSONResponse(service.cloud(body))

    @app.post("/api/export/csv", summary="The runs of a run request as CSV",
              response_class=Response,
              responses={200: {"content": {"text/csv": {}}, "description": "one row per step"}})
    def export_csv(body: m.RunRequest):
        text = service.csv(body)
        return Response(text, media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="descentlab.csv"'})

    @app.post("/api/export/gif", summary="The runs of a run request as an animated GIF",
              response_class=Response,
              responses={200: {"content": {"image/gif": {}}, "description": "the animation"},
                         503: {"description": "another GIF is being rendered; retry"}})
    def export_gif(body: m.GifRequest):
        from descentlab.web._gif import render_gif

        if not _gif_slot.acquire(timeout=30):
            return JSONResponse({"detail": "another GIF is being rendered; try again shortly"},
                                status_code=503)
        try:
            data = render_gif(body)
        finally:
            _gif_slot.release()
        return Response(data, media_type="image/gif",
                        headers={"Content-Disposition": 'attachment; filename="descentlab.gif"'})

    return app
