"""Losses between probability distributions (LECTURE.md 2): cross-entropy, BCE, KL, entropy.

Distributions lie along the LAST axis (the class axis); every other axis is a batch axis.
``cross_entropy``, ``kl_div`` and ``entropy`` sum over the class axis and average over the batch
(``n = prod(y_pred.shape[:-1])``); ``"none"`` returns one value per sample (shape
``y_pred.shape[:-1]``). ``binary_cross_entropy`` is element-wise, averaged over all elements.

``0 * log 0`` counts as 0 and ``p * log 0`` (p > 0) as -inf, as in the lecture's worked example;
no NaN and no RuntimeWarning ever leave these functions.
"""

from __future__ import annotations

import numpy as np

from descentlab.losses._common import (
    Inputs,
    check_logits,
    check_probabilities,
    check_reduction,
    distribution_inputs,
    log_softmax,
    neg,
    probability_inputs,
    quiet,
    reduce,
    reduce_grad,
    regression_inputs,
    restore,
    softplus,
    with_grad,
    x_over_y,
    x_times,
    xlogy,
)

__all__ = ["cross_entropy", "binary_cross_entropy", "kl_div", "entropy"]


def _finish(L, X: Inputs, reduction, owner, n):
    return restore(reduce(L, reduction, n, owner), X)


def _finish_grad(g, X: Inputs, reduction, owner, n):
    return restore(reduce_grad(g, reduction, n, owner), X, dtype=X.y_pred.dtype)


