"""The transformations' contract: names and checks of descentlab.optim, jit and scan, any pytree,
float32 and float64, the state, batched and vmapped hyperparameters, optax's own wrappers."""

from __future__ import annotations

import pytest

pytest.importorskip("optax", reason="descentlab.optax needs the jax extra: pip install -e '.[jax]'")

import inspect
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
from cases import CASES, IDS

import descentlab.optax as dopt
from descentlab import optim

FACTORIES = {"gd": optim.GD, "sgd": optim.SGD, "momentum": optim.Momentum, "nag": optim.NAG,
             "adagrad": optim.Adagrad, "rmsprop": optim.RMSProp, "adadelta": optim.AdaDelta,
             "adam": optim.Adam, "nadam": optim.Nadam}


def test_the_nine_names_take_the_classes_arguments_and_defaults():
    assert sorted(FACTORIES) == sorted(n for n in dopt.__all__ if n.islower())
    for name, cls in FACTORIES.items():
        ours = list(inspect.signature(getattr(dopt, name)).parameters.values())
        theirs = list(inspect.signature(cls.__init__).parameters.values())[1:]
        assert [(p.name, p.default, p.kind) for p in ours] == \
               [(p.name, p.default, p.kind) for p in theirs], name
        assert isinstance(getattr(dopt, name)(), optax.GradientTransformation)


ERRORS = [
    ("gd", {"lr": -1.0}), ("sgd", {"lr": float("nan")}), ("momentum", {"gamma": 1.0}),
    ("nag", {"lr": "0.1"}), ("adagrad", {"eps": -1e-8}), ("adagrad", {"variant": "keras"}),
    ("adagrad", {"initial_accumulator": -0.1}), ("rmsprop", {"gamma": -0.1}),
    ("adadelta", {"eps": 0.0}), ("adam", {"beta1": 1.0}), ("adam", {"beta2": True}),
    ("adam", {"lr": np.array([0.1, -1.0])}), ("adam", {"lr": [[0.1], [np.inf]]}),
    ("nadam", {"variant": "keras"}), ("nadam", {"momentum_decay": -1.0}),
    ("sgd", {"lr": optax.constant_schedule(0.1)}),
]


@pytest.mark.parametrize(("name", "kwargs"), ERRORS, ids=[f"{n}-{k}" for n, k in ERRORS])
def test_bad_hyperparameters_get_descentlab_optims_message(name, kwargs):
    with pytest.raises(ValueError) as theirs:
        FACTORIES[name](**kwargs)
    with pytest.raises(ValueError) as ours:
        getattr(dopt, name)(**kwargs)
    assert str(ours.value) == str(theirs.value)
    assert repr(next(iter(kwargs))) in str(ours.value)


def test_a_bad_jax_array_gets_the_same_message_naming_the_element():
    # (built here, not in ERRORS: no JAX computation may run at import, see conftest.py)
    lr = jnp.array([[0.1], [jnp.inf]])
    with pytest.raises(ValueError) as ours:
        dopt.adam(lr=lr)
    with pytest.raises(ValueError) as theirs:
        optim.Adam(lr=lr)
    assert str(ours.value) == str(theirs.value)
    assert "Got inf at index (1, 0)" in str(ours.value)


def _tree():
    """A pytree with nesting, a scalar leaf, a tuple and an empty node."""
    rng = np.random.default_rng(3)
    return {"layer": [rng.normal(size=(3, 2))], "scale": np.array(1.5), "pair": (None,)}


def _grad(p):
    """The gradient of J = sum((x - 0.25)^2) over the leaves."""
    return jax.tree.map(lambda x: 2 * (x - 0.25), p)


def _loss(p):
    return sum(jnp.sum((x - 0.25) ** 2) for x in jax.tree.leaves(p))


def _run_scan(tx, params, steps):
    """``steps`` steps in one compiled lax.scan: the state must keep its structure and dtypes."""

    def body(carry, _):
        p, s = carry
        updates, s = tx.update(_grad(p), s, p)
        return (optax.apply_updates(p, updates), s), _loss(p)

    (params, state), losses = jax.lax.scan(body, (params, tx.init(params)), length=steps)
    return params, state, losses


