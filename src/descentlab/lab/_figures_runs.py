"""Figures of optimizer runs on a surface: paths on contours, loss vs step, the lecture's
learning-rate row, GD vs minibatch SGD with its gradient cloud, SGD vs Momentum in the ravine.

Each function takes a :class:`descentlab.lab.Runs` (or builds one with ``descentlab.lab.run``,
with every setting visible in its arguments), draws it, puts the measured metrics on the figure
and returns the Figure; the numbers are also in ``fig.measured``.
"""

from __future__ import annotations

import numpy as np

from descentlab.lab._figures_common import (
    draw_contours,
    fmt,
    measured,
    new_axes,
    new_figure,
    optimizer_color,
    run_label,
)

__all__ = ["plot_paths", "plot_loss_vs_step", "plot_race", "plot_lr_row", "plot_minibatch_cloud",
           "plot_ravine"]


def _run(surface, optimizers, starts=None, **kw):
    from descentlab.lab._runs import run

    return run(surface, optimizers, starts, **kw)


#: the line style of a run whose path repeats an earlier run's exactly: the earlier (solid) line
#: shows through its gaps, so neither hides the other
SAME_PATH_STYLE = (0, (4, 4))


def same_path_as(runs) -> list:
    """For each run, the index of the first earlier run with exactly the same trajectory (every
    position equal, NaN where NaN), else ``None``: GD and SGD without minibatches, say, take the
    same steps, and one line would hide the other."""
    first: dict = {}
    out = []
    for i in range(len(runs)):
        key = np.ascontiguousarray(runs.trajectories[:, i]).tobytes()
        out.append(first.get(key))
        first.setdefault(key, i)
    return out


def _colors(runs) -> list[str]:
    """One colour per run: the optimizer's colour, or a cycle when an optimizer appears twice."""
    names = list(runs.meta.optimizer_names())
    colors, seen = [], {}
    for i, name in enumerate(names):
        k = seen.get(name, 0)
        seen[name] = k + 1
        colors.append(optimizer_color(name, i) if k == 0 else f"C{(i + k) % 10}")
    if len(set(colors)) < len(colors):  # several runs of one optimizer: colour by run instead
        colors = [f"C{i % 10}" for i in range(len(names))]
    return colors


def tolerance_phrase(m: dict, *, steps: int | None = None) -> str:
    """When a run got within the tolerance and when it stayed there: ``"within tol from step 40"``
    when the two steps agree, ``"first within tol at 554, stays from 858"`` when it bounced out
    again, ``"within tol at 554, not settled"`` when it never stayed, ``"never within tol"``."""
    first, stays = int(m["first_within_tol"]), int(m["steps_to_tol"])
    if first < 0:
        return "never within tol" + (f" in {steps} steps" if steps is not None else "")
    if stays < 0:
        return f"within tol at step {first}, not settled"
    if stays == first:
        return f"within tol from step {first}"
    return f"first within tol at {first}, stays from {stays}"


def metrics_text(m: dict, *, steps: int) -> str:
    """A short description of one run's metrics (a row of ``Runs.metrics()``)."""
    if m["diverged_at"] >= 0:
        return f"diverged at step {m['diverged_at']}"
    gap = m["loss_gap"]
    parts = [f"J-f*={fmt(gap, 2)}" if gap == gap else f"J={fmt(m['final_loss'], 3)}"]
    parts.append(tolerance_phrase(m, steps=steps))
    if m["oscillation"] == m["oscillation"]:
        parts.append(f"zig-zag {m['oscillation']:.2f}")
    return ", ".join(parts)


def verdict(m: dict, *, zigzag: float = 0.5) -> str:
    """The lecture's three words, decided from a run's measured metrics (documented rule).

    ``"overshooting"`` if the run diverged or its oscillation (zig-zag) index exceeds ``zigzag``;
    else ``"about right"`` if it settled within the tolerance (``steps_to_tol >= 0``); else
    ``"too slow"``.
    """
    if m["diverged_at"] >= 0 or (m["oscillation"] == m["oscillation"]
                                 and m["oscillation"] > zigzag):
        return "overshooting"
    return "about right" if m["steps_to_tol"] >= 0 else "too slow"


def _finite_prefix(xy: np.ndarray) -> np.ndarray:
    ok = np.isfinite(xy).all(axis=-1)
    n = len(ok) if ok.all() else int(np.argmin(ok))
    return xy[:n]


