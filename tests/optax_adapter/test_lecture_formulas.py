"""float64: the transformations' iterates are the lecture's, and apply_updates gives the rule's own.

References: the plain jax.numpy formulas of cases.py (independent of descentlab's rules), and the
NumPy optimizers of descentlab.optim.
"""

from __future__ import annotations

import pytest

pytest.importorskip("optax", reason="descentlab.optax needs the jax extra: pip install -e '.[jax]'")

import jax
import jax.numpy as jnp
import numpy as np
import optax
from cases import CASES, EXACT, IDS

from descentlab.optim import Coefficients

STEPS = 40
RNG = np.random.default_rng(15)
THETA0 = {"w": RNG.normal(size=(2, 3)), "b": RNG.normal(size=3)}
CURVATURE = {"w": RNG.uniform(0.5, 3.0, size=(2, 3)), "b": RNG.uniform(0.5, 3.0, size=3)}
NOISE = [{k: 0.3 * RNG.normal(size=v.shape) for k, v in THETA0.items()} for _ in range(STEPS)]


def grad(theta, i):
    """A noisy quadratic: J = sum(c theta^2 / 2), plus fixed noise on step i's gradient."""
    return {k: CURVATURE[k] * theta[k] + NOISE[i][k] for k in theta}


def hp_of(case):
    return {**case.hp, **case.extra}


def run_ours(case):
    tx = case.make()
    params = {k: jnp.asarray(v) for k, v in THETA0.items()}
    state = tx.init(params)
    for i in range(STEPS):
        updates, state = tx.update(grad(params, i), state)
        params = optax.apply_updates(params, updates)
    return params, state


def run_reference(case):
    hp = hp_of(case)
    out = {}
    for k in THETA0:
        theta = jnp.asarray(THETA0[k])
        r = {b: jnp.zeros_like(theta) for b in case.buffers}
        if "G" in r:
            r["G"] = r["G"] + hp.get("initial_accumulator", 0.0)
        for i in range(STEPS):
            if case.id == "nag":  # the reference takes its gradient at the look-ahead itself
                theta = case.ref(theta, lambda x, k=k, i=i: grad({k: x}, i)[k], r, i + 1, **hp)
            else:
                theta = case.ref(theta, grad({k: theta}, i)[k], r, i + 1, **hp)
        out[k] = (theta, r)
    return out


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_iterates_and_state_match_the_lecture_formulas(x64, case):
    params, state = run_ours(case)
    ref = run_reference(case)
    assert int(state.t) == STEPS
    for k, (theta, r) in ref.items():
        assert params[k].dtype == jnp.float64
        ours = params[k]
        if case.id == "nag":  # params hold phi = theta - gamma v; theta = phi + gamma v
            ours = params[k] + case.hp["gamma"] * state.v[k]
        np.testing.assert_allclose(ours, theta, rtol=1e-13, atol=1e-15)
        for b in case.buffers:
            np.testing.assert_allclose(getattr(state, b)[k], r[b], rtol=1e-13, atol=1e-15)
    if case.id == "nadam-torch":
        np.testing.assert_allclose(state.mu_product, ref["b"][1]["P"], rtol=1e-13)


def test_the_references_are_not_all_alike(x64):
    """The table can fail: the three Nadam forms, and Adagrad's two, give different iterates."""
    by_id = {c.id: run_reference(c)["b"][0] for c in CASES}
    for a, b in [("nadam", "nadam-optax"), ("nadam", "nadam-torch"), ("adagrad", "adagrad-torch"),
                 ("adadelta", "adadelta-lr"), ("momentum", "nag")]:
        assert float(jnp.max(jnp.abs(by_id[a] - by_id[b]))) > 1e-4, (a, b)


@pytest.mark.parametrize("case", EXACT, ids=[c.id for c in EXACT])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_apply_updates_is_the_rules_own_iterate_bit_for_bit(case, dtype):
    """The update is the rule run from theta = 0; params + (0 - step) == params - step exactly.

    The same rule run on the params themselves gives the same bits, step after step: this also
    fails if a rule ever reads theta (e.g. weight decay), which the zero start relies on not doing.
    """
    with jax.enable_x64(dtype == "float64"):
        _check_bit_for_bit(case, dtype)


def _check_bit_for_bit(case, dtype):
    tx, core = case.make(), case.make_core()
    hp = Coefficients(**core.hyperparameters)
    params = {k: jnp.asarray(v, dtype) for k, v in THETA0.items()}
    state = tx.init(params)
    for i in range(STEPS // 2):
        g = grad(params, i)
        direct = {}
        for k in params:  # the rule itself, on the parameters, with this step's state
            # (t as the update hands it over, an int32 array: XLA's pow of beta ** t may differ
            # in the last bit from Python's, whose float64 pow the NumPy optimizer uses)
            leaf_state = {"t": state.t + 1, **{b: getattr(state, b)[k] for b in core.buffers}}
            direct[k], _ = core.rule(params[k], g[k], leaf_state, hp)
        updates, state = tx.update(g, state)
        params = optax.apply_updates(params, updates)
        for k in params:
            assert params[k].dtype == dtype
            assert jnp.array_equal(params[k], direct[k]), (case.id, i, k)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_iterates_match_descentlab_optim_on_numpy(x64, case):
    """The same rule on NumPy float64 arrays: equal to rounding (XLA's pow of beta ** t and C's
    may differ in the last bit)."""
    params, state = run_ours(case)
    core = case.make_core()
    for k in THETA0:
        theta = THETA0[k].copy()
        s = core.init(theta)
        for i in range(STEPS):
            point = core.lookahead(theta, s)
            core.step(theta, grad({k: point}, i)[k], s)
        ours = np.asarray(params[k])
        if case.id == "nag":
            np.testing.assert_allclose(ours, core.lookahead(theta, s), rtol=1e-13, atol=1e-15)
        else:
            np.testing.assert_allclose(ours, theta, rtol=1e-13, atol=1e-15)
        for b in core.buffers:
            np.testing.assert_allclose(getattr(state, b)[k], s[b], rtol=1e-13, atol=1e-15)


def test_nag_takes_its_gradient_at_the_lookahead_point(x64):
    """After one step the params are phi = theta - gamma v, so a training loop's gradient at the
    params is NAG's: lr=0.1, gamma=0.5, J = theta^2 from 1: v1 = 0.2, theta1 = 0.8, phi1 = 0.7."""
    import descentlab.optax as dopt

    tx = dopt.nag(lr=0.1, gamma=0.5)
    phi = jnp.array([1.0])
    state = tx.init(phi)
    updates, state = tx.update(2 * phi, state)
    phi = optax.apply_updates(phi, updates)
    np.testing.assert_allclose(phi, [0.7], rtol=1e-15)
    np.testing.assert_allclose(phi + 0.5 * state.v, [0.8], rtol=1e-15)
    updates, state = tx.update(2 * phi, state)  # v2 = 0.1 + 0.1 * 1.4 = 0.24, theta2 = 0.56
    phi = optax.apply_updates(phi, updates)
    np.testing.assert_allclose(phi + 0.5 * state.v, [0.56], rtol=1e-15)
    np.testing.assert_allclose(phi, [0.56 - 0.12], rtol=1e-15)
