"""Metrics on hand-made trajectories, each checked against a number worked out by hand."""

import math

import numpy as np
import pytest

from descentlab import lab, surfaces
from descentlab.lab import _metrics


def stack(*paths):
    """Trajectories (steps+1, runs, 2) from per-run lists of points."""
    return np.stack([np.asarray(p, dtype=float) for p in paths], axis=1)


def test_path_length():
    traj = stack([(0, 0), (3, 4), (3, 4), (6, 8)], [(0, 0), (1, 0), (1, 1), (0, 1)])
    np.testing.assert_allclose(_metrics.path_length(traj), [10.0, 3.0])


def test_path_length_skips_non_finite_steps():
    traj = stack([(0, 0), (1, 0), (np.nan, np.nan), (np.nan, np.nan)])
    np.testing.assert_allclose(_metrics.path_length(traj), [1.0])


def test_oscillation_index_zigzag_straight_and_corner():
    zigzag = [(i, 2 * (-1) ** i) for i in range(9)]  # steps (1, -4), (1, 4), ...: dot = 1 - 16 < 0
    straight = [(i, 0.5 * i) for i in range(9)]
    corner = [(0, 0), (1, 0), (2, 0), (2, 1), (2, 2), (2, 3), (2, 4), (2, 5), (2, 6)]  # one 90 turn
    back_and_forth = [(0, 0), (1, 0), (0.5, 0), (1, 0), (0.5, 0), (1, 0), (0.5, 0), (1, 0),
                      (0.5, 0)]
    osc = _metrics.oscillation_index(stack(zigzag, straight, corner, back_and_forth))
    np.testing.assert_allclose(osc, [1.0, 0.0, 0.0, 1.0])
    # steps +1 +1 -1 +1 +1 -1 +1 +1: 4 reversals among 7 consecutive pairs
    half = [(0, 0), (1, 0), (2, 0), (1, 0), (2, 0), (3, 0), (2, 0), (3, 0), (4, 0)]
    assert _metrics.oscillation_index(stack(half))[0] == pytest.approx(4 / 7)


def test_oscillation_ignores_standing_still():
    still = [(1.0, 1.0)] * 5
    one_step = [(0, 0), (1, 0), (1, 0), (1, 0), (1, 0)]
    osc = _metrics.oscillation_index(stack(still, one_step), min_step=1e-12)
    assert math.isnan(osc[0]) and math.isnan(osc[1])


def test_steps_to_tolerance_means_settled():
    losses = np.array([
        [5.0, 5.0, 5.0, 0.1],
        [1.0, 0.0005, 1.0, 0.1],
        [0.0005, 1.0, 1.0, 0.1],  # run 1 touches the tolerance at step 1, leaves, returns at 3
        [0.0001, 0.0001, 1.0, 0.1],
    ])
    got = _metrics.steps_to_tolerance(losses, 0.0, 1e-3)
    assert got.tolist() == [2, 3, -1, -1]
    assert _metrics.steps_to_tolerance(losses, 0.0999, 1e-3).tolist() == [2, 3, -1, 0]
    assert _metrics.steps_to_tolerance(losses, math.nan, 1e-3).tolist() == [-1, -1, -1, -1]


def test_first_within_tolerance_is_the_first_touch():
    """Read by hand from the table above: run 0 first touches tol at step 2, run 1 at step 1
    (it leaves and settles from 3), run 2 at step 3 (and leaves: steps_to_tol -1), run 3
    never."""
    losses = np.array([
        [5.0, 5.0, 5.0, 0.1],
        [1.0, 0.0005, 1.0, 0.1],
        [0.0005, 1.0, 1.0, 0.1],
        [0.0001, 0.0001, 0.0002, 0.1],
    ])
    assert _metrics.first_within_tolerance(losses, 0.0, 1e-3).tolist() == [2, 1, 3, -1]
    assert _metrics.steps_to_tolerance(losses, 0.0, 1e-3).tolist() == [2, 3, 3, -1]
    assert _metrics.first_within_tolerance(losses, math.nan, 1e-3).tolist() == [-1] * 4
    cols = _metrics.compute(np.zeros((4, 4, 2)), losses, np.full(4, -1), minima=[[0, 0]],
                            minimum_value=0.0, bounds=((-1, 1), (-1, 1)), tol=1e-3)
    assert cols["first_within_tol"].tolist() == [2, 1, 3, -1]