def _run_eager(tx, params, steps):
    state = tx.init(params)
    for _ in range(steps):
        updates, state = tx.update(_grad(params), state)
        params = optax.apply_updates(params, updates)
    return params, state


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_jit_scan_on_a_pytree_keeps_dtypes_and_matches_eager(case, dtype):
    with jax.enable_x64(dtype == "float64"):
        tx = case.make()
        params = jax.tree.map(lambda x: jnp.asarray(x, dtype), _tree())
        scanned, state, losses = jax.jit(_run_scan, static_argnums=(0, 2))(tx, params, 8)
        eager, eager_state = _run_eager(tx, params, 8)
        assert jax.tree.structure(scanned) == jax.tree.structure(params)
        assert isinstance(state, type(tx.init(params)))
        assert state.t.dtype == jnp.int32 and int(state.t) == 8
        for b in case.make_core().buffers:
            assert jax.tree.structure(getattr(state, b)) == jax.tree.structure(params)
            assert all(x.dtype == dtype for x in jax.tree.leaves(getattr(state, b)))
        assert all(x.dtype == dtype for x in jax.tree.leaves(scanned))
        tol = 1e-12 if dtype == "float64" else 1e-5
        for a, b in zip(jax.tree.leaves(scanned), jax.tree.leaves(eager), strict=True):
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
        assert float(losses[-1]) < float(losses[0])  # it descends


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_init_is_the_optimizers_init(x64, case):
    """Fresh state equals descentlab.optim's init (Adagrad's initial_accumulator, Nadam's
    mu_product = 1 included), and its fields are t and the lecture's buffer names."""
    core, tx = case.make_core(), case.make()
    theta = np.random.default_rng(0).normal(size=(2, 3))
    theirs, ours = core.init(theta), tx.init(jnp.asarray(theta))
    assert ours._fields == ("t", *core.buffers, *core.scalars[1:])
    assert int(ours.t) == theirs["t"] == 0
    for name in ours._fields[1:]:
        np.testing.assert_array_equal(getattr(ours, name), theirs[name])


def test_update_needs_no_params_and_refuses_integer_params():
    tx = dopt.adam(lr=0.1)
    updates, _ = tx.update(jnp.array([2.0]), tx.init(jnp.array([1.0])))
    # (float32: 1 - beta2^t is computed in float32, as optax does: 1 - 0.999f = 0.00099998713)
    np.testing.assert_allclose(updates, [-0.1], rtol=1e-5)
    with pytest.raises(ValueError, match=r"Adam: params\['w'\] must have a floating dtype"):
        tx.init({"w": jnp.array([1, 2])})


def test_an_empty_tree_still_counts_steps():
    tx = dopt.nadam(variant="torch")
    updates, state = tx.update({}, tx.init({}))
    assert updates == {} and int(state.t) == 1
    assert float(state.mu_product) == pytest.approx(0.9 * (1 - 0.5 * 0.96**0.004))


LRS = [0.01, 0.03, 0.1]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_batched_lr_is_three_independent_runs(x64, case):
    """lr of shape (3, 1) on params of shape (3, 4): row i is the run with lr = LRS[i], bit for
    bit (float64), state included."""
    rng = np.random.default_rng(7)
    theta0, noise = rng.normal(size=(3, 4)), rng.normal(size=(10, 3, 4))

    def run(tx, theta, rows):
        state = tx.init(theta)
        for i in range(10):
            updates, state = tx.update(2 * theta + noise[i, rows], state)
            theta = optax.apply_updates(theta, updates)
        return theta, state

    batched, b_state = run(case.make(lr=jnp.array(LRS)[:, None]), jnp.asarray(theta0),
                               slice(None))
    for i, lr in enumerate(LRS):
        alone, a_state = run(case.make(lr=lr), jnp.asarray(theta0[i:i + 1]), slice(i, i + 1))
        np.testing.assert_array_equal(batched[i], alone[0])
        for b in case.make_core().buffers:
            np.testing.assert_array_equal(getattr(b_state, b)[i], getattr(a_state, b)[0])


def test_batched_beta1_keeps_one_mu_product_per_run(x64):
    """nadam(variant="torch") with beta1 of shape (3, 1): mu_product has that shape."""
    beta1 = np.array([[0.8], [0.9], [0.95]])
    tx = dopt.nadam(lr=0.05, beta1=beta1, variant="torch")
    theta = jnp.ones((3, 2))
    state = tx.init(theta)
    assert state.mu_product.shape == (3, 1)
    for _ in range(3):
        updates, state = tx.update(theta, state)
        theta = optax.apply_updates(theta, updates)
    for i in range(3):
        alone = dopt.nadam(lr=0.05, beta1=float(beta1[i, 0]), variant="torch")
        p = jnp.ones((1, 2))
        s = alone.init(p)
        for _ in range(3):
            u, s = alone.update(p, s)
            p = optax.apply_updates(p, u)
        np.testing.assert_array_equal(theta[i], p[0])
        np.testing.assert_array_equal(state.mu_product[i, 0], s.mu_product)


