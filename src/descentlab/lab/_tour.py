"""The lecture tour: one self-contained HTML report with every lecture figure and the lab's own.

``tour(out)`` renders each figure from live computation, saves it as a PNG (and one GIF) next to
``out/index.html`` and writes a caption under it that says what to look at and which numbers were
measured: every number in a caption is read from the figure's ``fig.measured`` (computed while
drawing), none is typed in. The report references its images relatively and loads nothing from the
internet. The whole report is written into a temporary directory next to ``out`` and moved into
place at the end, so ``out`` is never half-written.

The tour writes only its own files. ``out/tour.json`` (the manifest) lists every file it wrote; a
rerun replaces exactly those (and removes those it no longer writes). A folder holding anything
else (a web project's ``index.html`` next to a thesis, a sub-folder, a file a user dropped into a
previous tour) is refused before any work, with the names of what was found: nothing there is
replaced or deleted.
"""

from __future__ import annotations

import html
import importlib
import json
import os
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from descentlab._extras import require
from descentlab._files import (
    atomic_write_text,
    check_output_folder,
    remove_stale_temporaries,
    temporary_name,
)
from descentlab.lab._figures_common import fmt, pct, save_figure, umask

__all__ = ["tour", "TourSettings"]


@dataclass(frozen=True)
class TourSettings:
    """Everything a tour depends on (printed by ``descentlab tour`` and saved with --save-config).

    Args:
      seed: seed of every stochastic part (minibatches, data sets). Default 0.
      quick: smaller grids, fewer steps and frames (for tests and previews). Default False.
      animation: also render the GIF. Default True.
      dpi: resolution of the PNGs. Default 90.
    """

    seed: int = 0
    quick: bool = False
    animation: bool = True
    dpi: int = 90

    def size(self, full, quick):
        return quick if self.quick else full


@dataclass
class Section:
    key: str
    title: str
    where: str  # "Lecture figure 1" / "Lecture section 2" / "Beyond the lecture"
    build: Callable[[TourSettings], object]
    caption: Callable[[dict, TourSettings], tuple[str, str]]
    kind: str = "png"


# --------------------------------------------------------------------------- race settings
RACE = [("gd", {"lr": 0.002}), ("momentum", {"lr": 0.001, "gamma": 0.9}),
        ("nag", {"lr": 0.001, "gamma": 0.9}), ("adagrad", {"lr": 1.0}),
        ("rmsprop", {"lr": 0.01}), ("adadelta", {"lr": 1.0}), ("adam", {"lr": 0.1}),
        ("nadam", {"lr": 0.1})]
ANIMATION = [("gd", {"lr": 0.01}), ("momentum", {"lr": 0.005, "gamma": 0.9}),
             ("adam", {"lr": 0.1})]




# --------------------------------------------------------------------------- builders
def _plot(module: str, name: str) -> Callable[[TourSettings], object]:
    """The builder of a figure that takes no settings: ``descentlab.lab.<module>.<name>()``,
    its module imported when the tour builds it, as the other builders import theirs."""
    def build(s):
        return getattr(importlib.import_module(f"descentlab.lab.{module}"), name)()

    return build


def _lr_row(s):
    from descentlab.lab._figures_runs import plot_lr_row

    return plot_lr_row(seed=s.seed)


def _lr_row_caption(m, s):
    def row(name):
        return "; ".join(
            f"lr {lr:g}: {d['verdict']} ("
            + (f"diverged at step {d['diverged_at']}" if d["diverged_at"] >= 0 else
               f"J-f* {fmt(d['loss_gap'], 2)}, zig-zag {d['oscillation']:.2f}") + ")"
            for lr, d in m[name].items())

    look = ("Top row: full-batch GD on the lecture_lr problem (a line fit whose loss has "
            "curvature 16 along the slope and 2 along the intercept) at the lecture's three "
            "learning rates. 0.01 crawls, 0.03 arrives, 0.13 is beyond 2/16 = 0.125 and every "
            "step overshoots the minimum further. Bottom row: the same with minibatch SGD "
            f"(batch {m['batch_size']}, seed {m['seed']}): the same three regimes, with the "
            "noisy path of sample gradients. The verdicts are decided by a rule on the measured "
            "metrics (diverged or zig-zag > 0.5: overshooting; settled within tol "
            f"{fmt(m['tol'])}: about right; else too slow).")
    meas = f"GD: {row('gd')}. SGD: {row('sgd')}. {m['steps']} steps each."
    return look, meas