def test_nadam_on_rosenbrock_reaches_the_tolerance_before_it_stays():
    """The issue's case: the two steps differ, and every place that prints metrics shows both."""
    from descentlab.lab._figures_runs import tolerance_phrase

    r = lab.run("rosenbrock", ("nadam", {"lr": 0.1}), steps=1000).metrics()[0]
    assert (r["first_within_tol"], r["steps_to_tol"]) == (554, 858)  # the README's numbers
    assert tolerance_phrase(r) == (f"first within tol at {r['first_within_tol']}, stays from "
                                   f"{r['steps_to_tol']}")


def test_nearest_minimum():
    minima = np.array([[3.0, 2.0], [-3.0, -3.0]])
    idx, d = _metrics.nearest_minimum(np.array([[3.0, 2.5], [-2.0, -3.0], [np.nan, 0.0]]), minima)
    assert idx.tolist() == [0, 1, -1]
    np.testing.assert_allclose(d, [0.5, 1.0, np.nan])
    idx, d = _metrics.nearest_minimum(np.zeros((2, 2)), np.zeros((0, 2)))
    assert idx.tolist() == [-1, -1] and np.isnan(d).all()


def test_metrics_table_from_a_run():
    s = surfaces.get("bowl")
    r = lab.run(s, [("gd", {"lr": [0.25, 0.5, 1.5]})], starts=np.array([[2.0, 0.0]]), steps=6)
    rows = r.metrics(tol=1e-3)
    # GD on x^2 + y^2: x_{t+1} = (1 - 2 lr) x_t
    # lr = 0.25: x halves, 2, 1, 0.5, ... J = x^2 <= 1e-3 once |x| <= 0.0316: x_6 = 2/64 = 0.03125
    assert rows[0]["steps_to_tol"] == 6
    assert rows[0]["path_length"] == pytest.approx(2 - 2 / 64)
    assert rows[0]["oscillation"] == 0.0
    assert rows[0]["final_loss"] == pytest.approx((2 / 64) ** 2)
    assert rows[0]["distance"] == pytest.approx(2 / 64) and rows[0]["nearest_minimum"] == 0
    # lr = 0.5: one step to the minimum, then stands still
    assert rows[1]["steps_to_tol"] == 1 and rows[1]["path_length"] == pytest.approx(2.0)
    assert math.isnan(rows[1]["oscillation"])  # only one step moves
    # lr = 1.5: x_{t+1} = -2 x_t: 2, -4, 8, -16, 32, outside 10 x the bounds (|x| > 30) at step 4
    assert rows[2]["diverged_at"] == 4 and rows[2]["oscillation"] == 1.0
    assert math.isnan(rows[2]["final_loss"]) and rows[2]["steps_to_tol"] == -1
    assert rows[2]["path_length"] == pytest.approx(6 + 12 + 24 + 48)
    assert set(lab.METRICS) <= set(rows[0])
    assert rows[0]["optimizer"] == "GD" and rows[0]["lr"] == 0.25 and rows[0]["start_x"] == 2.0
    cols = r.metrics(columns=True)
    assert cols["steps_to_tol"].tolist() == [6, 1, -1]


def test_metrics_tol_validated():
    r = lab.run("bowl", "gd", steps=2)
    with pytest.raises(ValueError, match=r"'tol' parameter of Runs.metrics must be a float in the "
                                         r"range \(0.0, inf\)"):
        r.metrics(tol=0)


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_race_writes_both_tolerance_steps_to_its_metrics_file(suffix, tmp_path, capsys):
    import csv
    import json

    from descentlab.cli import main

    path = tmp_path / f"m{suffix}"
    assert main(["race", "--optimizer", "nadam:lr=0.1", "--optimizer", "gd:lr=0.002",
                 "--steps", "1000", "--out", str(tmp_path / "r.png"), "--dpi", "30",
                 "--metrics", str(path), "--no-progress"]) == 0
    if suffix == ".json":
        rows = json.loads(path.read_text())
    else:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    nadam, gd = rows
    assert int(nadam["first_within_tol"]) == 554 and int(nadam["steps_to_tol"]) == 858
    assert int(gd["first_within_tol"]) == -1 and int(gd["steps_to_tol"]) == -1
    assert nadam["label"] == "Nadam(lr=0.1)" and float(nadam["tol"]) == 1e-3
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["r.png", path.name])


def test_race_metrics_file_needs_a_csv_or_json_suffix(tmp_path, capsys):
    from descentlab.cli import main

    assert main(["race", "--metrics", str(tmp_path / "m.txt"), "--steps", "2",
                 "--out", str(tmp_path / "r.png")]) == 2
    assert "valid choices: .csv, .json" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
