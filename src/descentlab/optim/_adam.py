"""Where the branches merge: Momentum + RMSProp -> Adam; NAG + Adam -> Nadam (LECTURE.md, 3-4)."""

from __future__ import annotations

from descentlab._backend import sqrt
from descentlab.optim._base import NONNEGATIVE, UNIT_OPEN, Family, Optimizer

__all__ = ["Adam", "Nadam"]


class Adam(Optimizer):
    """Adam: a momentum-like average of gradients over an RMSProp-like average of their squares.

    Math (lecture, "Adam")::

        m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t = beta2 * v_{t-1} + (1 - beta2) * g_t^2
        mhat_t = m_t / (1 - beta1^t),   vhat_t = v_t / (1 - beta2^t)
        theta_{t+1} = theta_t - lr / (sqrt(vhat_t) + eps) * mhat_t

    Args:
      lr: learning rate eta, in [0, inf). Default 0.001 (Kingma & Ba).
      beta1: decay of the first moment, in [0, 1). Default 0.9.
      beta2: decay of the second moment, in [0, 1). Default 0.999.
      eps: smoothing term, in [0, inf). Default 1e-8.
        eps = 0 is allowed, as in torch.optim: a coordinate whose gradient (and v) is
        exactly 0 then steps 0/0 = NaN.

    Framework: identical to ``torch.optim.Adam`` and ``optax.adam`` (same defaults).

    Example:
      >>> import numpy as np
      >>> from descentlab.optim import Adam
      >>> theta = np.array([1.0, 1.0]); opt = Adam(lr=0.1, eps=0.0); s = opt.init(theta)
      >>> opt.step(theta, np.array([5.0, -0.01]), s)   # first step: lr * sign(g)
      >>> theta
      array([0.9, 1.1])

    Paper: D. P. Kingma, J. Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.
    """

    _ranges = {"lr": NONNEGATIVE, "beta1": UNIT_OPEN, "beta2": UNIT_OPEN, "eps": NONNEGATIVE}
    buffers = ("m", "v")
    family = Family(("Momentum", "RMSProp"), "both", 2015, "Kingma & Ba (2015)",
                    "the right direction and the right step size")

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(lr=lr, beta1=beta1, beta2=beta2, eps=eps)

    def rule(self, theta, g, state, hp):
        m, v, t = state["m"], state["v"], state["t"]
        m *= hp.beta1
        m += (1 - hp.beta1) * g  # m = beta1 * m + (1 - beta1) * g
        v *= hp.beta2
        v += (1 - hp.beta2) * g * g  # v = beta2 * v + (1 - beta2) * g^2
        mhat = m / (1 - hp.beta1**t)
        vhat = v / (1 - hp.beta2**t)
        theta -= hp.lr * mhat / (sqrt(vhat) + hp.eps)  # theta - lr * mhat / (sqrt(vhat) + eps)
        return theta, {"m": m, "v": v}


