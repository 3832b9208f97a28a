"""What the playground's endpoints compute, as plain functions returning JSON-ready values.

The server (``_server.py``) only routes; everything that touches the library lives here. User input
reaches the library only through its public functions (``descentlab.optim.get``,
``descentlab.surfaces.get`` / ``from_expression`` / ``linear_fit``, ``descentlab.lab.run``): never
``eval``, the file system or a shell. A formula is parsed by the lab's safe parser, which refuses
anything but arithmetic in x and y and a whitelist of math functions.

Errors a user can cause raise :class:`RequestError` (or the library's ``ValueError``), which the
server answers with HTTP 422 and the message.

Cost. The request models cap counts (runs, steps, grid points); :func:`check_cost` bounds the
work itself, estimated from what makes a request slow: the data set's size and loss on a data
surface, the grid's points, the steps and optimizers of a run, and a formula's size (the number
of nodes of its value and gradient trees, each one a NumPy call per step). A request whose
estimate is over ``LIMITS.max_cost_seconds`` is refused with 422 and a message that names the
lever to lower and how far. The same function serves any other front end (a notebook widget)
that wants the playground's bounds.

Cancellation. The heavy functions (:func:`grid`, :func:`run`, :func:`cloud`, :func:`csv`) take
an optional ``cancel`` event (``threading.Event``); the surface they compute on checks it at
every evaluation, i.e. at every step of a run and every chunk of a grid, and raises
:class:`Cancelled` once it is set (the server sets it when the client goes away).
"""

from __future__ import annotations

import copy
import functools
import math
import threading

import numpy as np

from descentlab import optim
from descentlab.web._models import (
    LIMITS,
    CloudRequest,
    GridRequest,
    OptimizerSpec,
    RunRequest,
    SurfaceSpec,
)

__all__ = ["RequestError", "Cancelled", "optimizer_catalog", "surface_catalog", "resolve_surface",
           "grid", "run", "run_arrays", "csv", "check_expression", "cloud", "to_json",
           "canonical_name", "estimate_cost", "check_cost"]


