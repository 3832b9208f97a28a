"""Lab figures: the artists drawn match the library's metadata and independent computations."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from matplotlib.text import Annotation

from descentlab import losses, optim, surfaces
from descentlab.lab import _figures_lecture as L
from descentlab.lab import _figures_maps as M
from descentlab.lab import _figures_runs as R
from descentlab.lab._animate import animate_runs
from descentlab.lab._figures_common import save_figure
from descentlab.lab._runs import run


def _arrows(ax):
    return {a.get_gid(): a for a in ax.texts if isinstance(a, Annotation) and a.get_gid()}


def _run_lines(ax):
    return [ln for ln in ax.get_lines() if str(ln.get_gid()).startswith("run:")]


# --------------------------------------------------------------------------- lecture figures
def test_family_tree_edges_are_the_metadata():
    fig = L.plot_family_tree()
    ax = fig.axes[0]
    expected = {f"{p}->{c}" for c, fam in optim.family_tree().items() for p in fam.parents}
    assert set(_arrows(ax)) == expected
    assert len(expected) == 10  # GD-SGD, SGD-Momentum, ..., Adam-Nadam (LECTURE.md, section 3)
    nodes = {t.get_gid()[5:] for t in ax.texts if str(t.get_gid()).startswith("node:")}
    assert nodes == set(optim.names())


def test_family_tree_follows_a_different_tree():
    tree = {"A": optim.Family((), "root", 1900, "a"), "B": optim.Family(("A",), "data", 1950, "b"),
            "C": optim.Family(("A", "B"), "both", 2000, "c")}
    fig = L.plot_family_tree(tree=tree)
    assert set(_arrows(fig.axes[0])) == {"A->B", "A->C", "B->C"}


def test_loss_curves_gradients_match_finite_differences():
    fig = L.plot_loss_curves(num=2001)
    ax_loss, ax_grad = fig.axes[:2]
    loss_lines, grad_lines = ax_loss.get_lines(), ax_grad.get_lines()
    labels = [ln.get_label() for ln in loss_lines]
    assert labels == ["MAE", "MSE", "Huber (delta=1)", "log-cosh", "quantile (q=0.25)"]
    for ll, gl in zip(loss_lines, grad_lines[: len(loss_lines)], strict=True):
        r, J = ll.get_data()
        _, g = gl.get_data()
        fd = np.gradient(J, r)
        away = np.abs(r) > 0.01  # kinks of MAE / quantile at 0
        assert np.allclose(fd[away][1:-1], g[away][1:-1], atol=2e-3), ll.get_label()
    assert fig.measured["grad_at"]["MAE"] == (1.0, 1.0)
    assert fig.measured["lecture_example"] == {"MAE": 150.0, "MSE": 22500.0}


def test_outlier_fit_slopes_against_independent_fits():
    from sklearn.linear_model import QuantileRegressor

    fig = L.plot_outlier_fit()
    m = fig.measured
    x, y, bad = L.outlier_data()
    assert m["slopes"]["MSE"] == pytest.approx(np.polyfit(x, y, 1)[0], abs=1e-3)
    lad = QuantileRegressor(quantile=0.5, alpha=0.0, solver="highs").fit(x[:, None], y)
    assert m["slopes"]["MAE"] == pytest.approx(lad.coef_[0], abs=0.02)
    assert abs(m["slopes"]["MAE"] - 2) < 0.2 < abs(m["slopes"]["MSE"] - 2)
    assert abs(m["slopes"]["Huber (delta=1)"] - 2) < 0.2
    fitted = [ln for ln in fig.axes[0].get_lines() if "slope" in ln.get_label()
              and "true" not in ln.get_label()]
    assert len(fitted) == 3


def test_cross_entropy_panel_shows_zero_and_inf():
    fig = L.plot_cross_entropy()
    cells = {k: c.get_text().get_text() for k, c in fig.axes[0].tables[0].get_celld().items()}
    assert cells[(0, 3)] == "cost"
    assert cells[(1, 3)] == "0" and cells[(2, 3)] == "inf"
    assert cells[(2, 2)] == "[0, inf]" and cells[(1, 2)] == "[0, 0]"
    assert fig.measured["costs"] == {"[0, 1]": 0.0, "[1, 0]": float("inf")}
    assert fig.measured["logit_costs"]["[1, 0]"] == pytest.approx(60.0)  # finite from logits


def test_kl_is_cross_entropy_minus_entropy():
    fig = L.plot_kl_divergence(p=(0.3, 0.7))
    m = fig.measured
    assert m["max_identity_error"] < 1e-12
    assert m["argmin_q"] == pytest.approx(0.7, abs=3e-3)
    assert m["entropy"] == pytest.approx(-(0.3 * np.log(0.3) + 0.7 * np.log(0.7)))


def test_nesterov_diagram_vectors_from_real_state():
    s = surfaces.get("himmelblau")
    lr, gamma, warmup = 0.003, 0.9, 8
    fig = L.plot_nesterov_step(s, start=(-1.0, -1.0), lr=lr, gamma=gamma, warmup=warmup)
    # independent: the lecture's recurrences written out by hand
    theta, v = np.array([-1.0, -1.0]), np.zeros(2)
    for _ in range(warmup):
        v = gamma * v + lr * s.grad(theta)
        theta = theta - v
    mom_end = theta - gamma * v - lr * s.grad(theta)
    look = theta - gamma * v
    nag_end = look - lr * s.grad(look)
    left, right = _arrows(fig.axes[0]), _arrows(fig.axes[1])
    assert set(left) == set(right) == {"momentum", "gradient", "step"}
    assert np.allclose(left["step"].xy, mom_end) and np.allclose(right["step"].xy, nag_end)
    assert np.allclose(right["momentum"].xy, look)
    assert np.allclose(right["gradient"].xyann, look)  # NAG's gradient step starts there
    assert np.allclose(left["gradient"].xyann, theta)  # Momentum's starts at theta
    assert fig.measured["loss_nesterov"] == pytest.approx(float(s.value(nag_end)))


# --------------------------------------------------------------------------- run figures
def test_paths_one_line_per_run_with_metrics_labels():
    runs = run("rosenbrock", [("gd", {"lr": 0.001}), ("adam", {"lr": [0.05, 0.1]}),
                              ("gd", {"lr": 0.05})], steps=80)
    fig = R.plot_paths(runs)
    lines = _run_lines(fig.axes[0])
    assert len(lines) == len(runs) == 4
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0].startswith("GD(lr=0.001): J-f*=")
    assert labels[1].startswith("Adam(lr=0.05)") and labels[2].startswith("Adam(lr=0.1)")
    d = int(runs.diverged_at[3])
    assert d >= 0 and labels[3] == f"GD(lr=0.05): diverged at step {d}"
    # the drawn path is the run's trajectory (up to its last finite point)
    assert np.allclose(np.column_stack(lines[1].get_data()), runs.trajectories[:, 1])
    fig2 = R.plot_loss_vs_step(runs)
    assert len(_run_lines(fig2.axes[0])) == 4


def test_lr_row_reproduces_the_lecture_verdicts():
    fig = R.plot_lr_row(steps=100)
    gd = {lr: d["verdict"] for lr, d in fig.measured["gd"].items()}
    assert gd == {0.01: "too slow", 0.03: "about right", 0.13: "overshooting"}
    assert fig.measured["sgd"][0.13]["verdict"] == "overshooting"
    assert len(fig.axes) == 6
    assert all(len(_run_lines(ax)) == 1 for ax in fig.axes)


def test_minibatch_cloud_points_and_statistics():
    fig = R.plot_minibatch_cloud(steps=30, count=50, at=(0, 10))
    ax = fig.axes[0]
    clouds = [c for c in ax.collections if str(c.get_gid()).startswith("cloud:")]
    assert [len(c.get_offsets()) for c in clouds] == [50, 50]
    for c in fig.measured["clouds"]:
        assert 0 < c["mean_cos"] <= 1 and c["noise"] > 0


def test_ravine_momentum_damps_the_zigzag():
    fig = R.plot_ravine()
    sgd, mom = fig.measured["metrics"]
    assert sgd["optimizer"] == "SGD" and mom["optimizer"] == "Momentum"
    assert mom["oscillation"] < sgd["oscillation"]
    assert 0 <= mom["steps_to_tol"] and (sgd["steps_to_tol"] < 0
                                         or mom["steps_to_tol"] < sgd["steps_to_tol"])


def test_ravine_shows_the_damping_against_the_step():
    """The caption's claim is visible: a panel of y against the step, where Momentum's swings
    across the ravine die out sooner than SGD's (the paths panel alone showed the opposite)."""
    fig = R.plot_ravine()
    ax = fig.axes[1]
    lines = {ln.get_gid(): ln for ln in ax.get_lines()}
    runs = run("ravine", [("sgd", {"lr": 0.19}), ("momentum", {"lr": 0.19, "gamma": 0.7})],
               steps=150)
    for i in range(2):
        np.testing.assert_array_equal(lines[f"y:{i}"].get_ydata(), runs.trajectories[:, i, 1])
    # by hand: the last step where |y| is at least 1% of |y0| = 2, plus one
    y = np.abs(runs.trajectories[:, :, 1])
    expected = [int(np.nonzero(y[:, i] > 0.02)[0].max()) + 1 for i in range(2)]
    assert fig.measured["y_settled"] == expected
    assert expected[1] < expected[0]


