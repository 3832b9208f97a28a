"""Extreme inputs (overflowing logit spreads, residuals past the float maximum, sums that
overflow) give the correctly rounded inf or 0, with no NaN and no RuntimeWarning, as torch does."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from descentlab import losses

torch = pytest.importorskip("torch")
F = torch.nn.functional

INF = np.inf
REDUCTIONS = ("mean", "sum", "none")


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# Logits whose spread max - min exceeds the float maximum: z - max(z) rounds to -inf there.
SPREADS = {"float64": np.array([1e308, -1e308]), "float32": np.array([3e38, -3e38], np.float32)}


@pytest.mark.usefixtures("no_warnings")
@pytest.mark.parametrize("z", SPREADS.values(), ids=SPREADS.keys())
def test_overflowing_logit_spread_gives_no_nan_and_no_warning(z):
    """log_softmax(z) = [0, -(spread)] = [0, -inf] after rounding, so by hand: the right class
    costs exactly 0, the wrong one inf (the true 2e308 is not representable), the gradient is
    softmax - p = [1, 0] - p, and the entropy of softmax = [1, 0] is 0 with gradient 0."""
    right, wrong = np.array([1.0, 0.0], z.dtype), np.array([0.0, 1.0], z.dtype)
    for target, value, grad in ((right, 0.0, [0.0, 0.0]), (wrong, INF, [1.0, -1.0])):
        for y in (target, np.argmax(target)):
            L = losses.cross_entropy(y, z, from_logits=True)
            assert L == value and L.dtype == z.dtype
            np.testing.assert_array_equal(
                losses.cross_entropy.grad(y, z, from_logits=True), grad)
        assert losses.kl_div(target, z, from_logits=True) == value
        np.testing.assert_array_equal(losses.kl_div.grad(target, z, from_logits=True), grad)
    batch = np.stack([z, z[::-1]])
    for reduction in REDUCTIONS:
        np.testing.assert_array_equal(
            losses.entropy(batch, from_logits=True, reduction=reduction),
            np.zeros(2) if reduction == "none" else 0.0)
        np.testing.assert_array_equal(
            losses.entropy.grad(batch, from_logits=True, reduction=reduction), np.zeros((2, 2)))


# Residuals past the float maximum, and inf - inf; torch.nn.functional gives inf / nan silently.
Y = np.array([1e308, 0.0, 0.0, 0.0, INF])
YP = np.array([-1e308, 1e308, -INF, 2e154, INF])
TORCH = {"mae": F.l1_loss, "mse": F.mse_loss, "huber": F.huber_loss}


@pytest.mark.usefixtures("no_warnings")
@pytest.mark.parametrize("name", ["mae", "mse", "huber", "log_cosh", "quantile"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses_overflow_to_inf_silently_like_torch(name, reduction):
    loss = getattr(losses, name)
    L = loss(Y, YP, reduction=reduction)
    g = loss.grad(Y, YP, reduction=reduction)
    assert np.isnan(L).all() if reduction != "none" else np.isnan(L[-1])  # inf - inf
    finite = slice(0, 4)  # the elements whose residual is a number (inf or finite)
    L4 = loss(Y[finite], YP[finite], reduction=reduction)
    g4 = loss.grad(Y[finite], YP[finite], reduction=reduction)
    np.testing.assert_allclose(g[finite], g4 if reduction != "mean" else g4 * (4 / 5),
                               rtol=1e-15)
    if name in TORCH:
        yp = torch.tensor(YP[finite], requires_grad=True)
        T = TORCH[name](yp, torch.tensor(Y[finite]), reduction=reduction)
        (G,) = torch.autograd.grad(T.sum(), yp)
        np.testing.assert_array_equal(L4, T.detach().numpy())
        np.testing.assert_array_equal(g4, G.numpy())
    else:  # by hand: residuals r = y - yp = [2e308 -> inf, -1e308, inf, -2e154]
        r = np.array([INF, -1e308, INF, -2e154])
        expected = np.abs(r) - np.log(2.0) if name == "log_cosh" else np.abs(r) / 2  # q = 1/2
        np.testing.assert_array_equal(L4, expected if reduction == "none" else INF)
        scale = 0.25 if reduction == "mean" else 1.0
        np.testing.assert_array_equal(g4, -np.sign(r) * (1.0 if name == "log_cosh" else 0.5)
                                      * scale)
