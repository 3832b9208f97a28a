"""The lecture's worked example, infinities without NaN or warnings, huge logits, the listing."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

from descentlab import losses
from descentlab.cli import main

INF = np.inf


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# The lecture's label [0, 1] in every form the target may take.
LABELS = {
    "float one-hot": np.array([0.0, 1.0]),
    "int one-hot": np.array([0, 1]),
    "class label": np.array(1),
}


@pytest.mark.usefixtures("no_warnings")
@pytest.mark.parametrize("label", LABELS.values(), ids=LABELS.keys())
def test_lecture_worked_example_cross_entropy(label):
    right, wrong = np.array([0.0, 1.0]), np.array([1.0, 0.0])
    for reduction in ("mean", "sum", "none"):
        zero = losses.cross_entropy(label, right, reduction=reduction)
        assert zero == 0.0 and not np.signbit(zero)  # exactly +0, not -0 or NaN
        assert losses.cross_entropy(label, wrong, reduction=reduction) == INF
    np.testing.assert_array_equal(losses.cross_entropy.grad(label, right), [0.0, -1.0])
    np.testing.assert_array_equal(losses.cross_entropy.grad(label, wrong), [0.0, -INF])


@pytest.mark.usefixtures("no_warnings")
def test_lecture_worked_example_kl_bce_entropy():
    label, right, wrong = np.array([0.0, 1.0]), np.array([0.0, 1.0]), np.array([1.0, 0.0])
    assert losses.kl_div(label, right) == 0.0
    assert losses.kl_div(label, wrong) == INF
    np.testing.assert_array_equal(losses.kl_div.grad(label, wrong), [0.0, -INF])
    assert losses.entropy(label) == 0.0
    np.testing.assert_array_equal(losses.entropy.grad(label), [INF, -1.0])  # d(-p log p)/dp
    # BCE, element-wise: y = [0, 1]; p = y costs 0, p = 1 - y costs inf in each element
    np.testing.assert_array_equal(losses.binary_cross_entropy(label, right, reduction="none"),
                                  [0.0, 0.0])
    np.testing.assert_array_equal(losses.binary_cross_entropy(label, wrong, reduction="none"),
                                  [INF, INF])
    np.testing.assert_array_equal(losses.binary_cross_entropy.grad(label, wrong, reduction="sum"),
                                  [INF, -INF])
    np.testing.assert_array_equal(losses.binary_cross_entropy.grad(label, right, reduction="sum"),
                                  [1.0, -1.0])


@pytest.mark.usefixtures("no_warnings")
def test_zero_probabilities_in_a_batch_never_give_nan():
    p = np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    q = np.array([[0.0, 0.5, 0.5], [0.0, 0.5, 0.5], [0.2, 0.0, 0.8]])
    for fn in (losses.cross_entropy, losses.kl_div):
        per_sample = fn(p, q, reduction="none")
        assert per_sample[1] == INF and np.isfinite(per_sample[[0, 2]]).all()
        g = fn.grad(p, q, reduction="none")
        assert not np.isnan(g).any()
        assert g[1, 0] == -INF and (g[p == 0] == 0).all()
    np.testing.assert_allclose(losses.kl_div(p, q, reduction="none")[[0, 2]],
                               [0.0, np.log(1 / 0.8)], rtol=1e-15, atol=0)
    assert not np.isnan(losses.entropy.grad(p)).any()


@pytest.mark.usefixtures("no_warnings")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [30.0, 1e3, 1e6])
def test_confident_wrong_logits_give_large_finite_loss(dtype, scale):
    z = np.array([[scale, -scale], [-scale, scale]], dtype=dtype)
    target = np.array([[0.0, 1.0], [0.0, 1.0]], dtype=dtype)
    labels = np.array([1, 1])
    for y in (target, labels):
        L = losses.cross_entropy(y, z, from_logits=True, reduction="none")
        assert L.dtype == dtype
        np.testing.assert_allclose(L, [2 * scale, 0.0], rtol=1e-6)
        g = losses.cross_entropy.grad(y, z, from_logits=True, reduction="sum")
        np.testing.assert_allclose(g, [[1.0, -1.0], [0.0, 0.0]], atol=1e-6)
    np.testing.assert_allclose(losses.kl_div(target, z, from_logits=True, reduction="none"),
                               [2 * scale, 0.0], rtol=1e-6)
    assert np.isfinite(losses.kl_div.grad(target, z, from_logits=True)).all()
    bce = losses.binary_cross_entropy(target, z, from_logits=True, reduction="none")
    # element-wise: y = 0 with z = +scale and y = 1 with z = -scale are both wrong by 'scale'
    np.testing.assert_allclose(bce, [[scale, scale], [0.0, 0.0]], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        losses.binary_cross_entropy.grad(target, z, from_logits=True, reduction="sum"),
        [[1.0, -1.0], [0.0, 0.0]], atol=1e-6)
    H = losses.entropy(z, from_logits=True, reduction="none")
    assert np.isfinite(H).all() and (H >= 0).all()
    assert np.isfinite(losses.entropy.grad(z, from_logits=True)).all()


@pytest.mark.usefixtures("no_warnings")
def test_log_cosh_large_residuals_finite():
    y = np.zeros(3)
    yp = np.array([1e3, -1e5, 1e300])
    np.testing.assert_allclose(losses.log_cosh(y, yp, reduction="none"),
                               np.abs(yp) - np.log(2.0), rtol=1e-15)
    np.testing.assert_array_equal(losses.log_cosh.grad(y, yp, reduction="sum"), [1.0, -1.0, 1.0])


@pytest.mark.usefixtures("no_warnings")
def test_huber_with_infinite_delta_is_half_mse():
    y, yp = np.array([0.0, 1.0, 5.0]), np.array([3.0, -1.0, 5.5])
    np.testing.assert_allclose(losses.huber(y, yp, delta=np.inf), 0.5 * losses.mse(y, yp),
                               rtol=1e-15)


def test_signatures_show_keyword_arguments():
    expected = {
        "mae": "(y_true, y_pred, *, reduction='mean')",
        "mse": "(y_true, y_pred, *, reduction='mean')",
        "huber": "(y_true, y_pred, *, delta=1.0, reduction='mean')",
        "log_cosh": "(y_true, y_pred, *, reduction='mean')",
        "quantile": "(y_true, y_pred, *, q=0.5, reduction='mean')",
        "cross_entropy": "(y_true, y_pred, *, from_logits=False, reduction='mean')",
        "binary_cross_entropy": "(y_true, y_pred, *, from_logits=False, reduction='mean')",
        "kl_div": "(y_true, y_pred, *, from_logits=False, reduction='mean')",
        "entropy": "(p, *, from_logits=False, reduction='mean')",
    }
    for name in losses.names():
        fn = getattr(losses, name)
        assert str(inspect.signature(fn)) == expected[name]
        assert inspect.signature(fn.grad) == inspect.signature(fn)
        assert fn.grad.__qualname__ == f"{name}.grad"
        assert fn.__doc__ and ">>>" in fn.__doc__ and ">>>" in fn.grad.__doc__


def test_descentlab_list_prints_losses_with_defaults(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "huber(y_true, y_pred, *, delta=1.0, reduction='mean')" in out
    assert "quantile(y_true, y_pred, *, q=0.5, reduction='mean')" in out
    assert "entropy(p, *, from_logits=False, reduction='mean')" in out
    for name in losses.names():
        assert f"\n  {name}{inspect.signature(getattr(losses, name))}\n" in out


def test_log_cosh_is_exact_for_small_residuals_and_quiet_at_the_extremes():
    """Against mpmath at 50 digits from r = 1e-12 to 700: a relative error of a few ulp (the
    softplus form alone cancels near 0: 1.1e-16 at r = 1e-8 for the true 5e-17)."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    r = np.concatenate([np.logspace(-12, np.log10(700), 400), [0.999, 1.0, 1.001]])
    got = losses.log_cosh(np.zeros_like(r), r, reduction="none")
    exact = np.array([float(mpmath.log(mpmath.cosh(mpmath.mpf(float(x))))) for x in r])
    np.testing.assert_allclose(got, exact, rtol=4e-16, atol=0)
    assert losses.log_cosh(np.zeros(1), np.array([0.0]), reduction="sum") == 0.0
    r32 = r.astype(np.float32)
    got32 = losses.log_cosh(np.zeros_like(r32), r32, reduction="none")
    assert got32.dtype == np.float32
    exact32 = [float(mpmath.log(mpmath.cosh(mpmath.mpf(float(x))))) for x in r32]
    np.testing.assert_allclose(got32, np.array(exact32, dtype=np.float32), rtol=3e-7)
    # nan stays nan and the float maximum stays finite, with no RuntimeWarning (an error here)
    out = losses.log_cosh(np.zeros(3), np.array([np.nan, 1e308, -1e308]), reduction="none")
    assert np.isnan(out[0]) and out[1] == out[2] == 1e308 - np.log(2)
