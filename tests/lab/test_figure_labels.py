"""Legends and labels never cover the data they describe (checked on the rendered figures with
figure_checks.assert_no_label_over_data), and lines that coincide stay distinguishable."""

from __future__ import annotations

import numpy as np
import pytest
from figure_checks import assert_no_label_over_data

from descentlab.lab import _figures_lecture as L


def test_kl_annotation_covers_no_curve():
    assert_no_label_over_data(L.plot_kl_divergence())


def test_outlier_fit_legend_covers_nothing_and_every_outlier_is_counted():
    fig = L.plot_outlier_fit()
    assert_no_label_over_data(fig)
    ax = fig.axes[0]
    fits = [ln for ln in ax.get_lines() if ln.get_label().startswith(("MAE", "Huber"))]
    mae, huber = fits
    # MAE and Huber fit nearly the same line: they must differ in style, not only in colour
    assert (mae.get_linestyle(), mae.get_linewidth()) != (huber.get_linestyle(),
                                                          huber.get_linewidth())
    assert mae.get_zorder() > huber.get_zorder()  # the thinner dashed line on top
    # outliers closer than a marker's diameter on screen look like one circle: each such
    # cluster carries a label with its count, so the reader can count all of them
    x, y, bad = L.outlier_data()
    fig.canvas.draw()
    px = ax.transData.transform(np.column_stack([x[bad], y[bad]]))[:, 0]
    diameter = np.sqrt(46) * fig.dpi / 72  # scatter size s=46 is the marker's area in pt^2
    order = np.sort(px)
    clusters = np.split(order, np.nonzero(np.diff(order) > diameter)[0] + 1)
    labels = sorted(int(t.get_text().split()[0]) for t in ax.texts
                    if t.get_gid() == "outlier-count")
    assert labels == sorted(len(c) for c in clusters if len(c) > 1)
    assert labels  # the default data has two outliers 0.01 apart


def test_animation_counter_and_legend_stay_off_the_curves(monkeypatch, tmp_path):
    """The step counter was drawn inside the loss panel, across the curves, and the tour's GIF
    legend text was about 6 px tall; now both sit outside the panels, the text at least 9 px."""
    from descentlab import lab
    from descentlab.lab import _animate
    from descentlab.lab._tour import ANIMATION

    seen = {}

    def capture(fig, moving, upto, update, out, *, fps, dpi, bar):
        update(upto[len(upto) // 2])
        fig.set_dpi(dpi)
        fig.canvas.draw()
        seen.update(fig=fig, moving=moving, dpi=dpi)
        out.write_bytes(b"GIF89a")

    monkeypatch.setattr(_animate, "_write_gif_blitted", capture)
    runs = lab.run("himmelblau", ANIMATION, steps=40)
    _animate.animate_runs(runs, tmp_path / "a.gif", frames=10, fps=12, dpi=80)  # the tour's dpi
    fig = seen["fig"]
    renderer = fig.canvas.get_renderer()
    (counter,) = [a for a in seen["moving"] if a.get_gid() == "step-counter"]
    box = counter.get_window_extent(renderer)
    assert counter.get_text().startswith("step ")
    for ax in fig.axes:
        assert ax.get_legend() is None
        assert not box.overlaps(ax.get_window_extent(renderer)), "counter over a panel"
    (legend,) = fig.legends
    for ax in fig.axes:
        assert not legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))
    size_px = legend.get_texts()[0].get_fontsize() * seen["dpi"] / 72
    assert size_px >= 9
    # the legend fits the figure: nothing cut off at the sides
    lb = legend.get_window_extent(renderer)
    assert lb.x0 >= 0 and lb.x1 <= fig.bbox.width


def _tour_sections():
    from descentlab.lab import _tour

    return [s for s in _tour.sections() if s.kind == "png"]


@pytest.mark.parametrize("section", _tour_sections(), ids=lambda s: s.key)
def test_no_tour_figure_has_a_label_over_its_data(section):
    """Every figure of the tour (quick settings): no legend and no annotation box covers a drawn
    point, line or cell (minibatch_cloud's legend sat on the cloud of SGD steps, nesterov's
    'theta' on the warm-up path)."""
    from descentlab.lab import _tour

    assert_no_label_over_data(section.build(_tour.TourSettings(quick=True)))
