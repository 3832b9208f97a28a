"""The step-size branch of the family tree: SGD -> Adagrad -> RMSProp, AdaDelta (LECTURE.md, 4)."""

from __future__ import annotations

from descentlab._backend import sqrt
from descentlab.optim._base import NONNEGATIVE, POSITIVE, UNIT_OPEN, Family, Optimizer

__all__ = ["Adagrad", "RMSProp", "AdaDelta"]


class Adagrad(Optimizer):
    """Adagrad: per-parameter steps, shrinking with the sum of all past squared gradients.

    Math (lecture, "Adagrad"; eps INSIDE the square root)::

        G_t = G_{t-1} + g_t^2
        theta_{t+1} = theta_t - lr / sqrt(G_t + eps) * g_t

    Args:
      lr: learning rate eta, in [0, inf). Default 0.01 (Ruder: "most implementations use 0.01").
      eps: smoothing term, in [0, inf). Default 1e-8 (Ruder: "usually on the order of 1e-8").
        eps = 0 is allowed, as in torch.optim: a coordinate whose gradient (and G) is
        exactly 0 then steps 0/0 = NaN.
      variant: ``"lecture"`` (default) or ``"torch"``: ``theta -= lr * g / (sqrt(G) + eps)``, eps
        OUTSIDE the root, as ``torch.optim.Adagrad`` (whose default eps is 1e-10).
      initial_accumulator: starting value of G, in [0, inf). Default 0.0 (the lecture's; torch's
        ``initial_accumulator_value``, optax's ``initial_accumulator_value=0.1``).

    Example:
      >>> import numpy as np
      >>> from descentlab.optim import Adagrad
      >>> theta = np.array([1.0, 1.0]); opt = Adagrad(lr=0.5, eps=0.0); s = opt.init(theta)
      >>> opt.step(theta, np.array([3.0, 0.1]), s)   # first step: lr * g / |g| for each parameter
      >>> theta
      array([0.5, 0.5])

    Paper: J. Duchi, E. Hazan, Y. Singer, "Adaptive Subgradient Methods for Online Learning and
    Stochastic Optimization", JMLR 2011.
    """

    _ranges = {"lr": NONNEGATIVE, "eps": NONNEGATIVE, "initial_accumulator": NONNEGATIVE}
    _choices = {"variant": ("lecture", "torch")}
    buffers = ("G",)
    family = Family(("SGD",), "step size", 2011, "Duchi, Hazan & Singer (2011)",
                    "small steps for parameters that moved a lot")

    def __init__(self, lr=0.01, eps=1e-8, *, variant="lecture", initial_accumulator=0.0):
        super().__init__(lr=lr, eps=eps, variant=variant, initial_accumulator=initial_accumulator)

    def init(self, params) -> dict:
        state = super().init(params)
        state["G"] += self.coefficients(params).initial_accumulator
        return state

    def rule(self, theta, g, state, hp):
        G = state["G"]
        G += g * g  # G = G + g^2
        if hp.variant == "torch":
            theta -= hp.lr / (sqrt(G) + hp.eps) * g  # torch.optim.Adagrad: eps outside the root
        else:
            theta -= hp.lr / sqrt(G + hp.eps) * g  # theta = theta - lr / sqrt(G + eps) * g
        return theta, {"G": G}


