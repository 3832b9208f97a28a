"""``descentlab sweep``: each optimizer has a default grid; one axis is drawn as a line plot; the
legend never covers the cells or the best-setting star."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_helpers import exit_code
from figure_checks import assert_no_label_over_data, overlaps

from descentlab import lab

# the table: which hyperparameters each optimizer's default grid sweeps
EXPECTED_AXES = {
    "gd": ["lr"], "sgd": ["lr"], "adagrad": ["lr"],
    "momentum": ["lr", "gamma"], "nag": ["lr", "gamma"],
    "adam": ["lr", "beta1"], "nadam": ["lr", "beta1"],
    "rmsprop": ["lr", "gamma"], "adadelta": ["gamma", "eps"],
}


def _settings(out: str) -> dict:
    line = next(ln for ln in out.splitlines() if ln.startswith("descentlab sweep settings: "))
    return json.loads(line.split(": ", 1)[1])


@pytest.mark.parametrize("name", sorted(EXPECTED_AXES))
def test_every_optimizer_has_a_default_grid(name, capsys):
    assert exit_code(["sweep", "--optimizer", name, "--dry-run"]) == 0
    grid = _settings(capsys.readouterr().out)["grid"]
    assert [g.partition("=")[0] for g in grid] == EXPECTED_AXES[name]


def test_an_axis_the_spec_fixes_is_left_out_of_the_default_grid(capsys):
    assert exit_code(["sweep", "--optimizer", "adam:lr=0.05", "--dry-run"]) == 0
    assert [g.partition("=")[0] for g in _settings(capsys.readouterr().out)["grid"]] == ["beta1"]
    assert exit_code(["sweep", "--optimizer", "gd:lr=0.1", "--dry-run"]) == 2
    assert "give the axes to sweep with --grid" in capsys.readouterr().err


def test_adam_default_sweep_runs(tmp_path, capsys):
    out = tmp_path / "adam.png"
    assert exit_code(["sweep", "--optimizer", "adam", "--steps", "30", "--out", str(out),
                      "--dpi", "30", "--no-progress"]) == 0
    assert "900 runs" in capsys.readouterr().out and out.exists()


def _runs_1d():
    return lab.run("ravine", ("gd", {"lr": np.geomspace(0.01, 0.5, 12).tolist()}), steps=200)


def test_a_one_axis_sweep_is_a_line_plot():
    from matplotlib.collections import QuadMesh

    fig = lab.plot_sweep(_runs_1d(), "lr", metric="steps_to_tol")
    ax = fig.axes[0]
    assert not any(isinstance(c, QuadMesh) for c in ax.collections)  # no striped heat map
    (line,) = [ln for ln in ax.get_lines() if ln.get_gid() == "metric-line"]
    xs, ys = line.get_data()
    values = np.array(fig.measured["values"][0])
    np.testing.assert_array_equal(xs, fig.measured["x_values"])
    np.testing.assert_array_equal(ys, values)
    # the y axis is the metric (not a meaningless 0..1 band), the limit lr = 2/L = 0.2 a line
    assert ax.get_ylabel().startswith("steps_to_tol")
    (limit,) = [ln for ln in ax.get_lines() if ln.get_gid() == "stability-limit"]
    assert limit.get_xdata()[0] == pytest.approx(0.2)
    # every learning rate beyond 2/L diverged, none below it
    assert fig.measured["beyond_limit_diverged"] == 1.0
    assert fig.measured["within_limit_diverged"] == 0.0
    assert_no_label_over_data(fig)


def test_the_sweep_legend_covers_no_cell_and_no_star():
    runs = lab.run("ravine", ("momentum", {"lr": np.geomspace(1e-3, 1, 12).tolist(),
                                           "gamma": np.linspace(0, 0.98, 12).tolist()}),
                   steps=150)
    fig = lab.plot_sweep(runs, "lr", "gamma")
    assert_no_label_over_data(fig)
    fig = lab.plot_stability_map(lrs=np.geomspace(1e-3, 1, 10), gammas=np.linspace(0, .98, 10),
                                 steps=150)
    assert_no_label_over_data(fig)


def test_the_overlap_check_sees_a_legend_over_cells():
    """The check itself: a legend inside a full heat map covers cells."""
    runs = lab.run("ravine", ("momentum", {"lr": [0.01, 0.1], "gamma": [0.0, 0.9]}), steps=20)
    fig = lab.plot_sweep(runs, "lr", "gamma")
    fig.axes[0].legend(loc="upper left")
    assert overlaps(fig)