def plot_paths(runs, *, ax=None, tol: float = 1e-3, bounds=None, legend: bool = True,
               markers: bool = True, title: str | None = None, label_metrics: bool = True):
    """Contours of the surface with the path of every run, the metrics in the legend.

    Each run is drawn as a line from its start (circle) to its last finite point (square); a run
    that diverged ends with a cross where it left the box (its later points are not finite).
    Known minima are gold stars. A run whose path repeats an earlier run's exactly (see
    :func:`same_path_as`) is dashed over it and its label says so. Legend entries are
    ``Runs.label(i)`` followed by :func:`metrics_text` (loss gap, steps to ``tol``, zig-zag
    index) unless ``label_metrics`` is False.

    Args:
      runs: a :class:`descentlab.lab.Runs`.
      ax: axes to draw on; a new figure when omitted.
      tol: tolerance on J - f* for ``steps_to_tol``, in (0, inf). Default 1e-3.
      bounds: plotting window; default the surface's ``bounds``.
      legend: draw the legend. Default True.
      markers: mark starts, ends and divergences. Default True.
      title: axes title; default the surface's name, steps and start.
      label_metrics: append the metrics to the legend labels. Default True.

    ``fig.measured["metrics"]`` is ``runs.metrics(tol)``. Lines carry ``gid = "run:<i>"``.
    """
    fig, ax = new_axes(ax, figsize=(7.5, 5.6))
    surface = runs.surface
    draw_contours(ax, surface, bounds=bounds)
    metrics = runs.metrics(tol)
    colors = _colors(runs)
    same = same_path_as(runs)
    for i in range(len(runs)):
        xy = _finite_prefix(runs.trajectories[:, i])
        label = run_label(runs, i)
        if same[i] is not None:
            label += f" (same path as {run_label(runs, same[i])}, dashed over it)"
        if label_metrics:
            label += ": " + metrics_text(metrics[i], steps=runs.steps)
        (line,) = ax.plot(xy[:, 0], xy[:, 1], color=colors[i], lw=1.6, label=label,
                          ls="-" if same[i] is None else SAME_PATH_STYLE,
                          gid=f"run:{i}", marker="." if runs.steps <= 60 else None, ms=3)
        if markers and len(xy):
            ax.plot(*xy[0], "o", color=colors[i], ms=6, mec="black", mew=0.6, label="_start")
            end = "X" if runs.diverged_at[i] >= 0 else "s"
            ax.plot(*xy[-1], end, color=colors[i], ms=8 if end == "X" else 6, mec="black",
                    mew=0.6, label="_end")
    if title is None:
        title = f"{surface.name}: {runs.steps} steps"
    ax.set_title(title, fontsize=10)
    if legend:
        ax.legend(fontsize=7, loc="best", framealpha=0.85)
    measured(fig, metrics=metrics, tol=tol)
    return fig


def plot_loss_vs_step(runs, *, ax=None, tol: float = 1e-3, log: bool = True,
                      legend: bool = True):
    """The loss of every run against the step: ``J - f*`` on a log axis when the surface's minimum
    value f* is known (gaps at or below 1e-16 are drawn at 1e-16), else J itself. The tolerance is
    a dashed line; a diverged run stops with a cross at its last finite loss."""
    fig, ax = new_axes(ax, figsize=(6.5, 4.2))
    fstar = runs.surface.minimum_value
    colors = _colors(runs)
    same = same_path_as(runs)
    known = fstar == fstar
    steps = np.arange(runs.steps + 1)
    for i in range(len(runs)):
        L = runs.losses[:, i]
        ok = np.isfinite(L)
        n = len(L) if ok.all() else int(np.argmin(ok))
        y = L[:n] - fstar if known else L[:n]
        if known and log:
            y = np.maximum(y, 1e-16)
        ax.plot(steps[:n], y, color=colors[i], lw=1.4, label=run_label(runs, i), gid=f"run:{i}",
                ls="-" if same[i] is None else SAME_PATH_STYLE)
        if runs.diverged_at[i] >= 0 and n:
            ax.plot(steps[n - 1], y[-1], "X", color=colors[i], ms=8, mec="black", mew=0.6)
    if known and log:
        ax.set_yscale("log")
        ax.axhline(tol, color="#777777", ls="--", lw=0.8, label=f"tol {fmt(tol)}")
    ax.set(xlabel="step", ylabel="J - f*" if known else "J")
    # the size of plot_paths' title: side by side (race, animate) the two panels' titles match
    ax.set_title("Loss vs step" + (" (gap to the minimum)" if known else ""), fontsize=10)
    if legend:
        ax.legend(fontsize=7)
    measured(fig, final_losses=[float(v) for v in runs.losses[-1]])
    return fig


