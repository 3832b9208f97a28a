"""Plumbing shared by every loss: input coercion, validation, reductions, stable primitives.

Nothing here is public. The loss modules call :func:`regression_inputs` or
:func:`distribution_inputs`, compute in NumPy inside :func:`quiet` (so that ``0 * log 0`` and
``1 / 0`` produce no RuntimeWarning: the modules replace those values on purpose), then hand the
result to :func:`reduce` / :func:`reduce_grad` and :func:`restore`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from descentlab._backend import is_torch
from descentlab._validation import check_in_range, check_same_shape

REDUCTIONS = ("mean", "sum", "none")


def quiet():
    """Silence NumPy's floating-point warnings: inf and 0*inf are handled explicitly by callers."""
    return np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore")


# ------------------------------------------------------------------------------------ arguments
def check_reduction(reduction, owner: str) -> str:
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(
            f"The 'reduction' parameter of {owner} must be one of 'mean', 'sum', 'none'. "
            f"Got {reduction!r} instead."
        )
    return reduction


def check_param(value, *, name: str, owner: str, shape, low=None, high=None,
                low_closed=True, high_closed=True):
    """A loss hyperparameter (``delta``, ``q``): a float, or an array broadcasting to ``shape``."""
    value = check_in_range(value, name=name, owner=owner, low=low, high=high,
                           low_closed=low_closed, high_closed=high_closed)
    if isinstance(value, np.ndarray):
        try:
            fits = np.broadcast_shapes(value.shape, tuple(shape)) == tuple(shape)
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"The {name!r} parameter of {owner} has shape {value.shape}, which does not "
                f"broadcast to y_pred's shape {tuple(shape)} without changing it."
            )
    return value


def _to_numpy(x, name: str, owner: str) -> np.ndarray:
    if is_torch(x):
        torch = sys.modules["torch"]
        x = x.detach().cpu()
        if x.dtype in (torch.bfloat16,):  # NumPy has no bfloat16
            x = x.to(torch.float32)
        x = x.numpy()
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{owner}: {name} must be a real-valued NumPy array, torch tensor or nested list of "
            f"numbers. Got {type(x).__name__} with dtype {arr.dtype}."
        )
    return arr


def _float_dtype(*arrays: np.ndarray) -> np.dtype:
    floats = [a.dtype for a in arrays if a.dtype.kind == "f"]
    return np.result_type(*floats) if floats else np.dtype(np.float64)


@dataclass
class Inputs:
    """Validated inputs as NumPy arrays of one float dtype (``labels`` stays integer)."""

    y_true: np.ndarray
    y_pred: np.ndarray
    like: object  # the torch tensor whose type/device the result takes, or None for NumPy
    labels: bool = False  # y_true holds integer class labels

    @property
    def n_samples(self) -> int:
        """How many values a distribution loss averages over: prod(y_pred.shape[:-1])."""
        return int(np.prod(self.y_pred.shape[:-1], dtype=np.int64))


def _like(y_true, y_pred):
    return y_pred if is_torch(y_pred) else (y_true if is_torch(y_true) else None)


def regression_inputs(y_true, y_pred, owner: str) -> Inputs:
    """Two real arrays of exactly the same shape, cast to their common float dtype."""
    like = _like(y_true, y_pred)
    yt, yp = _to_numpy(y_true, "y_true", owner), _to_numpy(y_pred, "y_pred", owner)
    check_same_shape(yt, yp, name_a="y_true", name_b="y_pred", owner=owner)
    dt = _float_dtype(yt, yp)
    return Inputs(yt.astype(dt, copy=False), yp.astype(dt, copy=False), like)


def check_probabilities(x: np.ndarray, name: str, owner: str, hint: str = "") -> None:
    try:
        check_in_range(x, name=name, owner=owner, low=0.0, high=1.0)
    except ValueError as err:
        raise ValueError(f"{err}{hint}") from None


def check_logits(x: np.ndarray, name: str, owner: str) -> None:
    # Finite logits only: +inf / NaN have no softmax, and -inf would make 0 * inf appear in the
    # logits path. Give impossible classes probability 0 with from_logits=False instead.
    if not np.isfinite(x).all():
        check_in_range(x, name=name, owner=owner, low=-np.inf, high=np.inf,
                       low_closed=False, high_closed=False)


def _check_labels(labels: np.ndarray, n_classes: int, owner: str) -> None:
    bad = (labels < 0) | (labels >= n_classes)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"The 'y_true' parameter of {owner} holds class labels, which must be integers in the "
            f"range [0, {n_classes - 1}] (y_pred has {n_classes} classes on its last axis). "
            f"Got {int(labels[idx])} at index {idx} ({int(bad.sum())} of {labels.size} labels "
            "invalid)."
        )


