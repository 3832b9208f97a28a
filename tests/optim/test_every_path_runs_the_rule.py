"""One ``rule`` per optimizer, and every path runs it: change it, and every result moves.

A rule patched in the test (the lecture's Adam with its step doubled, say) must change NumPy
steps on small and large arrays, batched runs, ``step_many``, torch tensors and the
``descentlab.torch`` adapters alike. Nothing else holds a second copy of the math.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from optim_cases import CASES, IDS

import descentlab.torch as dt
from descentlab import optim


def doubled(rule):
    """The rule, with each step twice as long: theta_new = theta - 2 * (theta - rule(theta))."""

    def patched(self, theta, g, state, hp):
        before = theta * 1  # a copy in the params' own library
        theta, updates = rule(self, theta, g, state, hp)
        theta -= before - theta  # theta = before - 2 * step
        return theta, updates

    return patched


def one_step_each_path(case) -> dict:
    """One step of ``case`` on each path, from the same params and gradient."""
    rng = np.random.default_rng(0)
    small = rng.standard_normal((3, 4))
    large = rng.standard_normal(1 << 17)  # large arrays had their own path once
    grad_small, grad_large = np.cos(small), np.cos(large)
    out = {}

    opt = case.make()
    for name, (x, g) in {"numpy small": (small, grad_small),
                         "numpy large": (large, grad_large)}.items():
        x = x.copy()
        opt.step(x, g, opt.init(x))
        out[name] = x

    batched = case.make(**{case.batch: np.array(case.values).reshape(3, 1)})
    x = small.copy()
    batched.step(x, grad_small, batched.init(x))
    out["numpy batched"] = x

    xs = [small.copy(), large.copy()]
    opt.step_many(xs, [grad_small, grad_large], [opt.init(x) for x in xs])
    out["step_many"] = np.concatenate([x.ravel() for x in xs])

    t = torch.tensor(small)
    opt.step(t, torch.tensor(grad_small), opt.init(t))
    out["torch tensor"] = t.numpy()

    p = torch.nn.Parameter(torch.tensor(small))
    adapter = getattr(dt, case.name)([p], **case.hp)
    p.grad = torch.tensor(grad_small)
    adapter.step()
    out["torch adapter"] = p.detach().numpy().copy()
    return out


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_patching_rule_changes_every_path(case, monkeypatch):
    before = one_step_each_path(case)
    cls = optim.lookup(case.name)
    monkeypatch.setattr(cls, "rule", doubled(cls.rule))
    after = one_step_each_path(case)
    for path in before:
        assert not np.allclose(after[path], before[path], rtol=1e-9, atol=0), path


def test_patched_rule_is_what_runs_by_hand_computation(monkeypatch):
    """GD's step doubled, checked by hand on every path: theta = 1 - 2 * lr * g."""
    monkeypatch.setattr(optim.GD, "rule", doubled(optim.GD.rule))
    x = np.ones(5)
    optim.GD(lr=0.1).step(x, np.full(5, 3.0), {"t": 0})
    np.testing.assert_allclose(x, 1 - 2 * 0.1 * 3.0, rtol=1e-15)
    p = torch.nn.Parameter(torch.ones(5, dtype=torch.float64))
    opt = dt.GD([p], lr=0.1)
    p.grad = torch.full((5,), 3.0, dtype=torch.float64)
    opt.step()
    np.testing.assert_allclose(p.detach().numpy(), 1 - 2 * 0.1 * 3.0, rtol=1e-15)
