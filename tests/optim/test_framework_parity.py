"""descentlab.optim against the frameworks, float64, many steps, to round-off.

Where the lecture's rule and torch.optim's coincide, both run side by side from the same start, each
fed the gradient at its own iterate, and params and state must agree to ~1e-12 (relative) after
300 steps. Where torch keeps state in another form, the test converts it (Momentum: v = lr * b).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from optim_cases import CASES, grad_fn, run, run_ref

from descentlab import optim

STEPS = 300
RTOL = 1e-12


@pytest.fixture(autouse=True)
def float64_default():
    # torch.optim keeps scalar state (NAdam's mu_product) in the default dtype: make it float64
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def close(actual, expected, rtol=RTOL):
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    err = np.max(np.abs(actual - expected)) / max(np.max(np.abs(expected)), 1e-300)
    assert err < rtol, f"relative error {err:.3g}"


def buf(name):
    return lambda st, hp: st[name]


# (id, descentlab optimizer, torch.optim factory, {our buffer: torch state -> our form})
PAIRS = [
    ("GD", optim.GD(lr=0.02), lambda p: torch.optim.SGD(p, lr=0.02), {}),
    ("Momentum", optim.Momentum(lr=0.02, gamma=0.85),
     lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.85),
     {"v": lambda st, hp: hp["lr"] * st["momentum_buffer"]}),
    ("RMSProp", optim.RMSProp(lr=0.01, gamma=0.9, eps=1e-3),
     lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-3), {"G": buf("square_avg")}),
    ("AdaDelta", optim.AdaDelta(gamma=0.9, eps=1e-4),
     lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.9, eps=1e-4),
     {"G": buf("square_avg"), "s": buf("acc_delta")}),
    ("AdaDelta-lr", optim.AdaDelta(gamma=0.8, eps=1e-3, lr=0.3),
     lambda p: torch.optim.Adadelta(p, lr=0.3, rho=0.8, eps=1e-3),
     {"G": buf("square_avg"), "s": buf("acc_delta")}),
    ("Adam", optim.Adam(lr=0.01, beta1=0.8, beta2=0.95, eps=1e-6),
     lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.95), eps=1e-6),
     {"m": buf("exp_avg"), "v": buf("exp_avg_sq")}),
    ("Adagrad-torch", optim.Adagrad(lr=0.05, eps=1e-4, variant="torch", initial_accumulator=0.3),
     lambda p: torch.optim.Adagrad(p, lr=0.05, eps=1e-4, initial_accumulator_value=0.3),
     {"G": buf("sum")}),
    ("Nadam-torch", optim.Nadam(lr=0.01, beta1=0.8, beta2=0.95, eps=1e-6, variant="torch",
                                momentum_decay=0.05),
     lambda p: torch.optim.NAdam(p, lr=0.01, betas=(0.8, 0.95), eps=1e-6, momentum_decay=0.05),
     {"m": buf("exp_avg"), "v": buf("exp_avg_sq"), "mu_product": buf("mu_product")}),
]


def noisy_grad():
    """grad_fn plus a fixed noise sequence (minibatch-like), so the run never settles to zero
    (where relative errors of m and v would mean nothing)."""
    noise = iter(np.random.default_rng(7).normal(scale=0.5, size=(STEPS + 1, THETA0.size)))
    return lambda theta: grad_fn(theta) + next(noise)


def torch_run(factory, theta0, steps):
    p = torch.nn.Parameter(torch.tensor(theta0))
    opt = factory([p])
    grad = noisy_grad()
    for _ in range(steps):
        p.grad = torch.from_numpy(grad(p.detach().numpy().copy()))
        opt.step()
    return p.detach().numpy(), {k: (v.numpy() if torch.is_tensor(v) else v)
                                for k, v in opt.state[p].items()}, opt


THETA0 = np.linspace(-1.2, 0.9, 11)


@pytest.mark.parametrize("pair", PAIRS, ids=[p[0] for p in PAIRS])
def test_matches_torch_optim(pair):
    _, ours, factory, state_map = pair
    theta, state = run(ours, THETA0, STEPS, grad=noisy_grad())
    theta_t, state_t, opt_t = torch_run(factory, THETA0, STEPS)
    close(theta, theta_t)
    assert np.max(np.abs(theta - THETA0)) > 0.05  # it went somewhere
    hp = opt_t.param_groups[0]
    for name, convert in state_map.items():
        close(state[name], convert(state_t, hp))
    assert state["t"] == STEPS


def test_nag_matches_torch_nesterov_at_the_lookahead_point():
    """torch.optim.SGD(nesterov=True) holds phi = theta - gamma v: its params are our lookahead()
    and phi + gamma * v (v = lr * momentum_buffer) are the lecture's NAG iterates."""
    lr, gamma = 0.02, 0.85
    ours = optim.NAG(lr=lr, gamma=gamma)
    theta, state = run(ours, THETA0, STEPS, grad=noisy_grad())
    phi, state_t, _ = torch_run(lambda p: torch.optim.SGD(p, lr=lr, momentum=gamma,
                                                          nesterov=True), THETA0, STEPS)
    v = lr * state_t["momentum_buffer"]
    close(state["v"], v)
    close(theta, phi + gamma * v)
    close(ours.lookahead(theta, state), phi)


