"""Binary cross-entropy stays exact for tiny probabilities (-log(1 - p) as -log1p(-p), as torch
computes it)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from descentlab import losses

torch = pytest.importorskip("torch")
F = torch.nn.functional


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.usefixtures("no_warnings")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bce_is_exact_for_tiny_probabilities_like_torch(dtype):
    """-log(1 - p) must be computed as -log1p(-p): log(1 - 1e-10) is off by 8e-8 relative, and
    1 - 1e-20 rounds to 1 (loss 0 for the true 1e-20). torch uses log1p too."""
    p = np.array([1e-20, 1e-10, 1e-6, 0.3, 1.0], dtype)
    y = np.array([0.0, 0.0, 0.25, 0.5, 0.0], dtype)
    got = losses.binary_cross_entropy(y, p, reduction="none")
    assert got.dtype == dtype
    T = F.binary_cross_entropy(torch.tensor(p), torch.tensor(y), reduction="none").numpy()
    p64, y64 = p.astype(np.float64), y.astype(np.float64)
    with np.errstate(divide="ignore"):  # log1p(-1) = -inf
        exact = -(y64 * np.log(p64) + (1 - y64) * np.log1p(-p64))
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(got[:4], T[:4], rtol=rtol, atol=0)
    np.testing.assert_allclose(got, exact, rtol=rtol, atol=0)  # last: inf (torch clamps: 100)
