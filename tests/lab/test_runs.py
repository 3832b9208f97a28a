"""lab.run: batched == one by one, divergence, minibatch seeds, state, export, lecture rates."""

import json
import math
import os

import numpy as np
import pytest

from descentlab import lab, optim, surfaces

STARTS = np.array([[-1.2, 1.0], [0.5, 2.0], [1.5, -0.5]])

GRIDS = [
    ("gd", {"lr": [1e-4, 5e-4]}),
    ("sgd", {"lr": [1e-4]}),
    ("momentum", {"lr": [1e-4, 3e-4], "gamma": [0.5, 0.9]}),
    ("nag", {"lr": [1e-4, 3e-4], "gamma": [0.5, 0.9]}),
    ("adagrad", {"lr": [0.05, 0.3], "variant": ["lecture", "torch"]}),
    ("rmsprop", {"lr": [1e-3, 1e-2], "gamma": [0.9, 0.99]}),
    ("adadelta", {"gamma": [0.9, 0.95], "eps": [1e-6, 1e-4]}),
    ("adam", {"lr": [1e-3, 3e-2], "beta1": [0.8, 0.9], "beta2": [0.99, 0.999]}),
    ("nadam", {"lr": [1e-3, 2e-2], "variant": ["ruder", "torch", "optax"]}),
]


def plain_loop(surface, meta, steps, batches=None):
    """One run with descentlab.optim, the textbook way: a Python loop over steps."""
    opt = optim.get(meta["optimizer"], **meta["hyperparameters"])
    theta = np.array(meta["start"])
    state = opt.init(theta)
    path, states = [theta.copy()], [{k: np.copy(v) for k, v in state.items()}]
    with np.errstate(all="ignore"):  # diverging reference runs overflow
        for t in range(steps):
            point = opt.lookahead(theta, state)
            g = surface.grad(point) if batches is None else surface.grad(point, indices=batches[t])
            opt.step(theta, g, state)
            path.append(theta.copy())
            states.append({k: np.copy(v) for k, v in state.items()})
    return np.array(path), states


@pytest.mark.parametrize("name,grid", GRIDS, ids=[g[0] for g in GRIDS])
def test_batched_equals_plain_loop(name, grid):
    """Bit for bit, but where a beta is batched: NumPy's vectorized ``beta ** t`` may differ from
    C's pow (a Python float's) in the last bit, which 60 steps leave below 1e-10."""
    s = surfaces.get("rosenbrock")
    exact = not ({"beta1", "beta2"} & set(grid))
    r = lab.run(s, (name, grid), STARTS, steps=60, record_state=True)
    n_grid = int(np.prod([len(v) for v in grid.values()]))
    assert len(r) == n_grid * len(STARTS)
    for i in range(len(r)):
        path, states = plain_loop(s, r.meta[i], 60)
        k = r.diverged_at[i]
        n = len(path) if k < 0 else k + 1
        same(r.trajectories[:n, i], path[:n], exact, r.label(i))
        for sym in optim.lookup(name).buffers:
            ref = np.array([st[sym] for st in states])
            same(r.states[sym][:n, i], ref[:n], exact, sym)
    assert r.diverged_at.dtype.kind == "i"


def same(a, b, exact: bool, what: str) -> None:
    if exact:
        assert np.array_equal(a, b, equal_nan=True), what
    else:
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-300, equal_nan=True, err_msg=what)


