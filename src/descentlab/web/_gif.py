"""The GIF export: the page's current runs, animated, rendered on the server with matplotlib.

Decision: server-side, so the GIF is the same picture in every browser and needs no JavaScript
encoder shipped with the page. Each frame is drawn with matplotlib's Agg canvas (contours of the
surface once, then the paths up to the frame's step) and the frames are encoded by Pillow, exactly
what ``matplotlib.animation.PillowWriter`` does, but into memory: nothing is written to disk.
Work is bounded by the request model (frames, runs x steps) and one GIF renders at a time.
"""

from __future__ import annotations

import io

import numpy as np

from descentlab.web import _service as service
from descentlab.web._models import GifRequest

__all__ = ["render_gif"]

_COLORS = {
    "GD": "#1f77b4", "SGD": "#17becf", "Momentum": "#ff7f0e", "NAG": "#d62728",
    "Adagrad": "#2ca02c", "RMSProp": "#9467bd", "AdaDelta": "#8c564b", "Adam": "#e377c2",
    "Nadam": "#7f7f7f",
}
_EXTRA = ("#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173")


def _colors(names):
    used, extra, out = set(), 0, []
    for n in names:
        c = _COLORS.get(n)
        if c is None or c in used:
            c = _EXTRA[extra % len(_EXTRA)]
            extra += 1
        used.add(c)
        out.append(c)
    return out


def frame_steps(steps: int, frames: int) -> np.ndarray:
    """The steps shown by the frames: evenly spaced from 0 to ``steps``, both included.

    >>> frame_steps(10, 4).tolist()
    [0, 3, 7, 10]
    """
    return np.unique(np.round(np.linspace(0, steps, min(frames, steps + 1))).astype(int))


def render_gif(req: GifRequest, cancel=None) -> bytes:
    """The animated GIF of ``req.run``'s trajectories over the surface's contours (``cancel``:
    see ``descentlab.web._service``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    result = service.run_arrays(req.run, cancel, gif=True)
    surface, traj, losses = result["surface"], result["trajectories"], result["losses"]
    (x0, x1), (y0, y1) = req.bounds if req.bounds is not None else surface.bounds
    n = 140
    X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    Z = service.surface_values(surface, np.stack((X, Y), axis=-1).reshape(-1, 2),
                               cancel).reshape(X.shape)
    finite = Z[np.isfinite(Z)]

    fig = Figure(figsize=(6.4, 4.8), dpi=80, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if finite.size:
        zmin = float(finite.min())
        hi = float(np.quantile(finite, 0.98))
        skewed = (np.median(finite) - zmin) < 0.12 * (hi - zmin)
        if skewed and hi > zmin:
            shift = (hi - zmin) * 1e-4
            levels = zmin - shift + np.geomspace(shift, hi - zmin + shift, 18)
        else:
            levels = np.linspace(zmin, hi if hi > zmin else zmin + 1, 18)
        Zc = np.where(np.isfinite(Z), Z, np.nan)
        ax.contourf(X, Y, Zc, levels=levels, cmap="viridis", alpha=0.55, extend="max")
        ax.contour(X, Y, Zc, levels=levels, colors="k", linewidths=0.4, alpha=0.35)
    if len(surface.minima):
        ax.plot(surface.minima[:, 0], surface.minima[:, 1], "*", ms=13, color="white", mec="k",
                zorder=5)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    names = [r["optimizer"] for r in result["runs"]]
    opt_names = [o.name for o in req.run.optimizers]
    colors = _colors([service.canonical_name(nm) for nm in opt_names])
    lines, heads = [], []
    for k, run in enumerate(result["runs"]):
        c = colors[run["optimizer_index"]]
        label = names[k] if run["start_index"] == 0 else None
        (line,) = ax.plot([], [], "-", color=c, lw=2, label=label, zorder=6)
        (head,) = ax.plot([], [], "o", color=c, mec="white", ms=7, zorder=7)
        lines.append(line)
        heads.append(head)
    starts = np.asarray(req.run.starts)
    ax.plot(starts[:, 0], starts[:, 1], "s", color="white", mec="k", ms=7, zorder=8)
    for artist in (*lines, *heads):
        artist.set_animated(True)
    ax.legend(loc="upper right", fontsize=8, framealpha=0.85)
    title = ax.set_title(" ")
    title.set_animated(True)

    # blitting: the contours are drawn once; each frame restores them and draws the paths
    fig.canvas.draw()
    background = fig.canvas.copy_from_bbox(fig.bbox)
    images = []
    for t in frame_steps(traj.shape[0] - 1, req.frames):
        fig.canvas.restore_region(background)
        for k, (line, head) in enumerate(zip(lines, heads, strict=True)):
            path = traj[: t + 1, k]
            ok = np.isfinite(path).all(axis=1)
            line.set_data(path[ok, 0], path[ok, 1])
            last = path[ok][-1:] if ok.any() else np.empty((0, 2))
            head.set_data(last[:, 0], last[:, 1])
            ax.draw_artist(line)
            ax.draw_artist(head)
        row = losses[t][np.isfinite(losses[t])]
        best = f"{row.min():.4g}" if row.size else "nan"
        title.set_text(f"{surface.name}: step {t} / {traj.shape[0] - 1}   lowest loss {best}")
        fig.draw_artist(title)
        rgba = np.asarray(fig.canvas.buffer_rgba())
        images.append(Image.fromarray(rgba[..., :3].copy()))
    # one palette for all frames, from the last one (every path drawn in full): adaptive
    # quantization per frame costs ten times more and makes the colours flicker
    palette = images[-1].convert("P", palette=Image.Palette.ADAPTIVE, colors=255)
    images = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    out = io.BytesIO()
    duration = int(round(1000 / req.fps))
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], loop=0,
                   duration=[duration] * (len(images) - 1) + [max(duration, 1500)])
    return out.getvalue()