class RequestError(ValueError):
    """A request the library cannot serve; ``status`` is the HTTP code (default 422)."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


class Cancelled(Exception):
    """The work of a request was stopped because its client went away."""


# --------------------------------------------------------------------------- cost
# Seconds per unit of work, measured on one core of a 2-core x86 machine (lab.run, NumPy):
_C_GROUP_STEP = 75e-6  # one step of one optimizer group (lab.run's fixed work per step)
_C_NODE_CALL = 0.6e-6  # one node of a formula's compiled tree, per evaluation call
_C_NODE_ELEMENT = 3e-9  # ... per point evaluated
_C_ANALYTIC = 50e-9  # a catalog surface's value and gradient at one point
_C_DATA = {"mse": 25e-9, "mae": 8e-9, "huber": 11e-9, "log_cosh": 35e-9, "quantile": 12e-9}
_C_DATA_DEFAULT = 35e-9  # per data point, per evaluated point: the slowest loss
_C_CSV_ROW = 6e-6  # one CSV row written
_GIF_GRID = 140  # the GIF's contour grid, points per axis (descentlab.web._gif)


def formula_nodes(surface) -> int:
    """The size of a formula surface: nodes of its value and gradient trees (0 for a catalog
    surface; ``from_expression`` counts them)."""
    return int(getattr(surface, "formula_nodes", 0) or 0)


def _point_cost(surface, *, batch_size=None) -> float:
    """Estimated seconds to evaluate J and its gradient at one point (one step of one run)."""
    if _is_data(surface):
        c = _C_DATA.get(getattr(surface, "loss", None), _C_DATA_DEFAULT)
        n = int(surface.n)
        return c * (n + (min(int(batch_size), n) if batch_size else n))
    nodes = formula_nodes(surface)
    return nodes * _C_NODE_ELEMENT if nodes else _C_ANALYTIC


def estimate_cost(surface, *, optimizers: int = 0, starts: int = 0, steps: int = 0,
                  resolution: int = 0, batch_size: int | None = None, cloud: int = 0,
                  csv_rows: bool = False, gif: bool = False) -> dict:
    """The estimated computing time of a request, in seconds, with its parts.

    Args:
      surface: the library's surface (``resolve_surface(spec)``).
      optimizers, starts, steps, batch_size: a run of ``optimizers x starts`` runs (0: no run).
      resolution: a ``resolution x resolution`` contour grid (0: no grid).
      cloud: minibatch gradients drawn at one point (with ``batch_size``).
      csv_rows: the run is also written as CSV. gif: the run is also rendered as a GIF (its
        contour grid; the frames are bounded by their own cap and one GIF renders at a time).

    Returns ``{"seconds": total, "run": s, "grid": s, "cloud": s, "export": s}``.
    """
    nodes = formula_nodes(surface)
    per_point = _point_cost(surface, batch_size=batch_size)
    runs = optimizers * starts
    run_s = (steps + 1) * (optimizers * (_C_GROUP_STEP + nodes * _C_NODE_CALL)
                           + runs * per_point) if runs else 0.0
    value_point = _point_cost(surface, batch_size=None) / 2  # J alone
    grid_s = resolution ** 2 * value_point
    cloud_s = 0.0
    if cloud:
        c = _C_DATA.get(getattr(surface, "loss", None), _C_DATA_DEFAULT)
        cloud_s = c * (cloud * int(batch_size or 1) + int(getattr(surface, "n", 0)))
    export_s = (steps + 1) * runs * _C_CSV_ROW if csv_rows else 0.0
    if gif:
        export_s += _GIF_GRID ** 2 * value_point
    return {"seconds": run_s + grid_s + cloud_s + export_s, "run": run_s, "grid": grid_s,
            "cloud": cloud_s, "export": export_s}


def check_cost(surface, *, optimizers: int = 0, starts: int = 0, steps: int = 0,
               resolution: int = 0, batch_size: int | None = None, cloud: int = 0,
               csv_rows: bool = False, gif: bool = False,
               limit: float | None = None) -> float:
    """Refuse a request whose estimated computing time is over ``limit`` seconds (default
    ``LIMITS.max_cost_seconds``); returns the estimate.

    The playground calls it before computing anything; a notebook front end can call it with
    the same arguments to apply the same bounds. Arguments as :func:`estimate_cost`.

    Raises:
      RequestError: status 422, saying what the work is made of and which lever to lower to
        what (the resolution, the data set's n, the steps, the number of optimizers, the
        formula, the minibatch draws).

    Example:
      >>> from descentlab import surfaces
      >>> s = surfaces.get("linear_fit", loss="log_cosh", n=2000)
      >>> check_cost(s, resolution=100) < 1
      True
      >>> check_cost(s, resolution=240)  # doctest: +ELLIPSIS
      Traceback (most recent call last):
      ...
      descentlab.web._service.RequestError: this request would take about 4.0 s of computing ...
    """
    limit = LIMITS.max_cost_seconds if limit is None else float(limit)
    kw = dict(optimizers=optimizers, starts=starts, steps=steps, resolution=resolution,
              batch_size=batch_size, cloud=cloud, csv_rows=csv_rows, gif=gif)
    cost = estimate_cost(surface, **kw)
    if cost["seconds"] <= limit:
        return cost["seconds"]
    data = _is_data(surface)
    nodes = formula_nodes(surface)
    parts, levers = [], []
    if data:
        parts.append(f"{int(surface.n):,} data points with the {surface.loss} loss")
    if nodes:
        parts.append(f"a formula of {nodes:,} operations (value and gradient)")
    if resolution:
        parts.append(f"a {resolution} x {resolution} grid")
        fixed = cost["seconds"] - cost["grid"]
        room = limit - fixed
        if room > 0:
            r = int(math.sqrt(room / max(cost["grid"] / resolution ** 2, 1e-30)))
            if r >= LIMITS.min_grid:
                levers.append(f"resolution to at most {r}")
    if optimizers * starts:
        parts.append(f"{optimizers} optimizer{'s' if optimizers > 1 else ''} x {starts} "
                     f"start{'s' if starts > 1 else ''} x {steps:,} steps")
        per_step = cost["run"] / (steps + 1) + (cost["export"] / (steps + 1) if csv_rows else 0)
        room = limit - (cost["seconds"] - cost["run"] - (cost["export"] if csv_rows else 0))
        k = int(room / per_step) - 1 if room > 0 else 0
        if k >= 1:
            levers.append(f"steps to at most {k:,}")
        if optimizers > 1:
            levers.append("fewer optimizers")
        if starts > 1:
            levers.append("fewer starts")
    if cloud:
        parts.append(f"{cloud} minibatches of {batch_size}")
        levers.append("a smaller count or batch_size")
    if data:
        # the data set's size scales every part that evaluates the surface
        scale = limit / cost["seconds"]
        n = int(int(surface.n) * scale)
        if n >= 2:
            levers.append(f"the data set's n to at most {n:,}")
    if nodes:
        levers.append("a shorter formula")
    raise RequestError(
        f"this request would take about {cost['seconds']:.1f} s of computing "
        f"({' x '.join(parts) if parts else 'its work'}); the limit is {limit:g} s per "
        f"request. Lower {', or '.join(levers) if levers else 'the work asked for'}.")


def _watched(surface, cancel):
    """A copy of ``surface`` whose evaluations raise :class:`Cancelled` once ``cancel`` is set
    (``lab.run`` evaluates the surface at every step; the copy shares the data and caches)."""
    if cancel is None:
        return surface
    s = copy.copy(surface)

    def guard(fn):
        if fn is None:
            return None

        def checked(*args, **kwargs):
            if cancel.is_set():
                raise Cancelled()
            return fn(*args, **kwargs)
        return checked

    for name in ("_value", "_grad", "_value_and_grad"):
        if getattr(s, name, None) is not None:
            setattr(s, name, guard(getattr(s, name)))
    for name in ("value", "grad", "value_and_grad", "minibatch_grads"):
        if hasattr(s, name):
            setattr(s, name, guard(getattr(s, name)))
    return s


# --------------------------------------------------------------------------- JSON
def to_json(a) -> list | float | None:
    """An array as nested lists; NaN and +-inf become ``null`` (JSON has no such numbers).

    >>> to_json(np.array([1.0, np.nan, np.inf]))
    [1.0, None, None]
    """
    a = np.asarray(a)
    if a.dtype.kind in "biu":
        return a.tolist()
    a = a.astype(np.float64, copy=False)
    finite = np.isfinite(a)
    if finite.all():
        return a.tolist()
    o = a.astype(object)
    o[~finite] = None
    return o.tolist()


def _scalar(x):
    """A number (or None for NaN/inf) from a Python or NumPy scalar; other values unchanged."""
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else None
    return x


def _plain(value):
    """Recursively turn arrays, tuples and NumPy scalars into JSON-ready values."""
    if isinstance(value, np.ndarray):
        return to_json(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return _scalar(value)


# --------------------------------------------------------------------------- optimizers
def _slider(h) -> dict:
    """A slider range for a numeric hyperparameter: a UI hint, not a limit.

    The number field next to the slider accepts any value in the validation interval (the server
    validates with the library's own checks); the slider covers the useful part of it: a log scale
    over [1e-5, 10] for learning rates, [1e-12, 1] for eps, the interval itself for bounded ones
    (open ends pulled in by one slider step), and three decades either side of the default else.
    """
    iv = h.interval
    if h.name == "lr":
        return {"scale": "log", "min": 1e-5, "max": 10.0}
    if h.name == "eps":
        return {"scale": "log", "min": 1e-12, "max": 1.0}
    if iv.low is not None and iv.high is not None:
        step = (iv.high - iv.low) / 1000
        return {"scale": "linear", "min": iv.low + (0 if iv.low_closed else step),
                "max": iv.high - (0 if iv.high_closed else step), "step": step}
    d = float(h.default)
    if d > 0:
        return {"scale": "log", "min": d / 1000, "max": d * 1000}
    return {"scale": "linear", "min": 0.0 if iv.low is None else iv.low, "max": 1.0, "step": 0.001}


def _hyperparameter(h) -> dict:
    if h.interval is None:
        return {"name": h.name, "kind": "choice", "default": h.default,
                "choices": list(h.choices), "doc": h.doc}
    iv = h.interval
    return {
        "name": h.name, "kind": "number", "default": float(h.default), "doc": h.doc,
        "interval": {"low": iv.low, "high": iv.high, "low_closed": iv.low_closed,
                     "high_closed": iv.high_closed, "text": str(iv)},
        "slider": _slider(h),
    }


@functools.cache
def optimizer_catalog() -> list[dict]:
    """Every optimizer with its family-tree entry and its hyperparameters' schemas."""
    out = []
    for name, fam in optim.family_tree().items():
        cls = optim.lookup(name)
        out.append({
            "name": name,
            "summary": (cls.__doc__ or "").strip().splitlines()[0],
            "family": {"parents": list(fam.parents), "branch": fam.branch, "year": fam.year,
                       "paper": fam.paper, "motto": fam.motto},
            "state": list(cls.buffers),
            "hyperparameters": [_hyperparameter(h) for h in cls.hyperparameter_specs()],
        })
    return out


def build_optimizer(spec: OptimizerSpec):
    """``descentlab.optim.get(name, **hyperparameters)``, refusing names the optimizer lacks."""
    cls = optim.lookup(spec.name)  # ValueError listing the valid choices
    known = [h.name for h in cls.hyperparameter_specs()]
    unknown = [k for k in spec.hyperparameters if k not in known]
    if unknown:
        raise RequestError(f"{cls.__name__} has no hyperparameter {unknown[0]!r}. Valid names: "
                           f"{', '.join(known)}.")
    return cls(**spec.hyperparameters)


# --------------------------------------------------------------------------- surfaces
_TITLES = {
    "bowl": "Round bowl", "ravine": "Ravine (ill-conditioned)", "rosenbrock": "Rosenbrock",
    "beale": "Beale", "himmelblau": "Himmelblau (four minima)", "saddle": "Saddle",
    "rastrigin": "Rastrigin (many local minima)",
    "lecture_lr": "Lecture's learning-rate problem",
    "linear_fit": "Line fit with a chosen loss",
}
_LOSS_LABELS = {"mse": "MSE (L2)", "mae": "MAE (L1)", "huber": "Huber", "log_cosh": "log-cosh",
                "quantile": "quantile"}
_surface_lock = threading.Lock()


def _surfaces():
    from descentlab import surfaces

    return surfaces


def _is_data(surface) -> bool:
    return hasattr(surface, "minibatch_grads")


def _takes_options(name: str) -> bool:
    """Whether ``surfaces.get(name, loss=...)`` accepts data options (``linear_fit`` does)."""
    try:
        _surfaces().get(name, loss="mse")
    except ValueError:
        return False
    return True


def _describe_surface(name: str, s) -> dict:
    out = {
        "name": name, "title": _TITLES.get(name, name),
        "kind": "data" if _is_data(s) else "analytic",
        "description": s.description, "formula": s.formula,
        "bounds": [list(b) for b in s.bounds], "minima": to_json(s.minima),
        "start": to_json(s.start),
        "curvatures": None if s.curvatures is None else list(s.curvatures),
    }
    if _is_data(s):
        options = _takes_options(name)
        surfaces = _surfaces()
        out["data"] = {
            "n": int(s.n), "loss": s.loss, "options": options,
            "losses": list(surfaces.REGRESSION_LOSSES) if options else [s.loss],
            "axes": ["w (slope)", "b (intercept)"],
        }
    return out


@functools.cache
def surface_catalog() -> dict:
    """The catalog: every surface's description, bounds, minima and suggested start."""
    surfaces = _surfaces()
    return {
        "surfaces": [_describe_surface(name, surfaces.get(name)) for name in surfaces.names()],
        "losses": [{"name": n, "label": _LOSS_LABELS.get(n, n)}
                   for n in surfaces.REGRESSION_LOSSES],
        "expression": {"max_chars": LIMITS.max_expression_chars,
                       "default_bounds": [[-3, 3], [-3, 3]]},
    }


@functools.lru_cache(maxsize=64)
def _catalog_surface(name: str, options: tuple):
    return _surfaces().get(name, **dict(options))


@functools.lru_cache(maxsize=128)
def _expression_surface(text: str):
    return _surfaces().from_expression(text)


def resolve_surface(spec: SurfaceSpec):
    """The library's surface for a request's ``surface`` field (cached: surfaces are immutable)."""
    if spec.expression is not None:
        with _surface_lock:  # sympy's caches are not documented as thread-safe
            return _expression_surface(spec.expression.strip())
    options = ()
    if spec.data is not None:
        options = tuple(sorted((k, v) for k, v in spec.data.model_dump().items() if v is not None))
    return _catalog_surface(spec.name.lower(), options)


def check_expression(text: str) -> dict:
    """``{"valid": True, formula, gradient, bounds, start}`` or ``{"valid": False, "message"}``."""
    try:
        s = resolve_surface(SurfaceSpec(expression=text))
    except ValueError as err:
        return {"valid": False, "message": str(err)}
    return {"valid": True, "formula": s.formula,
            "gradient": list(getattr(s, "gradient_formula", ())),
            "bounds": [list(b) for b in s.bounds], "start": to_json(s.start),
            "minima": to_json(s.minima)}


#: points x data points evaluated in one call of a grid: the temporaries of a data surface's
#: loss stay a few MB (one 240 x 240 grid of n = 2000 at once took 5.6 GB and 4x the time)
_GRID_CHUNK_ELEMENTS = 1 << 18


def surface_values(surface, points, cancel=None) -> np.ndarray:
    """J at ``points`` (shape (k, 2)), in chunks that bound memory; checks ``cancel``."""
    s = _watched(surface, cancel)
    n = int(getattr(surface, "n", 1)) if _is_data(surface) else 1
    step = max(1, _GRID_CHUNK_ELEMENTS // n)
    out = np.empty(len(points), dtype=np.float64)
    with np.errstate(all="ignore"):
        for a in range(0, len(points), step):
            out[a:a + step] = np.asarray(s.value(points[a:a + step]), dtype=np.float64)
    return out


def grid(req: GridRequest, cancel=None) -> dict:
    """The surface's values on a ``resolution`` x ``resolution`` grid over the view."""
    s = resolve_surface(req.surface)
    check_cost(s, resolution=req.resolution)
    (x0, x1), (y0, y1) = req.bounds if req.bounds is not None else s.bounds
    x = np.linspace(x0, x1, req.resolution)
    y = np.linspace(y0, y1, req.resolution)
    X, Y = np.meshgrid(x, y)
    Z = surface_values(s, np.stack((X, Y), axis=-1).reshape(-1, 2), cancel).reshape(X.shape)
    finite = Z[np.isfinite(Z)]
    return {
        "surface": _describe_surface(s.name, s) if req.surface.name else {
            "name": s.name, "kind": "analytic", "formula": s.formula,
            "description": s.description, "start": to_json(s.start)},
        "axes": ["w", "b"] if _is_data(s) else ["x", "y"],
        "bounds": [[float(x0), float(x1)], [float(y0), float(y1)]],
        "x": to_json(x), "y": to_json(y), "z": to_json(Z),
        "zmin": float(finite.min()) if finite.size else None,
        "zmax": float(finite.max()) if finite.size else None,
        "minima": to_json(s.minima),
    }


def cloud(req: CloudRequest, cancel=None) -> dict:
    """``count`` minibatch gradients at ``point`` and the full-batch gradient there."""
    s = resolve_surface(req.surface)
    if not _is_data(s):
        raise RequestError(f"The surface {s.name!r} has no data set: minibatch gradients exist "
                           "only for data surfaces (lecture_lr, linear_fit).")
    check_cost(s, cloud=req.count, batch_size=req.batch_size)
    s = _watched(s, cancel)
    point = np.asarray(req.point, dtype=np.float64)
    with np.errstate(all="ignore"):
        grads = s.minibatch_grads(point, req.batch_size, req.count, np.random.default_rng(req.seed))
        full = s.grad(point)
    return {"point": to_json(point), "full": to_json(full), "grads": to_json(grads),
            "batch_size": req.batch_size, "count": req.count, "seed": req.seed}


# --------------------------------------------------------------------------- runs
def canonical_name(name: str) -> str:
    """The optimizer's class name for a case-insensitive ``name`` (ValueError lists choices)."""
    return optim.lookup(name).__name__


def run_arrays(req: RunRequest, cancel=None, *, csv_rows: bool = False,
               gif: bool = False) -> dict:
    """``descentlab.lab.run`` for a request: the surface, the Runs and per-run metadata.

    The call is exactly ``lab.run(surface, [(name, hyperparameters), ...], starts, steps=,
    seed=, batch_size=, record_state=)``: runs are ordered optimizer by optimizer, then start by
    start (run ``i`` is optimizer ``i // len(starts)`` from start ``i % len(starts)``).
    """
    from descentlab import lab

    s = resolve_surface(req.surface)
    specs = []
    for spec in req.optimizers:
        build_optimizer(spec)  # names and ranges checked with the library's messages first
        specs.append((canonical_name(spec.name), dict(spec.hyperparameters)))
    if req.batch_size is not None and not _is_data(s):
        raise RequestError(f"batch_size applies to data surfaces only (lecture_lr, linear_fit); "
                           f"{s.name!r} has no data to sample. Send batch_size: null.")
    starts = np.asarray(req.starts, dtype=np.float64)
    check_cost(s, optimizers=len(specs), starts=len(starts), steps=req.steps,
               batch_size=req.batch_size, csv_rows=csv_rows, gif=gif)
    from descentlab.surfaces._expression import check_defined_at

    check_defined_at(s, starts, what="the start")  # a NaN start: 422, not "ok" and no curve
    runs = lab.run(_watched(s, cancel), specs, starts, steps=req.steps, seed=req.seed,
                   batch_size=req.batch_size, record_state=req.record_state, progress=False)
    runs.surface = s
    K = len(starts)
    meta = []
    for i in range(len(runs)):
        m = runs.meta[i]
        d = int(runs.diverged_at[i])
        meta.append({
            "index": i, "optimizer": m["optimizer"], "label": runs.label(i),
            "optimizer_index": i // K, "start_index": i % K,
            "start": list(m["start"]), "hyperparameters": m["hyperparameters"],
            "diverged_at": None if d < 0 else d,
        })
    return {"surface": s, "runs_object": runs, "runs": meta,
            "trajectories": runs.trajectories, "losses": runs.losses}


def run(req: RunRequest, cancel=None) -> dict:
    """The JSON answer to POST /api/run (see ``RunResponse`` for the fields)."""
    out = run_arrays(req, cancel)
    runs, s = out["runs_object"], out["surface"]
    with np.errstate(all="ignore"):
        metrics = runs.metrics(req.tolerance, columns=True)
    states = None
    if runs.states is not None:
        states = {k: to_json(v) for k, v in runs.states.items()}
    return {
        "surface": {"name": s.name, "formula": s.formula, "bounds": [list(b) for b in s.bounds],
                    "minima": to_json(s.minima), "spec": _plain(s.spec)},
        "steps": runs.steps,
        "runs": out["runs"],
        "trajectories": to_json(runs.trajectories),
        "losses": to_json(runs.losses),
        "diverged_at": to_json(runs.diverged_at),
        "metrics": {k: to_json(v) for k, v in metrics.items()},
        "metric_settings": {"tolerance": req.tolerance},
        "states": states,
        "settings": _plain(runs.settings),
    }


def csv(req: RunRequest, cancel=None) -> str:
    """The runs as CSV, written by ``Runs.to_csv`` (one row per trajectory point).

    ``to_csv`` writes a file, so it writes into a private temporary directory that is removed
    afterwards; no part of the request reaches the path.
    """
    import tempfile
    from pathlib import Path

    runs = run_arrays(req, cancel, csv_rows=True)["runs_object"]
    with tempfile.TemporaryDirectory(prefix="descentlab-web-") as tmp:
        path = Path(tmp) / "runs.csv"
        runs.to_csv(path)
        return path.read_text(encoding="utf-8")
