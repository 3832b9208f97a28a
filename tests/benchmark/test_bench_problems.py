"""The benchmark's NumPy problems: written-out backprop against torch autograd, losses against
descentlab.losses, and per-run results that do not depend on which runs share a batch."""

import numpy as np
import pytest

from descentlab.benchmark._problems import NUMPY_PROBLEMS, make_numpy_problem
from descentlab.benchmark._trial import run_task

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _torch_loss(problem, theta_row, X, y):
    """The same loss, written with torch ops, for one run's parameters (float64)."""
    blocks, start = {}, 0
    t = torch.tensor(theta_row, dtype=torch.float64, requires_grad=True)
    for name, shape in problem.layout.shapes:
        n = int(np.prod(shape))
        blocks[name] = t[start:start + n].reshape(shape)
        start += n
    if problem.name.startswith("quadratic"):
        d = blocks["theta"] - torch.tensor(problem.theta_star)
        loss = 0.5 * d @ torch.tensor(problem.A) @ d
        return t, loss
    Xt = torch.tensor(X)
    if problem.name == "digits-mlp":
        h = torch.relu(Xt @ blocks["W1"] + blocks["b1"])
        loss = F.cross_entropy(h @ blocks["W2"] + blocks["b2"], torch.tensor(y))
    elif problem.name == "digits-softmax":
        loss = F.cross_entropy(Xt @ blocks["W"] + blocks["b"], torch.tensor(y))
    elif problem.name == "digits-kl":
        logq = F.log_softmax(Xt @ blocks["W"] + blocks["b"], dim=-1)
        loss = F.kl_div(logq, torch.tensor(y), reduction="batchmean")
    elif problem.name.startswith("diabetes"):
        yp = Xt @ blocks["w"] + blocks["b"]
        fn = F.mse_loss if problem.loss == "mse" else F.l1_loss
        loss = fn(yp, torch.tensor(y))
    elif problem.name == "cancer-logreg":
        z = Xt @ blocks["w"] + blocks["b"]
        loss = F.binary_cross_entropy_with_logits(z, torch.tensor(y, dtype=torch.float64))
    else:  # pragma: no cover
        raise AssertionError(problem.name)
    return t, loss


@pytest.mark.parametrize("name", NUMPY_PROBLEMS)
def test_loss_and_gradient_match_torch_autograd(name):
    problem = make_numpy_problem(name)
    theta = problem.init_params([3, 4, 5])
    if problem.full_batch:
        idx = None
    else:
        idx = np.stack([np.random.default_rng(i).permutation(problem.n_train)[:17]
                        for i in range(3)])
    loss, grad = problem.loss_grad(theta, idx)
    for r in range(3):
        if idx is None:
            X = y = None
        else:
            X, y = problem.data.train.X[idx[r]], problem.data.train.y[idx[r]]
        t, ref = _torch_loss(problem, theta[r], X, y)
        ref.backward()
        np.testing.assert_allclose(loss[r], ref.item(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(grad[r], t.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", [n for n in NUMPY_PROBLEMS if not n.startswith("quadratic")])
def test_evaluate_matches_descentlab_losses(name):
    from descentlab import losses

    problem = make_numpy_problem(name)
    theta = problem.init_params([0, 1])
    s = problem.data.test
    loss, metric = problem.evaluate(theta, "test")
    for r in range(2):
        p = problem.layout.views(theta[r:r + 1])
        if name == "digits-mlp":
            z = np.maximum(s.X @ p["W1"][0] + p["b1"][0], 0) @ p["W2"][0] + p["b2"][0]
            ref = losses.cross_entropy(s.y, z, from_logits=True)
        elif name in ("digits-softmax", "digits-kl"):
            z = s.X @ p["W"][0] + p["b"][0]
            if name == "digits-kl":
                q = np.exp(z - z.max(1, keepdims=True))
                ref = losses.kl_div(s.y, q / q.sum(1, keepdims=True))
            else:
                ref = losses.cross_entropy(s.y, z, from_logits=True)
        elif name.startswith("diabetes"):
            yp = s.X @ p["w"][0] + p["b"][0]
            ref = getattr(losses, problem.loss)(s.y, yp)
        else:
            z = s.X @ p["w"][0] + p["b"][0]
            ref = losses.binary_cross_entropy(s.y.astype(float), z, from_logits=True)
            acc = np.mean((z > 0) == (s.y == 1))
            np.testing.assert_allclose(metric[r], 1 - acc)
        np.testing.assert_allclose(loss[r], float(ref), rtol=1e-10)
        if name in ("digits-mlp", "digits-softmax"):
            np.testing.assert_allclose(metric[r], np.mean(z.argmax(1) != s.y))


@pytest.mark.parametrize("name", NUMPY_PROBLEMS)
@pytest.mark.parametrize("optimizer", ["NAG", "AdaDelta", "Nadam"])
def test_a_run_does_not_depend_on_the_runs_sharing_its_task(name, optimizer):
    from descentlab.benchmark._optimizers import defaults

    base = defaults(optimizer)
    runs = [[{**base, "lr": base["lr"] * f}, s] for f, s in ((1.0, 0), (3.0, 1), (0.5, 2))]
    budget = 3 if not name.startswith("quadratic") else 20
    together = run_task({"kind": "train", "problem": name, "optimizer": optimizer,
                         "budget": budget, "runs": runs})["records"]
    for i, run in enumerate(runs):
        alone = run_task({"kind": "train", "problem": name, "optimizer": optimizer,
                          "budget": budget, "runs": [run]})["records"][0]
        assert alone["id"] == together[i]["id"]
        assert alone["result"] == together[i]["result"]  # bit for bit


def test_diverging_runs_are_recorded_not_raised_and_never_look_good():
    out = run_task({"kind": "train", "problem": "digits-mlp", "optimizer": "SGD", "budget": 3,
                    "runs": [[{"lr": 1e6}, 0], [{"lr": 0.1}, 0]]})["records"]
    bad, good = out[0]["result"], out[1]["result"]
    assert bad["final"]["diverged"] and bad["final"]["nonfinite"]
    assert bad["final"]["test_metric"] == 1.0 and bad["final"]["train_loss"] == float("inf")
    assert np.isnan(bad["train_loss"][-1])
    assert not good["final"]["diverged"] and good["final"]["test_metric"] < 0.2


def test_same_seed_same_start_and_batches_for_every_optimizer():
    a = run_task({"kind": "train", "problem": "digits-softmax", "optimizer": "SGD", "budget": 1,
                  "runs": [[{"lr": 0.0}, 7]]})["records"][0]["result"]
    b = run_task({"kind": "train", "problem": "digits-softmax", "optimizer": "Adam", "budget": 1,
                  "runs": [[{"lr": 0.0, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, 7]]}
                 )["records"][0]["result"]
    assert a["train_loss"] == b["train_loss"]  # lr = 0: both stay at the seed's start
