"""The direction branch of the family tree: GD -> SGD -> Momentum -> NAG (LECTURE.md, section 4)."""

from __future__ import annotations

from descentlab._backend import as_like
from descentlab.optim._base import NONNEGATIVE, UNIT_OPEN, Family, Optimizer

__all__ = ["GD", "SGD", "Momentum", "NAG"]


class GD(Optimizer):
    """Gradient descent: a step against the gradient of the loss over all the data.

    Math (lecture, "Gradient Descent")::

        theta_{t+1} = theta_t - lr * g_t,     g_t = grad J(theta_t) over the whole data set

    Args:
      lr: learning rate eta, in [0, inf). Default 0.01, the smallest of the lecture's three figures
        (0.01 / 0.03 / 0.13).

    Framework: identical to ``torch.optim.SGD(lr, momentum=0)`` and ``optax.sgd(lr)``.

    Example:
      >>> import numpy as np
      >>> from descentlab.optim import GD
      >>> theta = np.array([1.0, -2.0])
      >>> opt = GD(lr=0.1); state = opt.init(theta)
      >>> opt.step(theta, 2 * theta, state)          # J = |theta|^2, so g = 2 theta
      >>> theta
      array([ 0.8, -1.6])

    Paper: A. Cauchy, "Methode generale pour la resolution des systemes d'equations simultanees",
    Comptes Rendus 25 (1847).
    """

    _ranges = {"lr": NONNEGATIVE}
    family = Family((), "root", 1847, "Cauchy (1847)", "walk downhill using all the data")

    def __init__(self, lr=0.01):
        super().__init__(lr=lr)

    def rule(self, theta, g, state, hp):
        theta -= hp.lr * g  # theta = theta - lr * g
        return theta, {}


class SGD(GD):
    """Stochastic gradient descent: the GD rule, fed the gradient of a small sample.

    Math (lecture, "Stochastic Gradient Descent")::

        theta_{t+1} = theta_t - lr * grad J(theta_t; x_i, y_i)

    The rule is GD's (this class only differs in its place in the family tree); what makes it
    stochastic is the gradient you pass to ``step``: computed on a minibatch, not on all the data.

    Args:
      lr: learning rate eta, in [0, inf). Default 0.01.

    Framework: identical to ``torch.optim.SGD(lr, momentum=0)`` and ``optax.sgd(lr)``.

    Example:
      >>> import numpy as np
      >>> from descentlab.optim import SGD
      >>> rng = np.random.default_rng(0)
      >>> x = rng.normal(size=100); y = 3 * x
      >>> w = np.zeros(1); opt = SGD(lr=0.1); state = opt.init(w)
      >>> for _ in range(200):
      ...     i = rng.integers(0, 100, size=8)               # a minibatch of 8 samples
      ...     g = np.array([np.mean(2 * (w[0] * x[i] - y[i]) * x[i])])
      ...     opt.step(w, g, state)
      >>> round(float(w[0]), 6)
      3.0

    Paper: H. Robbins, S. Monro, "A Stochastic Approximation Method", Ann. Math. Statist. (1951).
    """

    family = Family(("GD",), "data", 1951, "Robbins & Monro (1951)",
                    "look at only part of the data, but faster")


class Momentum(Optimizer):
    """Momentum (heavy ball): keep moving in the direction of the previous steps.

    Math (lecture, "Momentum")::

        v_t = gamma * v_{t-1} + lr * g_t
        theta_{t+1} = theta_t - v_t

    Args:
      lr: learning rate eta, in [0, inf). Default 0.01.
      gamma: momentum factor, in [0, 1). Default 0.9 (Ruder's overview: "usually set to 0.9").

    Framework: ``torch.optim.SGD(lr, momentum=gamma)`` keeps ``b_t = gamma b_{t-1} + g_t`` and steps
    ``lr * b_t``; with a constant lr its iterates are the lecture's, and ``v = lr * b``
    (``descentlab.torch.Momentum`` keeps the lecture's ``v`` in its state; with a changing lr the
    two forms differ). optax.sgd(momentum=...) uses torch's form.

    Example:
      >>> import numpy as np
      >>> from descentlab.optim import Momentum
      >>> theta = np.array([1.0]); opt = Momentum(lr=0.1, gamma=0.5); s = opt.init(theta)
      >>> opt.step(theta, 2 * theta, s); opt.step(theta, 2 * theta, s)
      >>> s["v"], theta    # v1 = 0.2, theta1 = 0.8; v2 = 0.5*0.2 + 0.1*1.6 = 0.26, theta2 = 0.54
      (array([0.26]), array([0.54]))

    Paper: B. T. Polyak, "Some methods of speeding up the convergence of iteration methods" (1964).
    """

    _ranges = {"lr": NONNEGATIVE, "gamma": UNIT_OPEN}
    buffers = ("v",)
    family = Family(("SGD",), "direction", 1964, "Polyak (1964)",
                    "add the previous direction: inertia")

    def __init__(self, lr=0.01, gamma=0.9):
        super().__init__(lr=lr, gamma=gamma)

    def rule(self, theta, g, state, hp):
        v = state["v"]
        v *= hp.gamma
        v += hp.lr * g  # v = gamma * v + lr * g
        theta -= v  # theta = theta - v
        return theta, {"v": v}


class NAG(Momentum):
    """Nesterov accelerated gradient: momentum with the gradient taken at the look-ahead point.

    Math (lecture, "NAG")::

        v_t = gamma * v_{t-1} + lr * grad J(theta_t - gamma * v_{t-1})
        theta_{t+1} = theta_t - v_t

    ``lookahead(params, state)`` returns ``theta - gamma * v``: evaluate the gradient there and pass
    it to ``step``. The update itself is Momentum's.

    Args:
      lr: learning rate eta, in [0, inf). Default 0.01.
      gamma: momentum factor, in [0, 1). Default 0.9.

    Framework: ``torch.optim.SGD(momentum=gamma, nesterov=True)`` keeps the parameters at the
    look-ahead point ``phi = theta - gamma * v`` (Sutskever et al. 2013's reformulation) and steps
    ``phi -= lr * g(phi) + gamma * v_t``; ``descentlab.torch.NAG`` does the same and its
    ``phi + gamma * v`` are exactly this class's iterates.

    Example:
      >>> import numpy as np
      >>> from descentlab.optim import NAG
      >>> theta = np.array([1.0]); opt = NAG(lr=0.1, gamma=0.5); s = opt.init(theta)
      >>> for _ in range(2):
      ...     point = opt.lookahead(theta, s)      # theta - gamma v
      ...     opt.step(theta, 2 * point, s)        # J = theta^2
      >>> theta   # v2 = 0.5*0.2 + 0.1 * 2 * (0.8 - 0.1) = 0.24
      array([0.56])

    Paper: Y. Nesterov, "A method for unconstrained convex minimization problem with the rate of
    convergence O(1/k^2)" (1983); I. Sutskever et al., "On the importance of initialization and
    momentum in deep learning", ICML 2013.
    """

    family = Family(("Momentum",), "direction", 1983, "Nesterov (1983)",
                    "look where you are going before you step")

    def lookahead(self, params, state):
        """``theta - gamma * v``: the point the momentum step leads to (a new array)."""
        self._check_params(params)
        self._check_state(params, state)
        # gamma in the params' dtype (a batched gamma too): the point has the params' dtype
        return params - as_like(self.gamma, params) * state["v"]
