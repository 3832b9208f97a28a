"""``descentlab race``'s figure: its two panels' titles are the same size, and the tolerance
line's legend entry sits in a column with runs, not alone a whole label's width to the right.

Both were seen on ``race --optimizer adam:lr=0.1 --optimizer momentum:lr=0.001,gamma=0.9
--surface rosenbrock``: the loss panel's title in matplotlib's default 12 pt against the paths
panel's 10 pt, and "tol 0.001" in a second legend column of its own.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from figure_checks import assert_no_label_over_data

from descentlab import lab
from descentlab.lab import _figures_runs as R

matplotlib.use("Agg")


def _race(n):
    specs = [("adam", {"lr": 0.1}), ("momentum", {"lr": 0.001, "gamma": 0.9}),
             ("gd", {"lr": 0.001}), ("nag", {"lr": 0.001})][:n]
    runs = lab.run("rosenbrock", specs, np.array([[-1.2, 1.0]]), steps=50)
    fig = R.plot_race(runs)
    fig.canvas.draw()
    return fig


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_the_panels_titles_match_and_tol_is_not_alone_in_a_column(n):
    fig = _race(n)
    sizes = {ax.title.get_fontsize() for ax in fig.axes}
    assert len(sizes) == 1, f"panel titles in {sorted(sizes)} pt"
    (legend,) = fig.legends
    texts = legend.get_texts()
    assert texts[-1].get_text().startswith("tol ")
    renderer = fig.canvas.get_renderer()
    left = [t.get_window_extent(renderer).x0 for t in texts]
    columns = sorted({round(x) for x in left})
    # the tolerance entry's column has at least one run entry starting at the same x
    same = [x for x in left[:-1] if abs(x - left[-1]) < 1]
    assert same, f"'tol' alone in a column at x={left[-1]:.0f} (runs' columns at {columns})"
    assert_no_label_over_data(fig)


@pytest.mark.parametrize("entries, asked, columns", [
    (2, 2, 1), (3, 2, 1), (4, 2, 2), (5, 2, 2), (3, 1, 1), (7, 3, 2), (8, 3, 3), (5, 3, 2),
])
def test_legend_columns_never_leave_one_entry_alone(entries, asked, columns):
    assert R.legend_columns(entries, asked) == columns
