"""One table drives every loss x reduction: values and gradients against PyTorch (float64, 1e-9),
gradients against central finite differences, output shapes and dtypes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

from descentlab import losses

torch = pytest.importorskip("torch")
F = torch.nn.functional

REDUCTIONS = ("mean", "sum", "none")
SHAPE = (4, 5)


def _reduce(t, reduction):
    """Reduce a torch tensor of per-element / per-sample losses the way our losses do."""
    return {"mean": t.mean, "sum": t.sum, "none": lambda: t}[reduction]()


def _kl_reduction(reduction):
    return {"mean": "batchmean", "sum": "sum", "none": "none"}[reduction]


# ------------------------------------------------------------------------------------ inputs
def _regression(seed=0, shape=SHAPE):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=shape)
    return y, y + 2.0 * rng.normal(size=shape)  # residuals on both sides of delta = 1 and 0.5


def _simplex(rng, shape):
    w = rng.uniform(0.05, 1.0, size=shape)
    return w / w.sum(axis=-1, keepdims=True)


def _probs(seed=0, shape=SHAPE):
    rng = np.random.default_rng(seed)
    return _simplex(rng, shape), _simplex(rng, shape)


def _probs_labels(seed=0, shape=SHAPE):
    rng = np.random.default_rng(seed)
    return rng.integers(0, shape[-1], size=shape[:-1]), _simplex(rng, shape)


def _logits(seed=0, shape=SHAPE):
    rng = np.random.default_rng(seed)
    return _simplex(rng, shape), 3.0 * rng.normal(size=shape)


def _soft_logits(seed=0, shape=SHAPE):  # targets whose rows do NOT sum to 1 (taken as given)
    rng = np.random.default_rng(seed)
    return rng.uniform(0.0, 1.0, size=shape), 3.0 * rng.normal(size=shape)


def _logits_labels(seed=0, shape=SHAPE):
    rng = np.random.default_rng(seed)
    return rng.integers(0, shape[-1], size=shape[:-1]), 3.0 * rng.normal(size=shape)


def _binary(seed=0, shape=SHAPE):
    rng = np.random.default_rng(seed)
    y = rng.uniform(size=shape)
    y[0] = rng.integers(0, 2, size=shape[1:])  # hard labels too
    return y, rng.uniform(0.02, 0.98, size=shape)


def _binary_logits(seed=0, shape=SHAPE):
    y, _ = _binary(seed, shape)
    return y, 4.0 * np.random.default_rng(seed + 1).normal(size=shape)


def _one(make):
    return lambda seed=0, shape=SHAPE: make(seed, shape)[1:]


def _one_probs(seed=0, shape=SHAPE):
    return (_simplex(np.random.default_rng(seed), shape),)


# ----------------------------------------------------------------------------- torch references
def _ce_probs_ref(p, q, r):  # -sum p log q, q a free variable (torch.special.xlogy: 0 log 0 = 0)
    return _reduce(-torch.special.xlogy(p, q).sum(-1), r)


def _ce_probs_value_ref(p, q, r):  # the same through F.cross_entropy (rows of q sum to 1)
    return F.cross_entropy(torch.log(q).movedim(-1, 1), p.movedim(-1, 1), reduction=r)


def _classes_first(t):  # torch wants (N, C, d1, ...); ours is (..., C)
    return t.movedim(-1, 1) if t.ndim > 2 else t


def _entropy_probs_value_ref(p, r):
    return _reduce(torch.distributions.Categorical(probs=p).entropy(), r)


@dataclass
class Case:
    name: str
    make: Callable
    ref: Callable  # torch reference, (*args, reduction) -> tensor; differentiated w.r.t. args[-1]
    kw: dict = field(default_factory=dict)
    value_ref: Callable | None = None  # a second, value-only reference
    per_sample: bool = False  # "none" returns shape[:-1]


CASES = [
    Case("mae", _regression, lambda y, yp, r: F.l1_loss(yp, y, reduction=r)),
    Case("mse", _regression, lambda y, yp, r: F.mse_loss(yp, y, reduction=r)),
    Case("huber", _regression, lambda y, yp, r: F.huber_loss(yp, y, reduction=r, delta=1.0)),
    Case("huber", _regression, lambda y, yp, r: F.huber_loss(yp, y, reduction=r, delta=0.5),
         kw={"delta": 0.5}),
    Case("log_cosh", _regression, lambda y, yp, r: _reduce(torch.log(torch.cosh(yp - y)), r)),
    *[Case("quantile", _regression, kw={"q": q},
           ref=lambda y, yp, r, q=q: _reduce(torch.maximum(q * (y - yp), (q - 1) * (y - yp)), r))
      for q in (0.1, 0.5, 0.9)],
    Case("cross_entropy", _probs, _ce_probs_ref, value_ref=_ce_probs_value_ref, per_sample=True),
    Case("cross_entropy", _probs_labels, per_sample=True,
         ref=lambda c, q, r: F.nll_loss(torch.log(q), c, reduction=r)),
    Case("cross_entropy", _logits, kw={"from_logits": True}, per_sample=True,
         ref=lambda p, z, r: F.cross_entropy(z, p, reduction=r)),
    Case("cross_entropy", _soft_logits, kw={"from_logits": True}, per_sample=True,
         ref=lambda p, z, r: F.cross_entropy(z, p, reduction=r)),
    Case("cross_entropy", _logits_labels, kw={"from_logits": True}, per_sample=True,
         ref=lambda c, z, r: F.cross_entropy(z, c, reduction=r)),
    Case("cross_entropy", lambda seed=0, shape=(2, 3, 4): _logits_labels(seed, (2, 3, 4)),
         kw={"from_logits": True}, per_sample=True,
         ref=lambda c, z, r: F.cross_entropy(_classes_first(z), c, reduction=r)),
    Case("binary_cross_entropy", _binary,
         lambda y, p, r: F.binary_cross_entropy(p, y, reduction=r)),
    Case("binary_cross_entropy", _binary_logits, kw={"from_logits": True},
         ref=lambda y, z, r: F.binary_cross_entropy_with_logits(z, y, reduction=r)),
    Case("kl_div", _probs, per_sample=True,
         ref=lambda p, q, r: F.kl_div(torch.log(q), p, reduction=_kl_reduction(r))
         if r != "none" else F.kl_div(torch.log(q), p, reduction="none").sum(-1)),
    *[Case("kl_div", make, kw={"from_logits": True}, per_sample=True,
           ref=lambda p, z, r: F.kl_div(F.log_softmax(z, -1), p, reduction=_kl_reduction(r))
           if r != "none" else F.kl_div(F.log_softmax(z, -1), p, reduction="none").sum(-1))
      for make in (_logits, _soft_logits)],
    Case("entropy", _one_probs, per_sample=True,
         ref=lambda p, r: _reduce(-torch.special.xlogy(p, p).sum(-1), r),
         value_ref=_entropy_probs_value_ref),
    Case("entropy", _one(_logits), kw={"from_logits": True}, per_sample=True,
         ref=lambda z, r: _reduce(torch.distributions.Categorical(logits=z).entropy(), r)),
]
IDS = [f"{c.name}-{c.make.__name__.strip('_<>')}" + "".join(f"-{k}={v}" for k, v in c.kw.items())
       for c in CASES]


def _call(case, args, reduction, *, grad=False):
    fn = getattr(losses, case.name)
    return (fn.grad if grad else fn)(*args, **case.kw, reduction=reduction)


def test_table_covers_every_loss():
    assert {c.name for c in CASES} == set(losses.names())
    assert losses.names() == ["mae", "mse", "huber", "log_cosh", "quantile", "cross_entropy",
                              "binary_cross_entropy", "kl_div", "entropy"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_value_and_grad_match_torch(case, reduction):
    args = case.make()
    value = _call(case, args, reduction)
    grad = _call(case, args, reduction, grad=True)

    targs = [torch.tensor(a) for a in args]
    targs[-1].requires_grad_(True)
    ref = case.ref(*targs, reduction)
    np.testing.assert_allclose(value, ref.detach().numpy(), rtol=1e-9, atol=1e-12)
    if case.value_ref is not None:
        other = case.value_ref(*[t.detach() for t in targs], reduction)
        np.testing.assert_allclose(value, other.numpy(), rtol=1e-9, atol=1e-12)
    ref.sum().backward()  # for "none", our grad is the derivative of the sum
    np.testing.assert_allclose(grad, targs[-1].grad.numpy(), rtol=1e-9, atol=1e-12)

    x = args[-1]
    assert grad.shape == x.shape and grad.dtype == np.float64
    expected = {"none": x.shape[:-1] if case.per_sample else x.shape}.get(reduction, ())
    assert np.shape(value) == expected


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_grad_matches_central_differences(case, reduction):
    args = case.make(seed=1, shape=(3, 4))
    x = args[-1]
    grad = _call(case, args, reduction, grad=True)

    def f(x_new):
        return float(np.sum(_call(case, (*args[:-1], x_new), reduction)))

    h = 1e-6
    fd = np.empty_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        fd[i] = (f(x + e) - f(x - e)) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float32_in_float32_out(case):
    args = [a.astype(np.float32) if a.dtype.kind == "f" else a for a in case.make()]
    for reduction in REDUCTIONS:
        value = _call(case, args, reduction)
        grad = _call(case, args, reduction, grad=True)
        assert np.asarray(value).dtype == np.float32 and grad.dtype == np.float32
        ref = _call(case, [a.astype(np.float64) if a.dtype.kind == "f" else a for a in args],
                    reduction)
        np.testing.assert_allclose(value, ref, rtol=1e-4)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_torch_tensors_in_tensors_out(case):
    args = case.make()
    targs = [torch.tensor(a, dtype=torch.float32) if a.dtype.kind == "f" else torch.tensor(a)
             for a in args]
    for reduction in REDUCTIONS:
        value = _call(case, targs, reduction)
        grad = _call(case, targs, reduction, grad=True)
        assert isinstance(value, torch.Tensor) and isinstance(grad, torch.Tensor)
        assert value.dtype == torch.float32 and grad.dtype == torch.float32
        assert grad.shape == targs[-1].shape
        np32 = [t.numpy() for t in targs]
        np.testing.assert_array_equal(value.numpy(), _call(case, np32, reduction))
        np.testing.assert_array_equal(grad.numpy(), _call(case, np32, reduction, grad=True))


def test_lists_are_accepted_and_computed_in_float64():
    assert float(losses.mse([1, 2], [1, 4])) == 2.0
    assert losses.mse.grad([1, 2], [1, 4]).dtype == np.float64


def test_array_hyperparameters_equal_row_by_row_runs():
    y, yp = _regression(shape=(3, 4))
    delta = np.array([[0.3], [1.0], [2.0]])
    q = np.array([[0.1], [0.5], [0.9]])
    for fn, kw, col in ((losses.huber, "delta", delta), (losses.quantile, "q", q)):
        for reduction in ("none", "sum"):
            got = fn(y, yp, **{kw: col}, reduction=reduction)
            rows = [fn(y[i], yp[i], **{kw: float(col[i, 0])}, reduction="none") for i in range(3)]
            np.testing.assert_allclose(np.sum(got) if reduction == "sum" else got,
                                       np.sum(rows) if reduction == "sum" else np.stack(rows),
                                       rtol=1e-15)
            g = fn.grad(y, yp, **{kw: col}, reduction=reduction)
            g_rows = [fn.grad(y[i], yp[i], **{kw: float(col[i, 0])}, reduction="sum")
                      for i in range(3)]
            np.testing.assert_array_equal(g, np.stack(g_rows))


def test_mae_subgradient_at_zero_is_zero_like_torch():
    y = np.array([1.0, 2.0, 3.0])
    yp = np.array([1.0, 0.0, 5.0])  # a tie in the first element
    np.testing.assert_array_equal(losses.mae.grad(y, yp, reduction="sum"), [0.0, -1.0, 1.0])
    t = torch.tensor(yp, requires_grad=True)
    F.l1_loss(t, torch.tensor(y), reduction="sum").backward()
    np.testing.assert_array_equal(t.grad.numpy(), [0.0, -1.0, 1.0])


def test_quantile_subgradient_at_zero_is_the_midpoint():
    y = np.array([1.0, 1.0, 1.0])
    g = losses.quantile.grad(y, y, q=0.9, reduction="sum")
    np.testing.assert_allclose(g, [0.5 - 0.9] * 3, rtol=1e-15)  # midpoint of [-q, 1 - q]
    np.testing.assert_array_equal(losses.quantile.grad(y, y, reduction="sum"), [0.0] * 3)


def test_huber_grad_at_the_seam_is_continuous():
    y = np.zeros(2)
    yp = np.array([1.0, -1.0])  # |r| = delta exactly: both branches give +-delta
    np.testing.assert_array_equal(losses.huber.grad(y, yp, reduction="sum"), [1.0, -1.0])
    np.testing.assert_array_equal(losses.huber(y, yp, reduction="none"), [0.5, 0.5])