def _cloud(s):
    from descentlab.lab._figures_runs import plot_minibatch_cloud

    return plot_minibatch_cloud(seed=s.seed)


def _cloud_caption(m, s):
    look = ("GD follows the full gradient; SGD follows one minibatch gradient per step. The "
            "orange dots are where the next SGD step could land, one per minibatch: a cloud "
            "around the full-batch step (black arrow). Far from the minimum the cloud points "
            "the right way; near it the noise is as large as the gradient itself, which is why "
            "SGD's loss stops falling smoothly.")
    meas = "; ".join(f"at step {c['step']}: |g| = {fmt(c['grad_norm'], 3)}, mean distance of a "
                     f"minibatch gradient from g = {fmt(c['noise'], 3)}, mean cosine "
                     f"{c['mean_cos']:.2f}" for c in m["clouds"])
    meas += (f". Final J-f*: GD {fmt(m['gd']['loss_gap'], 2)}, SGD "
             f"{fmt(m['sgd']['loss_gap'], 2)} (lr {m['lr']:g}, batch {m['batch_size']}).")
    return look, meas


def _ravine_caption(m, s):
    look = ("Same learning rate (0.19, just under SGD's limit 2/10) for both. SGD bounces across "
            "the steep y axis while crawling along the flat x axis; Momentum's velocity averages "
            "the alternating y-gradients away and builds up speed along x. The middle panel "
            "shows the damping: y against the step. (In the left panel Momentum's swings look "
            "as long as SGD's because it travels further along x per swing.) On this analytic "
            "surface SGD's gradient is exact: the zig-zag is the step size, not noise.")
    settled = "; ".join(
        f"{r['optimizer']}: |y| under 1% of its start from step {t}" if t >= 0
        else f"{r['optimizer']}: |y| not under 1% of its start within the run"
        for r, t in zip(m["metrics"], m["y_settled"], strict=True))
    meas = "; ".join(_metric_phrase(r) for r in m["metrics"]) + _tol(m) + " " + settled + "."
    return look, meas


def _tol(m) -> str:
    return f" (tol: J - f* <= {fmt(m['tol'])})."


def _metric_phrase(r) -> str:
    hp = ", ".join(f"{k}={r[k]:g}" for k in ("lr", "gamma") if k in r)
    name = f"{r['optimizer']}({hp})"
    if r["diverged_at"] >= 0:
        return f"{name}: diverged at step {r['diverged_at']}"
    from descentlab.lab._figures_runs import tolerance_phrase

    tol = tolerance_phrase(r)
    return (f"{name}: J-f* {fmt(r['loss_gap'], 2)}, {tol}, zig-zag index "
            f"{r['oscillation']:.2f}, path length {fmt(r['path_length'], 3)}")


def _nesterov_caption(m, s):
    look = ("From the same point and the same velocity v (after a few Momentum steps on "
            "Himmelblau), Momentum adds the gradient step taken at theta, NAG the one taken at "
            "the look-ahead point theta - gamma v. Both end points are the optimizers' own "
            "steps (the diagram is checked against Momentum.step and NAG.step).")
    meas = (f"lr {m['lr']:g}, gamma {m['gamma']:g}; theta = ({fmt(m['theta'][0])}, "
            f"{fmt(m['theta'][1])}), look-ahead = ({fmt(m['lookahead'][0])}, "
            f"{fmt(m['lookahead'][1])}); J before {fmt(m['loss_before'])}, after the Momentum "
            f"step {fmt(m['loss_momentum'])}, after the Nesterov step "
            f"{fmt(m['loss_nesterov'])}.")
    return look, meas


def _tree_caption(m, s):
    look = ("Drawn from descentlab.optim.family_tree(): every arrow is a parent listed in an "
            "optimizer's own metadata. Left: the direction branch (Momentum, NAG); right: the "
            "step-size branch (Adagrad, RMSProp, AdaDelta); they merge in Adam and Nadam.")
    meas = (f"{len(m['nodes'])} optimizers, {len(m['edges'])} edges: "
            + ", ".join(f"{a} -> {b}" for a, b in m["edges"]) + ".")
    return look, meas


