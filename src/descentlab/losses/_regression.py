"""Regression losses (LECTURE.md 2 and its reading list): MAE, MSE, Huber, log-cosh, quantile.

Each is an element-wise loss ``L_i`` of the residual; ``reduction="mean"`` averages over ALL
elements (``sum_i L_i / n``, n = y_pred.size), ``"sum"`` adds them, ``"none"`` returns ``L`` with
y_pred's shape. ``loss.grad`` returns dLoss/dy_pred with y_pred's shape (for ``"none"``: the
derivative of ``sum_i L_i``, i.e. each element's own derivative).
"""

from __future__ import annotations

import numpy as np

from descentlab.losses._common import (
    check_param,
    check_reduction,
    quiet,
    reduce,
    reduce_grad,
    regression_inputs,
    restore,
    softplus,
    with_grad,
)

__all__ = ["mae", "mse", "huber", "log_cosh", "quantile"]

_LOG2 = float(np.log(2.0))


def _finish(L, X, reduction, owner):
    # Every loss computes inside quiet(): a residual or loss past the float maximum rounds to
    # +-inf and inf - inf gives nan, silently, as in torch.nn.functional (no RuntimeWarning).
    return restore(reduce(L, reduction, X.y_pred.size, owner), X)


def _finish_grad(g, X, reduction, owner):
    return restore(reduce_grad(g, reduction, X.y_pred.size, owner), X, dtype=X.y_pred.dtype)


# ------------------------------------------------------------------------------------------ MAE
def _mae_grad(y_true, y_pred, *, reduction="mean"):
    """Gradient of :func:`mae` with respect to ``y_pred``: ``sign(yp_i - y_i) / n``.

    At ``yp_i = y_i`` the subgradient 0 is returned (``sign(0) = 0``, as torch's ``l1_loss``).

    Example:
      >>> import numpy as np
      >>> from descentlab.losses import mae
      >>> mae.grad(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 0.0]))
      array([ 0.33333333,  0.        , -0.33333333])
    """
    check_reduction(reduction, "mae")
    X = regression_inputs(y_true, y_pred, "mae")
    with quiet():  # see _finish
        g = np.sign(X.y_pred - X.y_true)
    return _finish_grad(g, X, reduction, "mae")


@with_grad(_mae_grad)
def mae(y_true, y_pred, *, reduction="mean"):
    """Mean absolute error (L1 loss): robust to outliers, constant-size gradient.

    Math::

        MAE = sum_i |y_i - yp_i| / n

    Args:
      y_true: targets y, any shape.
      y_pred: predictions yp, exactly y_true's shape (no broadcasting).
      reduction: ``"mean"`` (default, over all elements), ``"sum"`` or ``"none"`` (element-wise).

    Returns:
      The loss (a scalar, or an array of y_pred's shape for ``"none"``). ``mae.grad`` takes the
      same arguments and returns dMAE/dy_pred.

    Framework: ``torch.nn.functional.l1_loss``.

    Example (the lecture's: truth 500, prediction 350):
      >>> import numpy as np
      >>> from descentlab.losses import mae
      >>> float(mae(np.array([500.0]), np.array([350.0])))
      150.0
      >>> float(mae(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 0.0])))
      1.3333333333333333
    """
    check_reduction(reduction, "mae")
    X = regression_inputs(y_true, y_pred, "mae")
    with quiet():
        L = np.abs(X.y_true - X.y_pred)
    return _finish(L, X, reduction, "mae")


# ------------------------------------------------------------------------------------------ MSE
def _mse_grad(y_true, y_pred, *, reduction="mean"):
    """Gradient of :func:`mse` with respect to ``y_pred``: ``2 (yp_i - y_i) / n``.

    Example:
      >>> import numpy as np
      >>> from descentlab.losses import mse
      >>> mse.grad(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 0.0]))
      array([ 0.66666667,  0.        , -2.        ])
    """
    check_reduction(reduction, "mse")
    X = regression_inputs(y_true, y_pred, "mse")
    with quiet():  # the factor 2 after the 1/n (exact either way): 2 r overflows sooner
        g = 2.0 * reduce_grad(X.y_pred - X.y_true, reduction, X.y_pred.size, "mse")
    return restore(g, X, dtype=X.y_pred.dtype)


@with_grad(_mse_grad)
def mse(y_true, y_pred, *, reduction="mean"):
    """Mean squared error (L2 loss): fast, stable convergence; sensitive to outliers.

    Math::

        MSE = sum_i (y_i - yp_i)^2 / n

    Args:
      y_true: targets y, any shape.
      y_pred: predictions yp, exactly y_true's shape (no broadcasting).
      reduction: ``"mean"`` (default, over all elements), ``"sum"`` or ``"none"`` (element-wise).

    Returns:
      The loss; ``mse.grad`` (same arguments) returns dMSE/dy_pred.

    Framework: ``torch.nn.functional.mse_loss``.

    Example:
      >>> import numpy as np
      >>> from descentlab.losses import mse
      >>> float(mse(np.array([500.0]), np.array([350.0])))
      22500.0
      >>> mse(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 0.0]), reduction="none")
      array([1., 0., 9.])
    """
    check_reduction(reduction, "mse")
    X = regression_inputs(y_true, y_pred, "mse")
    with quiet():
        L = np.square(X.y_true - X.y_pred)
    return _finish(L, X, reduction, "mse")