def distribution_inputs(y_true, y_pred, owner: str, *, from_logits: bool,
                        allow_labels: bool) -> Inputs:
    """A target (probabilities, or integer labels if allowed) and a prediction with a class axis.

    Shape rule: ``y_true.shape == y_pred.shape`` means probabilities (whatever the dtype, so a
    one-hot integer array is a distribution); ``y_true.shape == y_pred.shape[:-1]`` with an integer
    dtype means class labels; anything else is an error.
    """
    like = _like(y_true, y_pred)
    yt, yp = _to_numpy(y_true, "y_true", owner), _to_numpy(y_pred, "y_pred", owner)
    if yp.ndim == 0 or yp.shape[-1] == 0:
        raise ValueError(
            f"{owner}: y_pred must have a non-empty class axis (its last axis). "
            f"Got shape {yp.shape}."
        )
    labels = False
    if yt.shape != yp.shape:
        if not allow_labels:
            check_same_shape(yt, yp, name_a="y_true", name_b="y_pred", owner=owner)
        if yt.shape != yp.shape[:-1]:
            raise ValueError(
                f"{owner}: y_true has shape {yt.shape} but y_pred has shape {yp.shape}; y_true "
                f"must have shape {yp.shape} (probabilities) or {yp.shape[:-1]} (integer class "
                "labels). No broadcasting."
            )
        if yt.dtype.kind not in "iu":
            raise ValueError(
                f"{owner}: y_true of shape {yt.shape} = y_pred.shape[:-1] is read as class labels, "
                f"which must have an integer dtype. Got dtype {yt.dtype}."
            )
        labels = True
    dt = _float_dtype(yp) if labels else _float_dtype(yt, yp)
    yp = yp.astype(dt, copy=False)
    if labels:
        _check_labels(yt, yp.shape[-1], owner)
    else:
        hint = ("" if yt.dtype.kind not in "iu" else
                " (An integer y_true with the same shape as y_pred is read as probabilities, e.g. "
                "one-hot rows; class labels have shape y_pred.shape[:-1].)")
        yt = yt.astype(dt, copy=False)
        check_probabilities(yt, "y_true", owner, hint)
    if from_logits:
        check_logits(yp, "y_pred", owner)
    else:
        check_probabilities(yp, "y_pred", owner)
        yp = yp + 0.0  # turns -0.0 into +0.0, so that -p / q is -inf, never +inf
    return Inputs(yt, yp, like, labels)


def probability_inputs(p, owner: str, *, from_logits: bool) -> Inputs:
    """One distribution (``entropy``): probabilities in [0, 1] or finite logits; a class axis."""
    like = p if is_torch(p) else None
    arr = _to_numpy(p, "p", owner)
    if arr.ndim == 0 or arr.shape[-1] == 0:
        raise ValueError(
            f"{owner}: p must have a non-empty class axis (its last axis). Got shape {arr.shape}."
        )
    arr = arr.astype(_float_dtype(arr), copy=False)
    if from_logits:
        check_logits(arr, "p", owner)
    else:
        check_probabilities(arr, "p", owner)
        arr = arr + 0.0
    return Inputs(arr, arr, like)


# ----------------------------------------------------------------------------------- reductions
def _count(n: int, reduction: str, owner: str) -> int:
    if reduction == "mean" and n == 0:
        raise ValueError(f"{owner}: reduction='mean' over zero values is undefined (empty input).")
    return n


def reduce(L: np.ndarray, reduction: str, n: int, owner: str):
    """``L`` per element (or per sample) -> "none": L, "sum": sum L, "mean": sum L / n."""
    if reduction == "none":
        return L
    with quiet():  # a sum past the float maximum is inf (as torch's), without a RuntimeWarning
        total = L.sum()
    return total if reduction == "sum" else total / _count(n, reduction, owner)


def reduce_grad(g: np.ndarray, reduction: str, n: int, owner: str) -> np.ndarray:
    """``g`` = d(sum L)/dy_pred -> the gradient of the reduced loss (for "none": of sum L)."""
    return g / _count(n, reduction, owner) if reduction == "mean" else g


def restore(result, inputs: Inputs, *, dtype=None):
    """NumPy result -> the caller's type: a torch tensor on ``like``'s device, or NumPy as is."""
    if dtype is not None:
        result = np.asarray(result).astype(dtype, copy=False)
    like = inputs.like
    if like is None:
        return result
    torch = sys.modules["torch"]
    out = torch.as_tensor(np.asarray(result), device=like.device)
    return out.to(like.dtype) if like.dtype.is_floating_point else out


# ------------------------------------------------------------------------------------ primitives
def x_times(x: np.ndarray, log_y: np.ndarray) -> np.ndarray:
    """x * log_y for an already computed log, with 0 * anything = 0 (so 0 * -inf = 0)."""
    with quiet():
        return np.where(x == 0, 0.0, x * log_y).astype(np.result_type(x, log_y), copy=False)


def xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x * log(y), with 0 * log(anything) = 0 (so 0 * log 0 = 0); -inf where x > 0 and y = 0."""
    with quiet():
        return x_times(x, np.log(y))


def x_over_y(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x / y, with 0 / anything = 0; +inf where x > 0 and y = 0 (y >= 0 assumed)."""
    with quiet():
        return np.where(x == 0, 0.0, x / y).astype(np.result_type(x, y), copy=False)


def neg(x):
    """-x, but 0 stays +0.0 (so that a zero loss prints as 0.0, not -0.0)."""
    return 0.0 - x


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x) without overflow: NumPy's logaddexp computes max + log1p(exp(-|x|))."""
    return np.logaddexp(0.0, x).astype(x.dtype, copy=False)


def log_softmax(z: np.ndarray) -> np.ndarray:
    """z - logsumexp(z) over the last axis, shifted by the maximum so that exp never overflows.

    Finite for finite z, except where a logit lies more than the float maximum below the
    largest one (a spread like [1e308, -1e308]): there the true value is not representable and
    rounds to -inf. Callers multiply it with ``x_times`` so that 0 * -inf stays 0.
    """
    with quiet():  # exp(-large) underflows to 0 and z - max may overflow to -inf: both harmless
        s = z - z.max(axis=-1, keepdims=True)
        return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


def with_grad(grad):
    """Decorator: attach ``grad`` to the loss as ``loss.grad`` (shown as ``<loss>.grad``)."""

    def attach(loss):
        grad.__name__ = "grad"
        grad.__qualname__ = f"{loss.__name__}.grad"
        loss.grad = grad
        return loss

    return attach
