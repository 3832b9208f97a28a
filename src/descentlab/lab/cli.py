"""The lab's commands: ``descentlab tour``, ``race``, ``sweep`` and ``basins``.

Cheap to import (argparse only): NumPy, matplotlib and the lab are imported inside the commands.

Every command resolves its settings in three layers, later ones winning: the built-in defaults
(``DEFAULTS``), a JSON file given with ``--config FILE`` (as written by ``--save-config FILE``),
and the options given on the command line. It prints the resolved settings as JSON before it
works, so a run can be reproduced from its output; ``--save-config FILE`` writes exactly those
settings, and ``--config FILE`` reads them back (``--dry-run`` stops after printing/saving).
Wrong surface or optimizer names, bad hyperparameters and unknown config keys exit with status 2
and a message listing the valid choices. Outputs are written atomically (temporary file, then
rename); the tour is written into a temporary directory that is moved into place at the end.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

from descentlab.lab import _limits

__all__ = ["register", "DEFAULTS", "parse_optimizer", "parse_grid"]

DEFAULTS: dict[str, dict] = {
    "tour": {"out": "tour", "seed": 0, "quick": False, "animation": True, "dpi": 90},
    "race": {"surface": "rosenbrock", "surface_option": [], "expr": None, "minimum": [],
             "bounds": None,
             "optimizer": ["gd:lr=0.002", "momentum:lr=0.001,gamma=0.9", "adam:lr=0.1"],
             "start": [], "steps": 500, "seed": 0, "batch_size": None, "tol": 1e-3,
             "out": "race.png", "frames": 60, "fps": 15, "dpi": 100, "csv": None,
             "json": None},
    "sweep": {"surface": "ravine", "surface_option": [], "expr": None, "minimum": [],
              "bounds": None,
              "optimizer": "momentum", "grid": ["lr=0.001:1:30:log", "gamma=0:0.98:30"],
              "metric": "steps_to_tol", "start": [], "steps": 300, "seed": 0,
              "batch_size": None, "tol": 1e-3, "out": "sweep.png", "dpi": 100},
    "basins": {"surface": "himmelblau", "surface_option": [], "expr": None, "minimum": [],
               "bounds": None,
               "optimizer": ["gd:lr=0.01", "momentum:lr=0.01,gamma=0.9", "adam:lr=0.1"],
               "grid": 60, "steps": 200, "radius": None, "out": "basins.png", "dpi": 100},
}

#: the metrics a sweep can colour by (``lab.METRICS``, listed here so that --help needs no NumPy)
SWEEP_METRICS = ("final_loss", "loss_gap", "distance", "nearest_minimum", "steps_to_tol",
                 "path_length", "oscillation", "diverged_at")
_DPI_HELP = ("resolution in dots per inch, " + f"{_limits.MIN_DPI} to {_limits.MAX_DPI}"
             + " (default {})")
_OPERATIONAL = ("config", "save_config", "dry_run", "progress", "func", "command")
_FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
_ANIMATION_SUFFIXES = (".gif", ".mp4")


class UsageError(ValueError):
    """Bad settings from the command line or a config file: reported with exit status 2."""


# --------------------------------------------------------------------------- lazy choices
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


# --------------------------------------------------------------------------- value parsing
def _number(text: str):
    text = text.strip()
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def parse_optimizer(spec: str):
    """``"nag:lr=0.01,gamma=0.9"`` -> ``("NAG", {"lr": 0.01, "gamma": 0.9})``.

    A value may list several settings separated by ``|`` (``adam:lr=0.01|0.1``: two runs).
    Names are case-insensitive; unknown names raise UsageError listing the valid ones.

    >>> parse_optimizer("nag:lr=0.01,gamma=0.9")
    ('NAG', {'lr': 0.01, 'gamma': 0.9})
    >>> parse_optimizer("adam:lr=0.01|0.1")
    ('Adam', {'lr': [0.01, 0.1]})
    """
    from descentlab import optim

    if not isinstance(spec, str) or not spec.strip():
        raise UsageError(f"an optimizer spec is NAME[:KEY=VALUE,...], got {spec!r}.")
    name, _, rest = spec.strip().partition(":")
    try:
        cls = optim.lookup(name.strip())
    except ValueError:
        raise UsageError(f"unknown optimizer {name.strip()!r} in {spec!r}. Valid choices: "
                         f"{', '.join(optim.names())} (case-insensitive).") from None
    valid = [h.name for h in cls.hyperparameter_specs()]
    hp = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not value.strip():
            raise UsageError(f"{spec!r}: expected KEY=VALUE, got {item!r}.")
        if key not in valid:
            raise UsageError(f"{cls.__name__} has no hyperparameter {key!r} (in {spec!r}). "
                             f"Valid names: {', '.join(valid)}.")
        if key in hp:
            raise UsageError(f"{spec!r} gives {key!r} twice; list several values as "
                             f"{key}=A|B.")
        values = [_number(v) for v in value.split("|")]
        hp[key] = values if len(values) > 1 else values[0]
    return cls.__name__, hp


def _validate_values(name: str, hp: dict) -> None:
    """Build the optimizer with each given value, so a bad one fails before any work."""
    from descentlab import optim

    for key, value in hp.items():
        for v in value if isinstance(value, list) else [value]:
            optim.get(name, **{key: v})


def parse_grid(text: str):
    """``"lr=0.001:1:30:log"`` (30 log-spaced values), ``"gamma=0:0.98:30"`` (evenly spaced) or
    ``"lr=0.01,0.03,0.13"`` (a list) -> ``(name, [values])``.

    >>> parse_grid("lr=0.01,0.03")
    ('lr', [0.01, 0.03])
    >>> parse_grid("gamma=0:1:3")
    ('gamma', [0.0, 0.5, 1.0])
    """
    import numpy as np

    name, eq, rest = str(text).partition("=")
    name = name.strip()
    if not eq or not name or not rest.strip():
        raise UsageError(f"a grid is NAME=START:STOP:NUM[:log] or NAME=V1,V2,...; got {text!r}.")
    try:
        if ":" in rest:
            parts = rest.split(":")
            if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3].strip() != "log"):
                raise ValueError
            lo, hi, num = float(parts[0]), float(parts[1]), int(parts[2])
            if num < 1:
                raise ValueError
            from descentlab.lab._limits import MAX_GRID_VALUES

            if num > MAX_GRID_VALUES:
                raise UsageError(f"a grid axis has at most {MAX_GRID_VALUES:,} values (NUM); "
                                 f"got {num:,} in {text!r}.")
            if len(parts) == 4:
                if lo <= 0 or hi <= 0:
                    raise UsageError(f"a log grid needs positive bounds; got {text!r}.")
                values = np.geomspace(lo, hi, num)
            else:
                values = np.linspace(lo, hi, num)
            return name, [float(v) for v in values]
        return name, [float(v) for v in rest.split(",")]
    except UsageError:
        raise
    except ValueError:
        raise UsageError(f"a grid is NAME=START:STOP:NUM[:log] or NAME=V1,V2,...; got "
                         f"{text!r}.") from None


def _finite_point(text: str, what: str) -> list[float]:
    import math

    try:
        x, y = (float(v) for v in str(text).split(","))
    except ValueError:
        raise UsageError(f"{what} is X,Y (two numbers), got {text!r}.") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise UsageError(f"{what} X,Y must be two finite numbers, got {text!r}.")
    return [x, y]


def _xy(text: str):
    return _finite_point(text, "a start point")


def _minimum(text: str):
    return _finite_point(text, "--minimum")


def _bounds(text):
    import math

    if text is None:
        return None
    try:
        x0, x1, y0, y1 = (float(v) for v in str(text).split(","))
    except ValueError:
        raise UsageError(f"bounds are XMIN,XMAX,YMIN,YMAX (four numbers), got {text!r}.") \
            from None
    if not all(math.isfinite(v) for v in (x0, x1, y0, y1)):
        raise UsageError(f"--bounds needs four finite numbers XMIN,XMAX,YMIN,YMAX, got "
                         f"{text!r}.")
    if not (x0 < x1 and y0 < y1):  # also refuses NaN
        raise UsageError(f"bounds need XMIN < XMAX and YMIN < YMAX, got {text!r}.")
    from descentlab.surfaces._base import MAX_ABS_BOUND

    if not all(abs(v) <= MAX_ABS_BOUND for v in (x0, x1, y0, y1)):
        raise UsageError(f"--bounds must lie in [-{MAX_ABS_BOUND:g}, {MAX_ABS_BOUND:g}] "
                         f"(figures need room to compute ticks), got {text!r}.")
    return ((x0, x1), (y0, y1))


def _argtype(fn):
    """Turn a UsageError of ``fn`` into argparse's error (exit status 2)."""
    def convert(text):
        try:
            fn(text)
        except UsageError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
        return text

    convert.__name__ = fn.__name__.lstrip("_")
    return convert


