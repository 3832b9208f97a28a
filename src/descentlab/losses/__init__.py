"""The lecture's loss functions (LECTURE.md, sections 1-2), each with its gradient.

Every loss is a plain function ``loss(y_true, y_pred, *, ..., reduction="mean")`` carrying an
attribute ``loss.grad`` with the same signature that returns dLoss/dy_pred, an array of y_pred's
shape. ``entropy`` is the one exception to the two-argument form: ``entropy(p)``.

>>> import numpy as np
>>> from descentlab import losses
>>> y, yp = np.array([500.0, 1.0]), np.array([350.0, 2.0])
>>> float(losses.mse(y, yp)), float(losses.mae(y, yp))
(11250.5, 75.5)
>>> losses.mse.grad(y, yp)
array([-150.,    1.])

Conventions
-----------
* ``reduction``: ``"mean"`` (default), ``"sum"`` or ``"none"``. For ``"none"``, ``loss.grad``
  returns the derivative of the SUM of the returned values, i.e. every element's (or sample's)
  own derivative, the same array as for ``"sum"``.
* Regression losses (``mae, mse, huber, log_cosh, quantile``) and ``binary_cross_entropy`` are
  element-wise and average over ALL elements (n = y_pred.size); ``"none"`` keeps y_pred's shape.
* Distribution losses (``cross_entropy, kl_div, entropy``) read the LAST axis as the class axis:
  they sum over it and average over all other (batch) axes, n = prod(y_pred.shape[:-1]);
  ``"none"`` returns one value per sample, shape y_pred.shape[:-1] (a NumPy scalar for one
  distribution).
* ``cross_entropy``'s target is either probabilities of y_pred's shape (any dtype, so an integer
  one-hot array is a distribution) or integer class labels of shape y_pred.shape[:-1]. The shape
  decides. ``kl_div`` and ``entropy`` take probabilities only.
* ``from_logits=False`` (default): y_pred holds probabilities in [0, 1]; ``0 * log 0`` counts as 0
  and ``p * log 0`` (p > 0) as -inf, so the lecture's worked example holds exactly: label [0, 1]
  with prediction [0, 1] costs 0 and with [1, 0] costs inf. Gradients there are -inf (or 0 where
  p = 0), never NaN. ``from_logits=True``: y_pred holds finite logits and a stable log-softmax
  (or softplus for BCE) is used, so a confident wrong answer costs a large FINITE amount
  (the logit gap itself; only a gap past the float maximum, e.g. logits [1e308, -1e308], makes
  the true loss unrepresentable: it rounds to inf there, the right class still costs 0 and the
  gradients stay finite).
  Probability rows are not required to sum to 1: the formulas are applied as written (each q_i is
  a free variable, also for the gradient).
* Hyperparameters: ``huber(delta=1.0)`` with delta in (0, inf] (inf: half the MSE);
  ``quantile(q=0.5)`` with q in (0, 1). Either may be an array that broadcasts to y_pred's shape
  without changing it.
* Extremes: no RuntimeWarning leaves any loss or gradient. A value past the float maximum
  rounds to inf (mse of a residual beyond 1.3e154, a sum of huge per-sample losses; torch does
  the same), nan in a regression input gives nan, and inf - inf residuals give nan. ``"mean"``
  is the sum divided by n, as torch's, so it is inf when the sum overflows.
* ``"mean"`` over zero values (an empty batch) raises ValueError (torch returns nan); ``"sum"``
  gives 0 and ``"none"`` an empty array.
* Subgradients at kinks: ``mae`` uses sign(0) = 0 (as torch); ``quantile`` uses 1/2 - q, the
  midpoint of its subdifferential (0 for the median, consistent with MAE).
* Bad input raises ValueError naming the argument, the allowed range and the value: shapes that
  differ (no broadcasting, ever), probabilities outside [0, 1] (y_true, and y_pred unless
  ``from_logits``), non-finite logits, labels outside [0, C - 1], bad delta / q / reduction.
* Inputs: NumPy arrays or anything ``numpy.asarray`` accepts (int and bool inputs are computed in
  float64; float inputs keep their dtype, and two float dtypes give NumPy's common one, so float64
  y_true with float32 y_pred computes and returns float64). torch tensors are accepted by
  conversion: they are detached and copied to the CPU, the loss is computed in NumPy there (one
  implementation), and the result comes back as a tensor with the input's dtype and device. It is
  NOT part of the autograd graph: use ``loss.grad``, or torch's own losses inside a torch training
  loop.
"""

from descentlab.losses._probabilistic import binary_cross_entropy, cross_entropy, entropy, kl_div
from descentlab.losses._regression import huber, log_cosh, mae, mse, quantile

__all__ = [
    "mae", "mse", "huber", "log_cosh", "quantile",
    "cross_entropy", "binary_cross_entropy", "kl_div", "entropy",
    "names",
]

_NAMES = ("mae", "mse", "huber", "log_cosh", "quantile",
          "cross_entropy", "binary_cross_entropy", "kl_div", "entropy")


def names() -> list[str]:
    """The losses' names in the lecture's order (regression first, then distributions).

    >>> from descentlab import losses
    >>> losses.names()[:3]
    ['mae', 'mse', 'huber']
    """
    return list(_NAMES)