def legend_columns(entries: int, ncols: int) -> int:
    """At most ``ncols`` legend columns for ``entries`` entries, fewer where the last column
    would hold one entry alone: matplotlib fills columns top to bottom, so two runs and the
    tolerance line in two columns put "tol" by itself a whole label's width to the right."""
    while ncols > 1 and entries - (-(-entries // ncols)) * (ncols - 1) <= 1:
        ncols -= 1
    return ncols


def legend_below(fig, paths_ax, loss_ax, *, ncols: int, fontsize: float = 8):
    """One legend under both panels, outside the axes: each run's entry from ``paths_ax`` (its
    label carries the metrics) and the tolerance line from ``loss_ax``; in at most ``ncols``
    columns (see :func:`legend_columns`)."""
    handles, labels = paths_ax.get_legend_handles_labels()
    for h, lab in zip(*loss_ax.get_legend_handles_labels(), strict=True):
        if not str(h.get_gid()).startswith("run:"):  # the tolerance line
            handles.append(h)
            labels.append(lab)
    ncols = legend_columns(len(handles), ncols)
    return fig.legend(handles, labels, loc="outside lower center", ncols=ncols,
                      fontsize=fontsize, frameon=False, handlelength=2.2, columnspacing=2.5)


def plot_race(runs, *, tol: float = 1e-3, title: str | None = None, bounds=None):
    """Paths on contours (left) and loss vs step (right), side by side, with one legend below
    both panels: each run's label and metrics (as :func:`plot_paths` writes them) and the
    tolerance line. The legend sits outside the axes, so it covers no path and no curve however
    the runs go; the figure grows by its height (two columns, one row per two entries).
    """
    ncols = legend_columns(len(runs) + 1, 2)
    rows = -(-(len(runs) + 1) // ncols)
    fig = new_figure(figsize=(13, 5.2 + 0.19 * rows))
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.35, 1])
    plot_paths(runs, ax=ax1, tol=tol, bounds=bounds, legend=False)
    plot_loss_vs_step(runs, ax=ax2, tol=tol, legend=False)
    legend_below(fig, ax1, ax2, ncols=ncols, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


# --------------------------------------------------------------------------- lecture figures
def plot_lr_row(surface=None, *, lrs=(0.01, 0.03, 0.13), steps: int = 100, batch_size: int = 10,
                seed: int = 0, tol: float = 1e-2):
    """The lecture's learning-rate figures: GD (top row) and SGD (bottom) at lr 0.01 / 0.03 / 0.13.

    Runs ``lab.run(surface, ("gd", {"lr": lrs}), steps=steps)`` and the same with
    ``("sgd", ...)`` and ``batch_size`` (seeded minibatches). The default surface is
    ``surfaces.get("lecture_lr")``, designed so that in 100 steps GD at 0.01 is too slow, at 0.03
    about right and at 0.13 overshoots (its docstring gives the curvatures). Each panel's title
    states the verdict decided from the measurements by :func:`verdict`, with the numbers. The
    tolerance defaults to 1e-2 (J - f* starts near 24 here): minibatch noise keeps SGD's
    full-batch loss bouncing around 1e-3 at lr 0.03, which a tighter tolerance would call slow.

    ``fig.measured`` holds ``gd`` and ``sgd``: per lr, the metrics row and the verdict.
    """
    from descentlab import surfaces

    surface = surfaces.get("lecture_lr") if surface is None else surface
    lrs = [float(v) for v in lrs]
    gd = _run(surface, ("gd", {"lr": lrs}), steps=steps, seed=seed)
    sgd = _run(surface, ("sgd", {"lr": lrs}), steps=steps, seed=seed, batch_size=batch_size)
    fig = new_figure(figsize=(4.2 * len(lrs), 8.2))
    axes = np.atleast_2d(fig.subplots(2, len(lrs), sharex=True, sharey=True))
    out = {}
    for row, (name, runs) in enumerate((("GD", gd), ("SGD", sgd))):
        mets = runs.metrics(tol)
        out[name.lower()] = {}
        for j, lr in enumerate(lrs):
            ax = axes[row, j]
            sub = runs.subset([j])
            plot_paths(sub, ax=ax, tol=tol, legend=False)
            m = mets[j]
            word = verdict(m)
            out[name.lower()][lr] = {"verdict": word, **m}
            what = (f"diverged at step {m['diverged_at']}" if m["diverged_at"] >= 0 else
                    f"J-f* {fmt(m['loss_gap'], 2)} after {steps}, zig-zag "
                    f"{m['oscillation']:.2f}")
            extra = f", batch {batch_size}" if name == "SGD" else ""
            ax.set_title(f"{name} lr={lr:g}{extra}: {word}\n{what}", fontsize=9)
    fig.suptitle(f"The lecture's learning rates on {surface.name} ({steps} steps; x = slope w, "
                 "y = intercept b)", fontsize=11)
    measured(fig, **out, steps=steps, batch_size=batch_size, seed=seed, tol=tol)
    return fig


def plot_minibatch_cloud(surface=None, *, lr: float = 0.03, batch_size: int = 10,
                         steps: int = 100, count: int = 200, at=(0, 5, 20), seed: int = 0,
                         tol: float = 1e-3):
    """GD vs minibatch SGD, with the cloud of minibatch steps around the full-batch step.

    Left: the GD path and the SGD path (same lr, ``batch_size`` points per step, seeded) on the
    loss surface over (w, b). At the SGD iterates of steps ``at``, ``count`` independent
    minibatch gradients are drawn (``surface.minibatch_grads``) and each possible next point
    ``theta - lr * g_batch`` is a dot; the arrow is the full-batch step ``theta - lr * g``.
    Right: J - f* against the step for both.

    ``fig.measured["clouds"]`` gives, at each of those points, the full gradient's norm, the
    mean distance of the minibatch gradients from it (the noise) and their mean cosine with it.
    """
    from descentlab import surfaces

    surface = surfaces.get("lecture_lr") if surface is None else surface
    runs = _run(surface, [("gd", {"lr": lr}), ("sgd", {"lr": lr})], steps=steps, seed=seed)
    # the SGD run needs minibatches: run it separately (batch_size applies to every run of a call)
    sgd = _run(surface, ("sgd", {"lr": lr}), steps=steps, seed=seed, batch_size=batch_size)
    gd = runs.subset([0])
    fig = new_figure(figsize=(13, 5.8))
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.3, 1])
    rng = np.random.default_rng(seed + 1)
    clouds, shown = [], [_finite_prefix(r.trajectories[:, 0]) for r in (gd, sgd)]
    for k, t in enumerate(at):
        if t > steps or not np.isfinite(sgd.trajectories[t, 0]).all():
            continue
        theta = sgd.trajectories[t, 0]
        G = surface.minibatch_grads(theta, batch_size, count, rng)  # (count, 2)
        g = surface.grad(theta)
        pts = theta - lr * G
        shown.append(pts)
        ax1.scatter(pts[:, 0], pts[:, 1], s=9, color="#ff7f0e", alpha=0.9, lw=0,
                    label="possible SGD steps" if k == 0 else "_cloud", gid=f"cloud:{t}", zorder=3)
        ax1.annotate("", xy=tuple(theta - lr * g), xytext=tuple(theta), gid=f"full-step:{t}",
                     arrowprops=dict(arrowstyle="-|>", color="black", lw=1.5, shrinkA=0,
                                     shrinkB=0))
        gnorm = float(np.linalg.norm(g))
        noise = float(np.mean(np.linalg.norm(G - g, axis=-1)))
        cos = float(np.mean(G @ g / (np.linalg.norm(G, axis=-1) * gnorm + 1e-300)))
        clouds.append({"step": int(t), "grad_norm": gnorm, "noise": noise, "mean_cos": cos})
    pts = np.concatenate(shown + [surface.minima])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = 0.08 * (hi - lo) + 1e-9
    draw_contours(ax1, surface, bounds=((lo[0] - pad[0], hi[0] + pad[0]),
                                        (lo[1] - pad[1], hi[1] + pad[1])), cmap="Blues_r")
    for r, (name, color, ls) in ((gd, ("GD (full batch)", "C0", "-")),
                                 (sgd, (f"SGD (batch {batch_size})", "C3", "-"))):
        xy = _finite_prefix(r.trajectories[:, 0])
        ax1.plot(xy[:, 0], xy[:, 1], ls, color=color, lw=1.5, label=name, marker=".", ms=3)
        L = r.losses[:, 0] - surface.minimum_value
        ax2.semilogy(np.arange(len(L)), np.maximum(L, 1e-16), color=color, label=name)
    ax1.plot([], [], color="black", lw=1.5, label="full-batch step (arrow)")
    # under the axes: inside, it sat on the cloud of possible SGD steps
    ax1.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=2,
               frameon=False)
    ax1.set(xlabel="slope w", ylabel="intercept b",
            title=f"GD vs SGD at lr={lr:g} on {surface.name}")
    ax2.axhline(tol, color="#777777", ls="--", lw=0.8, label=f"tol {fmt(tol)}")
    ax2.set(xlabel="step", ylabel="J - f* (full batch)", title="Loss vs step")
    ax2.legend(fontsize=8)
    mg, ms_ = gd.metrics(tol)[0], sgd.metrics(tol)[0]
    txt = "\n".join(f"step {c['step']}: |g| {fmt(c['grad_norm'], 2)}, noise "
                    f"{fmt(c['noise'], 2)}, cos {c['mean_cos']:.2f}" for c in clouds)
    ax1.text(0.02, 0.98, "minibatch gradients vs full gradient\n" + txt,
             transform=ax1.transAxes, fontsize=7.5, va="top", family="monospace",
             bbox=dict(fc="white", ec="#cccccc", alpha=0.9))
    measured(fig, clouds=clouds, gd=mg, sgd=ms_, lr=lr, batch_size=batch_size, seed=seed)
    return fig


