"""Beyond the lecture: basin maps, hyperparameter heat maps with the theoretical stability limit,
and the inspector view of an optimizer's internal state along its path.
"""

from __future__ import annotations

import numpy as np

from descentlab._validation import check_in_range
from descentlab.lab import _limits
from descentlab.lab._figures_common import (
    draw_contours,
    fmt,
    measured,
    new_axes,
    new_figure,
    optimizer_color,
    pct,
    run_label,
)

__all__ = ["plot_basins", "basin_classes", "plot_sweep", "plot_stability_map",
           "stability_limit", "plot_inspector"]


def _run(surface, optimizers, starts=None, **kw):
    from descentlab.lab._runs import run

    return run(surface, optimizers, starts, **kw)


def _surface(surface):
    if isinstance(surface, str):
        from descentlab import surfaces

        return surfaces.get(surface)
    return surface


# --------------------------------------------------------------------------- basin map
def basin_classes(runs, *, radius: float | None = None) -> np.ndarray:
    """Where each run ended: the index of the known minimum it reached, -1 elsewhere, -2 diverged.

    A run "reached" minimum k when its last point lies within ``radius`` of it (default: 2% of
    the diagonal of the surface's bounds) and it did not diverge.
    """
    (x0, x1), (y0, y1) = runs.surface.bounds
    if radius is None:
        radius = 0.02 * float(np.hypot(x1 - x0, y1 - y0))
    else:
        radius = check_in_range(radius, name="radius", owner="basin_classes", low=0.0,
                                low_closed=False, high_closed=False)
    cols = runs.metrics(columns=True)
    out = np.where(cols["distance"] <= radius, cols["nearest_minimum"], -1)
    return np.where(runs.diverged_at >= 0, -2, out).astype(np.int64)


