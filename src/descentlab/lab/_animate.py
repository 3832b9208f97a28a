"""Animations of runs: the paths grow step by step on the contours while the losses fall.

GIF is written with Pillow (the library behind matplotlib's ``PillowWriter``), MP4 with
matplotlib's ``FFMpegWriter`` only where an ``ffmpeg`` executable is on the PATH
(``shutil.which``). Files are written to a temporary name next to the target and renamed over it
at the end, so an interrupted render never leaves half a file.

Decision: ``PillowWriter.grab_frame`` redraws the whole figure for every frame (0.13 s a frame
here, most of it the filled contours), so GIF frames are blitted instead: the static figure is
drawn once, and each frame restores that background and draws only the moving artists (paths,
heads, loss curves, step counter) before its pixels are handed to Pillow, with PillowWriter's
settings (RGBA frames, ``duration = 1000 / fps`` ms, ``loop=0``). About 20x faster, same pixels.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from descentlab._extras import require
from descentlab.lab._figures_common import check_replaceable, new_figure, replacing, signature
from descentlab.lab._limits import MAX_FPS, MAX_FRAMES, MIN_FPS, MIN_FRAMES

__all__ = ["animate_runs", "animation_formats"]

#: the animation's figure size in inches (the command line's memory estimate uses it too)
FIGSIZE = (11, 5.2)


def animation_formats() -> list[str]:
    """The animation suffixes this machine can write: ``.gif`` always, ``.mp4`` with ffmpeg."""
    return [".gif"] + ([".mp4"] if shutil.which("ffmpeg") else [])


def _writer(suffix: str, fps: int):
    from matplotlib.animation import FFMpegWriter, PillowWriter

    if suffix == ".gif":
        return PillowWriter(fps=fps)
    if suffix == ".mp4":
        if not shutil.which("ffmpeg"):
            raise ValueError("Cannot write .mp4: no ffmpeg executable on the PATH. Install "
                             "ffmpeg or write a .gif instead.")
        return FFMpegWriter(fps=fps, metadata={"comment": signature()})
    raise ValueError(f"Unknown animation format {suffix!r}. Valid choices: .gif, .mp4 "
                     "(.mp4 needs ffmpeg).")


def animate_runs(runs, path, *, frames: int = 60, fps: int = 15, tol: float = 1e-3,
                 dpi: int = 80, bounds=None, title: str | None = None,
                 progress: bool = False) -> Path:
    """Write an animation of ``runs``: paths on the contours (left) and J - f* (right).

    Frame k shows every run up to step ``round(k * steps / (frames - 1))``; the last frame shows
    the whole runs, with the metrics in the legend (as :func:`plot_paths`). The last frame is
    held for one second. There are never more distinct frames than steps + 1 (one per step):
    ``frames`` above that is capped to it.

    Args:
      runs: a :class:`descentlab.lab.Runs`.
      path: output file; its suffix picks the format: ``.gif`` (Pillow) or ``.mp4`` (needs
        ffmpeg). Anything else raises ValueError listing the choices. The file carries
        descentlab's signature (GIF: a comment extension; MP4: the ``comment`` tag); an
        existing file without it is a ValueError (``descentlab._files.check_replaceable``).
      frames: number of distinct frames, an integer in [2, 120] (the playground's cap; see
        ``lab/_limits.py``). Default 60.
      fps: frames per second, an integer in [1, 50] (a GIF cannot play faster than 50 fps).
        Default 15.
      tol: tolerance for the metrics in the legend. Default 1e-3.
      dpi: resolution. Default 80.
      bounds: plotting window; default the surface's.
      title: figure title; default the surface and step count.
      progress: show a tqdm progress bar over frames (on stderr). Default False.

    Returns:
      The path written.
    """
    from descentlab._validation import check_int
    from descentlab.lab._figures_runs import legend_below, plot_loss_vs_step, plot_paths

    path = Path(path)
    suffix = path.suffix.lower()
    frames = check_int(frames, name="frames", owner="animate_runs", low=MIN_FRAMES,
                       high=MAX_FRAMES)
    fps = check_int(fps, name="fps", owner="animate_runs", low=MIN_FPS, high=MAX_FPS)
    frames = min(frames, runs.steps + 1)
    writer = _writer(suffix, fps)
    check_replaceable(path)  # an existing file without descentlab's signature is refused
    fig = new_figure(figsize=FIGSIZE)
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.3, 1])
    plot_paths(runs, ax=ax1, tol=tol, bounds=bounds, markers=False, legend=False)
    plot_loss_vs_step(runs, ax=ax2, tol=tol, legend=False)
    # the legend (metrics of the whole runs) under both panels and the step counter in the
    # title row's right corner: neither is ever drawn across a path or a curve
    few = len(runs) < 5
    legend_below(fig, ax1, ax2, ncols=1 if few else 2, fontsize=9 if few else 8)
    fig.suptitle(title or f"{runs.surface.name}: {runs.steps} steps", fontsize=11)
    fig.canvas.draw()  # settle the layout once, then freeze it so frames do not jitter
    fig.set_layout_engine("none")
    path_lines = [ln for ln in ax1.get_lines() if str(ln.get_gid()).startswith("run:")]
    loss_lines = [ln for ln in ax2.get_lines() if str(ln.get_gid()).startswith("run:")]
    full_p = [np.column_stack(ln.get_data()) for ln in path_lines]
    full_l = [np.column_stack(ln.get_data()) for ln in loss_lines]
    heads = [ax1.plot([], [], "o", color=ln.get_color(), mec="black", ms=7)[0]
             for ln in path_lines]
    counter = fig.text(0.99, 0.985, "", ha="right", va="top", fontsize=10,
                       family="monospace", gid="step-counter")
    steps = runs.steps
    upto = np.round(np.linspace(0, steps, frames)).astype(int)
    upto = np.concatenate([upto, np.full(fps, steps)])  # hold the end for one second
    moving = path_lines + loss_lines + heads + [counter]
    path.parent.mkdir(parents=True, exist_ok=True)
    if progress:  # before anything is written
        tqdm = require("tqdm.auto", extra="lab", feature="the animation's progress bar").tqdm
    bar = None
    if progress:
        bar = tqdm(total=len(upto), unit="frame", desc=f"animating {path.name}")

    def update(s):
        for ln, xy, head in zip(path_lines, full_p, heads, strict=True):
            part = xy[: s + 1]
            ln.set_data(part[:, 0], part[:, 1])
            head.set_data(part[-1:, 0], part[-1:, 1])
        for ln, tl in zip(loss_lines, full_l, strict=True):
            part = tl[tl[:, 0] <= s]
            ln.set_data(part[:, 0], part[:, 1])
        counter.set_text(f"step {s} / {steps}")

    try:
        with replacing(path, suffix=suffix, anonymous=suffix == ".gif") as tmp:
            if suffix == ".gif":
                _write_gif_blitted(fig, moving, upto, update, tmp, fps=fps, dpi=dpi, bar=bar)
            else:
                with writer.saving(fig, tmp, dpi):
                    for s in upto:
                        update(s)
                        writer.grab_frame()
                        if bar is not None:
                            bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return path


def _write_gif_blitted(fig, moving, upto, update, out, *, fps, dpi, bar):
    """Draw the static figure once; per frame restore it and draw only ``moving``."""
    from PIL import Image

    fig.set_dpi(dpi)
    canvas = fig.canvas
    for a in moving:
        a.set_animated(True)
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)
    frames = []
    for k, s in enumerate(upto):
        if k and s == upto[k - 1]:  # the held end: the same image again, not another copy
            frames.append(frames[-1])
            if bar is not None:
                bar.update(1)
            continue
        update(s)
        canvas.restore_region(background)
        for a in moving:
            (a.axes or a.figure).draw_artist(a)
        buf = canvas.buffer_rgba()
        frames.append(Image.frombuffer("RGBA", (buf.shape[1], buf.shape[0]),
                                       bytes(buf), "raw", "RGBA", 0, 1))
        if bar is not None:
            bar.update(1)
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:],
                   duration=int(1000 / fps), loop=0, comment=signature().encode())