class Nadam(Optimizer):
    """Nadam: Adam whose first moment takes a Nesterov look-ahead.

    Math (default ``variant="ruder"``: the form in Ruder's overview, the lecture's reference)::

        m_t, v_t, mhat_t, vhat_t as in Adam
        theta_{t+1} = theta_t - lr / (sqrt(vhat_t) + eps)
                                  * (beta1 * mhat_t + (1 - beta1) * g_t / (1 - beta1^t))

    Variants, each tested against its framework:

    * ``"torch"``: ``torch.optim.NAdam`` (and Keras' Nadam), Dozat's momentum-decay schedule
      ``mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))``, ``P_t = mu_1 ... mu_t``::

          theta -= lr * (1 - mu_t) / (1 - P_t) * g / d + lr * mu_{t+1} / (1 - P_t mu_{t+1}) * m / d
          d = sqrt(v_t / (1 - beta2^t)) + eps

    * ``"optax"``: ``optax.nadam``, which bias-corrects the look-ahead momentum with ``t + 1``::

          theta -= lr / (sqrt(vhat_t) + eps) * (beta1 * m_t / (1 - beta1^(t+1))
                                                + (1 - beta1) * g_t / (1 - beta1^t))

    Args:
      lr: learning rate eta, in [0, inf). Default 0.002 (Dozat 2016; torch's default too).
      beta1: decay of the first moment, in [0, 1). Default 0.9.
      beta2: decay of the second moment, in [0, 1). Default 0.999.
      eps: smoothing term, in [0, inf). Default 1e-8.
        eps = 0 is allowed, as in torch.optim: a coordinate whose gradient (and v) is
        exactly 0 then steps 0/0 = NaN.
      variant: ``"ruder"`` (default), ``"torch"`` or ``"optax"``.
      momentum_decay: psi of the ``"torch"`` schedule, in [0, inf). Default 0.004 (torch, Keras).

    Example:
      >>> import numpy as np
      >>> from descentlab.optim import Nadam
      >>> theta = np.array([1.0]); opt = Nadam(lr=0.1, eps=0.0); s = opt.init(theta)
      >>> opt.step(theta, np.array([2.0]), s)   # first step: lr * (beta1 + 1 - beta1) * sign(g)
      >>> theta
      array([0.9])

    Paper: T. Dozat, "Incorporating Nesterov Momentum into Adam", ICLR 2016 workshop.
    """

    _ranges = {"lr": NONNEGATIVE, "beta1": UNIT_OPEN, "beta2": UNIT_OPEN, "eps": NONNEGATIVE,
               "momentum_decay": NONNEGATIVE}
    _choices = {"variant": ("ruder", "torch", "optax")}
    buffers = ("m", "v")
    family = Family(("NAG", "Adam"), "both", 2016, "Dozat (2016)",
                    "Adam with a Nesterov look-ahead")

    def __init__(self, lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8, *, variant="ruder",
                 momentum_decay=0.004):
        super().__init__(lr=lr, beta1=beta1, beta2=beta2, eps=eps, variant=variant,
                         momentum_decay=momentum_decay)
        if variant == "torch":  # the product mu_1 ... mu_t of torch's schedule
            self.scalars = ("t", "mu_product")

    def init(self, params) -> dict:
        state = super().init(params)
        if self.variant == "torch":
            state["mu_product"] = 1.0
        return state

    def rule(self, theta, g, state, hp):
        m, v, t = state["m"], state["v"], state["t"]
        m *= hp.beta1
        m += (1 - hp.beta1) * g  # m = beta1 * m + (1 - beta1) * g
        v *= hp.beta2
        v += (1 - hp.beta2) * g * g  # v = beta2 * v + (1 - beta2) * g^2
        d = sqrt(v / (1 - hp.beta2**t)) + hp.eps  # sqrt(vhat) + eps
        if hp.variant == "torch":
            theta, mu_product = self._torch_step(theta, g, m, d, state["mu_product"], t, hp)
            return theta, {"m": m, "v": v, "mu_product": mu_product}
        t_m = t + 1 if hp.variant == "optax" else t  # optax bias-corrects beta1 m with t + 1
        mhat = m / (1 - hp.beta1**t_m)
        theta -= hp.lr / d * (hp.beta1 * mhat + (1 - hp.beta1) * g / (1 - hp.beta1**t))
        return theta, {"m": m, "v": v}

    def _torch_step(self, theta, g, m, d, mu_product, t, hp):
        """``variant="torch"``: Dozat's schedule, as torch.optim.NAdam (the formula above)."""
        mu, mu_next = self._mu(t, hp), self._mu(t + 1, hp)
        mu_product = mu_product * mu  # P_t = P_{t-1} mu_t
        theta -= hp.lr * (1 - mu) / (1 - mu_product) * g / d
        theta -= hp.lr * mu_next / (1 - mu_product * mu_next) * m / d
        return theta, mu_product

    @staticmethod
    def _mu(t, hp):
        """``mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))``, torch's schedule."""
        return hp.beta1 * (1 - 0.5 * 0.96 ** (t * hp.momentum_decay))