def _loss_curves_caption(m, s):
    look = ("Left: the five regression losses of the reading list against the residual. "
            "Right: their gradients from loss.grad. MAE's gradient has magnitude 1 however close "
            "to the minimum (hard to converge); MSE's grows with the residual (fast far away, "
            "but an outlier pulls hard); Huber and log-cosh are quadratic near 0 and linear far "
            "away; the quantile loss is tilted.")
    g = m["grad_at"]
    meas = ("|gradient| at residual 0.1 / 3: " + "; ".join(
        f"{k} {fmt(abs(a), 2)} / {fmt(abs(b), 2)}" for k, (a, b) in g.items())
        + f". The lecture's example (truth 500, prediction 350): MAE "
        f"{fmt(m['lecture_example']['MAE'])}, MSE {fmt(m['lecture_example']['MSE'])}.")
    return look, meas


def _outliers(s):
    from descentlab.lab._figures_lecture import plot_outlier_fit

    return plot_outlier_fit(seed=s.seed, steps=s.size(3000, 1500))


def _outliers_caption(m, s):
    look = ("A line fit to data with four outliers far below the line, under MAE, MSE and "
            "Huber, each fitted by running descentlab's Adam on the loss's own gradient. "
            "MSE's line is dragged toward the outliers; MAE and Huber stay with the data.")
    sl = m["slopes"]
    meas = ("Fitted slopes (true " + fmt(m["true_slope"]) + "): "
            + ", ".join(f"{k} {fmt(v)}" for k, v in sl.items())
            + f". The MSE fit matches the closed-form least-squares slope "
            f"{fmt(m['lstsq_slope'])}. Share of the loss at the true line due to the 4 "
            "outliers: " + ", ".join(f"{k} {pct(v)}" for k, v in m["outlier_share"].items())
            + f". ({m['fit_settings']['optimizer']} lr {m['fit_settings']['lr']:g}, "
            f"{m['fit_settings']['steps']} steps.)")
    return look, meas


def _cross_entropy_caption(m, s):
    look = ("The slide's worked example with label L = [0, 1]: prediction [0, 1] costs 0 "
            "(0 * inf is taken as 0), prediction [1, 0] costs inf. The cost column is "
            "descentlab.losses.cross_entropy itself; from logits the same confident mistake "
            "costs a large but finite amount. Right: -log q as the probability of the true "
            "class falls.")
    meas = ("cross_entropy([0,1], [0,1]) = " + fmt(m["costs"]["[0, 1]"])
            + ", cross_entropy([0,1], [1,0]) = " + fmt(m["costs"]["[1, 0]"])
            + "; from logits (+-30): " + fmt(m["logit_costs"]["[0, 1]"]) + " and "
            + fmt(m["logit_costs"]["[1, 0]"]) + ".")
    return look, meas


def _kl_caption(m, s):
    look = ("KL(p || q) is the cross-entropy H(p, q) minus the entropy H(p): it is never "
            "negative and is 0 exactly where q = p. The dotted curve, KL(q || p), shows that "
            "the divergence is not symmetric.")
    low = fmt(m["min_kl"], 2)
    if abs(m["min_kl"]) <= 1e-12:
        low = f"0 (to rounding: {low})"
    meas = (f"H(p) = {fmt(m['entropy'])}; minimum KL {low} at q = "
            f"{fmt(m['argmin_q'])}; largest |KL - (H(p,q) - H(p))| over the curve: "
            f"{fmt(m['max_identity_error'], 2)}.")
    return look, meas


def _race(s):
    from descentlab.lab._figures_runs import plot_race
    from descentlab.lab._runs import run

    runs = run("rosenbrock", RACE, steps=s.size(1000, 200))
    fig = plot_race(runs, title=f"Eight optimizers on Rosenbrock from (-1.2, 1), "
                    f"{runs.steps} steps")
    fig.measured["rebounds"] = _rebounds(runs)
    return fig


def _rebounds(runs, factor: float = 2.0, after: int = 10) -> list[dict]:
    """Runs whose gap J - f* climbs back above ``factor`` times its best so far (after step
    ``after``): the largest such jump of each, so the caption says where a curve is not smooth."""
    import numpy as np

    gap = runs.losses - runs.surface.minimum_value
    out = []
    for i in range(len(runs)):
        g = gap[:, i]
        best = np.minimum.accumulate(np.where(np.isfinite(g), g, np.inf))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = g[1:] / np.maximum(best[:-1], 1e-300)
        ratio = np.where(np.isfinite(ratio), ratio, 0.0)
        ratio[: after - 1] = 0.0
        t = int(np.argmax(ratio)) + 1
        if ratio[t - 1] > factor:
            out.append({"run": runs.label(i), "step": t, "best": float(best[t - 1]),
                        "to": float(g[t])})
    return out


