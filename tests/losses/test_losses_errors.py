"""One table of bad inputs: each raises, naming the argument, the allowed range and the value."""

from __future__ import annotations

import re

import numpy as np
import pytest

from descentlab import losses


def _v(text):
    """A value as the message prints it: '1.5', or 'np.float64(1.5)' (NumPy 2's repr of an array
    element, which descentlab._validation currently prints for arrays)."""
    return rf"(?:np\.float64\()?{re.escape(text)}\)?"


A3 = np.array([0.1, 0.2, 0.7])
Q23 = np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])
Z23 = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])

# (loss name, args, kwargs, exception, message regex); each is checked on the loss AND its .grad
ERRORS = [
    # shapes: never broadcast
    ("mse", (np.zeros(3), np.zeros((3, 1))), {}, ValueError,
     r"mse: y_true has shape \(3,\) but y_pred has shape \(3, 1\); they must match exactly"),
    ("mae", (np.zeros(1), np.zeros(3)), {}, ValueError, r"shape \(1,\) .* \(3,\).*no broadcasting"),
    ("huber", (np.zeros((2, 3)), np.zeros((3, 2))), {}, ValueError, r"huber: y_true has shape"),
    ("binary_cross_entropy", (np.zeros(2), np.zeros(3)), {}, ValueError, r"must match exactly"),
    ("cross_entropy", (np.zeros((2, 2)), Q23), {}, ValueError,
     r"y_true must have shape \(2, 3\) \(probabilities\) or \(2,\) \(integer class labels\)"),
    ("cross_entropy", (np.array([0.0, 2.0]), Q23), {}, ValueError,
     r"read as class labels, which must have an integer dtype. Got dtype float64"),
    ("cross_entropy", (np.array(1), np.array(0.5)), {}, ValueError,
     r"y_pred must have a non-empty class axis .* Got shape \(\)"),
    ("kl_div", (np.array([0, 2]), Q23), {}, ValueError,
     r"kl_div: y_true has shape \(2,\) but y_pred has shape \(2, 3\)"),
    # class labels out of range
    ("cross_entropy", (np.array([0, 3]), Q23), {}, ValueError,
     r"'y_true' parameter of cross_entropy holds class labels, which must be integers in the "
     r"range \[0, 2\] .* Got 3 at index \(1,\)"),
    ("cross_entropy", (np.array([-1, 0]), Z23), {"from_logits": True}, ValueError,
     r"range \[0, 2\].*Got -1 at index \(0,\)"),
    # probabilities outside [0, 1] (target always; prediction unless from_logits)
    ("cross_entropy", (A3, np.array([0.5, 1.5, 0.0])), {}, ValueError,
     r"The 'y_pred' parameter of cross_entropy must be a float in the range \[0.0, 1.0\] "
     r"element-wise. Got " + _v("1.5") + r" at index \(1,\)"),
    ("cross_entropy", (np.array([-0.1, 0.5, 0.6]), A3), {}, ValueError,
     r"'y_true' parameter of cross_entropy .* \[0.0, 1.0\].* Got " + _v("-0.1")
     + r" at index \(0,\)"),
    ("cross_entropy", (np.array([0, 2, 0]), A3), {}, ValueError,
     r"Got " + _v("2.0") + r" at index \(1,\).*read as probabilities, e.g. one-hot"),
    ("cross_entropy", (np.array([np.nan, 0.5, 0.5]), A3), {}, ValueError,
     r"Got " + _v("nan") + " at index"),
    ("cross_entropy", (A3, np.array([1.0, np.inf, 0.0])), {"from_logits": True}, ValueError,
     r"'y_pred' parameter of cross_entropy must be a float in the range \(-inf, inf\) "
     r"element-wise. Got " + _v("inf") + r" at index \(1,\)"),
    ("kl_div", (A3, np.array([0.2, 0.2, 1.2])), {}, ValueError,
     r"'y_pred' parameter of kl_div .* \[0.0, 1.0\].* Got " + _v("1.2")),
    ("kl_div", (np.array([1.5, 0.0, 0.0]), Z23[0]), {"from_logits": True}, ValueError,
     r"'y_true' parameter of kl_div .* \[0.0, 1.0\].* Got " + _v("1.5")),
    ("kl_div", (A3, np.array([0.0, np.nan, 0.0])), {"from_logits": True}, ValueError,
     r"\(-inf, inf\).*Got " + _v("nan")),
    ("binary_cross_entropy", (np.array([1.5]), np.array([0.5])), {}, ValueError,
     r"'y_true' parameter of binary_cross_entropy .* \[0.0, 1.0\] element-wise. Got "
     + _v("1.5")),
    ("binary_cross_entropy", (np.array([1.0]), np.array([-0.5])), {}, ValueError,
     r"'y_pred' parameter of binary_cross_entropy .* \[0.0, 1.0\] element-wise. Got "
     + _v("-0.5")),
    ("binary_cross_entropy", (np.array([2.0]), np.array([-0.5])), {"from_logits": True},
     ValueError, r"'y_true' parameter of binary_cross_entropy .* Got " + _v("2.0")),
    ("binary_cross_entropy", (np.array([1.0]), np.array([-np.inf])), {"from_logits": True},
     ValueError, r"'y_pred' parameter of binary_cross_entropy .* \(-inf, inf\) element-wise. "
     r"Got " + _v("-inf")),
    ("entropy", (np.array([0.5, 1.5]),), {}, ValueError,
     r"'p' parameter of entropy must be a float in the range \[0.0, 1.0\] element-wise. "
     r"Got " + _v("1.5")),
    ("entropy", (np.array(0.5),), {}, ValueError, r"entropy: p must have a non-empty class axis"),
    # hyperparameters
    ("huber", (A3, A3), {"delta": 0.0}, ValueError,
     r"The 'delta' parameter of huber must be a float in the range \(0.0, inf\]. Got 0.0 instead"),
    ("huber", (A3, A3), {"delta": -1}, ValueError, r"'delta' .* \(0.0, inf\]. Got -1 instead"),
    ("huber", (A3, A3), {"delta": float("nan")}, ValueError, r"'delta' .* Got nan instead"),
    ("huber", (A3, A3), {"delta": np.array([1.0, 2.0])}, ValueError,
     r"'delta' parameter of huber has shape \(2,\), which does not broadcast to y_pred's shape "
     r"\(3,\)"),
    ("huber", (A3, A3), {"delta": np.ones((2, 3))}, ValueError, r"without changing it"),
    ("quantile", (A3, A3), {"q": 0.0}, ValueError,
     r"The 'q' parameter of quantile must be a float in the range \(0.0, 1.0\). Got 0.0"),
    ("quantile", (A3, A3), {"q": 1}, ValueError, r"\(0.0, 1.0\). Got 1 instead"),
    ("quantile", (A3, A3), {"q": np.array([0.5, 1.5, 0.5])}, ValueError,
     r"'q' parameter of quantile .* \(0.0, 1.0\) element-wise. Got " + _v("1.5")
     + r" at index \(1,\)"),
    # empty mean, non-numeric input
    ("mse", (np.zeros(0), np.zeros(0)), {}, ValueError, r"mse: reduction='mean' over zero values"),
    ("cross_entropy", (np.zeros((0, 3)), np.zeros((0, 3))), {}, ValueError,
     r"reduction='mean' over zero values"),
    ("mae", (np.array(["a", "b"]), np.zeros(2)), {}, TypeError,
     r"mae: y_true must be a real-valued .* Got ndarray with dtype <U1"),
    ("mse", (np.zeros(2), np.zeros(2, dtype=complex)), {}, TypeError,
     r"mse: y_pred must be a real-valued .* dtype complex128"),
]