def test_race_legend_sits_outside_both_panels():
    from descentlab.lab._tour import RACE

    runs = run("rosenbrock", RACE, steps=200)
    fig = R.plot_race(runs, title="race")
    ax1, ax2 = fig.axes
    assert ax1.get_legend() is None and ax2.get_legend() is None
    (leg,) = fig.legends
    metrics = runs.metrics()
    expected = [f"{R.run_label(runs, i)}: {R.metrics_text(metrics[i], steps=200)}"
                for i in range(len(runs))] + ["tol 0.001"]
    assert [t.get_text() for t in leg.get_texts()] == expected
    colors = [ln.get_color() for ln in _run_lines(ax1)]
    assert [h.get_color() for h in leg.legend_handles[:-1]] == colors
    # drawn: the legend's box overlaps neither panel (axes, ticks, labels, titles included)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = leg.get_window_extent(renderer)
    for ax in (ax1, ax2):
        assert not box.overlaps(ax.get_tightbbox(renderer))
    assert box.y1 < min(ax1.get_window_extent().y0, ax2.get_window_extent().y0)


# --------------------------------------------------------------------------- maps
def test_basins_classes_against_direct_nearest_minimum():
    s = surfaces.get("himmelblau")
    fig = M.plot_basins(s, [("gd", {"lr": 0.01}), ("adam", {"lr": 0.1})], grid=8, steps=60)
    images = fig.axes[0].get_images() + fig.axes[1].get_images()
    assert [im.get_array().shape for im in images] == [(8, 8), (8, 8)]
    for frac in fig.measured["fractions"].values():
        assert sum(frac.values()) == pytest.approx(1.0)
    # independent: run GD from the same grid and classify by hand
    xs, ys = np.linspace(-5, 5, 8), np.linspace(-5, 5, 8)
    X, Y = np.meshgrid(xs, ys)
    theta = np.stack([X.ravel(), Y.ravel()], axis=1)
    for _ in range(60):
        theta = theta - 0.01 * s.grad(theta)
    d = np.linalg.norm(theta[:, None] - s.minima[None], axis=-1)
    radius = 0.02 * np.hypot(10, 10)
    expect = np.where(d.min(axis=1) <= radius, d.argmin(axis=1), -1).reshape(8, 8)
    assert np.array_equal(images[0].get_array() - 2, expect)