# ---------------------------------------------------------------------------------------- Huber
def _huber_grad(y_true, y_pred, *, delta=1.0, reduction="mean"):
    """Gradient of :func:`huber` w.r.t. ``y_pred``: ``clip(yp_i - y_i, -delta, delta) / n``.

    Example:
      >>> import numpy as np
      >>> from descentlab.losses import huber
      >>> huber.grad(np.array([0.0, 0.0]), np.array([0.5, -3.0]), delta=1.0, reduction="sum")
      array([ 0.5, -1. ])
    """
    check_reduction(reduction, "huber")
    X = regression_inputs(y_true, y_pred, "huber")
    delta = check_param(delta, name="delta", owner="huber", shape=X.y_pred.shape,
                        low=0.0, high=np.inf, low_closed=False)
    with quiet():
        r = X.y_pred - X.y_true
    return _finish_grad(np.clip(r, -delta, delta).astype(r.dtype, copy=False), X, reduction,
                        "huber")


@with_grad(_huber_grad)
def huber(y_true, y_pred, *, delta=1.0, reduction="mean"):
    """Huber loss ("smooth mean absolute error"): quadratic near zero, linear beyond ``delta``.

    Math (r_i = y_i - yp_i)::

        L_i = r_i^2 / 2                    if |r_i| <= delta
              delta * (|r_i| - delta / 2)  otherwise
        Huber = sum_i L_i / n

    Args:
      y_true: targets y, any shape.
      y_pred: predictions yp, exactly y_true's shape (no broadcasting).
      delta: where the quadratic turns linear, in (0, inf]. Default 1.0 (torch's default). A
        float, or an array that broadcasts to y_pred's shape without changing it.
      reduction: ``"mean"`` (default, over all elements), ``"sum"`` or ``"none"`` (element-wise).

    Returns:
      The loss; ``huber.grad`` (same arguments) returns dHuber/dy_pred.

    Framework: ``torch.nn.functional.huber_loss`` (same ``delta``). torch's ``smooth_l1_loss``
    with ``beta`` is this loss divided by ``beta``.

    Example:
      >>> import numpy as np
      >>> from descentlab.losses import huber
      >>> huber(np.array([0.0, 0.0]), np.array([0.5, -3.0]), reduction="none")
      array([0.125, 2.5  ])
    """
    check_reduction(reduction, "huber")
    X = regression_inputs(y_true, y_pred, "huber")
    delta = check_param(delta, name="delta", owner="huber", shape=X.y_pred.shape,
                        low=0.0, high=np.inf, low_closed=False)
    with quiet():  # delta = inf: the unused linear branch is -inf, harmlessly
        a = np.abs(X.y_true - X.y_pred)
        L = np.where(a <= delta, 0.5 * a * a, delta * (a - 0.5 * delta))
    return _finish(L.astype(a.dtype, copy=False), X, reduction, "huber")


# ------------------------------------------------------------------------------------- log-cosh
def _log_cosh_grad(y_true, y_pred, *, reduction="mean"):
    """Gradient of :func:`log_cosh` with respect to ``y_pred``: ``tanh(yp_i - y_i) / n``.

    Example:
      >>> import numpy as np
      >>> from descentlab.losses import log_cosh
      >>> log_cosh.grad(np.array([0.0, 0.0]), np.array([1.0, -800.0]), reduction="sum")
      array([ 0.76159416, -1.        ])
    """
    check_reduction(reduction, "log_cosh")
    X = regression_inputs(y_true, y_pred, "log_cosh")
    with quiet():
        g = np.tanh(X.y_pred - X.y_true)
    return _finish_grad(g, X, reduction, "log_cosh")


