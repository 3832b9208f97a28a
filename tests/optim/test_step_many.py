"""``step_many``: a model's arrays in one call, bit for bit ``step`` on each, checked first.

The reference is ``step`` on each array in turn, which test_rules checks against the lecture's
formulas.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from optim_cases import CASES, IDS, grad_fn

from descentlab import optim

# a model's arrays: a 0-d scalar, biases, small and mid-sized weights, one of several chunks
SHAPES = [(), (3,), (16,), (7, 5), (64, 80), (3, 50, 67)]


def model(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [np.asarray(rng.standard_normal(shape), dtype=dtype) for shape in SHAPES]


def steps_one_by_one(opt, arrays, steps):
    states = [opt.init(a) for a in arrays]
    for _ in range(steps):
        for a, s in zip(arrays, states, strict=True):
            opt.step(a, grad_fn(opt.lookahead(a, s)).astype(a.dtype), s)
    return states


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_step_many_is_bit_for_bit_step_on_each(case, dtype):
    opt = case.make()
    expected = model(dtype)
    expected_states = steps_one_by_one(opt, expected, 5)

    arrays = model(dtype)
    states = [opt.init(a) for a in arrays]
    for _ in range(5):
        opt.step_many(arrays, [grad_fn(opt.lookahead(a, s)).astype(dtype)
                               for a, s in zip(arrays, states, strict=True)], states)
    for a, b, sa, sb in zip(arrays, expected, states, expected_states, strict=True):
        assert a.dtype == dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
        for name in case.buffers:
            np.testing.assert_array_equal(sa[name], sb[name])
        assert sa["t"] == sb["t"] == 5
        for name in case.extra_state:
            assert sa[name] == sb[name]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_one_optimizer_on_entries_of_other_step_counts_and_dtypes(case):
    """Entries at different steps and of both dtypes, in one call and over calls, each get the
    coefficients of their own step count and dtype."""
    def run(many: bool):
        opt = case.make()
        rng = np.random.default_rng(1)
        arrays = [rng.standard_normal(5000).astype(dtype) for dtype in (np.float32, np.float64,
                                                                        np.float32)]
        states = [opt.init(a) for a in arrays]
        for k in range(5):
            live = [i for i in range(3) if k >= i]  # entry i starts at step i: t differs
            grads = [grad_fn(opt.lookahead(arrays[i], states[i])).astype(arrays[i].dtype)
                     for i in live]
            if many:
                opt.step_many([arrays[i] for i in live], grads, [states[i] for i in live])
            else:
                for i, g in zip(live, grads, strict=True):
                    opt.step(arrays[i], g, states[i])
        return arrays, states

    expected, expected_states = run(many=False)
    arrays, states = run(many=True)
    for a, b, sa, sb in zip(arrays, expected, states, expected_states, strict=True):
        np.testing.assert_array_equal(a, b)
        assert sa["t"] == sb["t"]
        for name in case.buffers:
            np.testing.assert_array_equal(sa[name], sb[name])


def test_step_many_mixes_numpy_torch_and_batched_entries():
    """Any entry ``step`` takes: a torch tensor, an array with a batched (per-run) lr."""
    lr = np.array([[0.01], [0.1]])
    batched, plain = optim.Adam(lr=lr), optim.Adam(lr=0.05)
    x = np.ones((2, 3))
    s = batched.init(x)
    batched.step_many([x], [np.ones((2, 3))], [s])  # Adam's first step: lr * sign(g)
    np.testing.assert_allclose(x, 1 - np.broadcast_to(lr, (2, 3)), rtol=1e-7)  # eps

    w, t = np.ones(5), torch.ones(5, dtype=torch.float64)
    states = [plain.init(w), plain.init(t)]
    plain.step_many([w, t], [np.full(5, 2.0), torch.full((5,), 2.0, dtype=torch.float64)],
                    states)
    np.testing.assert_array_equal(t.numpy(), w)
    np.testing.assert_allclose(w, 0.95, rtol=1e-7)


def corrupt_cases():
    def bad_grad_shape(g, s):
        g[2] = np.ones(4)

    def bad_state(g, s):
        s[2]["m"] = np.zeros(3, dtype=np.float32)

    def nan_kind(g, s):
        g[2] = np.ones(16, dtype=np.int64)

    def missing(g, s):
        del s[2]["v"]

    return [
        (bad_grad_shape, r"entry 2: Adam: grad has shape \(4,\) but params has shape \(16,\)"),
        (bad_state, r"entry 2: Adam: state\['m'\] is ndarray\(shape=\(3,\), dtype=float32\)"),
        (nan_kind, r"entry 2: Adam: grad must have a floating dtype"),
        (missing, r"entry 2: Adam: state lacks \['v'\]"),
    ]


@pytest.mark.parametrize("corrupt, message", corrupt_cases(),
                         ids=["grad-shape", "state-shape", "int-grad", "missing-buffer"])
def test_refused_call_leaves_every_entry_untouched(corrupt, message):
    opt = optim.Adam(lr=0.1)
    arrays = model(np.float64)
    states = [opt.init(a) for a in arrays]
    opt.step_many(arrays, [np.ones_like(a) for a in arrays], states)  # state is not all zeros
    grads = [np.ones_like(a) for a in arrays]
    corrupt(grads, states)
    before = [a.copy() for a in arrays]
    before_states = [{k: np.copy(v) for k, v in s.items()} for s in states]
    with pytest.raises(ValueError, match=message):
        opt.step_many(arrays, grads, states)
    for a, b, s, bs in zip(arrays, before, states, before_states, strict=True):
        np.testing.assert_array_equal(a, b)  # entries 0 and 1 (checked fine) too
        assert s.keys() == bs.keys()
        for k in s:
            np.testing.assert_array_equal(s[k], bs[k])


def test_repeated_or_unmatched_entries_are_refused():
    opt = optim.Momentum()
    w, b = np.ones(3), np.ones(2)
    sw, sb = opt.init(w), opt.init(b)
    with pytest.raises(ValueError, match="got 2 params, 1 grads and 2 states"):
        opt.step_many([w, b], [np.ones(3)], [sw, sb])
    with pytest.raises(ValueError, match="entry 2 has the same params as entry 0"):
        opt.step_many([w, b, w], [np.ones(3), np.ones(2), np.ones(3)], [sw, sb, opt.init(w)])
    with pytest.raises(ValueError, match="entry 1 has the same state as entry 0"):
        opt.step_many([w, w.copy()], [np.ones(3), np.ones(3)], [sw, sw])
    with pytest.raises(TypeError, match="entry 1: expected a NumPy array or a torch tensor"):
        opt.step_many([w, [1.0, 2.0]], [np.ones(3), np.ones(2)], [sw, sb])
    assert sw["t"] == sb["t"] == 0 and (w == 1).all()
    opt.step_many([], [], [])  # nothing to do


@pytest.mark.parametrize("name", ["GD", "RMSProp", "Adam"])
def test_grads_of_another_dtype_take_steps_path(name):
    """A float64 grad for float32 params (and back) is NumPy's mixed arithmetic, as in ``step``."""
    opt = optim.get(name, lr=0.01)
    rng = np.random.default_rng(0)
    pairs = [(p, g) for p in (np.float32, np.float64) for g in (np.float32, np.float64)] * 2
    sizes = [10] * 4 + [5000] * 4
    arrays = [rng.standard_normal(n).astype(p) for (p, _), n in zip(pairs, sizes, strict=True)]
    grads = [rng.standard_normal(n).astype(g) for (_, g), n in zip(pairs, sizes, strict=True)]
    expected = [a.copy() for a in arrays]
    states, expected_states = [opt.init(a) for a in arrays], [opt.init(a) for a in expected]
    for _ in range(3):
        opt.step_many(arrays, grads, states)
        for a, g, s in zip(expected, grads, expected_states, strict=True):
            opt.step(a, g, s)
    for a, b in zip(arrays, expected, strict=True):
        np.testing.assert_array_equal(a, b)


