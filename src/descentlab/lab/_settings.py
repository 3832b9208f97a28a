"""The lab commands' settings: the defaults, ``--config``/``--save-config``, and their checks.

Every command resolves its settings in three layers, later ones winning: the built-in defaults
(``DEFAULTS``), a JSON file given with ``--config FILE`` (as written by ``--save-config FILE``),
and the options given on the command line. Cheap to import (no NumPy).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

from descentlab.lab._specs import (
    UsageError,
    _bounds,
    _minimum,
    _option,
    _validate_values,
    _xy,
    parse_optimizer,
)

__all__ = ["DEFAULTS", "DEFAULT_GRIDS", "SWEEP_METRICS", "SURFACES", "default_grid"]

DEFAULTS: dict[str, dict] = {
    "tour": {"out": "tour", "seed": 0, "quick": False, "animation": True, "dpi": 90},
    "race": {"surface": "rosenbrock", "surface_option": [], "expr": None, "minimum": [],
             "bounds": None,
             "optimizer": ["gd:lr=0.002", "momentum:lr=0.001,gamma=0.9", "adam:lr=0.1"],
             "start": [], "steps": 500, "seed": 0, "batch_size": None, "tol": 1e-3,
             "out": "race.png", "frames": 60, "fps": 15, "dpi": 100, "csv": None,
             "json": None, "metrics": None},
    "sweep": {"surface": "ravine", "surface_option": [], "expr": None, "minimum": [],
              "bounds": None,
              "optimizer": "momentum", "grid": None,
              "metric": "steps_to_tol", "start": [], "steps": 300, "seed": 0,
              "batch_size": None, "tol": 1e-3, "out": "sweep.png", "dpi": 100},
    "basins": {"surface": "himmelblau", "surface_option": [], "expr": None, "minimum": [],
               "bounds": None,
               "optimizer": ["gd:lr=0.01", "momentum:lr=0.01,gamma=0.9", "adam:lr=0.1"],
               "grid": 60, "steps": 200, "radius": None, "out": "basins.png", "dpi": 100},
}

#: ``sweep``'s grid when no --grid is given (``"grid": null`` in a config file), per optimizer:
#: the hyperparameters that shape its behaviour most, over the ranges where it goes from too
#: timid to diverging on the catalog surfaces. Two axes (a heat map) where the optimizer has a
#: second such knob (the momentum or averaging factor), the learning rate alone (a line plot) for
#: GD, SGD and Adagrad. An axis the --optimizer spec already fixes is left out.
DEFAULT_GRIDS: dict[str, list[str]] = {
    "GD": ["lr=0.001:1:30:log"],
    "SGD": ["lr=0.001:1:30:log"],
    "Momentum": ["lr=0.001:1:30:log", "gamma=0:0.98:30"],
    "NAG": ["lr=0.001:1:30:log", "gamma=0:0.98:30"],
    "Adagrad": ["lr=0.01:100:30:log"],
    "RMSProp": ["lr=0.0001:1:30:log", "gamma=0:0.99:30"],
    "AdaDelta": ["gamma=0:0.99:30", "eps=1e-08:0.1:30:log"],
    "Adam": ["lr=0.001:10:30:log", "beta1=0:0.99:30"],
    "Nadam": ["lr=0.001:10:30:log", "beta1=0:0.99:30"],
}


def default_grid(name: str, hp: dict) -> list[str]:
    """The default ``--grid`` values of optimizer ``name`` (a class name) whose spec fixes the
    hyperparameters ``hp``: :data:`DEFAULT_GRIDS` without the fixed axes; UsageError when the
    spec fixes them all."""
    grid = [g for g in DEFAULT_GRIDS[name] if g.partition("=")[0] not in hp]
    if not grid:
        raise UsageError(f"--optimizer fixes every hyperparameter of {name}'s default grid "
                         f"({' '.join(DEFAULT_GRIDS[name])}); give the axes to sweep with "
                         "--grid NAME=START:STOP:NUM[:log].")
    return grid


#: the metrics a sweep can colour by (``lab.METRICS``, listed here so that --help needs no NumPy)
SWEEP_METRICS = ("final_loss", "loss_gap", "distance", "nearest_minimum", "first_within_tol",
                 "steps_to_tol", "path_length", "oscillation", "diverged_at")
_OPERATIONAL = ("config", "save_config", "dry_run", "progress", "func", "command")
_FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
_ANIMATION_SUFFIXES = (".gif", ".mp4")


class _Choices:
    """A container argparse can use as ``choices`` whose items are loaded on first use, so that
    registering the command stays cheap (no NumPy import) while errors and --help list them."""

    def __init__(self, loader):
        self._loader = loader
        self._items = None

    def _get(self):
        if self._items is None:
            self._items = list(self._loader())
        return self._items

    def __contains__(self, item):
        return item in self._get()

    def __iter__(self):
        return iter(self._get())

    def __len__(self):
        return len(self._get())

def _surface_names():
    from descentlab import surfaces

    return surfaces.names()

def _optimizer_names():
    from descentlab import optim

    return optim.names()


SURFACES = _Choices(_surface_names)


def _resolve(command: str, args: argparse.Namespace) -> dict:
    """Defaults, then --config FILE, then the command line."""
    settings = copy.deepcopy(DEFAULTS[command])
    settings["_command"] = command  # for messages; removed before the settings are printed
    if getattr(args, "config", None):
        try:
            data = json.loads(Path(args.config).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise UsageError(f"cannot read the config file {args.config}: {e}") from None
        if not isinstance(data, dict) or not isinstance(data.get("settings"), dict):
            raise UsageError(f"{args.config}: a config file is a JSON object "
                             '{"command": ..., "settings": {...}} as written by --save-config.')
        if data.get("command") != command:
            raise UsageError(f"{args.config} holds settings for {data.get('command')!r}, "
                             f"not for {command!r}.")
        unknown = sorted(set(data["settings"]) - set(DEFAULTS[command]))
        if unknown:
            raise UsageError(f"{args.config}: unknown setting(s) {unknown} for {command!r}. "
                             f"Valid keys: {', '.join(DEFAULTS[command])}.")
        settings.update(data["settings"])
    given = {k: v for k, v in vars(args).items() if k not in _OPERATIONAL}
    if "expr" in given and "surface" in given:
        raise UsageError("give --surface NAME or --expr FORMULA, not both.")
    if "surface" in given:
        settings["expr"] = None
    settings.update(given)
    if settings.get("expr") is not None:
        settings["surface"] = None  # the formula replaces the catalog surface
    return settings

def _announce(command: str, settings: dict, args) -> bool:
    """Print the settings; save them with --save-config. Returns False for --dry-run."""
    settings = {k: v for k, v in settings.items() if k != "_command"}
    text = json.dumps(settings, sort_keys=False)
    print(f"descentlab {command} settings: {text}")
    if getattr(args, "save_config", None):
        path = Path(args.save_config)
        from descentlab._files import atomic_write_text, check_replaceable

        check_replaceable(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({"command": command, "settings": settings},
                                           indent=2) + "\n")
        print(f"saved to {path}; reproduce with: descentlab {command} --config {path}")
    return not getattr(args, "dry_run", False)

def _fail(command: str, message: str) -> int:
    print(f"descentlab {command}: error: {message}", file=sys.stderr)
    return 2

def _guard(command: str):
    """Run a command body, mapping bad settings (UsageError / ValueError) to exit status 2."""
    def wrap(body):
        def run(args) -> int:
            try:
                settings = _resolve(command, args)
                _check_common(settings)
                _check_outputs(settings, args)
                return body(settings, args)
            except ValueError as e:  # UsageError, and the library's own validation messages
                return _fail(command, str(e))

        return run

    return wrap

def _check_outputs(settings: dict, args) -> None:
    """Before any work: every output file the command will write may be written there. An
    existing file that descentlab did not write (no signature) is refused, naming it
    (:func:`descentlab._files.check_replaceable`). The tour's --out is a folder with its own
    rule (its manifest), checked by the tour."""
    from descentlab._files import check_replaceable

    keys = ("csv", "json", "metrics") + (() if settings["_command"] == "tour" else ("out",))
    for path in [settings.get(k) for k in keys] + [getattr(args, "save_config", None)]:
        if path:
            check_replaceable(path)

def _check_common(settings: dict) -> None:
    if "surface" in settings and settings.get("expr") is None:
        name = str(settings["surface"]).lower()
        names = _surface_names()
        if name not in names:
            raise UsageError(f"unknown surface {settings['surface']!r}. Valid choices: "
                             f"{', '.join(names)} (or --expr FORMULA).")
    if "optimizer" in settings:
        specs = settings["optimizer"]
        for spec in specs if isinstance(specs, list) else [specs]:
            _validate_values(*parse_optimizer(spec))
    _check_types(settings)
    from descentlab._validation import check_in_range, check_int
    from descentlab.lab import _limits as L

    ranges = {"seed": (0, None), "steps": (0, None), "dpi": (L.MIN_DPI, L.MAX_DPI),
              "frames": (L.MIN_FRAMES, L.MAX_FRAMES), "fps": (L.MIN_FPS, L.MAX_FPS)}
    if settings.get("batch_size") is not None:
        ranges["batch_size"] = (1, None)
    for key, (low, high) in ranges.items():
        if key in settings:
            check_int(settings[key], name=f"--{key.replace('_', '-')}",
                      owner=f"descentlab {settings['_command']}", low=low, high=high)
    if settings.get("minimum") and settings.get("expr") is None:
        raise UsageError("--minimum gives the minima of an --expr formula; a catalog surface "
                         "knows its own.")
    for text in settings.get("minimum") or []:
        _minimum(text)
    owner = f"descentlab {settings['_command']}"
    if "tol" in settings:
        check_in_range(settings["tol"], name="--tol", owner=owner, low=0.0, low_closed=False)
    if settings.get("radius") is not None:
        check_in_range(settings["radius"], name="--radius", owner=owner, low=0.0,
                       low_closed=False, high_closed=False)


#: the type each setting must have (a config file can hold anything): a tuple of types
_TYPES = {"out": (str,), "csv": (str, type(None)), "json": (str, type(None)),
          "metrics": (str, type(None)),
          "expr": (str, type(None)), "bounds": (str, type(None)), "surface": (str, type(None)),
          "surface_option": (list,), "minimum": (list,), "start": (list,),
          "grid": (list, int, type(None)),
          "metric": (str,), "tol": (int, float), "radius": (int, float, type(None)),
          "batch_size": (int, type(None)), "quick": (bool,), "animation": (bool,)}


def _check_types(settings: dict) -> None:
    names = {str: "a string", list: "a list", int: "an integer", float: "a number",
             bool: "true or false", type(None): "null"}
    for key, types in _TYPES.items():
        if key not in settings:
            continue
        value = settings[key]
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if key == "out" and ok and not value.strip():
            ok = False
        if not ok:
            allowed = " or ".join(names[t] for t in types)
            raise UsageError(f"the setting {key!r} (--{key.replace('_', '-')}) must be "
                             f"{allowed}{' (non-empty)' if key == 'out' else ''}, got "
                             f"{value!r}.")

def _note_minimum(settings: dict) -> None:
    if settings.get("expr") is not None and not settings.get("minimum"):
        print("note: the formula's minima are unknown, so J - f*, the tolerance steps "
              "(first_within_tol, steps_to_tol) and distance are not measured (nan / -1); give "
              "them with --minimum X,Y.")


def _surface(settings: dict):
    from descentlab import surfaces

    options = dict(_option(o) for o in settings.get("surface_option") or [])
    if settings.get("expr") is not None:
        kw = {}
        if settings.get("bounds"):
            kw["bounds"] = _bounds(settings["bounds"])
        if settings.get("minimum"):
            kw["minima"] = [_minimum(m) for m in settings["minimum"]]
        if options:
            raise UsageError("--surface-option applies to catalog data surfaces, not to --expr.")
        surface = surfaces.from_expression(settings["expr"], **kw)
        for text in settings.get("minimum") or []:
            _check_is_minimum(surface, _minimum(text), text)
        return surface
    if options:
        import inspect

        name = str(settings["surface"]).lower()
        if name not in ("linear_fit",):
            raise UsageError(f"the surface {name!r} takes no --surface-option; only linear_fit "
                             "does.")
        valid = [p for p in inspect.signature(surfaces.linear_fit).parameters
                 if p not in ("x", "y", "bounds", "loss_options")] + ["delta", "q"]
        unknown = [k for k in options if k not in valid]
        if unknown:
            raise UsageError(f"unknown surface option {unknown[0]!r} for linear_fit. Valid "
                             f"options: {', '.join(valid)} (delta for huber, q for quantile).")
    s = surfaces.get(settings["surface"], **options)
    if settings.get("bounds"):
        s.bounds = _bounds(settings["bounds"])
    return s

def _check_is_minimum(surface, point, text: str) -> None:
    """Refuse a ``--minimum`` that is not a (local) minimum of the formula: J - f* would be
    negative and steps-to-tolerance meaningless.

    The test: no point on a ring of radius r = 1% of the window's diagonal around it has a lower
    J (64 points on the ring). A true minimum passes, and so does one given to a few decimals
    (an error under r / 2 leaves every ring point higher); a slope, a saddle or a maximum fails.
    """
    import numpy as np

    (x0, x1), (y0, y1) = surface.bounds
    r = 0.01 * float(np.hypot(x1 - x0, y1 - y0))
    p = np.asarray(point, dtype=float)
    angles = np.linspace(0.0, 2 * np.pi, 64, endpoint=False)
    ring = p + r * np.stack([np.cos(angles), np.sin(angles)], -1)
    with np.errstate(all="ignore"):
        here = float(surface.value(p))
        values = np.asarray(surface.value(ring), dtype=float)
        g = np.asarray(surface.grad(p), dtype=float)
    lower = np.isfinite(values) & (values < here - 1e-12 * max(1.0, abs(here)))
    if lower.any():
        k = int(np.argmin(np.where(lower, values, np.inf)))
        q = np.where(np.abs(ring[k]) < 1e-9 * r, 0.0, ring[k])  # no 5e-18 for a zero
        raise UsageError(
            f"--minimum {text} is not a minimum of {surface.name!r}: the gradient there is "
            f"({g[0]:.4g}, {g[1]:.4g}) and J falls from {here:.4g} to {values[k]:.4g} at "
            f"({q[0]:.4g}, {q[1]:.4g}), {r:.3g} away. Give the point where the "
            "formula is lowest (where its gradient is zero and J rises in every direction).")


def _starts(settings: dict):
    return [_xy(s) for s in settings.get("start") or []] or None

def _check_starts(settings: dict, surface) -> None:
    """Refuse a --start outside the window where lab.run counts a run as diverged (it would
    be reported 'diverged at step 0' without a single step taken)."""
    from descentlab.lab._runs import DIVERGENCE_BOUND, divergence_window

    (cx, cy), (hx, hy) = divergence_window(surface.bounds)
    for text in settings.get("start") or []:
        x, y = _xy(text)
        if abs(x - cx) > hx or abs(y - cy) > hy:
            raise UsageError(
                f"--start {text} lies outside [{cx - hx:g}, {cx + hx:g}] x [{cy - hy:g}, "
                f"{cy + hy:g}] ({DIVERGENCE_BOUND:g} times the bounds {surface.bounds} about "
                f"their centre), where a run counts as diverged before its first step; "
                f"widen the view with --bounds.")
    from descentlab.surfaces._expression import check_defined_at  # J, grad finite there

    check_defined_at(surface, _starts(settings) or [surface.start],
                     what="--start" if settings.get("start") else "the default --start")

def _progress(args) -> bool | None:
    return None if getattr(args, "progress", True) else False

def _check_suffix(out: str, allowed) -> str:
    suffix = Path(out).suffix.lower()
    if suffix not in allowed:
        raise UsageError(f"cannot write {out!r}: the suffix picks the format; valid choices: "
                         f"{', '.join(allowed)}.")
    return suffix
