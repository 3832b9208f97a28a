"""One task: a few trials of one optimizer on one problem, each run to the end of its budget.

A *trial* is (problem, optimizer, hyperparameters, seed, budget); its id is a hash of exactly
those, so a finished trial is recognised in the store and never redone. A *task* groups trials of
the same problem and optimizer so that NumPy problems can advance them together (hyperparameters
of shape (R, 1)); a run's numbers do not depend on which other runs share its task.

Trial protocol, the same for every optimizer:

* The seed decides the initial parameters (``default_rng([seed, 0])``, or
  ``torch.manual_seed(seed)``) and the minibatch order (``default_rng([seed, 1])``: a fresh
  permutation of the training set each epoch, the last batch smaller). Two optimizers given the
  same seed see the same start and the same batches.
* GD takes one full-batch step per epoch; every other optimizer takes minibatch steps. The budget
  is a number of epochs (passes over the training set). No clipping, no schedule, no early stopping
  on validation: each trial runs its whole budget.
* The gradient is evaluated where the rule asks (``opt.lookahead``: NAG's look-ahead point).
* Losses and metrics on the three splits are recorded at about 50 evenly spaced epochs (every
  epoch when the budget is at most 50), including epoch 0.
* Divergence: a trial has diverged when its training loss becomes non-finite or exceeds 100 times
  its initial value. After a non-finite loss the trial's curves hold NaN, its final losses count as
  +inf and its final error as 1 (the worst values), so a diverged run can never look good. A task
  whose runs are all non-finite stops early (they cannot recover); that only saves time.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time

import numpy as np

__all__ = ["trial_id", "run_task", "eval_points", "get_problem", "FORMAT_VERSION",
           "DIVERGENCE_FACTOR"]

FORMAT_VERSION = 1
DIVERGENCE_FACTOR = 100.0
CURVES = ("train_loss", "val_loss", "val_metric", "test_loss", "test_metric")


def trial_id(kind: str, problem: str, optimizer: str, config: dict, seed: int, budget: int) -> str:
    """Deterministic id of a trial: a hash of everything that decides its numbers."""
    key = json.dumps(
        {"v": FORMAT_VERSION, "kind": kind, "problem": problem, "optimizer": optimizer,
         "config": config, "seed": int(seed), "budget": int(budget)},
        sort_keys=True,
    )
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def eval_points(epochs: int, n: int = 50) -> list[int]:
    """The epochs at which a trial is evaluated: 0, every ceil(epochs / n) epochs, and the last."""
    every = max(1, math.ceil(epochs / n))
    pts = list(range(0, epochs + 1, every))
    if pts[-1] != epochs:
        pts.append(epochs)
    return pts


def _worst(metric: str, value: float) -> float:
    if math.isfinite(value):
        return value
    return 1.0 if metric == "error" else math.inf


def get_problem(name: str):
    from descentlab.benchmark._problems import NUMPY_PROBLEMS, make_numpy_problem

    if name in NUMPY_PROBLEMS:
        return make_numpy_problem(name)
    from descentlab.benchmark._torch_problems import make_torch_problem

    return make_torch_problem(name)


# ------------------------------------------------------------------------------------ tasks
def run_task(task: dict) -> dict:
    """Run a task; returns ``{"records": [...], "busy_s": seconds, "worker": pid}``.

    ``task``: ``kind`` ("train" or "kappa"), ``problem``, ``optimizer``, ``runs`` (a list of
    ``[config, seed]``) and ``budget`` (epochs; for "kappa" steps, and the config holds ``tol``).
    """
    t0 = time.perf_counter()
    problem = get_problem(task["problem"])
    if task["kind"] == "kappa":
        results, timing = _run_kappa(problem, task)
    elif problem.backend == "numpy":
        results, timing = _run_numpy(problem, task)
    else:
        results, timing = _run_torch(problem, task)
    records = []
    for (config, seed), result, tm in zip(task["runs"], results, timing, strict=True):
        records.append({
            "id": trial_id(task["kind"], task["problem"], task["optimizer"], config, seed,
                           task["budget"]),
            "kind": task["kind"], "problem": task["problem"], "optimizer": task["optimizer"],
            "config": config, "seed": int(seed), "budget": int(task["budget"]),
            "result": result, "timing": tm,
        })
    return {"records": records, "busy_s": time.perf_counter() - t0, "worker": os.getpid()}


def _hp_arrays(optimizer: str, configs: list[dict]) -> dict:
    """Hyperparameters of R runs: numbers as (R, 1) arrays, keyword choices shared by all runs."""
    out = {}
    for name in configs[0]:
        values = [c[name] for c in configs]
        if isinstance(values[0], str):
            if len(set(values)) != 1:
                raise ValueError(f"{optimizer}: runs of one task must share {name!r}; "
                                 f"got {values}.")
            out[name] = values[0]
        else:
            out[name] = np.asarray(values, dtype=np.float64).reshape(-1, 1)
    return out


def _finals(problem, curves: dict, r: int, diverged: bool, nonfinite: bool) -> dict:
    last = {k: float(curves[k][r, -1]) for k in CURVES}
    return {
        "train_loss": _worst("loss", last["train_loss"]),
        "val_loss": _worst("loss", last["val_loss"]),
        "val_metric": _worst(problem.metric, last["val_metric"]),
        "test_loss": _worst("loss", last["test_loss"]),
        "test_metric": _worst(problem.metric, last["test_metric"]),
        "diverged": bool(diverged), "nonfinite": bool(nonfinite),
    }


def _run_numpy(problem, task):
    from descentlab import optim

    configs = [c for c, _ in task["runs"]]
    seeds = [int(s) for _, s in task["runs"]]
    R, epochs, name = len(seeds), int(task["budget"]), task["optimizer"]
    full = problem.full_batch or name == "GD"
    points = eval_points(epochs)
    curves = {k: np.full((R, len(points)), np.nan) for k in CURVES}
    nonfinite = np.zeros(R, dtype=bool)
    diverged = np.zeros(R, dtype=bool)
    loop_s, n_steps = 0.0, 0

    def record(j):
        for split in ("train", "val", "test"):
            loss, metric = problem.evaluate(theta, split)
            curves[f"{split}_loss"][:, j] = loss
            if split != "train":
                curves[f"{split}_metric"][:, j] = metric
        tl = curves["train_loss"][:, j]
        bad = ~np.isfinite(tl)
        nonfinite[:] |= bad
        diverged[:] |= bad | (tl > DIVERGENCE_FACTOR * curves["train_loss"][:, 0])
        for k in CURVES:
            curves[k][nonfinite, j] = np.nan

    with np.errstate(all="ignore"):  # a diverging run overflows: recorded, not raised
        theta = problem.init_params(seeds)
        opt = optim.get(name, **_hp_arrays(name, configs))
        state = opt.init(theta)
        rngs = [np.random.default_rng([s, 1]) for s in seeds]
        n, B = problem.n_train, problem.batch_size
        record(0)
        j = 1
        for epoch in range(1, epochs + 1):
            if nonfinite.all():
                break
            t = time.perf_counter()
            if full:
                batches = [None]
            else:
                perm = np.stack([rng.permutation(n) for rng in rngs])
                batches = [perm[:, i:i + B] for i in range(0, n, B)]
            for idx in batches:
                point = opt.lookahead(theta, state)
                _, grad = problem.loss_grad(point, idx)
                opt.step(theta, grad, state)
            loop_s += time.perf_counter() - t
            n_steps += len(batches)
            if epoch == points[j]:
                record(j)
                j += 1
    results = []
    for r in range(R):
        res = {"x": points, **{k: curves[k][r].tolist() for k in CURVES}}
        res["final"] = _finals(problem, curves, r, diverged[r], nonfinite[r])
        results.append(res)
    timing = [{"loop_s": loop_s, "steps": n_steps, "runs": R,
               "step_s": loop_s / max(n_steps, 1)}] * R
    return results, timing


def _run_torch(problem, task):
    import torch
    import torch.nn.functional as F

    from descentlab.benchmark._optimizers import make_torch_optimizer

    name, epochs = task["optimizer"], int(task["budget"])
    full = name == "GD"
    points = eval_points(epochs)
    Xtr, ytr = problem.tensors("train")
    results, timing = [], []
    for config, seed in task["runs"]:
        torch.manual_seed(int(seed))
        model = problem.build()
        opt = make_torch_optimizer(name, model.parameters(), config)
        rng = np.random.default_rng([int(seed), 1])
        curves = {k: np.full((1, len(points)), np.nan) for k in CURVES}
        flags = {"nonfinite": False, "diverged": False}

        def record(j, model=model, curves=curves, flags=flags):
            with torch.no_grad():
                for split in ("train", "val", "test"):
                    X, y = problem.tensors(split)
                    z = model(X)
                    finite = torch.isfinite(z).all(dim=1)
                    curves[f"{split}_loss"][0, j] = float(F.cross_entropy(z, y))
                    if split != "train":
                        err = ((z.argmax(dim=1) != y) | ~finite).double().mean()
                        curves[f"{split}_metric"][0, j] = float(err)
            tl = curves["train_loss"][0, j]
            flags["nonfinite"] |= not math.isfinite(tl)
            flags["diverged"] |= flags["nonfinite"] or bool(
                tl > DIVERGENCE_FACTOR * curves["train_loss"][0, 0])
            if flags["nonfinite"]:
                for k in CURVES:
                    curves[k][0, j] = np.nan

        record(0)
        j, loop_s, n_steps = 1, 0.0, 0
        n, B = problem.n_train, problem.batch_size
        for epoch in range(1, epochs + 1):
            if flags["nonfinite"]:
                break
            t = time.perf_counter()
            perm = torch.as_tensor(rng.permutation(n))
            batches = [None] if full else [perm[i:i + B] for i in range(0, n, B)]
            for idx in batches:
                X, y = (Xtr, ytr) if idx is None else (Xtr[idx], ytr[idx])
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(model(X), y).backward()
                opt.step()
            loop_s += time.perf_counter() - t
            n_steps += len(batches)
            if epoch == points[j]:
                record(j)
                j += 1
        res = {"x": points, **{k: curves[k][0].tolist() for k in CURVES}}
        res["final"] = _finals(problem, curves, 0, flags["diverged"], flags["nonfinite"])
        results.append(res)
        timing.append({"loop_s": loop_s, "steps": n_steps, "runs": 1,
                       "step_s": loop_s / max(n_steps, 1)})
    return results, timing


def _run_kappa(problem, task):
    """Steps until f(theta_t) <= tol * f(theta_0), for each run (None if not within the budget).

    Exact gradients, the optimizer's rule as is. A run whose f becomes non-finite or exceeds
    1e6 f(theta_0) is unstable and counts as not reaching, whatever happens later.
    """
    from descentlab import optim

    configs = [{k: v for k, v in c.items() if k != "tol"} for c, _ in task["runs"]]
    seeds = [int(s) for _, s in task["runs"]]
    name, max_steps = task["optimizer"], int(task["budget"])
    tol = float(task["runs"][0][0]["tol"])
    R = len(seeds)
    t = 0
    with np.errstate(all="ignore"):
        theta = problem.init_params(seeds)
        f0 = problem.loss_grad(theta, None)[0]
        opt = optim.get(name, **_hp_arrays(name, configs))
        state = opt.init(theta)
        reached = np.full(R, -1)
        gave_up = np.zeros(R, dtype=bool)
        t0 = time.perf_counter()
        for t in range(1, max_steps + 1):
            point = opt.lookahead(theta, state)
            _, g = problem.loss_grad(point, None)
            opt.step(theta, g, state)
            f = problem.loss_grad(theta, None)[0]
            gave_up |= ~np.isfinite(f) | (f > 1e6 * f0)
            newly = (reached < 0) & ~gave_up & (f <= tol * f0)
            reached[newly] = t
            if ((reached > 0) | gave_up).all():
                break
        loop_s = time.perf_counter() - t0
    results = [{"steps": int(reached[r]) if reached[r] > 0 else None} for r in range(R)]
    timing = [{"loop_s": loop_s, "steps": t, "runs": R, "step_s": loop_s / max(t, 1)}] * R
    return results, timing
