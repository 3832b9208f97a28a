"""Every optimizer through one table: steps by hand, convergence, batching, shapes, backends."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from optim_cases import CASES, IDS, grad_fn, run, run_ref

from descentlab import optim


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_steps_match_the_lecture_formulas(case):
    """Six steps (t > 1: bias corrections, accumulators and momentum all matter), float64."""
    theta0 = np.array([1.5, -0.7, 0.2, 0.0, -2.0])
    theta, state = run(case.make(), theta0, 6)
    ref, r = run_ref(case, theta0, 6)
    np.testing.assert_allclose(theta, ref, rtol=1e-13, atol=1e-15)
    for name in case.buffers:
        np.testing.assert_allclose(state[name], r[name], rtol=1e-13, atol=1e-15)
    assert state["t"] == 6
    assert not np.allclose(theta, theta0)


def test_first_steps_by_hand():
    """A few numbers worked out on paper, for readers who distrust the reference functions."""
    theta = np.array([1.0])
    opt = optim.Momentum(lr=0.1, gamma=0.5)
    s = opt.init(theta)
    opt.step(theta, np.array([2.0]), s)  # v = 0.2, theta = 0.8
    opt.step(theta, np.array([1.0]), s)  # v = 0.1 + 0.1 = 0.2, theta = 0.6
    np.testing.assert_allclose([theta[0], s["v"][0]], [0.6, 0.2], rtol=1e-15)
    theta = np.array([0.0])
    opt = optim.Adam(lr=0.1, beta1=0.5, beta2=0.5, eps=0.0)
    s = opt.init(theta)
    opt.step(theta, np.array([1.0]), s)  # m = .5, v = .5, mhat = vhat = 1: step 0.1
    opt.step(theta, np.array([3.0]), s)  # m = 1.75, v = 4.75, mhat = 7/3, vhat = 19/3
    np.testing.assert_allclose(theta[0], -0.1 - 0.1 * (7 / 3) / np.sqrt(19 / 3), rtol=1e-15)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_converges_on_a_quadratic_bowl(case):
    """J = (x^2 + 2 y^2) / 2 from (1, 1): the loss falls by 1e4 within 3000 steps.

    (A steeper bowl traps AdaDelta in a period-2 oscillation: its step is scale-free.)
    """
    scale = np.array([1.0, 2.0])

    def loss(x):
        return 0.5 * float(np.sum(scale * x**2))

    opt = optim.get(case.name, **case.converge)
    theta, _ = run(opt, np.array([1.0, 1.0]), 3000, grad=lambda x: scale * x)
    assert loss(theta) < 1e-4 * loss(np.array([1.0, 1.0])), (opt, theta)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_batched_hyperparameters_equal_separate_runs(case, dtype):
    """Params (3, 2) with one hyperparameter of shape (3, 1): row i is run i, to rounding (see
    _base: NumPy's vectorized ``beta ** t`` may differ from C's pow in the last bit, and in
    float32 the batched coefficients stay float64)."""
    theta0 = np.array([[1.0, -0.5], [0.3, 2.0], [-1.2, 0.1]], dtype=dtype)
    batched = case.make(**{case.batch: np.array(case.values).reshape(3, 1)})
    theta, state = run(batched, theta0, 7)
    tol = dict(rtol=1e-14, atol=1e-16) if dtype == np.float64 else dict(rtol=2e-6, atol=1e-7)

    def same(a, b):
        np.testing.assert_allclose(a, b, **tol)

    for i, value in enumerate(case.values):
        theta_i, state_i = run(case.make(**{case.batch: value}), theta0[i], 7)
        same(theta[i], theta_i)
        for name in case.buffers:
            same(state[name][i], state_i[name])
        for name in case.extra_state:
            same(np.asarray(state[name])[i, 0], state_i[name])
    assert theta.dtype == dtype
    for name in case.buffers:
        assert state[name].dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (5,), (2, 3, 4)])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_shape_and_dtype_are_kept(case, shape, dtype):
    theta = np.asarray(np.linspace(-1, 1, int(np.prod(shape))).reshape(shape), dtype=dtype)
    before = theta
    opt = case.make()
    state = opt.init(theta)
    for _ in range(3):
        opt.step(theta, grad_fn(opt.lookahead(theta, state)).astype(dtype), state)
    assert theta is before and theta.shape == shape and theta.dtype == dtype
    for name in case.buffers:
        assert state[name].shape == shape and state[name].dtype == dtype


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_numpy_and_torch_give_the_same_result(case, batched):
    hp = {case.batch: np.array(case.values).reshape(3, 1)} if batched else {}
    theta0 = np.linspace(-1.5, 1.5, 12).reshape(3, 4)
    theta_np, state_np = run(case.make(**hp), theta0, 6)
    theta_t, state_t = run(case.make(**hp), torch.tensor(theta0), 6)
    assert isinstance(theta_t, torch.Tensor) and theta_t.dtype == torch.float64
    np.testing.assert_allclose(theta_t.numpy(), theta_np, rtol=1e-14, atol=1e-16)
    for name in case.buffers:
        assert isinstance(state_t[name], torch.Tensor)
        np.testing.assert_allclose(state_t[name].numpy(), state_np[name], rtol=1e-14, atol=1e-16)


def test_torch_float32_tensor_that_requires_grad():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = optim.Adam(lr=0.1)
    state = opt.init(p)
    opt.step(p, torch.tensor([0.5, 0.5]), state)
    assert p.requires_grad and p.dtype == torch.float32
    torch.testing.assert_close(p.detach(), torch.tensor([0.9, -2.1]))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_state_layout(case):
    theta = np.ones((2, 3))
    opt = case.make()
    state = opt.init(theta)
    assert set(state) == {"t", *case.buffers, *case.extra_state}
    assert state["t"] == 0
    for name in case.buffers:
        assert state[name] is not theta and state[name].shape == theta.shape
        expected = case.hp.get("initial_accumulator", 0.0) if name == "G" else 0.0
        np.testing.assert_array_equal(state[name], expected)
    opt.step(theta, np.ones_like(theta), state)
    assert state["t"] == 1
    if case.name == "NAG":
        np.testing.assert_allclose(opt.lookahead(theta, state), theta - 0.7 * state["v"])
    else:
        assert opt.lookahead(theta, state) is theta


@pytest.mark.parametrize("gamma", [0.7, np.array([[0.5], [0.9]])], ids=["float", "batched"])
def test_nag_lookahead_keeps_the_params_dtype(gamma):
    """The look-ahead point is where the next gradient is taken: float32 params give a float32
    point, also when gamma is batched (its float64 values are rounded to the params' dtype)."""
    theta = np.ones((2, 3), dtype=np.float32)
    opt = optim.NAG(lr=0.1, gamma=gamma)
    state = opt.init(theta)
    opt.step(theta, np.ones_like(theta), state)
    point = opt.lookahead(theta, state)
    assert point.dtype == np.float32
    expected = theta - np.asarray(gamma, dtype=np.float32) * state["v"]
    np.testing.assert_array_equal(point, expected)