def test_mixed_optimizers_in_one_call_keep_their_order_and_results():
    s = surfaces.get("himmelblau")
    specs = ["adam", ("gd", {"lr": 0.01}), optim.Momentum(lr=0.002, gamma=0.8),
             ("adam", {"lr": [0.05, 0.1]})]
    r = lab.run(s, specs, np.array([[0.0, 0.0], [-1.0, 1.0]]), steps=40)
    labels = [r.label(i) for i in range(len(r))]
    # lr and gamma always (a default run is not "Adam()"), other hyperparameters when changed
    assert labels == ["Adam(lr=0.001)", "Adam(lr=0.001)", "GD(lr=0.01)", "GD(lr=0.01)",
                      "Momentum(lr=0.002, gamma=0.8)",
                      "Momentum(lr=0.002, gamma=0.8)", "Adam(lr=0.05)", "Adam(lr=0.05)",
                      "Adam(lr=0.1)", "Adam(lr=0.1)"]
    for i in range(len(r)):
        path, _ = plain_loop(s, r.meta[i], 40)
        assert np.array_equal(r.trajectories[:, i], path)
    # every hyperparameter is in the metadata, defaults included
    assert r.meta[0]["hyperparameters"] == {"lr": 0.001, "beta1": 0.9, "beta2": 0.999,
                                            "eps": 1e-8}
    assert r.meta[5]["start"] == (-1.0, 1.0) and r.meta[5]["seed"] == 0
    assert r.meta[5]["batch_size"] is None
    np.testing.assert_allclose(r.losses, s.value(r.trajectories), rtol=0, atol=0)


def test_grid_order_first_hyperparameter_slowest():
    r = lab.run("bowl", ("momentum", {"lr": [0.1, 0.2], "gamma": [0.0, 0.5, 0.9]}),
                np.array([[1.0, 1.0]]), steps=1)
    got = [(m["hyperparameters"]["lr"], m["hyperparameters"]["gamma"]) for m in r.meta]
    assert got == [(0.1, 0.0), (0.1, 0.5), (0.1, 0.9), (0.2, 0.0), (0.2, 0.5), (0.2, 0.9)]
    np.testing.assert_array_equal(r.hyperparameter("gamma"), [0, 0.5, 0.9] * 2)


def test_divergence_is_recorded_per_run_and_others_are_unaffected():
    s = surfaces.get("bowl")
    start = np.array([[-2.5, 2.0]])
    r = lab.run(s, ("gd", {"lr": [0.1, 1.5, 0.2]}), start, steps=30)
    # lr = 1.5: x_t = -2.5 (-2)^t; the box is 10 x the bounds (-3, 3): |x| > 30 first at t = 4
    assert r.diverged_at.tolist() == [-1, 4, -1]
    np.testing.assert_allclose(r.trajectories[4, 1], [-2.5 * 16, 2.0 * 16])  # the offending point
    assert np.isnan(r.trajectories[5:, 1]).all() and np.isnan(r.losses[5:, 1]).all()
    assert r.losses[4, 1] == pytest.approx(40.0**2 + 32.0**2)
    alone = lab.run(s, ("gd", {"lr": 0.2}), start, steps=30)
    assert np.array_equal(alone.trajectories[:, 0], r.trajectories[:, 2])
    assert np.array_equal(alone.losses[:, 0], r.losses[:, 2])


def test_overflow_is_divergence_without_warnings():
    # pytest turns RuntimeWarning into errors (pyproject): overflow must not warn
    s = surfaces.get("rosenbrock")
    r = lab.run(s, [("gd", {"lr": [1e-4, 1e3]}), ("adam", {"lr": 1e200})],
                np.array([[-1.2, 1.0]]), steps=50, divergence_bound=math.inf)
    assert r.diverged_at[0] == -1
    assert r.diverged_at[1] >= 1 and r.diverged_at[2] >= 1
    k = r.diverged_at[1]
    assert not np.isfinite(r.trajectories[k, 1]).all() or not np.isfinite(r.losses[k, 1])
    assert np.isfinite(r.trajectories[:k, 1]).all()
    rows = r.metrics()
    assert math.isnan(rows[1]["final_loss"]) and rows[0]["final_loss"] < r.losses[0, 0]


def test_non_finite_loss_inside_the_box_is_divergence():
    s = surfaces.from_expression("log(x) + y**2", bounds=((0.1, 3), (-1, 1)))
    r = lab.run(s, ("gd", {"lr": [0.01, 1.0]}), np.array([[0.5, 0.5]]), steps=5)
    # lr = 1: x = 0.5 - 1/0.5 = -1.5 (inside the 10x box) where log is NaN
    assert r.diverged_at.tolist() == [-1, 1]
    assert r.trajectories[1, 1, 0] == -1.5 and np.isnan(r.losses[1, 1])