def test_basins_in_small_batches_equal_one_batch(monkeypatch):
    """A large grid runs a batch of starts at a time; the map is the same bit for bit."""
    from descentlab.lab import _limits

    specs = [("momentum", {"lr": [0.01, 0.02], "gamma": 0.9}), ("adam", {"lr": 0.1})]
    whole = M.plot_basins("himmelblau", specs, grid=9, steps=40)
    # 3 runs per start x 41 points x 72 bytes: 7 starts per batch, the last batch short
    monkeypatch.setattr(_limits, "BASIN_BATCH_BYTES", 7 * 3 * 41 * 72)
    batches = []
    run = M._run
    monkeypatch.setattr(M, "_run", lambda *a, **k: batches.append(len(a[2])) or run(*a, **k))
    batched = M.plot_basins("himmelblau", specs, grid=9, steps=40)
    assert batches == [1] + [7] * 11 + [4]  # the labels' 0-step run, then 81 starts in batches
    for a, b in zip(whole.axes[:3], batched.axes[:3], strict=True):
        np.testing.assert_array_equal(a.get_images()[0].get_array(),
                                      b.get_images()[0].get_array())
        assert a.get_title() == b.get_title()
    assert whole.measured["fractions"] == batched.measured["fractions"]
    assert list(batched.measured["fractions"]) == ["Momentum(lr=0.01, gamma=0.9)",
                                                   "Momentum(lr=0.02, gamma=0.9)", "Adam(lr=0.1)"]