class RMSProp(Optimizer):
    """RMSProp: Adagrad with a moving average of squared gradients, so steps never vanish.

    Math (lecture, "RMSProp"; eps OUTSIDE the square root)::

        G_t = gamma * G_{t-1} + (1 - gamma) * g_t^2
        theta_{t+1} = theta_t - lr / (sqrt(G_t) + eps) * g_t

    Args:
      lr: learning rate eta, in [0, inf). Default 0.001 (Hinton's lecture 6e, Ruder's overview).
      gamma: decay of the average, in [0, 1). Default 0.9 (same sources).
      eps: smoothing term, in [0, inf). Default 1e-8.
        eps = 0 is allowed, as in torch.optim: a coordinate whose gradient (and G) is
        exactly 0 then steps 0/0 = NaN.

    Framework: identical to ``torch.optim.RMSprop(lr, alpha=gamma, eps)`` (whose defaults are
    lr=0.01, alpha=0.99). optax.rmsprop puts eps inside the root by default (``eps_in_sqrt=True``).

    Example:
      >>> import numpy as np
      >>> from descentlab.optim import RMSProp
      >>> theta = np.array([1.0]); opt = RMSProp(lr=0.1, gamma=0.75, eps=0.0); s = opt.init(theta)
      >>> opt.step(theta, np.array([2.0]), s)   # G = 0.25 * 4 = 1, step = 0.1 * 2 / 1
      >>> theta
      array([0.8])

    Paper: T. Tieleman, G. Hinton, "Lecture 6.5 - RMSProp", COURSERA: Neural Networks for Machine
    Learning (2012).
    """

    _ranges = {"lr": NONNEGATIVE, "gamma": UNIT_OPEN, "eps": NONNEGATIVE}
    buffers = ("G",)
    family = Family(("Adagrad",), "step size", 2012, "Tieleman & Hinton (2012)",
                    "forget old gradients: a moving average instead of a sum")

    def __init__(self, lr=0.001, gamma=0.9, eps=1e-8):
        super().__init__(lr=lr, gamma=gamma, eps=eps)

    def rule(self, theta, g, state, hp):
        G = state["G"]
        G *= hp.gamma
        G += (1 - hp.gamma) * g * g  # G = gamma * G + (1 - gamma) * g^2
        theta -= hp.lr / (sqrt(G) + hp.eps) * g  # theta = theta - lr / (sqrt(G) + eps) * g
        return theta, {"G": G}


class AdaDelta(Optimizer):
    """AdaDelta: RMSProp's average with the learning rate replaced by a running RMS of past steps.

    Math (lecture, "AdaDelta"; delta uses the s of the previous step, then s is updated)::

        G_t = gamma * G_{t-1} + (1 - gamma) * g_t^2
        delta_t = sqrt(s_{t-1} + eps) / sqrt(G_t + eps) * g_t
        theta_{t+1} = theta_t - lr * delta_t           (lr = 1: the lecture has no learning rate)
        s_t = gamma * s_{t-1} + (1 - gamma) * delta_t^2

    Args:
      gamma: decay of both averages, in [0, 1). Default 0.95 (Zeiler 2012's rho).
      eps: smoothing term, in (0, inf). Default 1e-6 (Zeiler's; with eps = 0 the first step is 0
        and AdaDelta never moves, so 0 is refused).
      lr: a multiplier on delta, in [0, inf). Default 1.0 = the lecture's rule. Any other value maps
        the rule to ``torch.optim.Adadelta(lr, rho=gamma, eps)``, which also accumulates the
        unscaled delta into s.

    Example:
      >>> import numpy as np
      >>> from descentlab.optim import AdaDelta
      >>> theta = np.array([1.0]); opt = AdaDelta(gamma=0.5, eps=0.01); s = opt.init(theta)
      >>> opt.step(theta, np.array([1.0]), s)   # G = 0.5, delta = sqrt(0.01) / sqrt(0.51)
      >>> round(float(theta[0]), 12), round(float(s["s"][0]), 12)
      (0.859971991597, 0.009803921569)

    Paper: M. D. Zeiler, "ADADELTA: An Adaptive Learning Rate Method", arXiv:1212.5701 (2012).
    """

    _ranges = {"gamma": UNIT_OPEN, "eps": POSITIVE, "lr": NONNEGATIVE}
    buffers = ("G", "s")
    family = Family(("Adagrad",), "step size", 2012, "Zeiler (2012)",
                    "no learning rate: steps in the units of the parameters")

    def __init__(self, gamma=0.95, eps=1e-6, lr=1.0):
        super().__init__(gamma=gamma, eps=eps, lr=lr)

    def rule(self, theta, g, state, hp):
        G, s = state["G"], state["s"]
        G *= hp.gamma
        G += (1 - hp.gamma) * g * g  # G = gamma * G + (1 - gamma) * g^2
        delta = sqrt(s + hp.eps) / sqrt(G + hp.eps) * g  # delta = sqrt(s + eps) / sqrt(G + eps) g
        theta -= hp.lr * delta  # theta = theta - lr * delta
        s *= hp.gamma
        s += (1 - hp.gamma) * delta * delta  # s = gamma * s + (1 - gamma) * delta^2
        return theta, {"G": G, "s": s}