def plot_basins(surface="himmelblau", optimizers=(("gd", {"lr": 0.01}),
                                                  ("momentum", {"lr": 0.01, "gamma": 0.9}),
                                                  ("adam", {"lr": 0.1})),
                *, grid: int = 60, steps: int = 200, radius: float | None = None, axes=None,
                progress=None):
    """Basin map: colour every start point of a grid by the minimum each optimizer reaches.

    ``grid x grid`` start points cover the surface's bounds; every optimizer runs from all of them
    in vectorized ``lab.run`` calls, a batch of starts at a time (``_limits.BASIN_BATCH_BYTES`` of
    trajectories each; the runs are bit for bit the same in any batch), keeping only where each
    run ended. A start's colour is the known minimum its run ends within
    ``radius`` of (:func:`basin_classes`), light grey if it ends elsewhere (still travelling, or
    stuck at another critical point) and black if it diverged. What to see: the basins' borders
    differ per optimizer (momentum carries runs across ridges into other basins; adaptive steps
    straighten paths), and large steps from steep regions diverge.

    Args:
      surface: a surface or catalog name. Default ``"himmelblau"`` (four minima).
      optimizers: ``lab.run`` optimizer specs, one panel each (a grid spec gives one panel per
        grid point). Defaults: GD lr 0.01, Momentum lr 0.01 gamma 0.9, Adam lr 0.1.
      grid: start points per axis, >= 2. Default 60.
      steps: steps per run. Default 200.
      radius: arrival radius; default 2% of the bounds' diagonal.
      axes: a sequence of axes, one per optimizer run; a new figure when omitted.
      progress: a tqdm progress bar over the run-steps; ``None`` (default): only for long maps
        (at least 10^7 run-steps) when stderr is a terminal, as ``lab.run``.

    ``fig.measured["fractions"]`` maps each run label to the fraction of starts per outcome.
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    surface = _surface(surface)
    (x0, x1), (y0, y1) = surface.bounds
    xs, ys = np.linspace(x0, x1, grid), np.linspace(y0, y1, grid)
    X, Y = np.meshgrid(xs, ys)
    starts = np.stack([X.ravel(), Y.ravel()], axis=1)
    from descentlab.lab._runs import _progress_bar, spec_list

    optimizers = spec_list(optimizers)  # one spec, as lab.run takes it, or a list of them
    first = _run(surface, optimizers, starts[:1], steps=0)  # the labels; runs per start
    n_opt = len(first)
    batch = max(1, _limits.BASIN_BATCH_BYTES // (n_opt * (steps + 1) * _limits.BYTES_PER_RUN_STEP))

    bar = _progress_bar(progress, n_opt * len(starts) * steps)
    parts = []  # (n_opt, starts of the batch) classes, batch by batch
    try:
        for a in range(0, len(starts), batch):
            runs = _run(surface, optimizers, starts[a:a + batch], steps=steps, progress=False)
            parts.append(basin_classes(runs, radius=radius).reshape(n_opt, -1))
            if bar is not None:
                bar.update(len(runs) * steps)
    finally:
        if bar is not None:
            bar.close()
    classes = np.concatenate(parts, axis=1).ravel()  # optimizer-major, as one call orders them
    n_min = len(surface.minima)
    palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948",
               "#ff9da7", "#9c755f", "#bab0ac"]
    colors = ["black", "#e6e6e6"] + [palette[k % len(palette)] for k in range(n_min)]
    cmap = ListedColormap(colors)
    if axes is None:
        cols = min(n_opt, 3)
        rows = -(-n_opt // cols)
        fig = new_figure(figsize=(4.6 * cols, 4.4 * rows + 0.6))
        axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True, sharey=True)).ravel()
        for ax in axes[n_opt:]:
            ax.set_axis_off()
    fig = axes[0].figure
    fractions = {}
    for k in range(n_opt):
        ax = axes[k]
        sel = slice(k * len(starts), (k + 1) * len(starts))
        c = classes[sel].reshape(grid, grid)
        label = run_label(first, k)
        ax.imshow(c + 2, origin="lower", extent=(x0, x1, y0, y1), cmap=cmap, vmin=-0.5,
                  vmax=len(colors) - 0.5, interpolation="nearest", aspect="auto",
                  gid=f"basins:{k}")
        draw_contours(ax, surface, filled=False, cmap="Greys", levels=12)
        frac = {("diverged" if v == -2 else "elsewhere" if v == -1 else f"minimum {v}"):
                float(np.mean(c == v)) for v in range(-2, n_min)}
        fractions[label] = frac
        for j, (mx, my) in enumerate(surface.minima):
            ax.annotate(f"{j}", (mx, my), xytext=(5, 5), textcoords="offset points",
                        fontsize=8, weight="bold")
        ax.set_title(f"{label}, {steps} steps\ndiverged {pct(frac['diverged'])}, "
                     f"elsewhere {pct(frac['elsewhere'])}", fontsize=9,
                     color=optimizer_color(first.meta[k]["optimizer"]))
    handles = [Patch(color=colors[v + 2], label=name) for v, name in
               [(-2, "diverged"), (-1, "elsewhere")] + [(j, f"minimum {j} "
               f"({surface.minima[j][0]:.2f}, {surface.minima[j][1]:.2f})")
                                                       for j in range(n_min)]]
    fig.legend(handles=handles, loc="outside lower center", ncol=min(6, len(handles)),
               fontsize=8)
    fig.suptitle(f"Basins on {surface.name}: {grid}x{grid} starts, colour = where each run "
                 "ends", fontsize=11)
    measured(fig, fractions=fractions, grid=grid, steps=steps)
    return fig


# --------------------------------------------------------------------------- stability limits
def stability_limit(optimizer: str, L: float, gamma=0.0):
    """Largest stable learning rate on a quadratic whose largest curvature is ``L``.

    For a quadratic J = 1/2 sum_i lambda_i u_i^2, each eigen-direction evolves independently;
    with a = lr * lambda the error obeys a linear recurrence whose characteristic roots must lie
    inside the unit circle (Jury's criterion for z^2 + c1 z + c0):

    * GD / SGD: u_{t+1} = (1 - a) u_t, stable iff 0 < a < 2, i.e. ``lr < 2 / L``.
    * Momentum (heavy ball, the lecture's v = gamma v + lr g; theta -= v):
      u_{t+1} = (1 + gamma - a) u_t - gamma u_{t-1}, stable iff 0 <= gamma < 1 and
      0 < a < 2 (1 + gamma), i.e. ``lr < 2 (1 + gamma) / L``. Source: B. T. Polyak, "Some
      methods of speeding up the convergence of iteration methods" (1964), Theorem 9; also
      G. Goh, "Why Momentum Really Works", Distill (2017), whose z-form
      ``w -= alpha z, z = beta z + grad`` is the lecture's with v = alpha z (same limit
      0 < alpha lambda < 2 + 2 beta).
    * NAG (the lecture's look-ahead form): u_{t+1} = (1 - a)(1 + gamma) u_t - (1 - a) gamma u_{t-1},
      stable iff 0 < a < 1 + 1 / (1 + 2 gamma), i.e. ``lr < (2 + 2 gamma) / ((1 + 2 gamma) L)``
      (derived here by the same criterion; at gamma = 0 it is GD's 2 / L).

    Args:
      optimizer: ``"gd"``, ``"sgd"``, ``"momentum"`` or ``"nag"`` (case-insensitive).
      L: the largest curvature (Hessian eigenvalue), in (0, inf).
      gamma: momentum factor(s), in [0, 1); float or array.

    Example:
      >>> stability_limit("momentum", 10.0, 0.9)
      0.38
      >>> stability_limit("gd", 10.0)
      0.2
    """
    name = str(optimizer).lower()
    gamma = np.asarray(gamma, dtype=float)
    if name in ("gd", "sgd"):
        out = np.full_like(gamma, 2.0 / L)
    elif name == "momentum":
        out = 2.0 * (1.0 + gamma) / L
    elif name == "nag":
        out = (2.0 + 2.0 * gamma) / ((1.0 + 2.0 * gamma) * L)
    else:
        raise ValueError(f"stability_limit: no limit known for {optimizer!r}. Valid choices: "
                         "gd, sgd, momentum, nag.")
    return float(out) if out.ndim == 0 else out


def _edges(values: np.ndarray, log: bool) -> np.ndarray:
    v = np.log(values) if log else values
    if len(v) == 1:
        e = np.array([v[0] - 0.5, v[0] + 0.5]) if not log else np.array([v[0] - 0.1, v[0] + 0.1])
    else:
        mid = (v[1:] + v[:-1]) / 2
        e = np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
    return np.exp(e) if log else e


def _is_log(values: np.ndarray) -> bool:
    return bool(len(values) > 2 and values.min() > 0 and values.max() / values.min() > 20)


def plot_sweep(runs, x: str, y: str | None = None, *, metric: str = "steps_to_tol",
               tol: float = 1e-3, ax=None, limit: bool = True):
    """A metric over a hyperparameter grid: a heat map over two hyperparameters (``x``, ``y``), a
    line plot over one (``y=None``: the metric against ``x``, diverged cells as black bands,
    never-settled ones as grey bands).

    Cells are the distinct values of ``runs.hyperparameter(x)`` (and ``y``); a cell holding several
    runs (seeds, starts) shows their median. For ``steps_to_tol`` and ``first_within_tol``, cells
    that never get within ``tol`` are light grey ("never"); diverged cells are black whatever the
    metric.
    With ``limit`` and a quadratic surface (``surface.curvatures`` known) swept over ``lr`` (and
    ``gamma``) for GD, SGD, Momentum or NAG, the theoretical stability limit
    (:func:`stability_limit`) is drawn as a white dashed line with ``gid="stability-limit"``.

    ``fig.measured`` holds the grid (``x_values``, ``y_values``, ``values`` with NaN for never /
    diverged, ``diverged`` mask), the best cell and, with a limit, ``beyond_limit_diverged`` and
    ``within_limit_diverged``: the fraction of cells beyond / within the limit that diverged.
    """
    from matplotlib.colors import ListedColormap, LogNorm

    fig, ax = new_axes(ax, figsize=(7.2, 5.6))
    cols = runs.metrics(tol, columns=True)
    if metric not in cols:
        raise ValueError(f"plot_sweep: unknown metric {metric!r}. Valid choices: "
                         f"{', '.join(cols)}.")
    xv_all = runs.hyperparameter(x).astype(float)
    yv_all = runs.hyperparameter(y).astype(float) if y else np.zeros(len(runs))
    xs, ys = np.unique(xv_all), np.unique(yv_all)
    ix, iy = np.searchsorted(xs, xv_all), np.searchsorted(ys, yv_all)
    val = cols[metric].astype(float)
    div = runs.diverged_at >= 0
    steps_metric = metric in ("steps_to_tol", "first_within_tol")  # -1: never
    never = (val < 0) if steps_metric else ~np.isfinite(val)
    V = np.full((len(ys), len(xs)), np.nan)
    D = np.zeros((len(ys), len(xs)), dtype=bool)
    N = np.zeros((len(ys), len(xs)), dtype=bool)
    for j in range(len(ys)):
        for i in range(len(xs)):
            sel = (ix == i) & (iy == j)
            if not sel.any():
                continue
            D[j, i] = np.median(div[sel]) > 0.5 if sel.sum() > 1 else bool(div[sel][0])
            good = sel & ~div & ~never
            N[j, i] = not D[j, i] and not good.any()
            if good.any() and not D[j, i]:
                V[j, i] = float(np.median(val[good]))
    xlog, ylog = _is_log(xs), _is_log(ys)
    xe = _edges(xs, xlog)
    ye = _edges(ys, ylog) if y else np.array([-0.5, 0.5])
    finite = V[np.isfinite(V)]
    log_values = bool(finite.size and finite.min() > 0 and finite.max() / finite.min() > 20)
    label = {"steps_to_tol": f"steps_to_tol: J-f* stays <= {fmt(tol)} from step",
             "first_within_tol": f"first_within_tol: first step with J-f* <= {fmt(tol)}"
             }.get(metric, metric)
    if y:
        status = np.where(D, 0, np.where(N, 1, np.nan))
        ax.pcolormesh(xe, ye, np.ma.masked_invalid(status),
                      cmap=ListedColormap(["black", "#d9d9d9"]), vmin=-0.5, vmax=1.5, gid="status")
        norm = LogNorm(finite.min(), finite.max()) if log_values else None
        mesh = ax.pcolormesh(xe, ye, np.ma.masked_invalid(V), cmap="viridis_r", norm=norm,
                             gid="heat")
        fig.colorbar(mesh, ax=ax, label=label)
    else:  # one axis: the metric as a line over the hyperparameter, the flat cells as bands
        for i in range(len(xs)):
            if D[0, i] or N[0, i]:
                ax.axvspan(xe[i], xe[i + 1], color="black" if D[0, i] else "#d9d9d9",
                           lw=0, zorder=0,
                           gid="diverged" if D[0, i] else "never")
        color = optimizer_color(runs.meta[0]["optimizer"])
        ax.plot(xs, V[0], "o-", color=color, ms=3.5, lw=1.6, gid="metric-line",
                label=f"{label}, median over runs" if len(runs) > len(xs) else label)
        if log_values:
            ax.set_yscale("log")
        ax.set_ylabel(label)
        ax.grid(True, which="major", alpha=0.3)
    if xlog:
        ax.set_xscale("log")
    if ylog and y:
        ax.set_yscale("log")
    ax.set_xlim(xe[0], xe[-1])
    if y:
        ax.set_ylim(ye[0], ye[-1])
        ax.set_ylabel(y)
    ax.set_xlabel(x)
    out = {"x": x, "y": y, "metric": metric, "x_values": xs.tolist(), "y_values": ys.tolist(),
           "values": V.tolist(), "diverged": D.tolist(),
           "diverged_fraction": float(D.mean()), "never_fraction": float(N.mean())}
    if finite.size:
        j, i = np.unravel_index(np.nanargmin(V), V.shape)
        out["best"] = {x: float(xs[i]), **({y: float(ys[j])} if y else {}),
                       metric: float(V[j, i])}
        ax.plot(xs[i], ys[j] if y else V[j, i], marker="*", color="white", mec="black", ms=14,
                ls="none", zorder=6, gid="best",
                label=f"best: {metric} {fmt(V[j, i])} at {x}={fmt(xs[i])}"
                + (f", {y}={fmt(ys[j])}" if y else ""))
    names = set(runs.meta.optimizer_names())
    curv = getattr(runs.surface, "curvatures", None)
    if limit and curv and len(names) == 1 and x == "lr" and y in (None, "gamma"):
        opt = names.pop()
        L = max(curv)
        try:
            gl = np.linspace(ye[0], ye[-1], 200) if y else np.zeros(2)
            ll = stability_limit(opt, L, gl)
        except ValueError:
            ll = None
        if ll is not None:
            yy = gl if y else None
            text = (f"stability limit on a quadratic, L={fmt(L)}: lr = "
                    + {"gd": "2/L", "sgd": "2/L", "momentum": "2(1+gamma)/L",
                       "nag": "(2+2gamma)/((1+2gamma)L)"}[opt.lower()])
            if y:
                ax.plot(ll, yy, "--", color="white", lw=2.2, gid="stability-limit", label=text)
                ax.plot(ll, yy, "--", color="black", lw=0.8)
            else:
                ax.axvline(float(np.ravel(ll)[0]), ls="--", color="crimson", lw=1.4,
                           gid="stability-limit", label=text)
            lim = stability_limit(opt, L, ys if y else 0.0)
            lim = np.broadcast_to(lim, (len(ys),))[:, None]
            beyond = xs[None, :] > lim
            out["limit_L"] = L
            out["beyond_limit_diverged"] = float(D[beyond].mean()) if beyond.any() else None
            out["within_limit_diverged"] = float(D[~beyond].mean()) if (~beyond).any() else None
    measured(fig, **out)
    _sweep_legend(ax, out)
    return fig


def _sweep_legend(ax, out: dict) -> None:
    """The plotted markers and lines, plus what the two flat colours mean, with their shares."""
    from matplotlib.patches import Patch

    handles, _ = ax.get_legend_handles_labels()
    handles += [Patch(facecolor="black",
                      label=f"diverged ({pct(out['diverged_fraction'])} of cells)"),
                Patch(facecolor="#d9d9d9", edgecolor="0.6",
                      label=f"never within tol ({pct(out['never_fraction'])} of cells)")]
    # below the axes, never over the cells (the best-setting star sat under it at gamma > 0.85)
    ax.legend(handles=handles, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13),
              ncol=2, frameon=False)


def plot_stability_map(surface="ravine", optimizer: str = "momentum", *, lrs=None, gammas=None,
                       steps: int = 300, tol: float = 1e-3, start=None, ax=None):
    """Steps-to-tolerance over (learning rate x momentum) on the ravine, with the theoretical
    stability limit lr = 2 (1 + gamma) / L of heavy ball on a quadratic drawn on it.

    One ``lab.run`` call runs the whole grid (``(optimizer, {"lr": lrs, "gamma": gammas})``) from
    the surface's start; :func:`plot_sweep` draws it. What to see: the black (diverged) region
    begins at the white dashed line: theory and measurement agree (``fig.measured`` gives the
    fraction of cells beyond / within the limit that diverged). For Momentum the theoretical
    optimum of heavy ball on a quadratic with curvatures mu <= L (Polyak 1964),
    lr* = 4 / (sqrt(L) + sqrt(mu))^2 and gamma* = ((sqrt(L) - sqrt(mu)) / (sqrt(L) + sqrt(mu)))^2,
    is marked with a cross next to the measured best cell (a star); with a finite start and
    tolerance the two need not coincide exactly.

    Args:
      surface: a quadratic surface or catalog name. Default ``"ravine"`` (L = 10).
      optimizer: ``"momentum"`` (default) or ``"nag"``.
      lrs: learning rates; default 40 log-spaced values in [1e-3, 1].
      gammas: momentum factors; default 40 values in [0, 0.98].
      steps: steps per run. Default 300.
      tol: tolerance on J - f*. Default 1e-3.
      start: start point; default the surface's.
      ax: axes to draw on.
    """
    surface = _surface(surface)
    lrs = np.geomspace(1e-3, 1.0, 40) if lrs is None else np.asarray(lrs, dtype=float)
    gammas = np.linspace(0.0, 0.98, 40) if gammas is None else np.asarray(gammas, dtype=float)
    runs = _run(surface, (optimizer, {"lr": lrs.tolist(), "gamma": gammas.tolist()}), start,
                steps=steps)
    fig = plot_sweep(runs, "lr", "gamma", metric="steps_to_tol", tol=tol, ax=ax)
    fig.axes[0].set_title(f"{runs.meta[0]['optimizer']} on {surface.name}: steps to J-f* <= "
                          f"{fmt(tol)} ({steps} steps max; black: diverged, grey: never)",
                          fontsize=9)
    name = runs.meta[0]["optimizer"]
    curv = getattr(surface, "curvatures", None)
    if name == "Momentum" and curv:
        mu, L = min(curv), max(curv)
        lr_opt = 4.0 / (np.sqrt(L) + np.sqrt(mu)) ** 2
        g_opt = ((np.sqrt(L) - np.sqrt(mu)) / (np.sqrt(L) + np.sqrt(mu))) ** 2
        ax0 = fig.axes[0]
        ax0.plot(lr_opt, g_opt, "P", color="red", mec="white", ms=11, ls="none",
                 gid="theory-optimum",
                 label=f"theory optimum (Polyak): lr {fmt(lr_opt)}, gamma {fmt(g_opt)}")
        _sweep_legend(ax0, fig.measured)
        measured(fig, theory_optimum={"lr": float(lr_opt), "gamma": float(g_opt)})
    measured(fig, steps=steps, tol=tol, optimizer=name)
    return fig


# --------------------------------------------------------------------------- inspector
def plot_inspector(surface="ravine", optimizer=("adam", {"lr": 0.1}), *, start=None,
                   steps: int = 200, seed: int = 0, batch_size=None):
    """The inspector: an optimizer's internal state along its path, step by step.

    One run with ``record_state=True``. Panels: (1) the path on the contours; (2) the state
    buffers named by the lecture's symbols (Momentum/NAG ``v``; Adagrad/RMSProp ``G``; AdaDelta
    ``G``, ``s``; Adam/Nadam ``m``, ``v``), each axis separately, as magnitudes on a log scale
    (a symmetric-log axis drew a kink where a curve crossed its linear range, at step ~83 of
    Momentum's v[x] on the ravine, which students read as an event; the sign is in the path);
    (3) the per-axis effective step size -(theta_{t+1} - theta_t) / g_t, the learning rate a
    plain GD step would need to make the same move (``Runs.states["step_size"]``: lr for GD,
    lr / sqrt(G + eps) for Adagrad, ...; negative when momentum carries the step against the
    current gradient, so absolute values are drawn, log scale); (4) the gradient components'
    magnitudes and J - f*, log scales. Default: Adam (lr 0.1) on the ravine, where the per-axis
    step size shows Adam stepping far more boldly along the flat axis than along the steep one.

    ``fig.measured`` holds the final buffers and the median effective step size per axis.
    """
    surface = _surface(surface)
    runs = _run(surface, optimizer, start, steps=steps, seed=seed, batch_size=batch_size,
                record_state=True)
    st = runs.states
    t = np.arange(runs.steps + 1)
    fig = new_figure(figsize=(12, 8.4))
    (a1, a2), (a3, a4) = fig.subplots(2, 2)
    from descentlab.lab._figures_runs import plot_paths

    plot_paths(runs, ax=a1)
    name = runs.meta[0]["optimizer"]
    buffers = [k for k in st if k not in ("grad", "lookahead", "step_size")
               and np.isfinite(st[k][:, 0]).any()]
    for k, b in enumerate(buffers):
        for axis, ls in ((0, "-"), (1, "--")):
            a2.plot(t, _magnitude(st[b][:, 0, axis]), ls, color=f"C{k}", lw=1.3,
                    label=f"|{b}[{'xy'[axis]}]|", gid=f"state:{b}:{axis}")
    if buffers:
        a2.set_yscale("log")
        a2.legend(fontsize=8)
        a2.set_title(f"{name}'s state buffers ({', '.join(buffers)}) after each step, "
                     "magnitude", fontsize=10)
    else:
        a2.text(0.5, 0.5, f"{name} keeps no state buffer:\nthe step is -lr * g",
                ha="center", va="center", transform=a2.transAxes)
        a2.set_title(f"{name}'s state", fontsize=10)
    a2.set_xlabel("step")
    ss = np.abs(st["step_size"][:, 0])
    for axis, ls in ((0, "-"), (1, "--")):
        with np.errstate(invalid="ignore", divide="ignore"):
            y = np.where(ss[:, axis] > 0, ss[:, axis], np.nan)
        a3.plot(t, y, ls, color="C3", label=f"axis {'xy'[axis]}", gid=f"step_size:{axis}")
    hp = runs.meta[0]["hyperparameters"]
    if "lr" in hp:
        a3.axhline(hp["lr"], color="#777777", ls=":", lw=1, label=f"lr = {fmt(hp['lr'])}")
    if np.isfinite(ss).any() and np.nanmax(ss) > 0:
        a3.set_yscale("log")
    a3.set(xlabel="step", ylabel="|effective step size|",
           title="Per-axis effective step size |d theta_i / g_i|")
    a3.legend(fontsize=8)
    g = st["grad"][:, 0]
    for axis, ls in ((0, "-"), (1, "--")):
        a4.plot(t, _magnitude(g[:, axis]), ls, color="C2", lw=1, label=f"|g[{'xy'[axis]}]|",
                gid=f"grad:{axis}")
    a4.set_yscale("log")
    a4.set(xlabel="step", ylabel="|gradient|", title="Gradient used at each step and J - f*")
    fstar = surface.minimum_value
    if fstar == fstar:
        a5 = a4.twinx()
        a5.semilogy(t, np.maximum(runs.losses[:, 0] - fstar, 1e-16), color="black", lw=1.2,
                    label="J - f*")
        a5.set_ylabel("J - f*")
        a5.legend(fontsize=8, loc="upper right")
    a4.legend(fontsize=8, loc="lower left")
    fig.suptitle(f"Inspector: {run_label(runs, 0)} on {surface.name}", fontsize=11)
    with np.errstate(all="ignore"):
        med = np.nanmedian(np.where(ss > 0, ss, np.nan), axis=0) if np.isfinite(ss).any() \
            else np.full(2, np.nan)
    measured(fig, buffers={b: st[b][-1, 0].tolist() for b in buffers},
             median_step_size=[float(v) for v in med], metrics=runs.metrics()[0])
    return fig


def _magnitude(values):
    """``|values|`` for a log axis: exact zeros (a buffer before its first step) become NaN,
    left undrawn rather than sent to the bottom of the axis."""
    a = np.abs(np.asarray(values, dtype=float))
    return np.where(a > 0, a, np.nan)
