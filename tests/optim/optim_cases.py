"""The one table every optimizer test runs through (STYLE.md, habit 5).

Each case names an optimizer, hyperparameters that make every term of its rule matter, and a
reference step written from LECTURE.md's formulas (or the framework's documented formula for the
variants) as plain NumPy expressions, independent of descentlab's in-place code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from descentlab import optim


def ref_gd(theta, grad, r, t, lr):
    return theta - lr * grad(theta)


def ref_momentum(theta, grad, r, t, lr, gamma):
    r["v"] = gamma * r["v"] + lr * grad(theta)
    return theta - r["v"]


def ref_nag(theta, grad, r, t, lr, gamma):
    r["v"] = gamma * r["v"] + lr * grad(theta - gamma * r["v"])
    return theta - r["v"]


def ref_adagrad(theta, grad, r, t, lr, eps, variant="lecture", initial_accumulator=0.0):
    g = grad(theta)
    r["G"] = r["G"] + g**2
    if variant == "lecture":
        return theta - lr / np.sqrt(r["G"] + eps) * g  # eps INSIDE the root
    return theta - lr / (np.sqrt(r["G"]) + eps) * g  # torch: eps outside


def ref_rmsprop(theta, grad, r, t, lr, gamma, eps):
    g = grad(theta)
    r["G"] = gamma * r["G"] + (1 - gamma) * g**2
    return theta - lr / (np.sqrt(r["G"]) + eps) * g


def ref_adadelta(theta, grad, r, t, gamma, eps, lr=1.0):
    g = grad(theta)
    r["G"] = gamma * r["G"] + (1 - gamma) * g**2
    delta = np.sqrt(r["s"] + eps) / np.sqrt(r["G"] + eps) * g
    r["s"] = gamma * r["s"] + (1 - gamma) * delta**2
    return theta - lr * delta


def _moments(theta, grad, r, beta1, beta2):
    g = grad(theta)
    r["m"] = beta1 * r["m"] + (1 - beta1) * g
    r["v"] = beta2 * r["v"] + (1 - beta2) * g**2
    return g


def ref_adam(theta, grad, r, t, lr, beta1, beta2, eps):
    _moments(theta, grad, r, beta1, beta2)
    mhat, vhat = r["m"] / (1 - beta1**t), r["v"] / (1 - beta2**t)
    return theta - lr / (np.sqrt(vhat) + eps) * mhat


def ref_nadam(theta, grad, r, t, lr, beta1, beta2, eps, variant="ruder", momentum_decay=0.004):
    g = _moments(theta, grad, r, beta1, beta2)
    vhat = r["v"] / (1 - beta2**t)
    if variant == "ruder":  # LECTURE.md's Nadam row (Ruder's overview)
        mhat = r["m"] / (1 - beta1**t)
        lookahead = beta1 * mhat + (1 - beta1) * g / (1 - beta1**t)
        return theta - lr / (np.sqrt(vhat) + eps) * lookahead
    if variant == "optax":
        # optax 0.2.8, optax/_src/transform.py lines 280-304 (scale_by_adam, nesterov=True):
        #   mu = update_moment(g, mu, b1, 1); nu = update_moment_per_elem_norm(g, nu, b2, 2)
        #   mu_hat = b1 * bias_correction(mu, b1, count + 1)
        #            + (1 - b1) * bias_correction(g, b1, count)
        #   nu_hat = bias_correction(nu, b2, count)
        #   updates = mu_hat / (sqrt(nu_hat + eps_root) + eps)
        # with bias_correction(x, decay, c) = x / (1 - decay**c) (optax/tree_utils/_tree_math.py
        # lines 442-453) and optax.nadam = scale_by_adam(nesterov=True) then -lr (alias.py).
        mu_hat = beta1 * (r["m"] / (1 - beta1 ** (t + 1))) + (1 - beta1) * (g / (1 - beta1**t))
        return theta - lr * mu_hat / (np.sqrt(vhat) + eps)
    # torch.optim.NAdam's documented algorithm: mu_t = beta1 (1 - 0.5 * 0.96^(t psi))
    mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    r["P"] = r.get("P", 1.0) * mu
    denom = np.sqrt(vhat) + eps
    return theta - lr * (1 - mu) / (1 - r["P"]) * g / denom - lr * mu_next / (
        1 - r["P"] * mu_next
    ) * r["m"] / denom


@dataclass
class Case:
    id: str
    name: str  # the class in descentlab.optim
    hp: dict  # hyperparameters for the hand-step, batching and parity tests
    ref: object  # the reference step
    buffers: tuple[str, ...]
    batch: str  # the hyperparameter given as an array in the batched test
    values: tuple[float, float, float]  # its three values
    converge: dict = field(default_factory=dict)  # hyperparameters that converge on the bowl
    extra_state: tuple[str, ...] = ()

    def make(self, **override):
        return optim.get(self.name, **{**self.hp, **override})

    def init_ref(self, theta):
        r = {name: np.zeros_like(theta) for name in self.buffers}
        if "initial_accumulator" in self.hp:
            r["G"] = r["G"] + self.hp["initial_accumulator"]
        return r


CASES = [
    Case("GD", "GD", dict(lr=0.1), ref_gd, (), "lr", (0.01, 0.03, 0.13), dict(lr=0.08)),
    Case("SGD", "SGD", dict(lr=0.05), ref_gd, (), "lr", (0.01, 0.03, 0.13), dict(lr=0.08)),
    Case("Momentum", "Momentum", dict(lr=0.05, gamma=0.7), ref_momentum, ("v",), "gamma",
         (0.0, 0.5, 0.9), dict(lr=0.02, gamma=0.8)),
    Case("NAG", "NAG", dict(lr=0.05, gamma=0.7), ref_nag, ("v",), "lr", (0.01, 0.03, 0.13),
         dict(lr=0.02, gamma=0.8)),
    Case("Adagrad", "Adagrad", dict(lr=0.3, eps=0.5), ref_adagrad, ("G",), "eps",
         (1e-8, 0.1, 2.0), dict(lr=0.5)),
    Case("Adagrad-torch", "Adagrad", dict(lr=0.3, eps=0.5, variant="torch",
                                          initial_accumulator=0.2), ref_adagrad, ("G",),
         "initial_accumulator", (0.0, 0.1, 3.0), dict(lr=0.5, variant="torch")),
    Case("RMSProp", "RMSProp", dict(lr=0.05, gamma=0.6, eps=0.1), ref_rmsprop, ("G",), "gamma",
         (0.0, 0.6, 0.99), dict(lr=0.003, gamma=0.9)),
    Case("AdaDelta", "AdaDelta", dict(gamma=0.6, eps=0.05), ref_adadelta, ("G", "s"), "gamma",
         (0.0, 0.5, 0.95), dict(gamma=0.9, eps=1e-3)),
    Case("AdaDelta-lr", "AdaDelta", dict(gamma=0.6, eps=0.05, lr=0.4), ref_adadelta, ("G", "s"),
         "lr", (0.1, 0.4, 1.0), dict(gamma=0.9, eps=1e-3, lr=0.5)),
    Case("Adam", "Adam", dict(lr=0.05, beta1=0.7, beta2=0.8, eps=0.1), ref_adam, ("m", "v"),
         "beta1", (0.0, 0.7, 0.9), dict(lr=0.003)),
    Case("Nadam", "Nadam", dict(lr=0.05, beta1=0.7, beta2=0.8, eps=0.1), ref_nadam, ("m", "v"),
         "beta2", (0.5, 0.8, 0.999), dict(lr=0.003)),
    Case("Nadam-torch", "Nadam", dict(lr=0.05, beta1=0.7, beta2=0.8, eps=0.1, variant="torch",
                                      momentum_decay=0.3), ref_nadam, ("m", "v"),
         "momentum_decay", (0.0, 0.004, 0.3), dict(lr=0.003, variant="torch"),
         extra_state=("mu_product",)),
    Case("Nadam-optax", "Nadam", dict(lr=0.05, beta1=0.7, beta2=0.8, eps=0.1, variant="optax"),
         ref_nadam, ("m", "v"), "beta1", (0.0, 0.7, 0.9), dict(lr=0.003, variant="optax")),
]
IDS = [c.id for c in CASES]
assert {c.name for c in CASES} == set(optim.names())


def grad_fn(theta):
    """A gradient that varies per element and is not linear: J = sum(x^4/4 + x^2 + 0.3 x)."""
    return theta**3 + 2 * theta + 0.3


def run(opt, theta, steps, grad=grad_fn):
    """``steps`` steps of ``opt`` from ``theta`` (a copy), the gradient taken at lookahead()."""
    theta = theta.clone() if hasattr(theta, "clone") else theta.copy()
    state = opt.init(theta)
    for _ in range(steps):
        opt.step(theta, grad(opt.lookahead(theta, state)), state)
    return theta, state


def run_ref(case, theta, steps, grad=grad_fn, **hp):
    theta = theta.copy()
    r = case.init_ref(theta)
    for t in range(1, steps + 1):
        theta = case.ref(theta, grad, r, t, **{**case.hp, **hp})
    return theta, r

