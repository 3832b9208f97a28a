"""The lecture's pictures that need no batch of runs: the family tree, the loss curves, outliers
under MAE / MSE / Huber, the cross-entropy worked example, KL divergence, the Nesterov diagram.

Everything drawn is computed by the library itself (``descentlab.optim``'s metadata, the functions
of ``descentlab.losses`` and their ``.grad``, fits made by running descentlab optimizers); the
numbers a figure shows are also in ``fig.measured``.
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
)

__all__ = [
    "plot_family_tree", "plot_loss_curves", "plot_outlier_fit", "outlier_data",
    "fit_line", "plot_cross_entropy", "plot_kl_divergence", "plot_nesterov_step",
]

_BRANCH_COLORS = {"root": "#dddddd", "data": "#cdeef3", "direction": "#ffe0c2",
                  "step size": "#d5efd5", "both": "#f5d5ea"}
_BRANCH_LANE = {"root": 0.0, "data": 0.0, "direction": -2.0, "step size": 2.0, "both": 0.0}


# --------------------------------------------------------------------------- family tree
def _tree_layout(tree) -> dict[str, tuple[float, float]]:
    """Depth = longest chain of parents (rows); lanes by branch (columns), siblings spread out."""
    depth: dict[str, int] = {}

    def d(name):
        if name not in depth:
            parents = tree[name].parents
            depth[name] = 0 if not parents else 1 + max(d(p) for p in parents)
        return depth[name]

    for name in tree:
        d(name)
    pos = {}
    for level in sorted(set(depth.values())):
        row = [n for n in tree if depth[n] == level]
        lanes: dict[float, list[str]] = {}
        for n in sorted(row, key=lambda n: tree[n].year):
            lanes.setdefault(_BRANCH_LANE.get(tree[n].branch, 0.0), []).append(n)
        for lane, members in lanes.items():
            k = len(members)
            for i, n in enumerate(members):
                shift = (i - (k - 1) / 2) * 1.25
                if lane > 0:
                    shift = i * 1.25  # step-size siblings spread outwards, away from the centre
                elif lane < 0:
                    shift = -i * 1.25
                pos[n] = (lane + shift, -float(level))
    return pos


def plot_family_tree(*, ax=None, tree=None):
    """The optimizer family tree, drawn from each optimizer's own ``family`` metadata.

    Nodes are ``descentlab.optim.family_tree()``'s entries (name, year, paper, motto); an arrow
    goes from every parent listed in an entry's ``parents`` to the entry, so the picture cannot
    disagree with the code. Rows are generations (longest chain of parents), columns the lecture's
    branches: direction (left), step size (right), both (centre). Each arrow's ``gid`` is
    ``"parent->child"``.

    Args:
      ax: axes to draw on; a new figure when omitted.
      tree: a ``{name: Family}`` mapping; default ``descentlab.optim.family_tree()``.

    Example:
      >>> fig = plot_family_tree()
      >>> sorted(fig.measured["edges"])[:2]
      [('Adagrad', 'AdaDelta'), ('Adagrad', 'RMSProp')]
    """
    from matplotlib.patches import Patch

    from descentlab import optim

    tree = optim.family_tree() if tree is None else tree
    fig, ax = new_axes(ax, figsize=(9.5, 8.0))
    pos = _tree_layout(tree)
    name_box, caption = {}, {}
    for name, fam in tree.items():
        x, y = pos[name]
        name_box[name] = ax.text(
            x, y, f"{name}", ha="center", va="bottom", fontsize=12, weight="bold",
            color=optimizer_color(name), gid=f"node:{name}",
            bbox=dict(boxstyle="round,pad=0.35", fc=_BRANCH_COLORS.get(fam.branch, "white"),
                      ec="#888888"))
        caption[name] = ax.text(x, y - 0.12, f"{fam.paper}\n\u201c{_wrap(fam.motto, 24)}\u201d",
                                ha="center", va="top", fontsize=7.5, color="#333333")
    edges = []
    for child, fam in tree.items():
        for parent in fam.parents:
            edges.append((parent, child))
            # from the bottom of the parent's caption to the top of the child's name box
            ax.annotate(
                "", xy=(0.5, 1.0), xycoords=name_box[child], xytext=(0.5, 0.0),
                textcoords=caption[parent], gid=f"{parent}->{child}",
                arrowprops=dict(arrowstyle="-|>", color="#555555", lw=1.3, shrinkA=3,
                                shrinkB=6, connectionstyle="arc3,rad=0.0"),
            )
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 1.0, max(xs) + 1.0)
    ax.set_ylim(min(ys) - 0.75, max(ys) + 0.45)
    ax.set_axis_off()
    branches = list(dict.fromkeys(f.branch for f in tree.values()))
    ax.legend(handles=[Patch(fc=_BRANCH_COLORS.get(b, "white"), ec="#888888", label=b)
                       for b in branches], title="branch", loc="lower left", fontsize=8)
    ax.set_title("The optimizer family tree (from descentlab.optim.family_tree())")
    measured(fig, edges=edges, nodes=list(tree))
    return fig


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


# --------------------------------------------------------------------------- loss curves
def _regression_losses(delta: float, q: float):
    from descentlab import losses

    return [
        ("MAE", losses.mae, {}),
        ("MSE", losses.mse, {}),
        (f"Huber (delta={delta:g})", losses.huber, {"delta": delta}),
        ("log-cosh", losses.log_cosh, {}),
        (f"quantile (q={q:g})", losses.quantile, {"q": q}),
    ]


def plot_loss_curves(*, residual=(-3.0, 3.0), delta: float = 1.0, q: float = 0.25, axes=None,
                     num: int = 601):
    """The five regression losses of the lecture's reading list and their gradients.

    Each curve is ``loss(y_true=0, y_pred=r, reduction="none")`` over the residual
    ``r = y_pred - y_true``, and each gradient panel ``loss.grad(...)`` at the same points, both
    from ``descentlab.losses``. What to see: MAE's gradient has magnitude 1 everywhere (it never
    shrinks near the minimum); MSE's grows with the residual (an outlier at r pulls 2r); Huber
    and log-cosh are quadratic near 0 and linear (bounded gradient) far away; the quantile loss
    is tilted (q for under-prediction, 1 - q for over-prediction).

    Args:
      residual: ``(low, high)`` range of residuals. Default (-3, 3).
      delta: Huber's threshold, in (0, inf). Default 1.0.
      q: the quantile, in (0, 1). Default 0.25 (asymmetric, so the tilt shows).
      axes: two axes ``(loss_ax, grad_ax)``; a new figure when omitted.
      num: number of points per curve. Default 601.

    ``fig.measured["grad_at"]`` maps each loss to its gradient at residuals 0.1 and the high end,
    and ``fig.measured["lecture_example"]`` holds MAE and MSE for the lecture's truth 500,
    prediction 350.
    """
    from descentlab import losses

    if axes is None:
        fig = new_figure(figsize=(11, 4.4))
        axes = fig.subplots(1, 2)
    fig = axes[0].figure
    r = np.linspace(residual[0], residual[1], num)
    zeros = np.zeros_like(r)
    grad_at = {}
    probe = np.array([0.1, residual[1]])
    for i, (label, fn, kw) in enumerate(_regression_losses(delta, q)):
        color = f"C{i}"
        axes[0].plot(r, fn(zeros, r, reduction="none", **kw), color=color, label=label)
        axes[1].plot(r, fn.grad(zeros, r, reduction="none", **kw), color=color, label=label)
        g = fn.grad(np.zeros(2), probe, reduction="none", **kw)
        grad_at[label] = (float(g[0]), float(g[1]))
    axes[0].set_ylim(-0.2, min(6.0, residual[1] ** 2) + 0.3)
    axes[0].set(xlabel="residual  r = y_pred - y_true", ylabel="loss (per sample)",
                title="Regression losses")
    axes[1].set(xlabel="residual  r = y_pred - y_true", ylabel="dLoss / dy_pred",
                title="Their gradients (loss.grad)")
    axes[1].axhline(0, color="#999999", lw=0.6)
    axes[0].legend(fontsize=8)
    hi = fmt(residual[1], 2)
    lines = [f"at r=0.1 / r={hi}:"] + [f"{k.split(' ')[0]}: {fmt(a, 2)} / {fmt(b, 2)}"
                                       for k, (a, b) in grad_at.items()]
    axes[1].text(0.02, 0.98, "\n".join(lines), transform=axes[1].transAxes, va="top",
                 fontsize=7.5, family="monospace",
                 bbox=dict(fc="white", ec="#cccccc", alpha=0.9))
    truth, pred = np.array([500.0]), np.array([350.0])
    measured(fig, grad_at=grad_at, lecture_example={
        "MAE": float(losses.mae(truth, pred)), "MSE": float(losses.mse(truth, pred))})
    return fig


# --------------------------------------------------------------------------- outliers
def outlier_data(*, n: int = 40, outliers: int = 4, slope: float = 2.0, intercept: float = 1.0,
                 noise: float = 0.5, outlier_y: float = -10.0, seed: int = 0):
    """A seeded line ``y = slope x + intercept + N(0, noise^2)`` on x in [0, 10], with the
    ``outliers`` points of largest x moved to ``y = outlier_y`` (far below the line, at the end
    where they have the most leverage on the slope).

    Returns ``(x, y, is_outlier)``.

    Example:
      >>> x, y, bad = outlier_data(n=10, outliers=2)
      >>> x.shape, int(bad.sum())
      ((10,), 2)
    """
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0.0, 10.0, n))
    y = slope * x + intercept + noise * rng.standard_normal(n)
    bad = np.zeros(n, dtype=bool)
    if outliers:
        bad[-outliers:] = True
        y[bad] = outlier_y
    return x, y, bad


def fit_line(x, y, losses_kw, *, optimizer="Adam", lr: float = 0.05, steps: int = 3000,
             **hyperparameters):
    """Fit ``y = w x + b`` under several losses at once, by running a descentlab optimizer.

    ``losses_kw`` is a list of ``(loss_fn, kwargs)``; the fits run as one batch of parameters
    of shape (k, 2) (one row (w, b) per loss). The gradient is the chain rule through
    ``loss.grad``: ``dJ/dw = sum_i dJ/dyp_i x_i``, ``dJ/db = sum_i dJ/dyp_i``. Starts at (0, 0).

    Returns the (k, 2) array of fitted (w, b).
    """
    from descentlab import optim

    k = len(losses_kw)
    theta = np.zeros((k, 2))
    opt = optim.get(optimizer, lr=lr, **hyperparameters)
    state = opt.init(theta)
    g = np.empty_like(theta)
    for _ in range(steps):
        point = opt.lookahead(theta, state)
        for i, (fn, kw) in enumerate(losses_kw):
            dyp = fn.grad(y, point[i, 0] * x + point[i, 1], **kw)
            g[i, 0] = np.sum(dyp * x)
            g[i, 1] = np.sum(dyp)
        opt.step(theta, g, state)
    return theta


def plot_outlier_fit(*, ax=None, delta: float = 1.0, optimizer: str = "Adam", lr: float = 0.05,
                     steps: int = 3000, seed: int = 0, **data_kw):
    """A line fit with outliers under MAE, MSE and Huber, each fitted by a descentlab optimizer.

    The data is ``outlier_data(seed=seed, **data_kw)`` (a clean line with a few points of large x
    moved far below it). The three fits run ``fit_line`` (Adam, lr 0.05, 3000 steps from (0, 0)
    by default). What to see: MSE's line tilts toward the outliers (its gradient grows with the
    residual); MAE and Huber stay near the true line (their gradients are bounded).

    ``fig.measured`` holds ``slopes`` and ``intercepts`` per loss, the ``true_slope``, the
    closed-form least-squares slope ``lstsq_slope`` (the MSE fit must match it) and
    ``outlier_share``: the fraction of each loss, at the true line, contributed by the outliers.
    """
    from descentlab import losses

    x, y, bad = outlier_data(seed=seed, **data_kw)
    true_slope = data_kw.get("slope", 2.0)
    true_intercept = data_kw.get("intercept", 1.0)
    specs = [("MAE", losses.mae, {}), ("MSE", losses.mse, {}),
             (f"Huber (delta={delta:g})", losses.huber, {"delta": delta})]
    theta = fit_line(x, y, [(fn, kw) for _, fn, kw in specs], optimizer=optimizer, lr=lr,
                     steps=steps)
    fig, ax = new_axes(ax, figsize=(7, 4.8))
    ax.scatter(x[~bad], y[~bad], s=16, color="#444444", label="data")
    ax.scatter(x[bad], y[bad], s=46, marker="o", facecolors="none", edgecolors="red", lw=1.5,
               label=f"{int(bad.sum())} outliers, y = {fmt(y[bad][0])}", zorder=4)
    # outliers closer than a marker's width (1.5% of the x range) are one circle on screen:
    # say how many points it holds, so that all of them can be counted
    xb = np.sort(x[bad])
    groups = np.split(xb, np.nonzero(np.diff(xb) > 0.015 * (x.max() - x.min()))[0] + 1)
    for g in groups:
        if len(g) > 1:
            ax.annotate(f"{len(g)} points", (g.mean(), y[bad][0]), xytext=(0, 9),
                        textcoords="offset points", ha="center", va="bottom", fontsize=8,
                        color="red", gid="outlier-count")
    grid = np.array([x.min(), x.max()])
    ax.plot(grid, true_slope * grid + true_intercept, "k--", lw=1,
            label=f"true line: slope {fmt(true_slope)}")
    slopes, intercepts, share = {}, {}, {}
    fitted_true = true_slope * x + true_intercept
    # MAE and Huber fit almost the same line: Huber is drawn wide and light underneath, MAE
    # dashed on top, so that both stay visible where they coincide
    styles = [dict(ls=(0, (5, 3)), lw=2.2, zorder=3), dict(lw=2, zorder=2),
              dict(lw=5, alpha=0.45, zorder=1)]
    for i, (label, fn, kw) in enumerate(specs):
        w, b = theta[i]
        slopes[label], intercepts[label] = float(w), float(b)
        ax.plot(grid, w * grid + b, color=f"C{i}", **styles[i],
                label=f"{label}: slope {fmt(w)}, intercept {fmt(b)}")
        per = fn(y, fitted_true, reduction="none", **kw)
        share[label] = float(per[bad].sum() / per.sum())
    ax.set(xlabel="x", ylabel="y",
           title=f"Line fit with outliers ({optimizer} lr={lr:g}, {steps} steps per loss)")
    ax.set_ylim(min(y.min(), 0) - 3, max(y.max(), 0) + 2)
    # below the axes, where it cannot cover a point or a line
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2,
              frameon=False)
    lstsq = np.polyfit(x, y, 1)
    measured(fig, slopes=slopes, intercepts=intercepts, true_slope=float(true_slope),
             lstsq_slope=float(lstsq[0]), outlier_share=share,
             fit_settings={"optimizer": optimizer, "lr": lr, "steps": steps, "seed": seed})
    return fig


# --------------------------------------------------------------------------- Nesterov diagram
def _arrow(ax, start, end, color, gid, label, lw=2.2, ls="-"):
    ax.annotate("", xy=tuple(end), xytext=tuple(start), gid=gid,
                arrowprops=dict(arrowstyle="-|>", color=color, lw=lw, ls=ls, shrinkA=0,
                                shrinkB=0, mutation_scale=14))
    ax.plot([], [], color=color, lw=lw, ls=ls, label=label)  # legend entry


def plot_nesterov_step(surface=None, *, start=(-1.0, -1.0), lr: float = 0.003,
                       gamma: float = 0.9, warmup: int = 8, axes=None):
    """Momentum step vs Nesterov look-ahead step (the lecture's CS231n diagram), from real state.

    Momentum runs ``warmup`` steps from ``start`` to build a velocity ``v``. From that same point
    and state, one Momentum step and one NAG step are taken by the optimizers themselves, and the
    diagram draws their parts::

        Momentum: theta' = theta - gamma v - lr grad J(theta)
        NAG:      theta' = theta - gamma v - lr grad J(theta - gamma v)   (look-ahead point)

    Arrows (``gid``): ``"momentum"`` (-gamma v), ``"gradient"`` (-lr g, drawn from theta for
    Momentum and from the look-ahead point for NAG) and ``"step"`` (the actual step). The arrow
    sums are checked against ``Momentum.step`` / ``NAG.step`` before drawing.

    Args:
      surface: a surface with ``value``/``grad`` on (..., 2); default
        ``surfaces.get("himmelblau")``, whose curved valley turns the path so that the look-ahead
        gradient differs visibly from the gradient at theta.
      start: where the warm-up begins. Default (-1, -1).
      lr: learning rate, in [0, inf). Default 0.003.
      gamma: momentum factor, in [0, 1). Default 0.9.
      warmup: Momentum steps taken before the compared step, >= 1. Default 8 (enough for the
        velocity to dominate, as in the lecture's CS231n picture).
      axes: two axes (Momentum, NAG); a new figure when omitted.

    ``fig.measured`` holds the points, the loss after each step and the vectors' lengths.
    """
    from descentlab import optim

    if surface is None:
        from descentlab import surfaces

        surface = surfaces.get("himmelblau")
    theta = np.array(start, dtype=float)
    mom, nag = optim.Momentum(lr=lr, gamma=gamma), optim.NAG(lr=lr, gamma=gamma)
    state = mom.init(theta)
    path = [theta.copy()]
    for _ in range(max(1, int(warmup))):
        mom.step(theta, np.asarray(surface.grad(theta), dtype=float), state)
        path.append(theta.copy())
    v = state["v"].copy()
    # the parts, from the formulas
    momentum = -gamma * v
    g_here = np.asarray(surface.grad(theta), dtype=float)
    look = nag.lookahead(theta, {"t": state["t"], "v": v.copy()})
    g_look = np.asarray(surface.grad(look), dtype=float)
    m_end = theta + momentum - lr * g_here
    n_end = look - lr * g_look
    # the same steps, taken by the optimizers
    for opt, grad, end in ((mom, g_here, m_end), (nag, g_look, n_end)):
        p, s = theta.copy(), {"t": state["t"], "v": v.copy()}
        opt.step(p, grad, s)
        if not np.allclose(p, end, rtol=1e-12, atol=1e-12):  # pragma: no cover - a real bug
            raise AssertionError(f"{type(opt).__name__}: diagram {end} != step {p}")
    if axes is None:
        fig = new_figure(figsize=(11, 4.8))
        axes = fig.subplots(1, 2)
    fig = axes[0].figure
    path = np.array(path)
    pts = np.vstack([path, m_end, n_end, look])
    span = np.ptp(pts, axis=0).max()
    centre = pts.mean(axis=0)
    half = 0.6 * span + 0.05
    bounds = ((centre[0] - half, centre[0] + half), (centre[1] - half * 0.75,
                                                       centre[1] + half * 0.75))
    loss = {}
    for ax, title, end in ((axes[0], "Momentum step", m_end), (axes[1], "Nesterov step", n_end)):
        draw_contours(ax, surface, bounds=bounds, resolution=120, cmap="Blues_r")
        ax.plot(path[:, 0], path[:, 1], "o-", color="#777777", ms=3, lw=1,
                label=f"{len(path) - 1} Momentum warm-up steps")
        ax.plot(*theta, "ko", ms=6, zorder=6)
        ax.annotate("theta", theta, xytext=(-8, 0), textcoords="offset points", fontsize=9,
                    ha="right", va="center")  # left of the point, off the warm-up path
        if ax is axes[0]:
            _arrow(ax, theta, theta + momentum, "#ff7f0e", "momentum", "momentum  -gamma v")
            _arrow(ax, theta, theta - lr * g_here, "#2ca02c", "gradient",
                   "gradient step  -lr g(theta)")
        else:
            _arrow(ax, theta, look, "#ff7f0e", "momentum", "momentum  -gamma v")
            _arrow(ax, look, n_end, "#2ca02c", "gradient",
                   "gradient step at look-ahead  -lr g(theta - gamma v)")
            ax.plot(*look, "o", color="#ff7f0e", ms=4)
        _arrow(ax, theta, end, "black", "step", "actual step", lw=1.6, ls="--")
        loss[title] = float(surface.value(end))
        ax.set_title(f"{title}: J after = {fmt(loss[title])}")
        ax.set_aspect("equal", adjustable="box")  # true angles between the vectors
        ax.legend(fontsize=7.5, loc="lower right")
    fig.suptitle(f"Momentum vs Nesterov from the same state (lr={lr:g}, gamma={gamma:g}, "
                 f"J before = {fmt(float(surface.value(theta)))})", fontsize=11)
    measured(fig, theta=theta.tolist(), v=v.tolist(), lookahead=look.tolist(),
             momentum_end=m_end.tolist(), nesterov_end=n_end.tolist(),
             loss_before=float(surface.value(theta)), loss_momentum=loss["Momentum step"],
             loss_nesterov=loss["Nesterov step"], grad_here=g_here.tolist(),
             grad_lookahead=g_look.tolist(), lr=lr, gamma=gamma)
    return fig


# --------------------------------------------------------------------------- cross-entropy, KL
def plot_cross_entropy(*, axes=None, num: int = 400):
    """The lecture's cross-entropy worked example, computed, and the cost of a falling probability.

    Left: the slide's table for the one-hot label L = [0, 1]. Prediction [0, 1] gives
    L * (-log Yhat) = [0, 1] * [inf, 0] = [0, 0] (0 * inf taken as 0): cost 0; prediction [1, 0]
    gives [0, 1] * [0, inf] = [0, inf]: cost inf. The element-wise rows are NumPy with the 0 * inf
    = 0 rule applied; the cost column is ``descentlab.losses.cross_entropy`` itself, next to the
    same confident predictions given as logits (+-30), where log-softmax keeps the cost finite.

    Right: ``cross_entropy([0, 1], [1 - q, q])`` as the probability q of the true class falls from
    1 to 0: it grows without bound (-log q). ``fig.measured`` holds the costs.
    """
    from descentlab import losses

    if axes is None:
        fig = new_figure(figsize=(11, 4.2))
        axes = fig.subplots(1, 2, width_ratios=[1.25, 1])
    fig = axes[0].figure
    label = np.array([0.0, 1.0])
    rows, costs, logit_costs = [], {}, {}
    for pred, logits in ((np.array([0.0, 1.0]), np.array([-30.0, 30.0])),
                         (np.array([1.0, 0.0]), np.array([30.0, -30.0]))):
        with np.errstate(divide="ignore"):
            nlog = -np.log(pred) + 0.0  # + 0.0: no negative zeros
        prod = np.zeros_like(nlog)
        prod[label > 0] = label[label > 0] * nlog[label > 0]  # 0 * inf counts as 0
        cost = float(losses.cross_entropy(label, pred))
        lcost = float(losses.cross_entropy(label, logits, from_logits=True))
        key = f"[{pred[0]:g}, {pred[1]:g}]"
        costs[key], logit_costs[key] = cost, lcost
        rows.append([key, _vec(nlog), _vec(prod), fmt(cost),
                     f"{fmt(lcost)}\n(logits [{logits[0]:+g}, {logits[1]:+g}])"])
    ax = axes[0]
    ax.set_axis_off()
    table = ax.table(
        cellText=rows,
        colLabels=["prediction Yhat", "-log Yhat", "L * (-log Yhat)", "cost",
                   "cost from logits"],
        loc="center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    table.scale(1.0, 3.0)
    ax.set_title("Label L = [0, 1]: the slide's worked example\n(cost: descentlab.losses."
                 "cross_entropy)", fontsize=10)
    ax = axes[1]
    q = np.linspace(1e-3, 1.0, num)
    pred = np.stack([1.0 - q, q], axis=-1)
    H = losses.cross_entropy(np.broadcast_to(label, pred.shape), pred, reduction="none")
    ax.plot(q, H, color="C3", label="H = -log q")
    ax.plot([1.0], [float(losses.cross_entropy(label, label))], "o", color="C2")
    ax.annotate(f"q = 1: cost {fmt(costs['[0, 1]'])}", (1.0, 0.0), xytext=(-110, 30),
                textcoords="offset points", arrowprops=dict(arrowstyle="->"))
    ax.annotate(f"q -> 0: cost {fmt(costs['[1, 0]'])}", (q[0], H[0]), xytext=(30, -10),
                textcoords="offset points", arrowprops=dict(arrowstyle="->"))
    ax.set(xlabel="predicted probability q of the true class", ylabel="cross-entropy",
           title="Confident and wrong costs without bound")
    measured(fig, costs=costs, logit_costs=logit_costs)
    return fig


def _vec(a) -> str:
    return "[" + ", ".join(fmt(x) for x in a) + "]"


def plot_kl_divergence(*, p=(0.3, 0.7), ax=None, num: int = 399):
    """KL divergence as cross-entropy minus entropy, for a two-class p against q = [1 - s, s].

    Curves: H(p, q) = ``cross_entropy(p, q)``, H(p) = ``entropy(p)`` (a constant) and
    KL(p || q) = ``kl_div(p, q)``, plus the reversed KL(q || p) to show the asymmetry. What to
    see: KL = H(p, q) - H(p) (checked numerically: ``fig.measured["max_identity_error"]``),
    KL >= 0 with its minimum 0 where q = p.

    Args:
      p: the target distribution (two classes). Default (0.3, 0.7).
      ax: axes to draw on; a new figure when omitted.
      num: points on the curve. Default 399.
    """
    from descentlab import losses

    p = np.asarray(p, dtype=float)
    fig, ax = new_axes(ax, figsize=(6.6, 4.4))
    s = np.linspace(0.0, 1.0, num + 2)[1:-1]
    Q = np.stack([1.0 - s, s], axis=-1)
    P = np.broadcast_to(p, Q.shape)
    H = losses.cross_entropy(P, Q, reduction="none")
    Hp = float(losses.entropy(p))
    KL = losses.kl_div(P, Q, reduction="none")
    KLr = losses.kl_div(Q, P, reduction="none")
    ax.plot(s, H, color="C0", label="cross-entropy H(p, q)")
    ax.axhline(Hp, color="C2", ls="--", label=f"entropy H(p) = {fmt(Hp)}")
    ax.plot(s, KL, color="C3", lw=2, label="KL(p || q) = H(p, q) - H(p)")
    ax.plot(s, KLr, color="C3", ls=":", label="KL(q || p) (reversed: not symmetric)")
    i = int(np.argmin(KL))
    ax.plot(s[i], KL[i], "o", color="C3")
    shown = fmt(KL[i], 2) if abs(KL[i]) > 1e-12 else f"0 (to rounding: {fmt(KL[i], 2)})"
    # the label sits in the empty band above the curves (between the cross-entropy's two
    # walls, under the legend), its arrow pointing down to the minimum
    ax.annotate(f"min KL {shown}\nat q = {fmt(s[i], 3)}", (s[i], KL[i]), xytext=(0.45, 2.1),
                textcoords="data", ha="center", va="center", arrowprops=dict(arrowstyle="->"),
                bbox=dict(boxstyle="round", fc="white", ec="0.7"))
    ax.set_ylim(-0.1, 3.0)
    ax.set(xlabel="q = probability the prediction gives to the second class",
           ylabel="nats", title=f"KL divergence against p = [{p[0]:g}, {p[1]:g}]")
    ax.legend(fontsize=8)
    measured(fig, entropy=Hp, argmin_q=float(s[i]), min_kl=float(KL[i]),
             max_identity_error=float(np.max(np.abs(KL - (H - Hp)))))
    return fig
