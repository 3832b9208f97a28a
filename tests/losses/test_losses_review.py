"""Defects found in review: extreme inputs must give the correctly rounded inf or 0 with no NaN
and no RuntimeWarning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from descentlab import losses

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
