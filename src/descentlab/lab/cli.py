"""The lab's commands: ``descentlab tour``, ``race``, ``sweep`` and ``basins``.

Cheap to import (argparse only): NumPy, matplotlib and the lab are imported inside the commands.
This module holds the commands and their parsers; the settings and their checks live in
``lab/_settings.py``, the value language (optimizer specs, grids, points) in ``lab/_specs.py`` and
the memory caps and their checks in ``lab/_limits.py``.

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
from pathlib import Path

from descentlab.lab import _limits
from descentlab.lab._limits import check_basins_memory as _check_basins_memory
from descentlab.lab._limits import check_memory as _check_memory
from descentlab.lab._settings import (
    _ANIMATION_SUFFIXES,
    _FIGURE_SUFFIXES,
    DEFAULT_GRIDS,
    DEFAULTS,
    SURFACES,
    SWEEP_METRICS,
    _announce,
    _check_starts,
    _check_suffix,
    _guard,
    _note_minimum,
    _progress,
    _starts,
    _surface,
    default_grid,
)
from descentlab.lab._specs import (
    UsageError,
    _bounds,
    _minimum,
    _runs_per_spec,
    _specs,
    _xy,
    parse_grid,
    parse_optimizer,
)

__all__ = ["register", "DEFAULTS", "parse_optimizer", "parse_grid"]

_DPI_HELP = ("resolution in dots per inch, " + f"{_limits.MIN_DPI} to {_limits.MAX_DPI}"
             + " (default {})")


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

@_guard("race")
def _race(settings: dict, args) -> int:
    suffix = _check_suffix(settings["out"], _FIGURE_SUFFIXES + _ANIMATION_SUFFIXES)
    if settings.get("metrics"):
        _check_suffix(settings["metrics"], (".csv", ".json"))
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
    if settings.get("metrics"):
        _write_metrics(runs, settings["tol"], settings["metrics"])
        print(f"wrote {settings['metrics']}")
    print(f"wrote {out}")
    return 0

def _write_metrics(runs, tol, path) -> None:
    """The metrics table as CSV or JSON (by the suffix), one row per run: its label, optimizer,
    hyperparameters (JSON in CSV), start, seed, the tolerance and every metric, the two tolerance
    steps included (first_within_tol: the first step within tol; steps_to_tol: the step from
    which it stays within; -1: never). Written atomically; non-finite numbers are ``null`` in
    JSON and ``nan`` in CSV."""
    import csv
    import io
    import json
    import math

    from descentlab._files import atomic_write_text, check_replaceable
    from descentlab.lab._metrics import METRICS

    check_replaceable(path)
    rows = []
    for i, m in enumerate(runs.metrics(tol)):
        meta = runs.meta[i]
        row = {"run": i, "label": runs.label(i), "optimizer": meta["optimizer"],
               "hyperparameters": meta["hyperparameters"], "start_x": meta["start"][0],
               "start_y": meta["start"][1], "seed": meta["seed"], "tol": tol}
        row.update({k: m[k] for k in METRICS})
        rows.append(row)
    if Path(path).suffix.lower() == ".json":
        def clean(v):
            return None if isinstance(v, float) and not math.isfinite(v) else v

        text = json.dumps([{k: clean(v) for k, v in r.items()} for r in rows], indent=1,
                          allow_nan=False)
    else:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({**r, "hyperparameters": json.dumps(r["hyperparameters"])})
        text = buf.getvalue()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text + ("\n" if not text.endswith("\n") else ""))


def _print_metrics(runs, tol) -> None:
    from descentlab.lab._figures_common import fmt, run_label

    rows = runs.metrics(tol)
    labels = [run_label(runs, i) for i in range(len(runs))]
    w = max(len(s) for s in labels)
    print(f"{'run':<{w}}  {'final J':>10} {'J-f*':>10} {'first<=tol':>10} {'stays from':>10} "
          f"{'path':>8} {'zig-zag':>7} {'diverged':>8}")
    for label, m in zip(labels, rows, strict=True):
        print(f"{label:<{w}}  {fmt(m['final_loss'], 4):>10} {fmt(m['loss_gap'], 4):>10} "
              f"{m['first_within_tol']:>10} {m['steps_to_tol']:>10} "
              f"{fmt(m['path_length'], 4):>8} {fmt(m['oscillation'], 2):>7} "
              f"{m['diverged_at']:>8}")
    print(f"(tol: J - f* <= {fmt(tol)}. first<=tol: the first step within it; stays from: the "
          "step from which it stays within (steps_to_tol); -1: never)")

@_guard("sweep")
def _sweep(settings: dict, args) -> int:
    _check_suffix(settings["out"], _FIGURE_SUFFIXES)
    name, hp = parse_optimizer(settings["optimizer"])
    if settings["grid"] is None:  # the optimizer's own grid, printed with the settings
        settings["grid"] = default_grid(name, hp)
    grids = [parse_grid(g) for g in settings["grid"]]
    if not 1 <= len(grids) <= 2:
        raise UsageError(f"give one or two --grid options (got {len(grids)}).")
    if len(grids) == 2 and grids[0][0] == grids[1][0]:
        raise UsageError(f"the two --grid axes sweep the same hyperparameter {grids[0][0]!r}; "
                         "give two different names (or one --grid).")
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
                   "J - f*, the tolerance steps and distance are not measured")
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
    p.add_argument("--metrics", metavar="FILE", default=S,
                   help="also write the metrics table, .csv or .json: one row per run with "
                   "both tolerance steps (first_within_tol, steps_to_tol) and the rest")
    _common(p, "race")
    p.set_defaults(func=_race)

    # ---- sweep
    d = DEFAULTS["sweep"]
    p = subparsers.add_parser(
        "sweep", help="a metric over a hyperparameter grid: line plot or heat map",
        description="Run one optimizer over a grid of one or two hyperparameters (one "
        "vectorized computation) and draw a measured metric: a line plot over one "
        "hyperparameter, a heat map over two. Without --grid each optimizer has its own "
        "grid (Momentum and NAG: lr x gamma; Adam and Nadam: lr x beta1; RMSProp: lr x "
        "gamma; AdaDelta: gamma x eps; GD, SGD and Adagrad: lr). On a quadratic "
        "surface (ravine, bowl) swept over lr (and gamma) for GD, SGD, Momentum or NAG, the "
        "theoretical stability limit is drawn on it (Momentum: lr = 2 (1 + gamma) / L).",
        formatter_class=fmt_cls)
    p.add_argument("--optimizer", type=_argtype(parse_optimizer), metavar="SPEC", default=S,
                   help=_optimizer_help(d["optimizer"]) + "; fixed hyperparameters go here")
    p.add_argument("--grid", action="append", metavar="NAME=START:STOP:NUM[:log]",
                   type=_argtype(parse_grid), default=S,
                   help="a hyperparameter axis, NAME=START:STOP:NUM[:log] or NAME=V1,V2,... "
                   "(one: a line plot; two: a heat map). Default: the optimizer's own grid "
                   "without the axes its spec fixes: " + "; ".join(
                       f"{k}: {' '.join(v)}" for k, v in DEFAULT_GRIDS.items()))
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