def test_lecture_learning_rates_slow_right_overshoot():
    s = surfaces.get("lecture_lr")
    r = lab.run(s, ("gd", {"lr": [0.01, 0.03, 0.13]}), steps=100)
    rows = r.metrics(tol=1e-3)
    slow, right, wild = rows
    w_star = s.minima[0, 0]
    # too slow: after 100 steps the b error is still 0.98^100 ~ 13 % of 2.5 -> gap ~ 0.33^2
    assert slow["diverged_at"] == -1 and slow["loss_gap"] > 0.05 and slow["steps_to_tol"] == -1
    assert slow["loss_gap"] == pytest.approx((2.5 * 0.98**100) ** 2, rel=1e-6)
    # about right: converged well within the budget, never overshooting
    assert right["diverged_at"] == -1 and right["loss_gap"] < 1e-3 and right["steps_to_tol"] < 100
    assert np.all(r.trajectories[:, 1, 0] - w_star <= 1e-12)  # approaches w* from one side
    # overshooting: w jumps across its optimum at every step, by a growing amount, and diverges
    dw = r.trajectories[:10, 2, 0] - w_star
    assert np.all(np.sign(dw[1:]) == -np.sign(dw[:-1]))
    np.testing.assert_allclose(dw[1:] / dw[:-1], 1 - 0.13 * 16, rtol=1e-9)
    assert wild["diverged_at"] > 0 and wild["oscillation"] == 1.0


def test_minibatch_runs_are_seeded_and_reproducible():
    s = surfaces.linear_fit("huber", n=40, seed=3, delta=1.0)
    spec = [("sgd", {"lr": [0.05, 0.1]}), ("nag", {"lr": 0.05})]
    starts = np.array([[0.0, 0.0], [3.0, -1.0]])
    a = lab.run(s, spec, starts, steps=25, seed=[7, 8], batch_size=8)
    b = lab.run(s, spec, starts, steps=25, seed=[7, 8], batch_size=8)
    assert np.array_equal(a.trajectories, b.trajectories)
    assert len(a) == 3 * 2 * 2
    assert [m["seed"] for m in a.meta][:4] == [7, 7, 8, 8]
    # different seeds, different paths
    assert not np.array_equal(a.trajectories[:, 0], a.trajectories[:, 2])
    # one run alone equals the same run inside the batch
    alone = lab.run(s, ("sgd", {"lr": 0.1}), starts[1], steps=25, seed=8, batch_size=8)
    assert np.array_equal(alone.trajectories[:, 0], a.trajectories[:, 7])
    # ... and the plain loop fed the documented minibatch schedule: epochs of a fresh permutation
    # from default_rng(seed), cut into batches of 8 (40 / 8 = 5 per epoch)
    rng = np.random.default_rng(8)
    batches = np.concatenate([rng.permutation(40).reshape(5, 8) for _ in range(5)])
    for i in (6, 7, 10, 11):
        path, _ = plain_loop(s, a.meta[i], 25, batches=batches)
        assert np.array_equal(a.trajectories[:, i], path)
    # the recorded loss is the full-batch loss of each point
    np.testing.assert_allclose(a.losses, s.value(a.trajectories), rtol=1e-15)
    assert a.meta[0]["batch_size"] == 8 and a.settings["seeds"] == [7, 8]


def test_full_batch_on_a_data_surface_is_gd():
    s = surfaces.get("lecture_lr")
    r = lab.run(s, ("gd", {"lr": 0.03}), steps=10)
    path, _ = plain_loop(s, r.meta[0], 10)
    assert np.array_equal(r.trajectories[:, 0], path)