# --------------------------------------------------------------------------- settings
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
        from descentlab._files import atomic_write_text

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
                return body(settings, args)
            except ValueError as e:  # UsageError, and the library's own validation messages
                return _fail(command, str(e))

        return run

    return wrap


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
    from descentlab.lab import _limits as L

    ranges = {"seed": (0, None), "steps": (0, None), "dpi": (L.MIN_DPI, L.MAX_DPI),
              "frames": (L.MIN_FRAMES, L.MAX_FRAMES), "fps": (L.MIN_FPS, L.MAX_FPS)}
    if settings.get("batch_size") is not None:
        ranges["batch_size"] = (1, None)
    for key, (low, high) in ranges.items():
        if key in settings:
            _check_int(settings[key], key, low, high, settings["_command"])
    if settings.get("minimum") and settings.get("expr") is None:
        raise UsageError("--minimum gives the minima of an --expr formula; a catalog surface "
                         "knows its own.")
    for text in settings.get("minimum") or []:
        _minimum(text)
    from descentlab._validation import check_in_range

    owner = f"descentlab {settings['_command']}"
    if "tol" in settings:
        check_in_range(settings["tol"], name="--tol", owner=owner, low=0.0, low_closed=False)
    if settings.get("radius") is not None:
        check_in_range(settings["radius"], name="--radius", owner=owner, low=0.0,
                       low_closed=False, high_closed=False)


