"""Hypothesis: inequalities and identities that hold for every input, not just the table's."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from descentlab import losses

SETTINGS = settings(max_examples=60, deadline=None)
TOL = dict(rtol=1e-10, atol=1e-10)

shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)
reals = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@st.composite
def pairs(draw):
    shape = draw(shapes)
    return (draw(hnp.arrays(np.float64, shape, elements=reals)),
            draw(hnp.arrays(np.float64, shape, elements=reals)))


@st.composite
def distributions(draw, n=2, zeros=True):
    """n probability arrays of one shape (batch, C), rows summing to 1, some entries exactly 0."""
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 6)))
    weight = st.one_of(st.just(0.0), st.floats(1e-3, 1.0)) if zeros else st.floats(1e-3, 1.0)
    out = []
    for _ in range(n):
        w = draw(hnp.arrays(np.float64, shape, elements=weight))
        w[w.sum(axis=-1) == 0, 0] = 1.0
        out.append(w / w.sum(axis=-1, keepdims=True))
    return out


logit_arrays = st.tuples(st.integers(1, 4), st.integers(1, 6)).flatmap(
    lambda s: hnp.arrays(np.float64, s, elements=st.floats(-30, 30)))


@SETTINGS
@given(pairs(), st.floats(1e-3, 1e3))
@example((np.array([0.0]), np.array([1.3102272059107632e-154])), 1.0)  # a^2/2 subnormal
def test_huber_lies_between_quadratic_and_linear(yy, delta):
    y, yp = yy
    a = np.abs(y - yp)
    L = losses.huber(y, yp, delta=delta, reduction="none")
    assert (L >= 0).all()
    assert (L <= np.minimum(0.5 * a * a, delta * a) * (1 + 1e-12)).all()
    assert (L >= (delta * a - 0.5 * delta**2) * (1 - 1e-12) - 1e-12).all()
    inside = a <= delta
    # 0.5 * a * a (as torch) and 0.5 * a**2 round differently only where a^2 / 2 is subnormal
    np.testing.assert_allclose(L[inside], 0.5 * a[inside] ** 2, rtol=4.5e-16, atol=1e-323)


@SETTINGS
@given(pairs())
def test_mse_nonnegative_zero_at_truth_and_above_mae_squared(yy):
    y, yp = yy
    assert losses.mse(y, yp) >= 0.0
    assert losses.mse(y, y) == 0.0
    assert losses.mse(y, yp) >= losses.mae(y, yp) ** 2 * (1 - 1e-12)  # Jensen


@SETTINGS
@given(pairs())
def test_log_cosh_between_abs_minus_log2_and_min_abs_half_square(yy):
    y, yp = yy
    a = np.abs(y - yp)
    L = losses.log_cosh(y, yp, reduction="none")
    assert (L >= np.maximum(a - np.log(2.0), 0.0) - 1e-12).all()
    assert (L <= np.minimum(a, 0.5 * a * a) + 1e-12).all()


@SETTINGS
@given(pairs(), st.floats(0.01, 0.99))
def test_quantile_pairs_add_up_to_mae(yy, q):
    y, yp = yy
    np.testing.assert_allclose(losses.quantile(y, yp, q=q) + losses.quantile(y, yp, q=1 - q),
                               losses.mae(y, yp), **TOL)
    np.testing.assert_allclose(losses.quantile(y, yp), 0.5 * losses.mae(y, yp), **TOL)


@SETTINGS
@given(distributions())
def test_kl_nonnegative_zero_on_itself_and_ce_is_kl_plus_entropy(pq):
    p, q = pq
    kl = losses.kl_div(p, q, reduction="none")
    assert (kl >= -1e-12).all()
    np.testing.assert_array_equal(losses.kl_div(p, p, reduction="none"), 0.0)
    ce = losses.cross_entropy(p, q, reduction="none")
    H = losses.entropy(p, reduction="none")
    finite = np.isfinite(kl)
    np.testing.assert_allclose(ce[finite], kl[finite] + H[finite], **TOL)
    assert (np.isinf(ce) == ~finite).all()  # inf exactly where some p > 0 meets q = 0
    assert not np.isnan(losses.kl_div.grad(p, q)).any()
    assert not np.isnan(losses.cross_entropy.grad(p, q)).any()


@SETTINGS
@given(distributions(n=1), logit_arrays)
def test_logits_path_equals_probability_path_and_ce_is_kl_plus_entropy(ps, z):
    (p,) = ps
    if p.shape != z.shape:
        z = np.resize(z, p.shape)
    softmax = np.exp(z - z.max(-1, keepdims=True))
    softmax /= softmax.sum(-1, keepdims=True)
    ce = losses.cross_entropy(p, z, from_logits=True, reduction="none")
    kl = losses.kl_div(p, z, from_logits=True, reduction="none")
    np.testing.assert_allclose(ce, kl + losses.entropy(p, reduction="none"), **TOL)
    np.testing.assert_allclose(losses.entropy(z, from_logits=True, reduction="none"),
                               losses.entropy(softmax, reduction="none"), rtol=1e-9, atol=1e-9)
    if softmax.min() > 1e-300:  # where the probability path stays finite
        np.testing.assert_allclose(ce, losses.cross_entropy(p, softmax, reduction="none"),
                                   rtol=1e-9, atol=1e-9)
    # shifting a row of logits changes nothing; the gradient of a row sums to 0
    np.testing.assert_allclose(losses.cross_entropy(p, z + 7.0, from_logits=True), ce.mean(),
                               rtol=1e-9, atol=1e-9)
    g = losses.cross_entropy.grad(p, z, from_logits=True, reduction="sum")
    np.testing.assert_allclose(g.sum(-1), 0.0, atol=1e-12)


@SETTINGS
@given(distributions(n=1, zeros=False), st.data())
def test_class_labels_equal_one_hot_targets(qs, data):
    (q,) = qs
    labels = data.draw(hnp.arrays(np.int64, q.shape[:-1], elements=st.integers(0, q.shape[-1] - 1)))
    one_hot = np.eye(q.shape[-1])[labels]
    for from_logits in (False, True):
        pred = np.log(q) if from_logits else q
        for r in ("none", "mean"):
            np.testing.assert_allclose(
                losses.cross_entropy(labels, pred, from_logits=from_logits, reduction=r),
                losses.cross_entropy(one_hot, pred, from_logits=from_logits, reduction=r), **TOL)
        np.testing.assert_allclose(
            losses.cross_entropy.grad(labels, pred, from_logits=from_logits),
            losses.cross_entropy.grad(one_hot, pred, from_logits=from_logits), **TOL)


@SETTINGS
@given(st.tuples(st.integers(1, 4), st.integers(1, 4)).flatmap(
    lambda s: st.tuples(hnp.arrays(np.float64, s, elements=st.floats(0, 1)),
                        hnp.arrays(np.float64, s, elements=st.floats(-20, 20)))))
def test_bce_from_logits_equals_bce_of_sigmoid(yz):
    y, z = yz
    p = 1.0 / (1.0 + np.exp(-z))
    got = losses.binary_cross_entropy(y, z, from_logits=True, reduction="none")
    np.testing.assert_allclose(got, losses.binary_cross_entropy(y, p, reduction="none"),
                               rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", ["mae", "mse", "huber", "log_cosh", "quantile",
                                  "binary_cross_entropy"])
@SETTINGS
@given(st.tuples(st.integers(1, 4), st.integers(1, 4)).flatmap(
    lambda s: st.tuples(hnp.arrays(np.float64, s, elements=st.floats(0.01, 0.99)),
                        hnp.arrays(np.float64, s, elements=st.floats(0.01, 0.99)))))
def test_mean_grad_is_sum_grad_over_n_and_none_grad_is_sum_grad(name, yy):
    fn = getattr(losses, name)
    y, yp = yy
    g_sum = fn.grad(y, yp, reduction="sum")
    np.testing.assert_array_equal(fn.grad(y, yp, reduction="none"), g_sum)
    np.testing.assert_allclose(fn.grad(y, yp, reduction="mean"), g_sum / y.size, rtol=1e-15)
    np.testing.assert_allclose(fn(y, yp, reduction="mean") * y.size, fn(y, yp, reduction="sum"),
                               rtol=1e-12)