def _at_labels(a: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """a[..., labels[...]]: the entry of each sample's class axis that its label picks."""
    return np.take_along_axis(a, labels[..., None].astype(np.intp), axis=-1)[..., 0]


def _softmax_minus_target(X: Inputs) -> np.ndarray:
    """d/dz of -sum_i p_i log softmax(z)_i  =  (sum_i p_i) softmax(z) - p."""
    softmax = np.exp(log_softmax(X.y_pred))
    if X.labels:
        np.put_along_axis(softmax, X.y_true[..., None].astype(np.intp),
                          _at_labels(softmax, X.y_true)[..., None] - 1.0, axis=-1)
        return softmax
    return X.y_true.sum(axis=-1, keepdims=True) * softmax - X.y_true


# -------------------------------------------------------------------------------- cross-entropy
def _cross_entropy_grad(y_true, y_pred, *, from_logits=False, reduction="mean"):
    """Gradient of :func:`cross_entropy` with respect to ``y_pred`` (before the 1/n of "mean").

    Math::

        from probabilities:  dH/dq_i = -p_i / q_i     (0 where p_i = 0; -inf where p_i > 0 = q_i)
        from logits:         dH/dz_i = (sum_j p_j) softmax(z)_i - p_i   (softmax(z) - p for a
                                                                         normalised p)

    Each q_i is treated as a free variable (no renormalisation of q), exactly as the formula reads.
    With integer labels, p is the one-hot row of the label.

    Example (the lecture's worked example):
      >>> import numpy as np
      >>> from descentlab.losses import cross_entropy
      >>> label = np.array([0.0, 1.0])
      >>> cross_entropy.grad(label, np.array([0.0, 1.0]))
      array([ 0., -1.])
      >>> cross_entropy.grad(label, np.array([1.0, 0.0]))
      array([  0., -inf])
    """
    check_reduction(reduction, "cross_entropy")
    X = distribution_inputs(y_true, y_pred, "cross_entropy", from_logits=from_logits,
                            allow_labels=True)
    if from_logits:
        g = _softmax_minus_target(X)
    elif X.labels:
        g = np.zeros_like(X.y_pred)
        with quiet():  # q = 0 at the label: -1/0 = -inf, on purpose
            pick = -1.0 / _at_labels(X.y_pred, X.y_true)
        np.put_along_axis(g, X.y_true[..., None].astype(np.intp), pick[..., None], axis=-1)
    else:
        g = neg(x_over_y(X.y_true, X.y_pred))
    return _finish_grad(g, X, reduction, "cross_entropy", X.n_samples)


@with_grad(_cross_entropy_grad)
def cross_entropy(y_true, y_pred, *, from_logits=False, reduction="mean"):
    """Cross-entropy H(P, Q) between a target distribution and a predicted one.

    Math (per sample; sums over the last, class axis)::

        H(p, q) = - sum_i p_i log q_i              with 0 log 0 = 0,  p_i log 0 = -inf
        from logits z:  log q = log_softmax(z) = z - logsumexp(z)   (finite loss; -inf only
                        where z_i lies more than the float maximum below max(z))
        CrossEntropy = sum_samples H / n,   n = prod(y_pred.shape[:-1])

    Args:
      y_true: the target p, either probabilities of y_pred's shape (any dtype: an integer one-hot
        array is a distribution), or integer class labels of shape ``y_pred.shape[:-1]`` with
        values in [0, C - 1]. Probabilities must lie in [0, 1]; rows need not sum to 1 (soft
        labels are taken as given).
      y_pred: the prediction, with the C classes on the last axis: probabilities q in [0, 1]
        (default), or finite logits z with ``from_logits=True``.
      from_logits: read y_pred as logits and use a stable log-softmax. Default False.
      reduction: ``"mean"`` (default: mean over samples of the per-sample sums), ``"sum"``
        or ``"none"`` (one value per sample, shape ``y_pred.shape[:-1]``).

    Returns:
      The loss; ``cross_entropy.grad`` (same arguments) returns dLoss/dy_pred. From
      probabilities a class with p > 0 and q = 0 gives loss inf and gradient -inf.

    Framework: ``torch.nn.functional.cross_entropy(z, target)`` for logits (target as class
    indices or probabilities, class axis last here, second in torch);
    ``torch.nn.functional.nll_loss(log q, labels)`` for probabilities with labels.

    Example (the lecture's worked example: label [0, 1]):
      >>> import numpy as np
      >>> from descentlab.losses import cross_entropy
      >>> label = np.array([0.0, 1.0])
      >>> float(cross_entropy(label, np.array([0.0, 1.0])))
      0.0
      >>> float(cross_entropy(label, np.array([1.0, 0.0])))
      inf
      >>> float(cross_entropy(label, np.array([30.0, -30.0]), from_logits=True))  # large, finite
      60.0
      >>> q = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
      >>> cross_entropy(np.array([0, 2]), q, reduction="none")  # integer class labels
      array([0.35667494, 0.22314355])
    """
    check_reduction(reduction, "cross_entropy")
    X = distribution_inputs(y_true, y_pred, "cross_entropy", from_logits=from_logits,
                            allow_labels=True)
    with quiet():  # log 0 = -inf, on purpose
        logq = log_softmax(X.y_pred) if from_logits else np.log(X.y_pred)
    if X.labels:
        L = neg(_at_labels(logq, X.y_true))
    elif from_logits:
        L = neg(x_times(X.y_true, logq).sum(axis=-1))  # logq = -inf only past the float max
    else:
        L = neg(xlogy(X.y_true, X.y_pred).sum(axis=-1))
    return _finish(L, X, reduction, "cross_entropy", X.n_samples)


# ------------------------------------------------------------------------- binary cross-entropy
def _binary_cross_entropy_grad(y_true, y_pred, *, from_logits=False, reduction="mean"):
    """Gradient of :func:`binary_cross_entropy` w.r.t. ``y_pred`` (before the 1/n of "mean").

    Math::

        from probabilities:  dL/dp = -y / p + (1 - y) / (1 - p)   (each term 0 where its
                                                                   numerator is 0; else +-inf
                                                                   at p = 0 or 1)
        from logits:         dL/dz = sigmoid(z) - y

    Example:
      >>> import numpy as np
      >>> from descentlab.losses import binary_cross_entropy
      >>> binary_cross_entropy.grad(np.array([1.0, 0.0]), np.array([0.8, 0.0]), reduction="sum")
      array([-1.25,  0.  ])
    """
    check_reduction(reduction, "binary_cross_entropy")
    X = _bce_inputs(y_true, y_pred, from_logits)
    y, x = X.y_true, X.y_pred
    if from_logits:
        g = np.exp(-softplus(-x)) - y  # sigmoid(z) = exp(-log(1 + e^-z)), no overflow
    else:
        g = x_over_y(1.0 - y, 1.0 - x) - x_over_y(y, x)
    return _finish_grad(g, X, reduction, "binary_cross_entropy", x.size)


def _bce_inputs(y_true, y_pred, from_logits) -> Inputs:
    # Element-wise: same-shape arrays like the regression losses, then probability ranges.
    X = regression_inputs(y_true, y_pred, "binary_cross_entropy")
    check_probabilities(X.y_true, "y_true", "binary_cross_entropy")
    if from_logits:
        check_logits(X.y_pred, "y_pred", "binary_cross_entropy")
    else:
        check_probabilities(X.y_pred, "y_pred", "binary_cross_entropy")
        X.y_pred = X.y_pred + 0.0
    return X


@with_grad(_binary_cross_entropy_grad)
def binary_cross_entropy(y_true, y_pred, *, from_logits=False, reduction="mean"):
    """Binary cross-entropy: the cross-entropy of independent yes/no (Bernoulli) predictions.

    Math (element-wise, averaged over ALL elements)::

        L_i = -( y_i log p_i + (1 - y_i) log(1 - p_i) )       with 0 log 0 = 0
                log(1 - p) computed as log1p(-p) (as torch): exact for tiny p
        from logits z:  L_i = y_i softplus(-z_i) + (1 - y_i) softplus(z_i),
                        softplus(x) = log(1 + e^x)   (stable: finite for any finite z)
        BCE = sum_i L_i / n

    Args:
      y_true: targets y in [0, 1] (soft targets allowed), any shape.
      y_pred: probabilities p in [0, 1] (default) or finite logits z with ``from_logits=True``,
        exactly y_true's shape (no broadcasting).
      from_logits: read y_pred as logits. Default False.
      reduction: ``"mean"`` (default, over all elements), ``"sum"`` or ``"none"`` (element-wise).

    Returns:
      The loss; ``binary_cross_entropy.grad`` (same arguments) returns dBCE/dy_pred.

    Framework: ``torch.nn.functional.binary_cross_entropy`` / ``..._with_logits``. Differs at
    the edges on purpose: torch clamps log p at -100 (so a certain wrong answer costs 100, and
    its gradient is capped); here it costs inf, as in the lecture.

    Example:
      >>> import numpy as np
      >>> from descentlab.losses import binary_cross_entropy
      >>> y = np.array([1.0, 0.0])
      >>> binary_cross_entropy(y, np.array([0.8, 0.0]), reduction="none")
      array([0.22314355, 0.        ])
      >>> binary_cross_entropy(y, np.array([0.0, 0.0]), reduction="none")
      array([inf,  0.])
      >>> binary_cross_entropy(y, np.array([-50.0, 0.0]), from_logits=True, reduction="none")
      array([50.        ,  0.69314718])
    """
    check_reduction(reduction, "binary_cross_entropy")
    X = _bce_inputs(y_true, y_pred, from_logits)
    y, x = X.y_true, X.y_pred
    if from_logits:
        L = y * softplus(-x) + (1.0 - y) * softplus(x)
    else:
        with quiet():  # log1p(-1) = -inf, on purpose
            L = neg(xlogy(y, x) + x_times(1.0 - y, np.log1p(-x)))  # log(1 - p), exact for tiny p
    return _finish(L, X, reduction, "binary_cross_entropy", x.size)


# ---------------------------------------------------------------------------- KL divergence
def _kl_div_grad(y_true, y_pred, *, from_logits=False, reduction="mean"):
    """Gradient of :func:`kl_div` with respect to ``y_pred`` (before the 1/n of "mean").

    The entropy term does not depend on q, so this is :func:`cross_entropy`'s gradient::

        from probabilities:  dKL/dq_i = -p_i / q_i   (0 where p_i = 0; -inf where p_i > 0 = q_i)
        from logits:         dKL/dz_i = (sum_j p_j) softmax(z)_i - p_i

    Example:
      >>> import numpy as np
      >>> from descentlab.losses import kl_div
      >>> kl_div.grad(np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.5, 0.25]))
      array([-2., -1.,  0.])
    """
    check_reduction(reduction, "kl_div")
    X = distribution_inputs(y_true, y_pred, "kl_div", from_logits=from_logits,
                            allow_labels=False)
    g = _softmax_minus_target(X) if from_logits else neg(x_over_y(X.y_true, X.y_pred))
    return _finish_grad(g, X, reduction, "kl_div", X.n_samples)


@with_grad(_kl_div_grad)
def kl_div(y_true, y_pred, *, from_logits=False, reduction="mean"):
    """Kullback-Leibler divergence KL(p || q): cross-entropy minus the entropy of p.

    Math (per sample; sums over the last, class axis)::

        KL(p, q) = sum_i p_i log(p_i / q_i) = H(p, q) - H(p)
                 with 0 log(0 / q) = 0, and inf where p_i > 0 = q_i
        from logits z:  log q = log_softmax(z)
        KLDiv = sum_samples KL / n,   n = prod(y_pred.shape[:-1])

    Args:
      y_true: the target distribution p, probabilities in [0, 1] of exactly y_pred's shape
        (class labels are not accepted: for a one-hot p, KL equals :func:`cross_entropy`).
      y_pred: q, probabilities in [0, 1] (default), or finite logits z with
        ``from_logits=True``; classes on the last axis.
      from_logits: read y_pred as logits. Default False.
      reduction: ``"mean"`` (default: mean over samples of the per-sample sums), ``"sum"``
        or ``"none"`` (one value per sample, shape ``y_pred.shape[:-1]``).

    Returns:
      The divergence (>= 0 when p and q each sum to 1); ``kl_div.grad`` (same arguments) returns
      dKL/dy_pred.

    Framework: ``torch.nn.functional.kl_div(log q, p)`` (note torch's argument order): its
    ``reduction="batchmean"`` is our ``"mean"`` for 2-D inputs (torch divides by
    ``shape[0]`` only; we average over every batch axis), ``"sum"`` is ``"sum"``.

    Example:
      >>> import numpy as np
      >>> from descentlab.losses import kl_div
      >>> p = np.array([0.5, 0.5, 0.0])
      >>> float(kl_div(p, p))
      0.0
      >>> float(kl_div(p, np.array([0.25, 0.5, 0.25])))  # 0.5 log 2
      0.34657359027997264
      >>> float(kl_div(p, np.array([1.0, 0.0, 0.0])))
      inf
    """
    check_reduction(reduction, "kl_div")
    X = distribution_inputs(y_true, y_pred, "kl_div", from_logits=from_logits,
                            allow_labels=False)
    p = X.y_true
    if from_logits:
        L = (xlogy(p, p) - x_times(p, log_softmax(X.y_pred))).sum(axis=-1)
    else:
        with quiet():  # inf - finite only; both terms are never inf together (p > 0 there)
            L = (xlogy(p, p) - xlogy(p, X.y_pred)).sum(axis=-1)
    return _finish(L, X, reduction, "kl_div", X.n_samples)


# ---------------------------------------------------------------------------------- entropy
def _entropy_grad(p, *, from_logits=False, reduction="mean"):
    """Gradient of :func:`entropy` with respect to ``p`` (before the 1/n of "mean").

    Math::

        from probabilities:  dH/dp_i = -(log p_i + 1)          (+inf at p_i = 0)
        from logits:         dH/dz_i = -softmax(z)_i (log softmax(z)_i + H)

    Example:
      >>> import numpy as np
      >>> from descentlab.losses import entropy
      >>> entropy.grad(np.array([1.0, 0.0]))
      array([-1., inf])
    """
    check_reduction(reduction, "entropy")
    X = probability_inputs(p, "entropy", from_logits=from_logits)
    if from_logits:
        logp = log_softmax(X.y_pred)
        P = np.exp(logp)
        H = neg(x_times(P, logp).sum(axis=-1, keepdims=True))
        g = neg(x_times(P, logp + H))  # P = 0 where logp = -inf (a spread past the float max)
    else:
        with quiet():  # log 0 = -inf, on purpose
            g = -(np.log(X.y_pred) + 1.0)
    return _finish_grad(g, X, reduction, "entropy", X.n_samples)


@with_grad(_entropy_grad)
def entropy(p, *, from_logits=False, reduction="mean"):
    """Shannon entropy H(p) of a distribution (in nats): the part of H(p, q) that q cannot remove.

    Unlike the other losses it takes ONE argument, the distribution p.

    Math (per sample; sums over the last, class axis)::

        H(p) = - sum_i p_i log p_i        with 0 log 0 = 0
        from logits z:  p = softmax(z), log p = log_softmax(z)
        Entropy = sum_samples H / n,   n = prod(p.shape[:-1])

    Args:
      p: probabilities in [0, 1] (default) or finite logits with ``from_logits=True``; classes
        on the last axis. Rows need not sum to 1 (the formula is applied as given).
      from_logits: read p as logits. Default False.
      reduction: ``"mean"`` (default: mean over samples), ``"sum"`` or ``"none"`` (one value
        per sample, shape ``p.shape[:-1]``).

    Returns:
      The entropy; ``entropy.grad(p, ...)`` returns dH/dp.

    Framework: ``torch.distributions.Categorical(probs=p).entropy()`` (or ``logits=z``).

    Example:
      >>> import numpy as np
      >>> from descentlab.losses import entropy
      >>> entropy(np.array([[0.5, 0.5], [1.0, 0.0]]), reduction="none")  # log 2 and 0
      array([0.69314718, 0.        ])
    """
    check_reduction(reduction, "entropy")
    X = probability_inputs(p, "entropy", from_logits=from_logits)
    if from_logits:
        logp = log_softmax(X.y_pred)
        H = neg(x_times(np.exp(logp), logp).sum(axis=-1))
    else:
        H = neg(xlogy(X.y_pred, X.y_pred).sum(axis=-1))
    return _finish(H, X, reduction, "entropy", X.n_samples)