def test_recorded_state_read_outs():
    s = surfaces.get("ravine")
    r = lab.run(s, [("gd", {"lr": 0.1}), ("adagrad", {"lr": 0.5}), ("nag", {"lr": 0.05})],
                steps=8, record_state=True)
    st = r.states
    assert set(st) == {"grad", "lookahead", "step_size", "G", "v"}
    assert all(a.shape == (9, 3, 2) for a in st.values())
    # GD's effective step size is its learning rate (NaN where the gradient is 0: GD with
    # lr = 0.1 reaches y = 0 in one step, since the curvature along y is 10)
    np.testing.assert_allclose(st["step_size"][:8, 0, 0], 0.1, rtol=1e-12)
    assert st["step_size"][0, 0, 1] == pytest.approx(0.1)
    assert np.isnan(st["step_size"][1:, 0, 1]).all()
    # Adagrad's is lr / sqrt(G_t + eps), per axis
    np.testing.assert_allclose(st["step_size"][:8, 1], 0.5 / np.sqrt(st["G"][1:, 1] + 1e-8),
                               rtol=1e-9)
    # NAG's gradient is taken at theta - gamma v
    np.testing.assert_allclose(st["lookahead"][:8, 2],
                               r.trajectories[:8, 2] - 0.9 * st["v"][:8, 2], rtol=1e-15)
    np.testing.assert_allclose(st["grad"][:8, 2], s.grad(st["lookahead"][:8, 2]), rtol=1e-15)
    assert np.isnan(st["v"][:, :2]).all() and np.isnan(st["G"][:, [0, 2]]).all()
    assert np.isnan(st["grad"][8]).all()
    assert lab.run(s, "gd", steps=2).states is None


def test_export_round_trip(tmp_path):
    s = surfaces.get("bowl")
    r = lab.run(s, [("gd", {"lr": [0.1, 1.5]}), ("nadam", {"variant": "torch"})],
                np.array([[-2.5, 2.0], [1.0, 1.0]]), steps=12)
    assert (r.diverged_at >= 0).any()
    for suffix in ("json", "csv"):
        path = tmp_path / f"runs.{suffix}"
        getattr(r, f"to_{suffix}")(path)
        back = lab.load(path)
        assert np.array_equal(back.trajectories, r.trajectories, equal_nan=True)
        assert np.array_equal(back.losses, r.losses, equal_nan=True)
        assert back.diverged_at.tolist() == r.diverged_at.tolist()
        assert list(back.meta) == list(r.meta)
        assert back.surface.name == "bowl"
    assert sorted(os.listdir(tmp_path)) == ["runs.csv", "runs.json"]  # no temporary files left
    doc = json.loads((tmp_path / "runs.json").read_text())
    assert doc["settings"]["steps"] == 12 and doc["settings"]["surface"] == {"name": "bowl"}
    k = int(np.flatnonzero(r.diverged_at >= 0)[0])
    assert doc["runs"][k]["trajectory"][-1] == [None, None]  # NaN is written as null
    assert doc["runs"][k]["diverged_at"] == r.diverged_at[k]
    header = (tmp_path / "runs.csv").read_text().splitlines()[0]
    assert header.startswith("run,step,x,y,loss,optimizer,hyperparameters")