@with_grad(_log_cosh_grad)
def log_cosh(y_true, y_pred, *, reduction="mean"):
    """Log-cosh loss: about r^2 / 2 for small residuals, |r| - log 2 for large ones; smooth.

    Math (r_i = y_i - yp_i, a_i = |r_i|)::

        L_i = log(cosh(r_i)) = log(1 + 2 sinh(a_i / 2)^2)            (computed for a_i < 1)
                             = a_i + log(1 + exp(-2 a_i)) - log 2     (computed for a_i >= 1)
        LogCosh = sum_i L_i / n

    ``cosh`` itself overflows for |r| > 710 in float64; the second form never does, and the
    first keeps full precision for small residuals, where the second cancels (at r = 1e-8 it
    would give 1.1e-16 for the true 5e-17).

    Args:
      y_true: targets y, any shape.
      y_pred: predictions yp, exactly y_true's shape (no broadcasting).
      reduction: ``"mean"`` (default, over all elements), ``"sum"`` or ``"none"`` (element-wise).

    Returns:
      The loss; ``log_cosh.grad`` (same arguments) returns dLogCosh/dy_pred.

    Framework: none in torch; equals ``torch.log(torch.cosh(r))`` where that does not overflow.

    Example:
      >>> import numpy as np
      >>> from descentlab.losses import log_cosh
      >>> log_cosh(np.array([0.0, 0.0]), np.array([1.0, -30.0]), reduction="none")
      array([ 0.43378083, 29.30685282])
      >>> float(log_cosh(np.array([0.0]), np.array([800.0])))  # cosh(800) overflows; this doesn't
      799.3068528194401
    """
    check_reduction(reduction, "log_cosh")
    X = regression_inputs(y_true, y_pred, "log_cosh")
    with quiet():  # nan residuals stay nan, |r| near the float maximum gives -2a = -inf: both fine
        a = np.abs(X.y_true - X.y_pred)
        small = a < 1
        half_sinh = np.sinh(np.where(small, a, 0.0) / 2)
        L = np.where(small, np.log1p(2 * half_sinh * half_sinh), a + softplus(-2.0 * a) - _LOG2)
    return _finish(L.astype(a.dtype, copy=False), X, reduction, "log_cosh")


# ------------------------------------------------------------------------------------- quantile
def _quantile_grad(y_true, y_pred, *, q=0.5, reduction="mean"):
    """Gradient of :func:`quantile` with respect to ``y_pred``.

    Math (per element, before the 1/n of ``"mean"``)::

        dL_i/dyp_i = -q        if yp_i < y_i   (under-prediction)
                     1 - q     if yp_i > y_i   (over-prediction)
                     1/2 - q   if yp_i = y_i   (the midpoint of the subdifferential [-q, 1 - q];
                                                with q = 1/2 it is 0, like MAE's sign(0) = 0)

    Example:
      >>> import numpy as np
      >>> from descentlab.losses import quantile
      >>> y, yp = np.array([1.0, 1.0, 1.0]), np.array([0.0, 1.0, 2.0])
      >>> quantile.grad(y, yp, q=0.9, reduction="sum")
      array([-0.9, -0.4,  0.1])
    """
    check_reduction(reduction, "quantile")
    X = regression_inputs(y_true, y_pred, "quantile")
    q = check_param(q, name="q", owner="quantile", shape=X.y_pred.shape,
                    low=0.0, high=1.0, low_closed=False, high_closed=False)
    with quiet():
        g = 0.5 * np.sign(X.y_pred - X.y_true) + (0.5 - q)
    return _finish_grad(g.astype(X.y_pred.dtype, copy=False), X, reduction, "quantile")


@with_grad(_quantile_grad)
def quantile(y_true, y_pred, *, q=0.5, reduction="mean"):
    """Quantile (pinball) loss: its minimiser is the q-th quantile of y, not the mean.

    Math (r_i = y_i - yp_i)::

        L_i = max(q * r_i, (q - 1) * r_i)   (= q r_i if r_i >= 0, else (q - 1) r_i)
        Quantile = sum_i L_i / n

    Under-prediction costs q per unit, over-prediction 1 - q; q = 1/2 gives MAE / 2.

    Args:
      y_true: targets y, any shape.
      y_pred: predictions yp, exactly y_true's shape (no broadcasting).
      q: the quantile, in (0, 1). Default 0.5 (the median). A float, or an array that
        broadcasts to y_pred's shape without changing it.
      reduction: ``"mean"`` (default, over all elements), ``"sum"`` or ``"none"`` (element-wise).

    Returns:
      The loss; ``quantile.grad`` (same arguments) returns dQuantile/dy_pred.

    Framework: none in torch; ``sklearn.metrics.mean_pinball_loss`` with ``alpha = q``.

    Example:
      >>> import numpy as np
      >>> from descentlab.losses import quantile
      >>> quantile(np.array([1.0, 1.0]), np.array([0.0, 2.0]), q=0.9, reduction="none")
      array([0.9, 0.1])
    """
    check_reduction(reduction, "quantile")
    X = regression_inputs(y_true, y_pred, "quantile")
    q = check_param(q, name="q", owner="quantile", shape=X.y_pred.shape,
                    low=0.0, high=1.0, low_closed=False, high_closed=False)
    with quiet():
        r = X.y_true - X.y_pred
        L = np.maximum(q * r, (q - 1.0) * r)
    return _finish(L.astype(r.dtype, copy=False), X, reduction, "quantile")
