"""What every lab figure shares: a headless matplotlib Figure, optimizer colours, atomic saving.

Figures are built on ``matplotlib.figure.Figure`` directly (no ``pyplot``), so nothing depends on a
GUI backend or on global figure state, and nothing has to be closed. Rendering goes through Agg.

Every figure function returns its Figure. The numbers a figure shows (fitted slopes, steps to a
tolerance, ...) are also stored, computed, in ``fig.measured`` (a dict): the tour's captions and
the tests read them there instead of parsing text.
"""

from __future__ import annotations

from pathlib import Path

from descentlab._extras import require
from descentlab._files import (  # noqa: F401  (umask: for the tour's folder)
    check_replaceable,
    replacing,
    signature,
    umask,
)

# No matplotlib.use("Agg") here: the figures draw on their own Agg canvas, and choosing a backend
# at import would switch a notebook's inline pyplot backend to Agg (its plt figures stop showing).
matplotlib = require("matplotlib", extra="plot", feature="the lab's figures")

from matplotlib.figure import Figure  # noqa: E402

__all__ = ["new_axes", "new_figure", "save_figure", "optimizer_color", "measured", "fmt", "pct",
           "draw_contours", "run_label"]

#: one colour per optimizer, stable across figures (tab10 order, lecture order)
_COLORS = {
    "GD": "#1f77b4", "SGD": "#17becf", "Momentum": "#ff7f0e", "NAG": "#d62728",
    "Adagrad": "#2ca02c", "RMSProp": "#9467bd", "AdaDelta": "#8c564b", "Adam": "#e377c2",
    "Nadam": "#7f7f7f",
}
_EXTRA = ("#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173")


def optimizer_color(name: str, index: int = 0) -> str:
    """The colour of optimizer ``name`` (case-insensitive); others cycle through extra colours."""
    for key, color in _COLORS.items():
        if key.lower() == str(name).lower():
            return color
    return _EXTRA[index % len(_EXTRA)]


def new_figure(figsize=(6.4, 4.8), **kwargs) -> Figure:
    """A Figure with the Agg canvas attached (no pyplot, nothing to close)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from descentlab.lab._display import show_figures_in_ipython

    show_figures_in_ipython()  # a notebook draws the returned Figure even without pyplot
    fig = Figure(figsize=figsize, layout="constrained", **kwargs)
    FigureCanvasAgg(fig)
    fig.measured = {}
    return fig


def new_axes(ax=None, figsize=(6.4, 4.8)):
    """``(fig, ax)``: the given axes and its figure, or a fresh figure with one axes."""
    if ax is not None:
        fig = ax.figure
        if not hasattr(fig, "measured"):
            fig.measured = {}
        return fig, ax
    fig = new_figure(figsize)
    return fig, fig.add_subplot()


def measured(fig: Figure, **numbers) -> None:
    """Record the numbers a figure shows in ``fig.measured``."""
    if not hasattr(fig, "measured"):
        fig.measured = {}
    fig.measured.update(numbers)


def fmt(x: float, digits: int = 3) -> str:
    """A number as it appears on figures: ``inf``, ``nan`` or ``digits`` significant digits."""
    x = float(x)
    if x != x:
        return "nan"
    if x in (float("inf"), float("-inf")):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


def pct(fraction: float | None) -> str:
    """A fraction as a percentage on figures and captions: ``"19%"``, or ``"n/a"`` for None."""
    if fraction is None:
        return "n/a"
    if 0 < fraction < 0.01 or 0.99 < fraction < 1:  # never round a few cases to 0% or 100%
        return f"{100 * fraction:.1f}%"
    return f"{100 * fraction:.0f}%"


def save_figure(fig: Figure, path, *, dpi: int = 100) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix) atomically: temp file, then rename.

    The file carries descentlab's signature (PNG: the ``Software`` text chunk; SVG and PDF: the
    creator), so that a rerun may replace it; an existing file without it is refused
    (:func:`descentlab._files.check_replaceable`, a ValueError)."""
    path = Path(path)
    check_replaceable(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    key = {"png": "Software", "svg": "Creator", "pdf": "Creator", "ps": "Creator",
           "eps": "Creator"}.get(fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path, suffix=path.suffix) as tmp:
        fig.savefig(tmp, dpi=dpi, format=fmt,
                    **({"metadata": {key: signature()}} if key else {}))
    return path


def draw_contours(ax, surface, *, bounds=None, resolution: int = 160, levels: int = 24,
                  cmap: str = "Greys_r", filled: bool = True):
    """Contours of ``surface.value`` over ``bounds`` (default ``surface.bounds``).

    Levels are log-spaced when the surface is non-negative with a large dynamic range (Rosenbrock,
    Beale, ravines), else evenly spaced. A flat window (a constant formula such as ``"3"``, or no
    finite value at all) has no contour lines: filled, it is drawn as one flat colour; unfilled,
    nothing is drawn. Returns the contour set (None when nothing was drawn).
    """
    import numpy as np
    from matplotlib.colors import LogNorm

    (x0, x1), (y0, y1) = bounds if bounds is not None else surface.bounds
    X, Y = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    with np.errstate(all="ignore"):
        Z = np.asarray(surface.value(np.stack([X, Y], axis=-1)), dtype=float)
    finite = Z[np.isfinite(Z)]
    zmin, zmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    norm = None
    cs = None
    flat = not zmin < zmax or not np.all(np.diff(np.linspace(zmin, zmax, levels)) > 0)
    if flat:
        if filled and finite.size:  # one level band around the constant value: one colour
            half = 0.5 * max(1.0, abs(zmin))
            cs = ax.contourf(X, Y, np.where(np.isfinite(Z), Z, np.nan),
                             levels=[zmin - half, zmin + half], cmap=cmap, alpha=0.55)
    elif zmin >= 0 and zmax > 0:
        floor = max(zmin, float(np.quantile(finite, 0.002)), zmax * 1e-6)
        if zmax / floor > 200:
            lv = np.geomspace(floor, zmax, levels)
            norm = LogNorm(vmin=floor, vmax=zmax)
            Z = np.clip(Z, floor, None)
        else:
            lv = np.linspace(zmin, zmax, levels)
    else:
        lv = np.linspace(zmin, zmax, levels)
    if not flat:
        kw = dict(levels=lv, cmap=cmap, norm=norm, alpha=0.55 if filled else 0.9)
        cs = ax.contourf(X, Y, Z, **kw) if filled else ax.contour(X, Y, Z, **kw)
        if filled:
            ax.contour(X, Y, Z, levels=lv, colors="white", linewidths=0.3, alpha=0.6, norm=norm)
    minima = np.asarray(getattr(surface, "minima", np.empty((0, 2))), dtype=float).reshape(-1, 2)
    if len(minima):
        ax.plot(minima[:, 0], minima[:, 1], "*", color="gold", mec="black", ms=13, zorder=5,
                label="_minimum", gid="minima")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    data = hasattr(surface, "minibatch_grads")  # a line fit: the plane is (slope, intercept)
    ax.set_xlabel("slope w" if data else "x")
    ax.set_ylabel("intercept b" if data else "y")
    return cs


def run_label(runs, i: int) -> str:
    """A legend label for run ``i``: the optimizer, its learning rate and momentum factor (always,
    when it has them) and every other hyperparameter that differs from its default."""
    return runs.label(i)  # one rule for the figures, the CLI and the playground