def test_big_endian_arrays_step_like_native_ones():
    """Big-endian arrays step exactly like native ones."""
    opt = optim.Adam(lr=0.1)
    for n in (10, 5000):
        native = np.linspace(-1, 1, n)
        swapped = native.astype(">f8")
        g = np.cos(native)
        s_native, s_swapped, s_many = opt.init(native), opt.init(swapped), None
        many = swapped.copy()
        s_many = opt.init(many)
        opt.step(native, g, s_native)
        opt.step(swapped, g.astype(">f8"), s_swapped)
        opt.step_many([many], [g.astype(">f8")], [s_many])
        np.testing.assert_array_equal(swapped, native)
        np.testing.assert_array_equal(many, native)


def test_views_sharing_elements_are_refused_and_disjoint_views_are_not():
    opt = optim.Momentum(lr=0.1)
    x = np.ones(6)
    for a, b in ((x, x[:2]), (x.reshape(2, 3), x.reshape(2, 3).T), (x[1:4], x[3:])):
        states = [opt.init(a), opt.init(b)]
        with pytest.raises(ValueError, match="entries 0 and 1 share memory"):
            opt.step_many([a, b], [np.ones_like(a), np.ones_like(b)], states)
        assert (x == 1).all() and states[0]["t"] == 0
    even, odd = x[::2], x[1::2]
    opt.step_many([even, odd], [np.ones(3), 2 * np.ones(3)], [opt.init(even), opt.init(odd)])
    np.testing.assert_allclose(x, [0.9, 0.8] * 3)


def test_read_only_params_and_odd_step_counts_are_refused_before_any_write():
    opt = optim.Adam(lr=0.1)
    w, frozen = np.ones(5000), np.ones(5000)
    frozen.flags.writeable = False
    sw, sf = opt.init(w), opt.init(np.ones(5000))
    for step in (lambda: opt.step(frozen, np.ones(5000), sf),
                 lambda: opt.step_many([w, frozen], [np.ones(5000)] * 2, [sw, sf])):
        with pytest.raises(ValueError, match="params is read-only"):
            step()
    assert sw["t"] == sf["t"] == 0 and (w == 1).all() and (sw["m"] == 0).all()

    sw["v"].flags.writeable = False
    with pytest.raises(ValueError, match=r"state\['v'\] is read-only"):
        opt.step(w, np.ones(5000), sw)
    sw["v"].flags.writeable = True
    for bad in (np.array(3), 2.0, True, -1):  # np.load gives 0-d arrays back
        sw["t"] = bad
        with pytest.raises(ValueError, match=r"state\['t'\] must be the step count"):
            opt.step_many([w], [np.ones(5000)], [sw])
        assert (w == 1).all()
    sw["t"] = np.int64(0)  # a NumPy integer is a step count
    opt.step_many([w], [np.ones(5000)], [sw])
    assert sw["t"] == 1 and np.allclose(w, 0.9)
    nadam = optim.Nadam(variant="torch")
    s = nadam.init(w)
    s["mu_product"] = np.array(1.0)
    with pytest.raises(ValueError, match=r"state\['mu_product'\] must be a float"):
        nadam.step_many([w], [np.ones(5000)], [s])