def test_nadam_optax_variant_against_optax_formula_over_many_steps():
    """The transcription of optax's scale_by_adam(nesterov=True) (see optim_cases.ref_nadam, which
    cites optax 0.2.8's lines) over 300 steps; optax bias-corrects beta1 * m with t + 1."""
    case = next(c for c in CASES if c.id == "Nadam-optax")
    theta, state = run(case.make(lr=0.01), THETA0, STEPS, grad=noisy_grad())
    ref, r = run_ref(case, THETA0, STEPS, grad=noisy_grad(), lr=0.01)
    close(theta, ref, 1e-13)
    close(state["m"], r["m"], 1e-13)
    # and the three Nadam forms really are different rules
    ruder, _ = run(case.make(lr=0.01, variant="ruder"), THETA0, 5)
    optax_, _ = run(case.make(lr=0.01), THETA0, 5)
    assert np.max(np.abs(ruder - optax_)) > 1e-6


_OPTAX_SCRIPT = """
import sys
sys.path.insert(0, {here!r})
import jax, numpy as np, optax
jax.config.update("jax_enable_x64", True)
from test_framework_parity import THETA0, noisy_grad
from descentlab import optim
opt = optim.Nadam(lr=0.05, beta1=0.8, beta2=0.95, eps=1e-6, variant="optax")
tx = optax.nadam(0.05, b1=0.8, b2=0.95, eps=1e-6)
theta, p = THETA0.copy(), jax.numpy.asarray(THETA0)
state, st = opt.init(theta), tx.init(p)
grad, grad_t = noisy_grad(), noisy_grad()
for _ in range(100):
    opt.step(theta, grad(theta), state)
    updates, st = tx.update(jax.numpy.asarray(grad_t(np.asarray(p))), st, p)
    p = optax.apply_updates(p, updates)
p = np.asarray(p)
print(np.max(np.abs(theta - p)) / np.max(np.abs(p)))
"""


def test_nadam_optax_variant_against_optax_itself():
    """Against optax.nadam itself: the `jax` extra installs optax and jax (.ci/run does).

    Runs in a child process: JAX starts threads, and a later test in this process forks.
    """
    if importlib.util.find_spec("optax") is None:  # find it without importing jax here
        pytest.skip("optax is not installed (pip install -e '.[jax]')")
    script = _OPTAX_SCRIPT.format(here=str(Path(__file__).parent))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.split()[-1]) < RTOL


def test_lecture_adagrad_is_not_torch_adagrad():
    """The lecture puts eps inside the root; torch outside. With a visible eps they differ."""
    g = np.array([2.0])
    lecture, torch_form = np.array([1.0]), np.array([1.0])
    optim.Adagrad(lr=0.1, eps=1.0).step(lecture, g, {"t": 0, "G": np.zeros(1)})
    optim.Adagrad(lr=0.1, eps=1.0, variant="torch").step(torch_form, g, {"t": 0, "G": np.zeros(1)})
    np.testing.assert_allclose(lecture, 1 - 0.1 * 2 / np.sqrt(4 + 1), rtol=1e-15)
    np.testing.assert_allclose(torch_form, 1 - 0.1 * 2 / (2 + 1), rtol=1e-15)
