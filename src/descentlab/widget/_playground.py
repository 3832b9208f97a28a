"""``Playground``: the playground page as a notebook widget (anywidget), computed by the kernel."""

from __future__ import annotations

import itertools

import anywidget
import traitlets

from descentlab.widget import _bundle

__all__ = ["Playground"]

DEFAULT_OPTIMIZERS = ("gd:lr=0.001", "momentum:lr=0.001,gamma=0.9", "adam:lr=0.05")
GRID_RESOLUTION = 160  # points per axis of the contour grid, as on the page


def _service():
    # the playground server's computations and models (pydantic); imported on first use
    from descentlab.web import _models, _service

    return _service, _models


def _message(err: Exception) -> str:
    """One readable line for a refused setting (pydantic's list of errors joined, as the server
    does in ``descentlab.web._server._readable``)."""
    errors = getattr(err, "errors", None)
    if callable(errors):
        try:
            parts = []
            for e in errors():
                loc = ".".join(str(x) for x in e.get("loc", ()))
                msg = str(e.get("msg", "invalid value")).removeprefix("Value error, ")
                parts.append(f"{loc}: {msg}" if loc else msg)
            return "; ".join(parts)
        except TypeError:
            pass
    return str(err)


def _parse_spec(spec: str) -> list[tuple[str, dict]]:
    """A CLI optimizer spec (``"adam:lr=0.01|0.1"``) as one (name, hyperparameters) per run."""
    # the command line's mini-language; another change moves it to descentlab.lab._specs
    from descentlab.lab._specs import parse_optimizer

    name, hp = parse_optimizer(spec)
    keys = list(hp)
    grids = [v if isinstance(v, list) else [v] for v in hp.values()]
    return [(name, dict(zip(keys, combo, strict=True))) for combo in itertools.product(*grids)]


def normalize_optimizers(optimizers) -> list[dict]:
    """Optimizers as the widget keeps them: ``[{"name": "Adam", "hyperparameters": {...}}, ...]``.

    Each item is a CLI spec (``"adam"``, ``"nag:lr=0.01,gamma=0.9"``; ``lr=0.01|0.1`` gives two
    entries), a ``(name, {hyperparameters})`` pair, or such a dict. Names are made canonical and
    every hyperparameter the optimizer has is filled in with its default, so the list says exactly
    what runs. Unknown names raise ValueError listing the valid ones; values are checked later, by
    the playground's validation, when the runs are computed.

    >>> normalize_optimizers(["nag:lr=0.01"])
    [{'name': 'NAG', 'hyperparameters': {'lr': 0.01, 'gamma': 0.9}}]
    >>> [o["hyperparameters"]["lr"] for o in normalize_optimizers(["adam:lr=0.01|0.1"])]
    [0.01, 0.1]
    >>> normalize_optimizers([("momentum", {"beta": 1})])
    Traceback (most recent call last):
    ...
    ValueError: Momentum has no hyperparameter 'beta'. Valid names: lr, gamma.
    """
    from descentlab import optim

    one_pair = (isinstance(optimizers, tuple) and len(optimizers) == 2
                and isinstance(optimizers[1], dict))
    if isinstance(optimizers, (str, dict)) or one_pair:
        optimizers = [optimizers]
    out = []
    for item in optimizers:
        if isinstance(item, str):
            pairs = _parse_spec(item)
        elif isinstance(item, dict) and "name" in item:
            pairs = [(item["name"], dict(item.get("hyperparameters") or {}))]
        elif isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[1], dict):
            pairs = [(item[0], dict(item[1]))]
        else:
            raise ValueError(f"an optimizer is a spec such as 'adam:lr=0.1', a (name, "
                             f"{{hyperparameters}}) pair or a dict with 'name'; got {item!r}")
        for name, hp in pairs:
            cls = optim.lookup(str(name))  # ValueError listing the valid names
            specs = cls.hyperparameter_specs()
            known = [h.name for h in specs]
            unknown = [k for k in hp if k not in known]
            if unknown:
                raise ValueError(f"{cls.__name__} has no hyperparameter {unknown[0]!r}. Valid "
                                 f"names: {', '.join(known)}.")
            full = {}
            for h in specs:
                v = hp.get(h.name, h.default)
                full[h.name] = v if isinstance(v, str) or h.interval is None else float(v)
            out.append({"name": cls.__name__, "hyperparameters": full})
    if not out:
        raise ValueError("give at least one optimizer, e.g. optimizers=['adam:lr=0.05']")
    return out