def test_basins_take_one_spec_as_lab_run_does():
    fig = M.plot_basins("himmelblau", ("adam", {"lr": 0.1}), grid=5, steps=10)
    assert list(fig.measured["fractions"]) == ["Adam(lr=0.1)"]
    fig = M.plot_basins("himmelblau", "gd", grid=5, steps=10)
    assert list(fig.measured["fractions"]) == ["GD(lr=0.01)"]


def test_stability_limit_formulas():
    assert M.stability_limit("gd", 10.0) == pytest.approx(0.2)
    assert M.stability_limit("momentum", 10.0, 0.5) == pytest.approx(0.3)
    assert M.stability_limit("nag", 4.0, 0.5) == pytest.approx(3.0 / (2.0 * 4.0))
    with pytest.raises(ValueError, match="Valid choices: gd, sgd, momentum, nag"):
        M.stability_limit("adam", 1.0)


def test_stability_map_line_matches_formula_and_measurement():
    lrs, gammas = np.geomspace(0.01, 1.0, 9), np.linspace(0.0, 0.9, 6)
    fig = M.plot_stability_map(lrs=lrs, gammas=gammas, steps=200)
    ax = fig.axes[0]
    (line,) = [ln for ln in ax.get_lines() if ln.get_gid() == "stability-limit"]
    lr_line, gamma_line = line.get_data()
    L = max(surfaces.get("ravine").curvatures)
    assert L == 10.0
    assert np.allclose(lr_line, 2 * (1 + gamma_line) / L)
    m = fig.measured
    assert m["beyond_limit_diverged"] == 1.0 and m["within_limit_diverged"] == 0.0
    # the heat map's diverged cells are exactly the runs that diverged
    runs = run("ravine", ("momentum", {"lr": lrs.tolist(), "gamma": gammas.tolist()}), steps=200)
    div = (runs.diverged_at >= 0).reshape(len(lrs), len(gammas)).T
    assert np.array_equal(np.array(m["diverged"]), div)
    assert m["theory_optimum"]["lr"] == pytest.approx(4 / (np.sqrt(10) + np.sqrt(0.1)) ** 2)
    # the legend explains the two flat colours with their measured shares
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"diverged ({100 * div.mean():.0f}% of cells)" in texts
    assert any(t.startswith("never within tol (") for t in texts)