BATCHED64 = {  # (case, float64 arrays for every numeric hyperparameter)
    "adam": {"lr": [[0.01], [0.1]], "beta1": [[0.8], [0.9]], "beta2": [[0.9], [0.99]],
             "eps": [[1e-3], [1e-2]]},
    "nadam-torch": {"lr": [[0.01], [0.1]], "beta1": [[0.8], [0.9]],
                    "momentum_decay": [[0.1], [0.2]]},
    "adagrad-torch": {"lr": [[0.01], [0.1]], "initial_accumulator": [[0.1], [0.3]]},
    "adadelta": {"gamma": [[0.8], [0.9]], "eps": [[1e-3], [1e-2]]},
}


@pytest.mark.parametrize("name", BATCHED64)
def test_float32_params_stay_float32_under_float64_batched_hyperparameters(x64, name):
    """Batched hyperparameters are float64 arrays (as in descentlab.optim); the arithmetic they
    enter is float64, and the results are stored in the params' dtype, so a scan carries on."""
    case = next(c for c in CASES if c.id == name)
    tx = case.make(**{k: np.array(v) for k, v in BATCHED64[name].items()})
    params = {"w": jnp.ones((2, 3), jnp.float32), "s": jnp.ones((2, 1), jnp.float32)}
    out, state, _ = jax.jit(_run_scan, static_argnums=(0, 2))(tx, params, 4)
    for tree in (out, *(getattr(state, b) for b in case.make_core().buffers)):
        assert {x.dtype for x in jax.tree.leaves(tree)} == {jnp.dtype("float32")}


def test_a_batched_hyperparameter_must_fit_every_leaf():
    tx = dopt.adam(lr=jnp.array([[0.01], [0.03], [0.1]]))
    params = {"w": jnp.ones((3, 2)), "b": jnp.ones(2)}
    msg = (r"Adam: hyperparameter 'lr' has shape \(3, 1\), which does not broadcast to the shape "
           r"\(2,\) of params\['b'\] without changing it")
    with pytest.raises(ValueError, match=msg):
        tx.init(params)
    state = tx.init({"w": params["w"]})
    state = state._replace(m=params, v=params)  # (a state that init would have refused)
    with pytest.raises(ValueError, match=msg.replace("params", "grads")):
        tx.update(params, state)


def test_vmap_over_hyperparameters_equals_separate_runs(x64):
    """A traced lr and beta1 (jax.vmap) are used as given: the vmapped runs are the separate
    ones."""

    def final(lr, beta1):
        tx = dopt.adam(lr=lr, beta1=beta1)
        theta = jnp.array([1.0, -2.0])
        state = tx.init(theta)
        for _ in range(15):
            updates, state = tx.update(2 * theta, state)
            theta = optax.apply_updates(theta, updates)
        return theta

    lrs, betas = jnp.array(LRS), jnp.array([0.5, 0.9, 0.99])
    vmapped = jax.jit(jax.vmap(final))(lrs, betas)
    for i in range(3):
        np.testing.assert_allclose(vmapped[i], final(LRS[i], float(betas[i])), rtol=1e-13)


def test_a_traced_choice_or_non_number_is_refused():
    with pytest.raises(ValueError, match="'lr' parameter of Adam must be a float or an array"):
        jax.jit(lambda b: dopt.adam(lr=b))(jnp.array(True))


def test_inject_hyperparams_with_a_constant_is_the_plain_transformation(x64):
    plain = dopt.rmsprop(lr=0.05, gamma=0.8, eps=0.01)
    injected = optax.inject_hyperparams(dopt.rmsprop)(lr=0.05, gamma=0.8, eps=0.01)
    theta = jnp.array([1.0, -2.0, 0.5])
    p1 = p2 = theta
    s1, s2 = plain.init(theta), injected.init(theta)
    step = jax.jit(lambda p, s: injected.update(2 * p, s))
    for _ in range(10):
        u1, s1 = plain.update(2 * p1, s1)
        u2, s2 = step(p2, s2)
        p1, p2 = optax.apply_updates(p1, u1), optax.apply_updates(p2, u2)
    np.testing.assert_allclose(p2, p1, rtol=1e-14)


def test_without_optax_the_import_names_the_jax_extra():
    code = "import sys; sys.modules['optax'] = None\nimport descentlab.optax\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode != 0
    assert "pip install 'descentlab[jax]'" in proc.stderr
