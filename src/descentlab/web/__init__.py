"""The playground: a local web page to steer the lecture's optimizers by hand.

``descentlab serve`` starts it on http://127.0.0.1:8000. The page (plain HTML, CSS and JavaScript in
``static/``, no build step, nothing loaded from the internet) talks to a JSON API documented by its
OpenAPI schema at ``/openapi.json``:

=============================  ==============================================================
``GET  /api/surfaces``         the surface catalog (bounds, minima, data-surface options)
``GET  /api/optimizers``       the optimizers with their hyperparameters (defaults, intervals,
                               choices, slider hints)
``POST /api/grid``             a surface's values on a grid, for contours, and its minima
``POST /api/run``              ``descentlab.lab.run``: trajectories, losses, metrics, state
``POST /api/expression``       check a formula in x and y with the lab's safe parser
``POST /api/cloud``            minibatch gradients of a data surface at one point
``POST /api/export/gif``       the current runs as an animated GIF (matplotlib PillowWriter)
``POST /api/export/csv``       the current runs as CSV
=============================  ==============================================================

This module stays cheap to import (the ``descentlab`` command imports it); FastAPI is imported
when an app is created.
"""

from __future__ import annotations

__all__ = ["create_app"]


def create_app(*, trusted_hosts=None, heavy_workers: int | None = None, heavy_queue: int = 32,
               body_timeout: float = 30.0):
    """The playground's FastAPI application.

    Args:
      trusted_hosts: host names the server answers to (``Host`` header), e.g.
        ``["127.0.0.1", "localhost"]``; a request naming another host gets HTTP 400, which stops
        DNS-rebinding pages from driving a local server. Default None: any host (tests).
      heavy_workers: threads that compute the heavy requests (grid, run, cloud, exports);
        default min(4, CPUs). Cheap requests (the page, static files, catalogs, formula checks)
        never wait for them.
      heavy_queue: heavy requests that may wait for a thread; more are answered 503. Default 32.
      body_timeout: seconds a request body may take to arrive, else 408. Default 30.

    Example:
      >>> from descentlab.web import create_app
      >>> app = create_app()
      >>> app.openapi()["info"]["title"]
      'descentlab playground'
      >>> sorted(r.path for r in app.routes if r.path.startswith("/api/run"))
      ['/api/run']
    """
    from descentlab.web._server import build_app

    return build_app(trusted_hosts=trusted_hosts, heavy_workers=heavy_workers,
                     heavy_queue=heavy_queue, body_timeout=body_timeout)
