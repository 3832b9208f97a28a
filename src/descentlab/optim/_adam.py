"""Where the branches merge: Momentum + RMSProp -> Adam; NAG + Adam -> Nadam (LECTURE.md, 3-4)."""

from __future__ import annotations

from descentlab._backend import namespace
from descentlab.optim._base import NONNEGATIVE, UNIT_OPEN, Family, Optimizer, power

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
    _buffers = ("m", "v")
    family = Family(("Momentum", "RMSProp"), "both", 2015, "Kingma & Ba (2015)",
                    "the right direction and the right step size")

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(lr=lr, beta1=beta1, beta2=beta2, eps=eps)

    def _update(self, theta, g, state, hp, work):
        xp, c, m, v, w, t = namespace(theta), hp.like, state["m"], state["v"], work[0], state["t"]
        m *= c(hp.beta1)
        m += xp.multiply(g, c(1 - hp.beta1), out=w)  # m = beta1 * m + (1 - beta1) * g
        xp.multiply(g, g, out=w)
        v *= c(hp.beta2)
        v += xp.multiply(w, c(1 - hp.beta2), out=w)  # v = beta2 * v + (1 - beta2) * g^2
        xp.sqrt(xp.divide(v, c(1 - power(hp.beta2, t)), out=w), out=w)
        w += c(hp.eps)  # sqrt(vhat) + eps
        xp.divide(m, w, out=w)
        theta -= xp.multiply(w, c(hp.lr / (1 - power(hp.beta1, t))), out=w)  # lr * mhat / (...)

    def _kernel(self, state):
        t = state["t"]
        return "adam", (self.beta1, 1 - self.beta1, self.beta2, 1 - self.beta2,
                        1 - power(self.beta2, t), self.eps, self.lr / (1 - power(self.beta1, t)))


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
    _buffers = ("m", "v")
    _n_work = 3
    family = Family(("NAG", "Adam"), "both", 2016, "Dozat (2016)",
                    "Adam with a Nesterov look-ahead")

    def __init__(self, lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8, *, variant="ruder",
                 momentum_decay=0.004):
        super().__init__(lr=lr, beta1=beta1, beta2=beta2, eps=eps, variant=variant,
                         momentum_decay=momentum_decay)

    def _extra_state(self) -> dict:
        # the product mu_1 ... mu_t of torch's schedule (a float, or an array for batched beta1)
        return {"mu_product": 1.0} if self.variant == "torch" else {}

    def _mu(self, t):
        """``mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))``, torch's schedule."""
        return self.beta1 * (1 - 0.5 * power(0.96, t * self.momentum_decay))

    def _advance(self, state):
        if self.variant == "torch":  # P_t = mu_1 ... mu_t: once per step, before the rule
            state["mu_product"] = state["mu_product"] * self._mu(state["t"])

    def _update(self, theta, g, state, hp, work):
        xp, c, m, v, t = namespace(theta), hp.like, state["m"], state["v"], state["t"]
        d, w, u = work
        xp.multiply(g, c(1 - hp.beta1), out=w)  # w = (1 - beta1) * g, kept for the look-ahead
        m *= c(hp.beta1)
        m += w  # m = beta1 * m + (1 - beta1) * g
        xp.multiply(g, g, out=d)
        v *= c(hp.beta2)
        v += xp.multiply(d, c(1 - hp.beta2), out=d)  # v = beta2 * v + (1 - beta2) * g^2
        xp.sqrt(xp.divide(v, c(1 - power(hp.beta2, t)), out=d), out=d)
        d += c(hp.eps)  # d = sqrt(vhat) + eps
        if hp.variant == "torch":
            mu, mu_next, mu_product = self._mu(t), self._mu(t + 1), state["mu_product"]
            xp.divide(g, d, out=w)
            theta -= xp.multiply(w, c(hp.lr * (1 - mu) / (1 - mu_product)), out=w)
            xp.divide(m, d, out=w)
            theta -= xp.multiply(w, c(hp.lr * mu_next / (1 - mu_product * mu_next)), out=w)
            return
        # look-ahead momentum: beta1 * mhat + (1 - beta1) * g / (1 - beta1^t)
        # (optax bias-corrects the beta1 * m term with t + 1)
        t_m = t + 1 if hp.variant == "optax" else t
        w /= c(1 - power(hp.beta1, t))
        w += xp.multiply(m, c(hp.beta1 / (1 - power(hp.beta1, t_m))), out=u)
        xp.divide(w, d, out=w)
        theta -= xp.multiply(w, c(hp.lr), out=w)  # theta = theta - lr / (sqrt(vhat) + eps) * (...)

    def _kernel(self, state):
        t = state["t"]
        moments = (self.beta1, 1 - self.beta1, self.beta2, 1 - self.beta2,
                   1 - power(self.beta2, t), self.eps)
        if self.variant == "torch":
            mu, mu_next, mu_product = self._mu(t), self._mu(t + 1), state["mu_product"]
            return "nadam_torch", (*moments, self.lr * (1 - mu) / (1 - mu_product),
                                   self.lr * mu_next / (1 - mu_product * mu_next))
        t_m = t + 1 if self.variant == "optax" else t
        return "nadam", (*moments, 1 - power(self.beta1, t),
                         self.beta1 / (1 - power(self.beta1, t_m)), self.lr)
