"""Checks on rendered figures that a reader's eye makes: no legend or label box over the data."""

from __future__ import annotations

import numpy as np


def _data_boxes(ax):
    """Display-space boxes ``(x0, y0, x1, y1)`` that hold data: every drawn point of every line
    (and points along its segments), every scatter marker, and every unmasked cell of a
    pcolormesh. Contour sets (the surface behind paths) and straight reference lines spanning the
    whole axes (axhline, axvline) are background, not data."""
    from matplotlib.collections import PathCollection, QuadMesh
    from matplotlib.contour import ContourSet

    boxes = []
    clip = ax.get_window_extent()

    def keep(pts):
        pts = pts[np.isfinite(pts).all(axis=1)]
        inside = ((pts[:, 0] >= clip.x0) & (pts[:, 0] <= clip.x1) & (pts[:, 1] >= clip.y0)
                  & (pts[:, 1] <= clip.y1))
        return pts[inside]

    for line in ax.get_lines():
        if not line.get_visible():
            continue
        xy = np.asarray(line.get_xydata(), dtype=float)
        if len(xy) == 0:
            continue
        pts = line.get_transform().transform(xy)
        if len(pts) > 1 and line.get_linestyle() not in ("None", "none", ""):
            t = np.linspace(0, 1, 12)[:, None, None]
            seg = pts[:-1][None] * (1 - t) + pts[1:][None] * t
            pts = np.concatenate([pts, seg.reshape(-1, 2)])
        # a vertical or horizontal reference line spanning the whole axes is a guide, not data
        xy_axes = ax.transAxes.inverted().transform(pts[np.isfinite(pts).all(axis=1)]) \
            if len(pts) else pts
        if len(xy_axes) and any(np.ptp(xy_axes[:, a]) < 1e-9 and xy_axes[:, 1 - a].min() <= 0
                                and xy_axes[:, 1 - a].max() >= 1 for a in (0, 1)):
            continue
        for p in keep(pts):
            boxes.append((p[0] - 1, p[1] - 1, p[0] + 1, p[1] + 1))
    for coll in ax.collections:
        if isinstance(coll, ContourSet) or not coll.get_visible():
            continue
        if isinstance(coll, PathCollection):
            offsets = coll.get_offset_transform().transform(coll.get_offsets())
            for p in keep(np.asarray(offsets, dtype=float)):
                boxes.append((p[0] - 2, p[1] - 2, p[0] + 2, p[1] + 2))
        elif isinstance(coll, QuadMesh):
            arr = coll.get_array()
            coords = coll.get_coordinates()  # (ny+1, nx+1, 2)
            mask = np.ma.getmaskarray(arr).reshape(coords.shape[0] - 1, coords.shape[1] - 1)
            disp = coll.get_transform().transform(coords.reshape(-1, 2)).reshape(coords.shape)
            for j, i in zip(*np.nonzero(~mask), strict=True):
                c = disp[j:j + 2, i:i + 2].reshape(-1, 2)
                boxes.append((c[:, 0].min(), c[:, 1].min(), c[:, 0].max(), c[:, 1].max()))
    return boxes


def _label_boxes(ax, renderer):
    """The legend's box and every text drawn inside the axes with a box around it
    (annotations), in display space."""
    out = []
    legend = ax.get_legend()
    if legend is not None and legend.get_visible():
        out.append(("legend", legend.get_window_extent(renderer)))
    from matplotlib.text import Text

    for text in ax.texts:
        if text.get_visible() and text.get_text().strip():
            # the text and its box only: an annotation's arrow may cross data to point at it
            out.append((f"text {text.get_text()[:30]!r}", Text.get_window_extent(text, renderer)))
    return out


def overlaps(fig, tolerance_px: float = 0.5) -> list[str]:
    """What label boxes (legends, annotations) cover data in ``fig``; [] when none does."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    found = []
    for k, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        labels = _label_boxes(ax, renderer)
        if not labels:
            continue
        boxes = _data_boxes(ax)
        for what, bb in labels:
            x0, y0 = bb.x0 + tolerance_px, bb.y0 + tolerance_px
            x1, y1 = bb.x1 - tolerance_px, bb.y1 - tolerance_px
            hits = sum(1 for b in boxes if b[0] < x1 and b[2] > x0 and b[1] < y1 and b[3] > y0)
            if hits:
                found.append(f"axes {k} ({ax.get_title()[:40]!r}): {what} covers {hits} data "
                             "point(s)")
    return found


def assert_no_label_over_data(fig) -> None:
    """Fail naming every legend or annotation box that covers drawn data."""
    found = overlaps(fig)
    assert not found, "; ".join(found)