class Playground(anywidget.AnyWidget):
    """The playground in a notebook cell: a surface, optimizers with sliders, a start to click.

    The front end is the playground page's own JavaScript (the contour plot, the loss chart, the
    inspector, the slider mapping), inlined into one ES module (see ``_bundle.py``). The kernel
    computes: every change goes through the playground server's validation and cost bounds
    (``descentlab.web._models.RunRequest``) and ``descentlab.web._service.run``, which calls
    ``descentlab.lab.run``. No server is started, so it works wherever anywidget does (JupyterLab,
    Notebook 7, VS Code, Colab).

    State is two-way: setting ``surface``, ``optimizers``, ``start``, ``steps`` (or
    ``batch_size``, ``seed``, ``tolerance``) from Python redraws the widget, and a click on the plot
    sets ``start``, which Python then reads. A setting the playground refuses (a learning rate out
    of range, too many runs x steps) leaves the last picture in place, shows the message in the
    widget and in ``error``; ``error`` is ``""`` after a successful run.

    Args:
      surface: a catalog surface (``descentlab.surfaces.names()``) or a formula in x and y
        (``"x**2 + 10*y**2"``, parsed by the lab's safe parser). Setting it later also moves
        ``start`` to the surface's suggested start; set ``start`` afterwards to choose another.
      optimizers: CLI specs (``"adam:lr=0.05"``, ``"nag:lr=0.001,gamma=0.9"``; a ``|`` list such
        as ``"adam:lr=0.01|0.1"`` gives one entry per value), ``(name, {hyperparameters})`` pairs,
        or dicts; read back as ``[{"name": "Adam", "hyperparameters": {...every value...}}]``.
      start: the start point ``(x, y)``; default: the surface's suggested start.
      steps: iterations per run, in [1, 5000] (and at most 40,000 runs x steps, as on the page).
      batch_size: minibatch size on a data surface (``lecture_lr``, ``linear_fit``); None: full
        batch.

    Attributes:
      runs: the ``descentlab.lab.Runs`` of what the widget shows (its metrics, ``to_csv``, ...).
      error: the message of the last refused setting, or ``""``.

    Example:
      >>> from descentlab.widget import Playground
      >>> w = Playground(surface="rosenbrock", optimizers=["adam:lr=0.05", "momentum:lr=0.001"])
      >>> w.start, len(w.runs), w.runs.steps
      ((-1.2, 1.0), 2, 300)
      >>> w.start = (0.5, 2.0)                    # what a click on the plot does
      >>> w.runs.trajectories[0, 0].tolist()
      [0.5, 2.0]
      >>> w.optimizers = ["adam:lr=-1"]           # refused: the message shows in the widget
      >>> w.error
      "The 'lr' parameter of Adam must be a float in the range [0.0, inf). Got -1.0 instead."
    """

    _esm = _bundle.esm()
    _css = _bundle.css()

    surface = traitlets.Unicode("rosenbrock").tag(sync=True)
    optimizers = traitlets.Any([]).tag(sync=True)  # normalized by _valid_optimizers to a list
    start = traitlets.Tuple(traitlets.Float(), traitlets.Float(), default_value=(0.0, 0.0)).tag(
        sync=True)
    steps = traitlets.Int(300).tag(sync=True)
    batch_size = traitlets.Int(None, allow_none=True).tag(sync=True)
    seed = traitlets.Int(0).tag(sync=True)
    tolerance = traitlets.Float(1e-3).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    # computed by the kernel, drawn by the front end
    _catalog = traitlets.Dict().tag(sync=True)
    _grid = traitlets.Dict().tag(sync=True)
    _result = traitlets.Dict().tag(sync=True)
    _computed = traitlets.Int(0).tag(sync=True)  # bumped with every answer, refused or not

    def __init__(self, surface: str = "rosenbrock", optimizers=DEFAULT_OPTIMIZERS, start=None, *,
                 steps: int = 300, batch_size: int | None = None, seed: int = 0,
                 tolerance: float = 1e-3, **kwargs):
        service, models = _service()
        self._quiet = True  # no recomputing while the constructor sets the traits one by one
        self._request = None
        self._runs = None
        super().__init__(**kwargs)
        self._catalog = {"optimizers": service.optimizer_catalog(),
                         "surfaces": service.surface_catalog(),
                         "limits": models.LIMITS.model_dump()}
        self.surface = surface
        self.optimizers = optimizers
        self.steps, self.batch_size, self.seed, self.tolerance = steps, batch_size, seed, tolerance
        try:
            self.start = self._surface().start.tolist() if start is None else start
        except ValueError as err:
            raise ValueError(_message(err)) from None
        self._quiet = False
        self._recompute(grid=True)
        if self.error:
            raise ValueError(self.error)
        self.on_msg(self._on_message)

    # ------------------------------------------------------------------ validation
    @traitlets.validate("optimizers")
    def _valid_optimizers(self, proposal):
        return normalize_optimizers(proposal["value"])

    @traitlets.validate("surface")
    def _valid_surface(self, proposal):
        text = str(proposal["value"]).strip()
        if not text:
            raise ValueError("surface is a catalog name (descentlab.surfaces.names()) or a "
                             "formula in x and y; got an empty string")
        return text

    # ------------------------------------------------------------------ computing
    def _surface_spec(self):
        from descentlab import surfaces

        _, models = _service()
        name = self.surface
        if name.lower() in surfaces.names():
            return models.SurfaceSpec(name=name.lower())
        return models.SurfaceSpec(expression=name)

    def _surface(self):
        service, _ = _service()
        return service.resolve_surface(self._surface_spec())

    def _run_request(self):
        _, models = _service()
        return models.RunRequest(
            surface=self._surface_spec(),
            optimizers=[models.OptimizerSpec(**o) for o in self.optimizers],
            starts=[list(self.start)], steps=self.steps, seed=self.seed,
            batch_size=self.batch_size, record_state=True, tolerance=self.tolerance)

    def _recompute(self, *, grid: bool) -> None:
        """Validate and run the current settings; publish the answer or the refusal."""
        service, models = _service()
        update = {}
        try:
            if grid:
                update["_grid"] = service.grid(models.GridRequest(
                    surface=self._surface_spec(), resolution=GRID_RESOLUTION))
            request = self._run_request()
            answer = service.run(request)
        except ValueError as err:  # pydantic's ValidationError and the library's errors
            update["error"] = _message(err)
        else:
            answer["request"] = request.model_dump(mode="json", exclude_none=True)
            update.update(_result=answer, error="")
            self._request, self._runs = request, None
        with self.hold_sync():
            for name, value in update.items():
                setattr(self, name, value)
            self._computed += 1

    @traitlets.observe("surface")
    def _surface_changed(self, change):
        if self._quiet:
            return
        try:
            start = self._surface().start.tolist()
        except ValueError as err:
            with self.hold_sync():
                self.error = _message(err)
                self._computed += 1
            return
        self._quiet = True
        try:
            self.start = start
        finally:
            self._quiet = False
        self._recompute(grid=True)

    @traitlets.observe("optimizers", "start", "steps", "batch_size", "seed", "tolerance")
    def _settings_changed(self, change):
        if not self._quiet:
            self._recompute(grid=False)

    def _on_message(self, widget, content, buffers):
        """The front end's requests through the inspector's ``postJSON`` (the minibatch cloud)."""
        if not isinstance(content, dict) or content.get("type") != "api":
            return
        service, models = _service()
        reply = {"type": "api-answer", "id": content.get("id")}
        try:
            if content.get("path") != "/api/cloud":
                raise ValueError(f"the widget answers /api/cloud only; got {content.get('path')!r}")
            reply["answer"] = service.cloud(models.CloudRequest(**(content.get("body") or {})))
        except (ValueError, TypeError) as err:
            reply["error"] = _message(err)
        self.send(reply)

    # ------------------------------------------------------------------ results
    @property
    def runs(self):
        """The ``descentlab.lab.Runs`` the widget shows (recomputed, identically, on first use)."""
        if self._request is None:
            return None
        if self._runs is None:
            service, _ = _service()
            self._runs = service.run_arrays(self._request)["runs_object"]
        return self._runs