FIXED_CSV = ["run", "step", "x", "y", "loss", "optimizer", "hyperparameters", "start_x",
             "start_y", "seed", "batch_size", "diverged_at", "surface"]


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_export_carries_recorded_states(tmp_path):
    import csv

    s = surfaces.get("ravine")  # J = 0.05 x^2 + 5 y^2, so g = (0.1 x, 10 y)
    specs = [("momentum", {"lr": 0.05, "gamma": 0.9}), ("adam", {"lr": 0.1}),
             ("gd", {"lr": 0.25})]  # GD: y multiplies by 1 - 0.25 * 10 = -1.5 each step
    r = lab.run(s, specs, np.array([[-8.0, 2.0]]), steps=10, record_state=True)
    assert r.diverged_at.tolist() == [-1, -1, 7]  # NaN states after divergence are exported too
    symbols = ["grad", "lookahead", "step_size", "v", "m"]
    assert list(r.states) == symbols
    r.to_csv(tmp_path / "r.csv")
    r.to_json(tmp_path / "r.json")

    # CSV, read with the standard library: <symbol>_x, <symbol>_y after the fixed columns
    with open(tmp_path / "r.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == FIXED_CSV + [f"{k}_{a}" for k in symbols for a in "xy"]
    assert len(rows) == 3 * 11
    for row in rows:
        i, t = int(row["run"]), int(row["step"])
        for k in symbols:
            for a, axis in enumerate("xy"):
                assert _same(float(row[f"{k}_{axis}"]), r.states[k][t, i, a]), (k, i, t, axis)
    # Momentum by hand: v1 = lr g0 with g0 = (0.1 * -8, 10 * 2); v2 = gamma v1 + lr g(theta0 - v1)
    v = {int(row["step"]): (float(row["v_x"]), float(row["v_y"]))
         for row in rows if row["run"] == "0"}
    assert v[0] == (0.0, 0.0)
    assert v[1] == pytest.approx((0.05 * -0.8, 0.05 * 20.0), rel=1e-15)
    assert v[2] == pytest.approx((0.9 * -0.04 + 0.05 * 0.1 * -7.96, 0.9 * 1.0 + 0.05 * 10 * 1.0),
                                 rel=1e-14)
    assert all(row["m_x"] == "nan" for row in rows if row["run"] != "1")  # Adam's buffer only

    # JSON: each run's "states" mapping, [x, y] per step, NaN as null
    doc = json.loads((tmp_path / "r.json").read_text())
    for i, item in enumerate(doc["runs"]):
        assert list(item["states"]) == symbols
        for k in symbols:
            got = np.array([[np.nan if c is None else c for c in p] for p in item["states"][k]])
            assert got.shape == (11, 2)
            assert np.array_equal(got, r.states[k][:, i], equal_nan=True)
    assert doc["runs"][0]["states"]["v"][1] == pytest.approx([-0.04, 1.0], rel=1e-15)
    assert doc["runs"][2]["states"]["grad"][8] == [None, None]  # frozen after divergence

    # lab.load reads both back, states included
    for name in ("r.csv", "r.json"):
        back = lab.load(tmp_path / name)
        assert list(back.states) == symbols and back.settings["record_state"] is True
        for k in symbols:
            assert np.array_equal(back.states[k], r.states[k], equal_nan=True)
        assert np.array_equal(back.trajectories, r.trajectories, equal_nan=True)


def test_export_without_states_keeps_the_plain_format(tmp_path):
    import csv

    s = surfaces.get("ravine")
    specs = [("momentum", {"lr": 0.05}), ("gd", {"lr": 0.25})]
    plain = lab.run(s, specs, np.array([[-8.0, 2.0]]), steps=9)
    rec = lab.run(s, specs, np.array([[-8.0, 2.0]]), steps=9, record_state=True)
    rec.states["t"] = np.arange(10)  # not (steps+1, runs, 2): left out of both files
    for run_, name in ((plain, "plain"), (rec, "rec")):
        run_.to_csv(tmp_path / f"{name}.csv")
        run_.to_json(tmp_path / f"{name}.json")
    with open(tmp_path / "plain.csv", newline="") as f:
        plain_rows = list(csv.reader(f))
    with open(tmp_path / "rec.csv", newline="") as f:
        rec_rows = list(csv.reader(f))
    assert plain_rows[0] == FIXED_CSV and all(len(row) == 13 for row in plain_rows)
    assert "t_x" not in rec_rows[0] and len(rec_rows[0]) == 13 + 2 * 4
    assert [row[:13] for row in rec_rows] == plain_rows  # states only add columns
    plain_doc = json.loads((tmp_path / "plain.json").read_text())
    rec_doc = json.loads((tmp_path / "rec.json").read_text())
    assert all("states" not in item for item in plain_doc["runs"])
    assert all(sorted(item["states"]) == ["grad", "lookahead", "step_size", "v"]
               for item in rec_doc["runs"])
    for a, b in zip(plain_doc["runs"], rec_doc["runs"], strict=True):
        b.pop("states")
        assert a == b
    assert lab.load(tmp_path / "plain.csv").states is None
    assert lab.load(tmp_path / "plain.json").states is None
    rec.states["start"] = rec.states["v"]  # its columns would repeat start_x, start_y
    with pytest.raises(ValueError, match="'start_x' would repeat a fixed column"):
        rec.to_csv(tmp_path / "clash.csv")


def test_data_surface_json_round_trip(tmp_path):
    s = surfaces.linear_fit("mae", n=20, outliers=2, seed=1)
    r = lab.run(s, ("sgd", {"lr": 0.1}), steps=5, batch_size=4, seed=3)
    r.to_json(tmp_path / "r.json")
    back = lab.load(tmp_path / "r.json")
    assert np.array_equal(back.surface.x, s.x) and back.meta[0]["batch_size"] == 4
    assert np.array_equal(back.trajectories, r.trajectories)


def test_subset_and_repr():
    r = lab.run("bowl", ("gd", {"lr": [0.1, 0.2, 0.3]}), steps=3)
    sub = r.subset([2, 0])
    assert [m["hyperparameters"]["lr"] for m in sub.meta] == [0.3, 0.1]
    assert np.array_equal(sub.trajectories[:, 0], r.trajectories[:, 2])
    assert "runs=3" in repr(r) and "GD" in repr(r)


@pytest.mark.parametrize("kwargs,match", [
    ({"optimizers": "adamw"}, "Unknown optimizer 'adamw'. Valid choices: GD, SGD"),
    ({"optimizers": ("adam", {"momentum": 0.9})}, "Adam has no hyperparameter 'momentum'"),
    ({"optimizers": ("adam", {"lr": [0.1, -1.0]})}, "'lr' parameter of Adam must be a float"),
    ({"optimizers": ("adam", {"lr": []})}, "list of values is empty"),
    ({"optimizers": ("adam", {"lr": ["a"]})}, "'lr' parameter of Adam must be a float"),
    ({"optimizers": ("nadam", {"variant": "keras"})}, "'variant' parameter of Nadam must be"),
    ({"optimizers": optim.Adam(lr=np.array([[0.1], [0.2]]))}, "array hyperparameter 'lr'"),
    ({"optimizers": 3}, "an optimizer spec is a name"),
    ({"starts": np.zeros((2, 3))}, r"starts must have shape \(k, 2\)"),
    ({"starts": np.array([[np.nan, 0.0]])}, "must be finite"),
    ({"steps": -1}, "'steps' parameter of lab.run must be an integer in the range \\[0, inf\\)"),
    ({"batch_size": 4}, "batch_size needs a data surface"),
    ({"seed": -1}, "'seed' parameter of lab.run must be an integer in the range \\[0, inf\\)"),
    ({"divergence_bound": 0.5}, "'divergence_bound' parameter of lab.run"),
    ({"surface": "nope"}, "Unknown surface 'nope'"),
])
def test_errors(kwargs, match):
    args = {"surface": "bowl", "optimizers": "gd", "starts": None, **kwargs}
    with pytest.raises(ValueError, match=match):
        lab.run(args.pop("surface"), args.pop("optimizers"), args.pop("starts"), **args)


def test_batch_size_larger_than_the_data_is_refused():
    with pytest.raises(ValueError, match=r"'batch_size' parameter of lab.run must be an integer "
                                         r"in the range \[1, 10\]"):
        lab.run(surfaces.linear_fit(n=10), "sgd", batch_size=11)


def test_zero_steps():
    r = lab.run("rosenbrock", "adam", steps=0)
    assert r.trajectories.shape == (1, 1, 2) and r.losses[0, 0] == pytest.approx(24.2)


def test_chunks_change_nothing(monkeypatch):
    import descentlab.lab._runs as runs_module

    # tiny chunks: groups split across chunks, a non-contiguous group, diverging runs
    monkeypatch.setattr(runs_module, "_CHUNK", 5)
    s = surfaces.get("rosenbrock")
    specs = [("adam", {"lr": [0.01, 0.1, 10.0]}), ("gd", {"lr": [1e-4, 0.1]}),
             ("adam", {"lr": 0.05})]
    r = lab.run(s, specs, STARTS, steps=30, record_state=True)
    assert len(r) == 18 and (r.diverged_at >= 0).any() and (r.diverged_at < 0).any()
    for i in range(len(r)):
        path, states = plain_loop(s, r.meta[i], 30)
        k = r.diverged_at[i]
        n = len(path) if k < 0 else k + 1
        assert np.array_equal(r.trajectories[:n, i], path[:n], equal_nan=True), r.label(i)
        if k >= 0:
            outside = not (np.abs(path[k] - [0, 1]) <= [20, 20]).all()
            assert outside or not np.isfinite(path[k]).all()
            assert np.isnan(r.trajectories[k + 1:, i]).all()