#: the type each setting must have (a config file can hold anything): a tuple of types
_TYPES = {"out": (str,), "csv": (str, type(None)), "json": (str, type(None)),
          "expr": (str, type(None)), "bounds": (str, type(None)), "surface": (str, type(None)),
          "surface_option": (list,), "minimum": (list,), "start": (list,), "grid": (list, int),
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


def _check_int(value, key: str, low: int, high: int | None, command: str) -> None:
    """``The '--fps' parameter of descentlab race must be an integer in the range [1, 50].``"""
    if (isinstance(value, int) and not isinstance(value, bool) and value >= low
            and (high is None or value <= high)):
        return
    interval = f"[{low}, {high}]" if high is not None else f"[{low}, inf)"
    raise UsageError(f"The '--{key.replace('_', '-')}' parameter of descentlab {command} must "
                     f"be an integer in the range {interval}. Got {value!r} instead.")


def _runs_per_spec(name: str, hp: dict) -> int:
    n = 1
    for value in hp.values():
        n *= len(value) if isinstance(value, list) else 1
    return n


def _check_memory(settings: dict, *, runs: int, what: str, extra_bytes: int = 0,
                  extra_what: str = "") -> None:
    """Refuse a command whose estimated memory exceeds the lab's cap (see ``lab/_limits.py``)."""
    from descentlab.lab import _limits as L

    steps = settings["steps"]
    need = runs * (steps + 1) * L.BYTES_PER_RUN_STEP + extra_bytes
    if need > L.MAX_MEMORY_BYTES:
        detail = (f"{runs:,} runs ({what}) x {steps + 1:,} points (--steps {steps:,}) x "
                  f"{L.BYTES_PER_RUN_STEP} bytes")
        if extra_bytes:
            detail += f" + {L.gib(extra_bytes)} for {extra_what}"
        lower = "--steps or the number of runs" + (f" or {extra_what}" if extra_bytes else "")
        raise UsageError(f"descentlab {settings['_command']} would need about {L.gib(need)} of "
                         f"memory ({detail}); the lab's cap is {L.gib(L.MAX_MEMORY_BYTES)}. "
                         f"Lower {lower}.")


def _check_basins_memory(settings: dict, per_start: int) -> None:
    """basins runs its starts batch by batch (``plot_basins``): what it holds at once is one batch
    of runs (``BASIN_BATCH_BYTES``, or one start's runs if they need more), the grid itself
    (``BYTES_PER_BASIN_POINT`` a start) and, for every start and optimizer setting, where the run
    ended and its pixel (``BYTES_PER_BASIN_START``)."""
    from descentlab.lab import _limits as L

    grid, steps = settings["grid"], settings["steps"]
    points = f"{steps + 1:,} point{'s' if steps else ''} (--steps {steps:,})"
    one_start = per_start * (steps + 1) * L.BYTES_PER_RUN_STEP
    if one_start > L.MAX_MEMORY_BYTES:
        raise UsageError(
            f"descentlab basins would need about {L.gib(one_start)} of memory for the runs of a "
            f"single start ({per_start} optimizer settings x {points} x {L.BYTES_PER_RUN_STEP} "
            f"bytes); the lab's cap is {L.gib(L.MAX_MEMORY_BYTES)}. Lower --steps or the number "
            "of optimizer settings.")
    batch = max(one_start, min(L.BASIN_BATCH_BYTES, one_start * grid**2))
    per_point = L.BYTES_PER_BASIN_POINT + per_start * L.BYTES_PER_BASIN_START
    need = batch + grid**2 * per_point
    if need > L.MAX_MEMORY_BYTES:
        raise UsageError(
            f"descentlab basins would need about {L.gib(need)} of memory ({grid:,} x {grid:,} "
            f"starts (--grid {grid}) x ({L.BYTES_PER_BASIN_POINT} + {per_start} optimizer "
            f"settings x {L.BYTES_PER_BASIN_START}) bytes, plus a batch of runs of "
            f"{L.gib(batch)}); the lab's cap is {L.gib(L.MAX_MEMORY_BYTES)}. Lower --grid or "
            "the number of optimizer settings.")


def _note_minimum(settings: dict) -> None:
    if settings.get("expr") is not None and not settings.get("minimum"):
        print("note: the formula's minima are unknown, so J - f*, steps_to_tol, distance and "
              "the tolerance are not measured (nan / -1); give them with --minimum X,Y.")


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
        return surfaces.from_expression(settings["expr"], **kw)
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


def _option(text: str):
    key, eq, value = str(text).partition("=")
    if not eq or not key.strip():
        raise UsageError(f"a surface option is KEY=VALUE, got {text!r}.")
    return key.strip(), _number(value)


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


# --------------------------------------------------------------------------- commands
@_guard("tour")
def _tour(settings: dict, args) -> int:
    if not _announce("tour", settings, args):
        return 0
    import time

    from descentlab.lab._tour import TourSettings, tour

    t0 = time.perf_counter()
    result = tour(settings["out"], TourSettings(seed=settings["seed"], quick=settings["quick"],
                                                animation=settings["animation"],
                                                dpi=settings["dpi"]),
                  progress=getattr(args, "progress", True))
    for s in result["sections"]:
        print(f"  {s['file']:<22} {s['seconds']:6.2f} s  {s['title']}")
    print(f"wrote {result['index']} ({len(result['sections'])} figures) in "
          f"{time.perf_counter() - t0:.1f} s")
    return 0


def _specs(settings: dict):
    specs = settings["optimizer"]
    return [parse_optimizer(s) for s in (specs if isinstance(specs, list) else [specs])]


@_guard("race")
def _race(settings: dict, args) -> int:
    suffix = _check_suffix(settings["out"], _FIGURE_SUFFIXES + _ANIMATION_SUFFIXES)
    if not settings["optimizer"]:
        raise UsageError("give at least one --optimizer.")
    n_runs = sum(_runs_per_spec(*spec) for spec in _specs(settings)) * max(
        1, len(settings.get("start") or []))
    gif_bytes, frames = 0, settings["frames"]
    if suffix == ".gif":  # every distinct frame is kept as RGBA until it is encoded
        from descentlab.lab._animate import FIGSIZE

        frames = min(frames, settings["steps"] + 1)
        gif_bytes = int(4 * FIGSIZE[0] * FIGSIZE[1] * settings["dpi"] ** 2 * frames)
    _check_memory(settings, runs=n_runs, what="optimizer settings x starts",
                  extra_bytes=gif_bytes, extra_what=f"--dpi or --frames (the GIF's {frames} "
                  f"frames at --dpi {settings['dpi']})")
    surface = _surface(settings)
    _check_starts(settings, surface)
    if not _announce("race", settings, args):
        return 0
    _note_minimum(settings)
    if suffix in _ANIMATION_SUFFIXES and settings["frames"] > settings["steps"] + 1:
        print(f"note: {settings['steps']} steps make {settings['steps'] + 1} distinct frames; "
              f"--frames {settings['frames']} is capped to that.")
    from descentlab.lab._runs import run

    runs = run(surface, _specs(settings), _starts(settings), steps=settings["steps"],
               seed=settings["seed"], batch_size=settings["batch_size"],
               progress=_progress(args))
    out = Path(settings["out"])
    if suffix in _ANIMATION_SUFFIXES:
        from descentlab.lab._animate import animate_runs

        animate_runs(runs, out, frames=settings["frames"], fps=settings["fps"],
                     tol=settings["tol"], dpi=settings["dpi"],
                     progress=getattr(args, "progress", True))
    else:
        from descentlab.lab._figures_common import save_figure
        from descentlab.lab._figures_runs import plot_race

        save_figure(plot_race(runs, tol=settings["tol"]), out, dpi=settings["dpi"])
    _print_metrics(runs, settings["tol"])
    for key, method in (("csv", runs.to_csv), ("json", runs.to_json)):
        if settings.get(key):
            method(settings[key])
            print(f"wrote {settings[key]}")
    print(f"wrote {out}")
    return 0


def _print_metrics(runs, tol) -> None:
    from descentlab.lab._figures_common import fmt, run_label

    rows = runs.metrics(tol)
    labels = [run_label(runs, i) for i in range(len(runs))]
    w = max(len(s) for s in labels)
    print(f"{'run':<{w}}  {'final J':>10} {'J-f*':>10} {'steps_to_tol':>12} "
          f"{'path':>8} {'zig-zag':>7} {'diverged':>8}")
    for label, m in zip(labels, rows, strict=True):
        print(f"{label:<{w}}  {fmt(m['final_loss'], 4):>10} {fmt(m['loss_gap'], 4):>10} "
              f"{m['steps_to_tol']:>12} {fmt(m['path_length'], 4):>8} "
              f"{fmt(m['oscillation'], 2):>7} {m['diverged_at']:>8}")
    print(f"(tol: J - f* <= {fmt(tol)}; -1: never)")


@_guard("sweep")
def _sweep(settings: dict, args) -> int:
    _check_suffix(settings["out"], _FIGURE_SUFFIXES)
    grids = [parse_grid(g) for g in settings["grid"]]
    if not 1 <= len(grids) <= 2:
        raise UsageError(f"give one or two --grid options (got {len(grids)}).")
    if len(grids) == 2 and grids[0][0] == grids[1][0]:
        raise UsageError(f"the two --grid axes sweep the same hyperparameter {grids[0][0]!r}; "
                         "give two different names (or one --grid).")
    name, hp = parse_optimizer(settings["optimizer"])
    from descentlab import optim

    valid = [h.name for h in optim.lookup(name).hyperparameter_specs()]
    for g, _ in grids:
        if g not in valid:
            raise UsageError(f"{name} has no hyperparameter {g!r} to sweep. Valid names: "
                             f"{', '.join(valid)}.")
    from descentlab.lab._metrics import METRICS

    assert set(SWEEP_METRICS) == set(METRICS)  # the help lists them all
    if settings["metric"] not in METRICS:
        raise UsageError(f"unknown metric {settings['metric']!r}. Valid choices: "
                         f"{', '.join(METRICS)}.")
    both = [g for g, _ in grids if g in hp]
    if both:
        raise UsageError(f"--optimizer {settings['optimizer']!r} fixes {both[0]!r}, which "
                         f"--grid also sweeps; give {both[0]!r} in one place only.")
    n_runs = _runs_per_spec(name, hp) * max(1, len(settings.get("start") or []))
    for _, values in grids:
        n_runs *= len(values)
    _check_memory(settings, runs=n_runs, what="grid cells x other settings x starts")
    surface = _surface(settings)
    _check_starts(settings, surface)
    if not _announce("sweep", settings, args):
        return 0
    _note_minimum(settings)
    from descentlab.lab._figures_common import fmt, pct, save_figure
    from descentlab.lab._figures_maps import plot_sweep
    from descentlab.lab._runs import run

    hp.update({g: values for g, values in grids})
    runs = run(surface, (name, hp), _starts(settings), steps=settings["steps"],
               seed=settings["seed"], batch_size=settings["batch_size"],
               progress=_progress(args))
    x, y = grids[0][0], grids[1][0] if len(grids) > 1 else None
    fig = plot_sweep(runs, x, y, metric=settings["metric"], tol=settings["tol"])
    fig.axes[0].set_title(f"{name} on {surface.name}: {settings['metric']} "
                          f"({runs.steps} steps, {len(runs)} runs)", fontsize=9)
    save_figure(fig, settings["out"], dpi=settings["dpi"])
    m = fig.measured
    print(f"{len(runs)} runs; diverged {pct(m['diverged_fraction'])}, never within tol "
          f"{pct(m['never_fraction'])}")
    if "best" in m:
        print("best: " + ", ".join(f"{k}={fmt(v, 4)}" for k, v in m["best"].items()))
    if "limit_L" in m:
        print(f"stability limit drawn for L={fmt(m['limit_L'])}: beyond it "
              f"{pct(m['beyond_limit_diverged'])} of cells diverged, within it "
              f"{pct(m['within_limit_diverged'])}")
    print(f"wrote {settings['out']}")
    return 0




@_guard("basins")
def _basins(settings: dict, args) -> int:
    _check_suffix(settings["out"], _FIGURE_SUFFIXES)
    if not isinstance(settings["grid"], int) or settings["grid"] < 2:
        raise UsageError(f"grid must be an integer >= 2, got {settings['grid']!r}.")
    if not settings["optimizer"]:
        raise UsageError("give at least one --optimizer.")
    if settings.get("expr") is not None and not settings.get("minimum"):
        raise UsageError("basins colours each start by the known minimum its run reaches; the "
                         "formula's minima are unknown: give them with --minimum X,Y.")
    per_start = sum(_runs_per_spec(*spec) for spec in _specs(settings))
    _check_basins_memory(settings, per_start)
    surface = _surface(settings)
    if not _announce("basins", settings, args):
        return 0
    _note_minimum(settings)
    from descentlab.lab._figures_common import save_figure
    from descentlab.lab._figures_maps import plot_basins

    fig = plot_basins(surface, _specs(settings), grid=settings["grid"],
                      steps=settings["steps"], radius=settings["radius"], progress=_progress(args))
    save_figure(fig, settings["out"], dpi=settings["dpi"])
    for label, frac in fig.measured["fractions"].items():
        print(f"{label}: " + ", ".join(f"{k} {v:.1%}" for k, v in frac.items()))
    print(f"wrote {settings['out']}")
    return 0


# --------------------------------------------------------------------------- parsers
def _common(p, command: str) -> None:
    d = DEFAULTS[command]
    g = p.add_argument_group("reproducibility")
    if "seed" in d:
        what = ("minibatches and data sets" if command == "tour" else "the minibatches "
                "(--batch-size); a data set has its own, --surface-option seed=N")
        g.add_argument("--seed", type=int, default=argparse.SUPPRESS,
                       help=f"seed of {what} (default {d['seed']})")
    g.add_argument("--config", metavar="FILE", help="read settings from a JSON file written "
                   "by --save-config (command-line options override it)")
    g.add_argument("--save-config", metavar="FILE", help="write the resolved settings to FILE "
                   "(JSON) before running")
    g.add_argument("--dry-run", action="store_true",
                   help="print (and save) the settings, then stop")
    g.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar on stderr")


def _run_args(p, command: str, start_help: str) -> None:
    """The run options race and sweep share: --start, --steps, --batch-size, --tol."""
    d, S = DEFAULTS[command], argparse.SUPPRESS
    p.add_argument("--start", action="append", type=_argtype(_xy), metavar="X,Y", default=S,
                   help=start_help)
    p.add_argument("--steps", type=int, default=S, help=f"steps per run (default {d['steps']})")
    p.add_argument("--batch-size", type=int, default=S,
                   help="minibatch size on data surfaces (linear_fit, lecture_lr): SGD's "
                   "noisy gradients (default: full batch)")
    p.add_argument("--tol", type=float, default=S,
                   help=f"tolerance on J - f* for steps_to_tol (default {d['tol']})")


def _surface_args(p, command: str) -> None:
    d = DEFAULTS[command]
    g = p.add_argument_group("surface")
    g.add_argument("--surface", type=str.lower, choices=SURFACES, metavar="NAME",
                   default=argparse.SUPPRESS,
                   help=f"catalog surface, one of: %(choices)s (default {d['surface']})")
    g.add_argument("--surface-option", action="append", metavar="KEY=VALUE",
                   default=argparse.SUPPRESS,
                   help="option of a data surface, e.g. --surface linear_fit --surface-option "
                   "loss=mae --surface-option outliers=5 (repeatable)")
    g.add_argument("--expr", metavar="FORMULA", default=argparse.SUPPRESS,
                   help='a formula in x and y instead of a catalog surface, e.g. '
                   '"x**2 + 10*y**2" (parsed safely, differentiated with sympy)')
    g.add_argument("--minimum", action="append", type=_argtype(_minimum), metavar="X,Y",
                   default=argparse.SUPPRESS,
                   help="a known minimizer of the --expr formula (repeatable); without one, "
                   "J - f*, steps_to_tol, distance and the tolerance are not measured")
    g.add_argument("--bounds", type=_argtype(_bounds), metavar="XMIN,XMAX,YMIN,YMAX",
                   default=argparse.SUPPRESS,
                   help="plotting window, each bound in [-1e100, 1e100] (default: the "
                        "surface's)")


def _optimizer_help(default) -> str:
    return ("optimizer and hyperparameters as NAME[:KEY=VALUE,...], e.g. adam:lr=0.1 or "
            "nag:lr=0.01,gamma=0.9; a value may list several settings with | "
            f"(adam:lr=0.01|0.1). Names (case-insensitive): GD, SGD, Momentum, NAG, Adagrad, "
            f"RMSProp, AdaDelta, Adam, Nadam; see `descentlab list`. Default: {default}")


def register(subparsers) -> None:
    """Add the lab's commands: tour, race, sweep, basins."""
    fmt_cls = argparse.HelpFormatter
    S = argparse.SUPPRESS

    # ---- tour
    d = DEFAULTS["tour"]
    p = subparsers.add_parser(
        "tour", help="render every lecture figure and the lab's own into an HTML report",
        description="Write DIR/index.html: every figure of the lecture (GD and SGD at three "
        "learning rates, SGD vs Momentum in a ravine, the Nesterov look-ahead, the family "
        "tree, loss curves, outliers, cross-entropy, KL) and the lab's own (a race of eight "
        "optimizers, basin map, learning rate x momentum heat map with the stability limit, "
        "inspectors, an animation), each with a caption of measured numbers. The images are "
        "saved next to index.html; nothing is loaded from the internet.", formatter_class=fmt_cls)
    p.add_argument("--out", metavar="DIR", default=S,
                   help=f"report directory: new, empty or a previous tour, whose files (listed "
                   f"in its tour.json) are replaced; any other folder is refused (default "
                   f"{d['out']})")
    p.add_argument("--quick", action="store_const", const=True, default=S,
                   help="smaller grids, fewer steps and frames (a preview)")
    p.add_argument("--no-animation", dest="animation", action="store_const", const=False,
                   default=S, help="skip the GIF")
    p.add_argument("--dpi", type=int, default=S, help="PNG " + _DPI_HELP.format(d["dpi"]))
    _common(p, "tour")
    p.set_defaults(func=_tour)

    # ---- race
    d = DEFAULTS["race"]
    p = subparsers.add_parser(
        "race", help="race optimizers on a surface, to PNG or GIF",
        description="Run the chosen optimizers (with the settings you give: nothing is tuned "
        "or clipped) on a surface from the same start(s) and draw their paths on the contours "
        "next to the loss curves, with the measured metrics in the legend; or animate them. "
        "The output format follows --out's suffix: .png/.svg/.pdf for a figure, .gif (or .mp4 "
        "where ffmpeg exists) for an animation. Prints the metrics table.",
        formatter_class=fmt_cls)
    p.add_argument("--optimizer", action="append", type=_argtype(parse_optimizer),
                   metavar="SPEC", default=S,
                   help=_optimizer_help(" ".join(d["optimizer"])) + " (repeatable)")
    _surface_args(p, "race")
    _run_args(p, "race", "start point (repeatable; default: the surface's suggested start)")
    p.add_argument("--out", metavar="FILE", default=S,
                   help=f"output: .png, .svg, .pdf, .gif or .mp4 (default {d['out']})")
    p.add_argument("--frames", type=int, default=S,
                   help=f"animation frames, {_limits.MIN_FRAMES} to {_limits.MAX_FRAMES} and at "
                   f"most steps + 1 (default {d['frames']})")
    p.add_argument("--fps", type=int, default=S,
                   help=f"animation frames per second, {_limits.MIN_FPS} to {_limits.MAX_FPS} "
                   f"(default {d['fps']})")
    p.add_argument("--dpi", type=int, default=S, help=_DPI_HELP.format(d["dpi"]))
    p.add_argument("--csv", metavar="FILE", default=S, help="also export the trajectories "
                   "as CSV (one row per point)")
    p.add_argument("--json", metavar="FILE", default=S,
                   help="also export the runs as JSON")
    _common(p, "race")
    p.set_defaults(func=_race)

    # ---- sweep
    d = DEFAULTS["sweep"]
    p = subparsers.add_parser(
        "sweep", help="heat map of a metric over a hyperparameter grid",
        description="Run one optimizer over a grid of one or two hyperparameters (one "
        "vectorized computation) and draw a heat map of a measured metric. On a quadratic "
        "surface (ravine, bowl) swept over lr (and gamma) for GD, SGD, Momentum or NAG, the "
        "theoretical stability limit is drawn on it (Momentum: lr = 2 (1 + gamma) / L).",
        formatter_class=fmt_cls)
    p.add_argument("--optimizer", type=_argtype(parse_optimizer), metavar="SPEC", default=S,
                   help=_optimizer_help(d["optimizer"]) + "; fixed hyperparameters go here")
    p.add_argument("--grid", action="append", metavar="NAME=START:STOP:NUM[:log]",
                   type=_argtype(parse_grid), default=S,
                   help="a hyperparameter axis, NAME=START:STOP:NUM[:log] or NAME=V1,V2,... "
                   f"(one or two; default {' '.join(d['grid'])})")
    p.add_argument("--metric", default=S,
                   help=f"metric to colour by: {', '.join(SWEEP_METRICS)} (default "
                   f"{d['metric']})")
    _surface_args(p, "sweep")
    _run_args(p, "sweep", "start point (repeatable: cells show the median)")
    p.add_argument("--out", metavar="FILE", default=S,
                   help=f"output .png/.svg/.pdf (default {d['out']})")
    p.add_argument("--dpi", type=int, default=S, help=_DPI_HELP.format(d["dpi"]))
    _common(p, "sweep")
    p.set_defaults(func=_sweep)

    # ---- basins
    d = DEFAULTS["basins"]
    p = subparsers.add_parser(
        "basins", help="basin map: colour start points by the minimum each optimizer reaches",
        description="Start every optimizer from every point of a grid over the surface and "
        "colour each start by the known minimum its run ends near (black: diverged, grey: "
        "elsewhere). One panel per optimizer setting. A formula (--expr) needs its "
        "minima: --minimum X,Y.", formatter_class=fmt_cls)
    p.add_argument("--optimizer", action="append", type=_argtype(parse_optimizer),
                   metavar="SPEC", default=S,
                   help=_optimizer_help(" ".join(d["optimizer"])) + " (repeatable)")
    _surface_args(p, "basins")
    p.add_argument("--grid", type=int, default=S,
                   help=f"start points per axis (default {d['grid']})")
    p.add_argument("--steps", type=int, default=S, help=f"steps per run (default {d['steps']})")
    p.add_argument("--radius", type=float, default=S,
                   help="arrival radius around a minimum (default: 2%% of the bounds' diagonal)")
    p.add_argument("--out", metavar="FILE", default=S,
                   help=f"output .png/.svg/.pdf (default {d['out']})")
    p.add_argument("--dpi", type=int, default=S, help=_DPI_HELP.format(d["dpi"]))
    _common(p, "basins")
    p.set_defaults(func=_basins)