def plot_ravine(surface=None, *, optimizers=(("sgd", {"lr": 0.19}),
                                             ("momentum", {"lr": 0.19, "gamma": 0.7})),
                start=None, steps: int = 150, tol: float = 1e-3):
    """SGD vs Momentum in the ravine: the oscillation momentum damps.

    Default surface ``surfaces.get("ravine")`` (J = 0.05 x^2 + 5 y^2, curvatures 0.1 and 10).
    The analytic ravine has no data to sample, so "SGD" takes the exact gradient here (its rule is
    GD's); the zig-zag is the step-size effect the lecture describes, not noise. Both runs use
    the same lr = 0.19, just under SGD's stability limit 2 / 10: SGD bounces across the steep axis
    (error factor 1 - 0.19 * 10 = -0.9 per step) while crawling along the flat one (0.981 per
    step). Momentum with gamma = 0.7 (stable for lr < 2 (1 + gamma) / 10 = 0.34) averages the
    alternating y-gradients away (per-step factor |z| = sqrt(0.7) = 0.84 across) and accumulates
    the consistent x-gradients (0.92 per step along). The legend gives each run's zig-zag index
    and steps to ``tol``; ``fig.measured["metrics"]`` has them all.

    Three panels: the paths, the position across the ravine y against the step, and J - f*.
    The middle panel is where the damping shows: in the paths panel Momentum's swings look
    longer because it travels further along x per swing, while against the step they die out
    sooner (``fig.measured["y_settled"]``: per run, the step from which |y| stays under 1% of
    its start value; -1: never within the run).
    """
    from descentlab import surfaces

    surface = surfaces.get("ravine") if surface is None else surface
    runs = _run(surface, list(optimizers), starts=start, steps=steps)
    ncols = legend_columns(len(runs) + 1, 2)
    fig = new_figure(figsize=(14, 5.0 + 0.19 * -(-(len(runs) + 1) // ncols)))
    ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1.35, 1, 1])
    plot_paths(runs, ax=ax1, tol=tol, legend=False)
    colors = _colors(runs)
    y = runs.trajectories[:, :, 1]
    band = 0.01 * np.abs(y[0])
    t = np.arange(runs.steps + 1)
    settled = []
    for i in range(len(runs)):
        ax2.plot(t, y[:, i], color=colors[i], lw=1.3, gid=f"y:{i}")
        out = ~(np.abs(y[:, i]) <= band[i])  # NaN counts as out
        settled.append(-1 if out[-1] else int(np.max(np.nonzero(out)[0], initial=-1) + 1))
        if settled[-1] >= 0:
            ax2.axvline(settled[-1], color=colors[i], ls=":", lw=1.2,
                        label=f"|y| < 1% of its start from step {settled[-1]}")
    ax2.axhline(0.0, color="black", lw=0.6)
    if max(settled) > 0:  # the swings, not the flat tail after them
        ax2.set_xlim(0, min(runs.steps, int(1.6 * max(settled)) + 1))
    ax2.set(xlabel="step", ylabel="y (across the ravine)")
    ax2.set_title("Across the ravine: y vs step", fontsize=10)
    ax2.legend(fontsize=8, loc="upper right", bbox_to_anchor=(1.0, -0.16), frameon=False)
    plot_loss_vs_step(runs, ax=ax3, tol=tol, legend=False)
    legend_below(fig, ax1, ax3, ncols=ncols, fontsize=8)
    fig.suptitle(f"SGD vs Momentum in the ravine ({surface.formula}, {steps} steps)",
                 fontsize=11)
    measured(fig, y_settled=settled)
    return fig
