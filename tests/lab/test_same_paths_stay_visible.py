"""Two runs with exactly the same path (GD and SGD without minibatches take the same steps) are
both visible: the later one is dashed over the earlier one and its label names it. Before, SGD's
solid line hid GD's completely in notebook 05's race of all nine optimizers."""

from __future__ import annotations

import matplotlib
import numpy as np

from descentlab import lab
from descentlab.lab import _figures_runs as R

matplotlib.use("Agg")


def test_a_repeated_path_is_dashed_and_labelled():
    runs = lab.run("rosenbrock", [("gd", {"lr": 0.001}), ("sgd", {"lr": 0.001}),
                                  ("momentum", {"lr": 0.001, "gamma": 0.9})],
                   np.array([[-1.2, 1.0]]), steps=30)
    assert np.array_equal(runs.trajectories[:, 0], runs.trajectories[:, 1])  # the premise
    assert R.same_path_as(runs) == [None, 0, None]
    fig = R.plot_race(runs)
    for ax in fig.axes:
        lines = {ln.get_gid(): ln for ln in ax.get_lines() if str(ln.get_gid()).startswith("run:")}
        assert lines["run:0"].get_linestyle() == "-"
        assert lines["run:2"].get_linestyle() == "-"
        assert lines["run:1"].get_linestyle() == "--"  # dashed: GD's solid line shows between
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[1].startswith("SGD(lr=0.001) (same path as GD(lr=0.001)")
    assert "same path" not in labels[0] + labels[2]
