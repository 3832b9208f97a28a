"""The lr grid at its limits: a one-point grid grows both ways, a best lr left at the edge of the
grid is reported, and torch:* rows asked for on NumPy problems get an error that says why."""

import csv

import pytest

from descentlab.benchmark import make_settings, run_benchmark
from descentlab.cli import main

# SGD on diabetes-mse for one epoch: the validation MSE falls monotonically with lr up to ~0.05,
# so a grid starting at 1e-6 keeps its best at the top edge for three extensions.
EDGE = dict(problems="diabetes-mse", optimizers="SGD", rulesets="lr-grid", seeds=1,
            tune_seeds=1, quick=True, epochs=1, per_decade=1, lr_grid=(1e-6, 1e-6),
            workers=1, report=False, progress=False)


@pytest.fixture(scope="module")
def edge_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("edge")
    A, _ = run_benchmark(out, **EDGE)
    return out, A


def test_a_one_point_grid_grows_on_both_sides(edge_run):
    _, A = edge_run
    lrs = sorted(lr for lr, _ in A.tuning[("lr-grid", "diabetes-mse", "SGD")])
    # the first extension adds a decade on each side (1e-7 and 1e-5), the next two go up
    assert lrs == pytest.approx([1e-7, 1e-6, 1e-5, 1e-4, 1e-3])
    assert A.row("diabetes-mse", "lr-grid", "SGD")["lr"] == pytest.approx(1e-3)


def test_a_best_lr_left_at_the_grid_edge_is_reported(edge_run, reference):
    out, A = edge_run
    assert A.row("diabetes-mse", "lr-grid", "SGD")["lr_at_grid_edge"] is True
    with open(out / "summary.csv", newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert row["lr_at_grid_edge"] == "true"
    assert any("edge of its grid" in line and "SGD on diabetes-mse (lr 0.001)" in line
               for line in A.reading)
    # rows whose chosen lr is inside the grid say false; rows without an lr grid say nothing
    _, R, _ = reference
    for r in R.rows:
        if r["ruleset"] != "lr-grid":
            assert r["lr_at_grid_edge"] is None
            continue
        lrs = [lr for lr, _ in R.tuning[("lr-grid", r["problem"], r["optimizer"])]]
        assert r["lr_at_grid_edge"] is (r["lr"] in (min(lrs), max(lrs)))


def test_the_cli_names_a_tuned_lr_at_the_grid_edge(edge_run, capsys):
    out, _ = edge_run
    assert main(["bench", "--out", str(out), "--problems", "diabetes-mse", "--optimizers", "SGD",
                 "--ruleset", "lr-grid", "--seeds", "1", "--tune-seeds", "1", "--quick",
                 "--epochs", "1", "--per-decade", "1", "--lr-grid", "1e-6:1e-6", "--workers",
                 "1", "--no-report", "--no-progress"]) == 0
    assert ("Tuned lr at the edge of its grid after the last extension (the best lr may lie "
            "outside it): SGD on diabetes-mse.") in capsys.readouterr().out


def test_torch_reference_rows_on_numpy_problems_say_where_they_run():
    with pytest.raises(ValueError) as exc:
        make_settings(problems="diabetes-mse", optimizers="SGD,torch:Adam")
    msg = str(exc.value)
    assert "Unknown" not in msg
    assert "'torch:Adam' is torch.optim's own implementation" in msg
    assert "torch problems only (torch-mlp, torch-cnn;" in msg
    assert "Valid choices for these problems: GD, SGD, Momentum" in msg
    with pytest.raises(ValueError, match="Unknown optimizer 'torch:AdamW'. Valid choices: GD"):
        make_settings(problems="diabetes-mse", optimizers="torch:AdamW")


def test_random_search_draws_lr_inside_an_absolute_lr_grid(tmp_path):
    from descentlab.benchmark import Store
    from descentlab.benchmark._protocol import plan

    store = Store(tmp_path / "results.sqlite")
    try:
        for lr_grid in (None, (2e-4, 3e-3)):
            s = make_settings(problems="digits-softmax", optimizers="Adam", rulesets="random",
                              quick=True, lr_grid=lr_grid)
            p = plan(s, ("random", "digits-softmax", "Adam"), store)
            lrs = sorted({dict(t.config)["lr"] for t in p.missing})
            betas = sorted({dict(t.config)["beta1"] for t in p.missing})
            low, high = lr_grid or (1e-3 / 100, 1e-3 * 10)  # default: Adam's 1e-3 /100 .. *10
            assert len(lrs) == s.random_samples
            assert all(low * 0.999 <= lr <= high * 1.001 for lr in lrs), lrs
            if lr_grid is None:
                default_betas = betas
    finally:
        store.close()
    assert betas == default_betas  # the other hyperparameters' draws are unchanged