@pytest.mark.parametrize("which", ["loss", "grad"])
@pytest.mark.parametrize("name, args, kw, exc, match", ERRORS,
                         ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)])
def test_bad_input_raises_naming_culprit(name, args, kw, exc, match, which):
    fn = getattr(losses, name)
    with pytest.raises(exc, match=match):
        (fn if which == "loss" else fn.grad)(*args, **kw)


@pytest.mark.parametrize("bad", ["avg", "batchmean", None, "MEAN"])
@pytest.mark.parametrize("name", ["mae", "mse", "huber", "log_cosh", "quantile", "cross_entropy",
                                  "binary_cross_entropy", "kl_div", "entropy"])
def test_unknown_reduction_lists_choices(name, bad):
    fn = getattr(losses, name)
    args = (A3,) if name == "entropy" else (A3, A3)
    msg = (f"The 'reduction' parameter of {name} must be one of 'mean', 'sum', 'none'. "
           f"Got {bad!r} instead.")
    for f in (fn, fn.grad):
        with pytest.raises(ValueError, match=re.escape(msg)):
            f(*args, reduction=bad)


def test_empty_input_is_fine_without_mean():
    assert losses.mse(np.zeros(0), np.zeros(0), reduction="sum") == 0.0
    assert losses.mse.grad(np.zeros(0), np.zeros(0), reduction="sum").shape == (0,)
    assert losses.cross_entropy(np.zeros((0, 3)), np.zeros((0, 3)), reduction="none").shape == (0,)