def _race_caption(m, s):
    look = ("Eight of the lecture's optimizers race down Rosenbrock's curved valley from the "
            "classic start (-1.2, 1). Each runs at the learning rate shown in its legend "
            "entry (set by hand for this page, the same for every run of an optimizer; nothing "
            "is tuned or clipped by the library). The legend and the table give the measured "
            "metrics.")
    meas = "; ".join(_metric_phrase(r) for r in m["metrics"]) + _tol(m)
    if m.get("rebounds"):
        meas += " Not monotone (nothing is clipped or smoothed): " + "; ".join(
            f"{r['run']}'s J - f* climbs from its best {fmt(r['best'], 2)} back to "
            f"{fmt(r['to'], 2)} at step {r['step']}" for r in m["rebounds"]) + "."
    return look, meas


def _basins(s):
    from descentlab.lab._figures_maps import plot_basins

    return plot_basins(grid=s.size(60, 16), steps=s.size(200, 60))


def _basins_caption(m, s):
    look = ("Every start point of a grid over Himmelblau's function, coloured by the minimum "
            "the run from it reaches (black: diverged, grey: ended elsewhere). Plain GD's basins "
            "are the surface's own; momentum carries runs across ridges into other basins; "
            "Adam's sign-like first steps redraw the borders.")
    meas = (f"{m['grid']}x{m['grid']} starts, {m['steps']} steps. " + " ".join(
        f"{k}: " + ", ".join(f"{n} {pct(v)}" for n, v in f.items() if v > 0) + "."
        for k, f in m["fractions"].items()))
    return look, meas


def _stability(s):
    import numpy as np

    from descentlab.lab._figures_maps import plot_stability_map

    n = s.size(40, 10)
    return plot_stability_map(lrs=np.geomspace(1e-3, 1.0, n), gammas=np.linspace(0, 0.98, n),
                              steps=s.size(300, 120))


def _stability_caption(m, s):
    look = ("Momentum on the ravine over a grid of learning rates and momentum factors, "
            "coloured by the steps needed to get within tol of the minimum (black: diverged, "
            "grey: not within the budget). The white dashed line is heavy ball's theoretical "
            "stability limit on a quadratic, lr = 2(1 + gamma)/L with L = 10 (Polyak 1964): the "
            "black region starts right there. The red cross is Polyak's optimal setting.")
    best = m.get("best", {})
    meas = (f"{len(m['x_values'])}x{len(m['y_values'])} settings, {m['steps']} steps. Cells "
            f"beyond the limit that diverged: {pct(m.get('beyond_limit_diverged'))}; cells "
            f"within it that diverged: {pct(m.get('within_limit_diverged'))}.")
    if best:
        meas += (f" Fastest measured: {fmt(best['steps_to_tol'])} steps at lr "
                 f"{fmt(best['lr'])}, gamma {fmt(best['gamma'])}")
        if "theory_optimum" in m:
            t = m["theory_optimum"]
            meas += f" (theory optimum: lr {fmt(t['lr'])}, gamma {fmt(t['gamma'])})"
        meas += "."
    return look, meas


def _inspect_momentum(s):
    from descentlab.lab._figures_maps import plot_inspector

    return plot_inspector("ravine", ("momentum", {"lr": 0.19, "gamma": 0.7}),
                          steps=s.size(150, 60))


def _inspect_adam(s):
    from descentlab.lab._figures_maps import plot_inspector

    return plot_inspector("ravine", ("adam", {"lr": 0.1}), steps=s.size(200, 60))