def test_inspector_state_and_step_size():
    s = surfaces.get("ravine")
    fig = M.plot_inspector(s, ("adam", {"lr": 0.1}), steps=30)
    gids = {ln.get_gid() for ax in fig.axes for ln in ax.get_lines() if ln.get_gid()}
    assert {"state:m:0", "state:m:1", "state:v:0", "state:v:1"} <= gids
    # independent: Adam by hand, effective step |d theta / g| per axis
    theta, m, v = s.start.copy(), np.zeros(2), np.zeros(2)
    steps = []
    for t in range(1, 31):
        g = s.grad(theta)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        new = theta - 0.1 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        steps.append(np.abs((new - theta) / g))
        theta = new
    (sx,) = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "step_size:0"]
    assert np.allclose(sx.get_data()[1][:30], np.array(steps)[:, 0], rtol=1e-9)
    (mx,) = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "state:m:0"]
    assert mx.get_data()[1][-1] == pytest.approx(abs(m[0]), rel=1e-9)


def test_inspector_draws_magnitudes_on_log_axes_without_symlog_kinks():
    """A symlog axis bent Momentum's v[x] at step ~83 where it crossed the linear range; the
    state and gradient panels now draw |value| on plain log axes, the value itself unchanged."""
    fig = M.plot_inspector("ravine", ("momentum", {"lr": 0.19, "gamma": 0.7}), steps=150)
    runs = run("ravine", ("momentum", {"lr": 0.19, "gamma": 0.7}), steps=150, record_state=True)
    lines = {ln.get_gid(): ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid()}
    st = runs.states
    for gid, ref in (("state:v:0", st["v"][:, 0, 0]), ("grad:0", st["grad"][:, 0, 0])):
        ax = lines[gid].axes
        assert ax.get_yscale() == "log"
        drawn = lines[gid].get_ydata()
        ok = np.abs(ref) > 0
        np.testing.assert_array_equal(drawn[ok], np.abs(ref[ok]))
        assert np.isnan(drawn[~ok]).all()
    assert all(ax.get_yscale() != "symlog" for ax in fig.axes)


def test_inspector_gd_has_no_state():
    fig = M.plot_inspector("bowl", ("gd", {"lr": 0.1}), steps=5)
    assert fig.measured["buffers"] == {}
    assert fig.measured["median_step_size"] == pytest.approx([0.1, 0.1])


# --------------------------------------------------------------------------- files
def test_save_and_animate_atomically(tmp_path):
    from PIL import Image

    runs = run("himmelblau", [("gd", {"lr": 0.01}), ("adam", {"lr": 0.1})], steps=20)
    out = animate_runs(runs, tmp_path / "a.gif", frames=6, fps=5, dpi=40)
    im = Image.open(out)
    assert im.format == "GIF" and im.n_frames >= 6
    save_figure(R.plot_race(runs), tmp_path / "r.png", dpi=40)
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gif", "r.png"]  # no temp files
    with pytest.raises(ValueError, match=r"Valid choices: \.gif, \.mp4"):
        animate_runs(runs, tmp_path / "a.avi")
    if shutil.which("ffmpeg") is None:
        with pytest.raises(ValueError, match="ffmpeg"):
            animate_runs(runs, tmp_path / "a.mp4")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gif", "r.png"]
    else:  # .ci/run installs ffmpeg, so CI takes this branch
        mp4 = animate_runs(runs, tmp_path / "a.mp4", frames=6, fps=5, dpi=40)
        assert Path(mp4).read_bytes()[4:8] == b"ftyp"  # an ISO media file
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gif", "a.mp4", "r.png"]


def test_losses_used_by_figures_are_the_library_functions():
    # the loss panel draws descentlab.losses itself, not a private copy
    fig = L.plot_loss_curves(num=11)
    r, J = fig.axes[0].get_lines()[2].get_data()
    assert np.allclose(J, losses.huber(np.zeros(11), r, reduction="none", delta=1.0))


def test_public_names_reach_descentlab_lab():
    from descentlab import lab
    from descentlab.lab import _animate, _tour

    assert lab.plot_race is R.plot_race and lab.plot_family_tree is L.plot_family_tree
    assert lab.plot_stability_map is M.plot_stability_map
    assert lab.animate_runs is _animate.animate_runs and lab.tour is _tour.tour
