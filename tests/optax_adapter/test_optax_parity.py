"""float64: against optax's own transformations where the math coincides, and where it does not.

Each row of PARITY is a descentlab.optax transformation and the optax call that runs the same
rule (the module docstring of descentlab.optax._transform explains each); DIFFERENT lists the
optax forms that are not the lecture's, each shown to give other iterates.
"""

from __future__ import annotations

import pytest

pytest.importorskip("optax", reason="descentlab.optax needs the jax extra: pip install -e '.[jax]'")

import jax.numpy as jnp
import numpy as np
import optax

import descentlab.optax as dopt

STEPS = 40
RNG = np.random.default_rng(1515)
THETA0 = {"w": RNG.normal(size=(3, 2)), "b": RNG.normal(size=2)}
CURVATURE = {k: RNG.uniform(0.5, 3.0, size=v.shape) for k, v in THETA0.items()}
NOISE = [{k: 0.3 * RNG.normal(size=v.shape) for k, v in THETA0.items()} for _ in range(STEPS)]


def loss(params):
    return sum(float(jnp.sum(CURVATURE[k] * params[k] ** 2 / 2)) for k in params)


def run(tx, steps=STEPS):
    """Train on a noisy quadratic, the gradient taken at the params (a training loop's way)."""
    params = {k: jnp.asarray(v) for k, v in THETA0.items()}
    state = tx.init(params)
    for i in range(steps):
        g = {k: CURVATURE[k] * params[k] + NOISE[i][k] for k in params}
        updates, state = tx.update(g, state, params)
        params = optax.apply_updates(params, updates)
    return params, state


PARITY = [
    ("gd", lambda: dopt.gd(lr=0.1), lambda: optax.sgd(0.1)),
    ("sgd", lambda: dopt.sgd(lr=0.07), lambda: optax.sgd(0.07)),
    ("momentum", lambda: dopt.momentum(lr=0.03, gamma=0.8),
     lambda: optax.sgd(0.03, momentum=0.8)),
    # both keep the params at NAG's look-ahead point phi
    ("nag", lambda: dopt.nag(lr=0.03, gamma=0.8),
     lambda: optax.sgd(0.03, momentum=0.8, nesterov=True)),
    ("adagrad", lambda: dopt.adagrad(lr=0.3, eps=0.5),
     lambda: optax.adagrad(0.3, initial_accumulator_value=0.0, eps=0.5)),
    ("rmsprop", lambda: dopt.rmsprop(lr=0.05, gamma=0.8, eps=0.01),
     lambda: optax.rmsprop(0.05, decay=0.8, eps=0.01, eps_in_sqrt=False)),
    ("adadelta", lambda: dopt.adadelta(gamma=0.8, eps=0.01),
     lambda: optax.adadelta(learning_rate=1.0, rho=0.8, eps=0.01)),
    ("adam", lambda: dopt.adam(lr=0.05, beta1=0.8, beta2=0.95, eps=1e-3),
     lambda: optax.adam(0.05, b1=0.8, b2=0.95, eps=1e-3)),
    ("adam-defaults", lambda: dopt.adam(lr=0.05), lambda: optax.adam(0.05)),
    ("nadam-optax", lambda: dopt.nadam(lr=0.05, beta1=0.8, beta2=0.95, eps=1e-3,
                                       variant="optax"),
     lambda: optax.nadam(0.05, b1=0.8, b2=0.95, eps=1e-3)),
]


@pytest.mark.parametrize(("name", "ours", "theirs"), PARITY, ids=[p[0] for p in PARITY])
def test_same_iterates_as_optax_where_the_math_coincides(x64, name, ours, theirs):
    p_ours, s_ours = run(ours())
    p_theirs, _ = run(theirs())
    for k in THETA0:
        assert p_ours[k].dtype == jnp.float64
        np.testing.assert_allclose(p_ours[k], p_theirs[k], rtol=1e-13, atol=1e-14)
    assert loss(p_ours) < 0.5 * loss(THETA0)  # and the runs went somewhere


def test_momentum_velocity_is_lr_times_optax_trace(x64):
    """optax keeps b = gamma b + g and steps lr b; the lecture keeps v = gamma v + lr g = lr b."""
    _, ours = run(dopt.momentum(lr=0.03, gamma=0.8))
    _, theirs = run(optax.sgd(0.03, momentum=0.8))
    trace = theirs[0].trace  # optax.sgd = chain(trace, scale_by_learning_rate)
    for k in THETA0:
        np.testing.assert_allclose(ours.v[k], 0.03 * trace[k], rtol=1e-13)


# (name, ours, optax's form, why they differ)
DIFFERENT = [
    ("adagrad-defaults", lambda: dopt.adagrad(lr=0.3), lambda: optax.adagrad(0.3),
     "optax starts G at initial_accumulator_value=0.1 (the lecture at 0), eps 1e-7 (1e-8)"),
    ("rmsprop-eps-in-root", lambda: dopt.rmsprop(lr=0.05, gamma=0.8, eps=0.01),
     lambda: optax.rmsprop(0.05, decay=0.8, eps=0.01),
     "optax.rmsprop's default eps_in_sqrt=True puts eps inside the root"),
    ("nadam-ruder", lambda: dopt.nadam(lr=0.05), lambda: optax.nadam(0.05),
     "optax bias-corrects beta1 * m with t + 1, Ruder's form with t"),
    ("nadam-torch", lambda: dopt.nadam(lr=0.05, variant="torch"), lambda: optax.nadam(0.05),
     "torch's momentum-decay schedule, which optax has not"),
    ("momentum-schedule",
     lambda: optax.inject_hyperparams(dopt.momentum)(lr=optax.linear_schedule(0.03, 0.003, 20),
                                                     gamma=0.8),
     lambda: optax.sgd(optax.linear_schedule(0.03, 0.003, 20), momentum=0.8),
     "with a changing lr, the lecture's v = gamma v + lr_t g is not optax's lr_t * b"),
]


@pytest.mark.parametrize(("name", "ours", "theirs", "why"), DIFFERENT,
                         ids=[d[0] for d in DIFFERENT])
def test_optax_forms_that_are_not_the_lecture_give_other_iterates(x64, name, ours, theirs, why):
    p_ours, _ = run(ours(), 20)
    p_theirs, _ = run(theirs(), 20)
    gap = max(float(jnp.max(jnp.abs(p_ours[k] - p_theirs[k]))) for k in THETA0)
    assert gap > 1e-4, why


def test_optax_adadelta_default_climbs_the_loss(x64):
    """optax.adadelta() (learning_rate=None) adds +delta: the loss grows; ours descends."""
    p_theirs, _ = run(optax.adadelta(), 30)
    p_ours, _ = run(dopt.adadelta(), 30)
    assert loss(p_theirs) > loss(THETA0) > loss(p_ours)