def _inspect_caption(m, s):
    look = ("The optimizer's internal state along its path: the buffers named by the "
            "lecture's symbols, per axis; the effective per-axis step size (the learning rate "
            "plain GD would need to make the same move: |d theta_i / g_i|), and the gradient "
            "with J - f*. On the ravine the two axes have curvatures 0.1 (x) and 10 (y).")
    ms = m["median_step_size"]
    meas = (f"Median effective step size: x {fmt(ms[0])}, y {fmt(ms[1])} (ratio "
            f"{fmt(ms[0] / ms[1] if ms[1] else float('nan'), 3)}). Final buffers: "
            + "; ".join(f"{k} = ({fmt(v[0])}, {fmt(v[1])})" for k, v in m["buffers"].items())
            + ". " + _metric_phrase(m["metrics"]) + ".")
    r = m["metrics"]
    if r["optimizer"] in ("Momentum", "NAG"):
        meas += (f" Under a constant gradient momentum's step would approach lr / (1 - gamma) = "
                 f"{fmt(r['lr'] / (1 - r['gamma']))} times it; where the gradient shrinks step "
                 "by step, as along x here, the velocity remembers larger past gradients and "
                 "the ratio is higher.")
    return look, meas


def _animation(s):
    from descentlab.lab._runs import run

    return run("himmelblau", ANIMATION, starts=[[-0.5, -0.5]], steps=s.size(120, 30))


def _animation_caption(m, s):
    look = ("GD, Momentum and Adam from (-0.5, -0.5) on Himmelblau, step by step (the GIF "
            "loops): momentum's overshoot and spiral into the minimum, Adam's straight, "
            "sign-driven start.")
    meas = "; ".join(_metric_phrase(r) for r in m["metrics"]) + "."
    return look, meas


def sections() -> list[Section]:
    """The tour's sections, in order: the lecture's figures, then the lab's own."""
    return [
        Section("lr_row", "Gradient descent and SGD at learning rates 0.01, 0.03, 0.13",
                "Lecture figures 1 and 2", _lr_row, _lr_row_caption),
        Section("minibatch_cloud", "GD vs minibatch SGD, with the cloud of minibatch gradients",
                "Lecture figure 2, in detail", _cloud, _cloud_caption),
        Section("ravine", "SGD vs Momentum in a ravine", "Lecture figure 3",
                _plot("_figures_runs", "plot_ravine"), _ravine_caption),
        Section("nesterov", "Momentum step vs Nesterov look-ahead step", "Lecture figure 4",
                _plot("_figures_lecture", "plot_nesterov_step"), _nesterov_caption),
        Section("family_tree", "The optimizer family tree", "Lecture figure 5",
                _plot("_figures_lecture", "plot_family_tree"), _tree_caption),
        Section("loss_curves", "Regression losses and their gradients",
                "Lecture figure 6 and section 2", _plot("_figures_lecture", "plot_loss_curves"),
                _loss_curves_caption),
        Section("outliers", "What an outlier does to MAE, MSE and Huber", "Lecture figure 6",
                _outliers, _outliers_caption),
        Section("cross_entropy", "Cross-entropy: the slide's worked example",
                "Lecture section 2", _plot("_figures_lecture", "plot_cross_entropy"),
                _cross_entropy_caption),
        Section("kl_divergence", "KL divergence = cross-entropy - entropy", "Lecture section 2",
                _plot("_figures_lecture", "plot_kl_divergence"), _kl_caption),
        Section("race", "Eight optimizers on Rosenbrock, with metrics", "Beyond the lecture",
                _race, _race_caption),
        Section("basins", "Basin map: where each start point ends", "Beyond the lecture",
                _basins, _basins_caption),
        Section("stability", "Learning rate x momentum: steps to tolerance and the stability "
                "limit", "Beyond the lecture", _stability, _stability_caption),
        Section("inspect_momentum", "Inspector: Momentum's velocity", "Beyond the lecture",
                _inspect_momentum, _inspect_caption),
        Section("inspect_adam", "Inspector: Adam's moments and per-axis step size",
                "Beyond the lecture", _inspect_adam, _inspect_caption),
        Section("animation", "Animation: three optimizers on Himmelblau", "Beyond the lecture",
                _animation, _animation_caption, kind="gif"),
    ]


# --------------------------------------------------------------------------- rendering
_CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif;
       max-width: 1180px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } .sub { color: #555; margin-top: 0; }
section { border-top: 1px solid #ddd; padding-top: 1em; margin-top: 2em; }
.where { color: #777; font-size: 0.9em; text-transform: uppercase; letter-spacing: 0.05em; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
.look { margin: 0.6em 0 0.3em; } .measured { background: #f6f8fa; padding: 0.5em 0.8em;
       border-left: 3px solid #4e79a7; font-size: 0.95em; }
table { border-collapse: collapse; font-size: 0.85em; margin-top: 0.6em; }
td, th { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
.toc { columns: 2; font-size: 0.95em; } footer { color: #777; font-size: 0.85em; margin: 3em 0; }
"""


def _metrics_table(rows) -> str:
    cols = ["lr", "gamma", "final_loss", "loss_gap", "distance", "first_within_tol",
            "steps_to_tol", "path_length", "oscillation", "diverged_at"]
    head = "<tr><th>optimizer</th>" + "".join(f"<th>{c}</th>" for c in cols) + "</tr>"
    body = []
    for r in rows:
        cells = [html.escape(str(r["optimizer"]))]
        for c in cols:
            v = r.get(c)
            cells.append("" if v is None else html.escape(
                str(v) if isinstance(v, int) and not isinstance(v, bool) else fmt(v, 4)))
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return "<table>" + head + "".join(body) + "</table>"


MANIFEST = "tour.json"  # the tour's record of the files it wrote (its "files" list)


def _written_before(out: Path) -> set[str] | None:
    """The files a previous tour wrote into ``out``, from its manifest; None without one.

    A manifest from before the "files" list existed names its sections' files; index.html and
    the manifest itself are always the tour's."""
    try:
        doc = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict):
        return None
    files = doc.get("files")
    if files is None and isinstance(doc.get("sections"), list) and "settings" in doc:
        files = [s.get("file") for s in doc["sections"] if isinstance(s, dict)]
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return {f for f in files if f and "/" not in f and f not in (".", "..")} | {
        "index.html", MANIFEST}


def _check_out(out: Path) -> set[str]:
    """The files of a previous tour in ``out`` that this tour may replace (empty for a new or
    empty folder); ValueError naming the first entries that the tour did not write (the rule
    that ``descentlab bench`` shares: :func:`descentlab._files.check_output_folder`)."""
    return check_output_folder(out, command="tour", manifest=MANIFEST, ours=_written_before,
                               not_ours_why="it has no tour.json, so it is not a previous tour")


def _install(tmp: Path, out: Path, written: list[str]) -> None:
    """Move the finished files of ``tmp`` into ``out``: a new ``out`` is ``tmp`` renamed; an
    existing one (empty, or a previous tour) gets each file replaced in one step, and the
    previous tour's files that this one does not write are removed. Only the tour's own files
    are touched: ``out`` is checked again first (something may have appeared while rendering).
    While files are moved, the manifest lists the old and the new files together, so a run
    killed half way leaves a folder that the next run still recognises as its own."""
    if not out.exists():
        try:
            os.rename(tmp, out)
            return
        except OSError:  # appeared meanwhile: fall through to the check below
            pass
    before = _check_out(out)
    if before != set(written):
        atomic_write_text(out / MANIFEST, json.dumps({"files": sorted(before | set(written))}))
    for name in written:
        if name != MANIFEST:
            os.replace(tmp / name, out / name)
    for name in sorted(before - set(written)):
        (out / name).unlink(missing_ok=True)
    os.replace(tmp / MANIFEST, out / MANIFEST)
    shutil.rmtree(tmp, ignore_errors=True)


def tour(out, settings: TourSettings | None = None, *, progress: bool = False) -> dict:
    """Render the tour into directory ``out``: ``out/index.html`` plus one image per section.

    Args:
      out: the report's directory: new, empty, or a previous tour (whose ``tour.json`` lists
        every file there; those files are replaced). Any other folder is a ValueError naming
        the files the tour did not write.
      settings: a :class:`TourSettings`; default ``TourSettings()``.
      progress: show a tqdm progress bar over the sections (on stderr). Default False.

    Returns:
      A summary: ``{"index": path, "seconds": total, "sections": [{key, title, file,
      seconds}], "settings": {...}}``.
    """
    settings = settings or TourSettings()
    out = Path(os.path.abspath(out))
    _check_out(out)  # before any work: a folder with files the tour did not write is refused
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out.parent, out.name)  # the folders of a killed tour
    todo = [s for s in sections() if settings.animation or s.kind != "gif"]
    t_start = time.perf_counter()
    if progress:  # before anything is written
        tqdm = require("tqdm.auto", extra="lab", feature="the tour's progress bar").tqdm
    tmp = out.parent / temporary_name(out.name, ".tmp")
    tmp.mkdir(mode=0o700)
    done = []
    bar = None
    if progress:
        bar = tqdm(total=len(todo), unit="figure", desc="descentlab tour")
    try:
        for sec in todo:
            t0 = time.perf_counter()
            if bar is not None:
                bar.set_postfix_str(sec.key)
            if sec.kind == "gif":
                from descentlab.lab._animate import animate_runs

                runs = sec.build(settings)
                file = f"{sec.key}.gif"
                animate_runs(runs, tmp / file, frames=settings.size(50, 8), fps=12, dpi=80)
                m = {"metrics": runs.metrics()}
            else:
                fig = sec.build(settings)
                file = f"{sec.key}.png"
                save_figure(fig, tmp / file, dpi=settings.dpi)
                m = dict(getattr(fig, "measured", {}))
            look, meas = sec.caption(m, settings)
            done.append({"key": sec.key, "title": sec.title, "where": sec.where, "file": file,
                         "look": look, "measured": meas, "metrics": m.get("metrics")
                         if sec.key in ("race", "ravine") else None,
                         "seconds": time.perf_counter() - t0})
            if bar is not None:
                bar.update(1)
        total = time.perf_counter() - t_start
        (tmp / "index.html").write_text(_html(done, settings, total, tmp), encoding="utf-8")
        written = ["index.html", *(d["file"] for d in done), MANIFEST]
        for name in written[:-1]:
            os.chmod(tmp / name, 0o666 & ~umask())
        (tmp / MANIFEST).write_text(json.dumps(
            {"format": "descentlab.tour/1", "files": written,
             "settings": asdict(settings), "seconds": total,
             "sections": [{k: d[k] for k in ("key", "title", "file", "seconds", "measured")}
                          for d in done]}, indent=2), encoding="utf-8")
        os.chmod(tmp / MANIFEST, 0o666 & ~umask())
        os.chmod(tmp, 0o777 & ~umask())  # the private 0700 -> the usual permissions
        _install(tmp, out, written)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if bar is not None:
            bar.close()
    return {"index": str(out / "index.html"), "seconds": total,
            "sections": [{k: d[k] for k in ("key", "title", "file", "seconds")} for d in done],
            "settings": asdict(settings)}


def _data_uri(path: Path) -> str:
    """The image inlined, so that index.html alone is the whole report (mail it, open it)."""
    import base64

    mime = {".png": "image/png", ".gif": "image/gif", ".svg": "image/svg+xml"}[path.suffix]
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _html(done, settings: TourSettings, total: float, folder: Path) -> str:
    from descentlab import __version__

    esc = html.escape
    toc = "".join(f'<li><a href="#{esc(d["key"])}">{esc(d["title"])}</a></li>' for d in done)
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>descentlab: the lecture tour</title>", f"<style>{_CSS}</style></head><body>",
        "<h1>descentlab: the lecture tour</h1>",
        f'<p class="sub">Every figure of the lecture "Loss functions, Optimizers", and the lab\'s '
        f"own, computed live by descentlab {esc(__version__)}. Every number in a caption was "
        f"measured while drawing. Rendered in {total:.1f} s on {os.cpu_count()} CPU cores "
        f"(Python {esc(platform.python_version())}); settings: "
        f"<code>{esc(json.dumps(asdict(settings)))}</code>.</p>",
        f'<ol class="toc">{toc}</ol>',
    ]
    for d in done:
        alt = esc(d["title"])
        parts += [
            f'<section id="{esc(d["key"])}">', f'<div class="where">{esc(d["where"])}</div>',
            f"<h2>{esc(d['title'])}</h2>",
            f'<img src="{_data_uri(folder / d["file"])}" data-file="{esc(d["file"])}" '
            f'alt="{alt}" loading="lazy">',
            f'<p class="look"><b>What to look at.</b> {esc(d["look"])}</p>',
            f'<p class="measured"><b>Measured.</b> {esc(d["measured"])}</p>',
        ]
        if d["metrics"]:
            parts.append(_metrics_table(d["metrics"]))
        parts.append(f'<p class="where">rendered in {d["seconds"]:.2f} s</p></section>')
    parts += ["<footer>Generated by <code>descentlab tour</code>. Self-contained: every image is "
              "inlined in this page (and also saved as the file next to it that its data-file "
              "attribute names); nothing is loaded from the network.</footer>",
              "</body></html>"]
    return "\n".join(parts)
