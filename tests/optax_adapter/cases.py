"""The table every descentlab.optax test runs through: one case per optimizer and variant.

Each case has hyperparameters that make every term of its rule matter and a reference step
written from LECTURE.md's formulas (or the framework's documented formula for a variant) in plain
jax.numpy, independent of descentlab's rules: ``ref(theta, g, r, t, **hp)`` returns the new theta
and updates the dict ``r`` of buffers; ``t`` is the step number (1 first) as a Python int.
NAG's reference takes the gradient at its look-ahead point itself (``grad`` instead of ``g``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

pytest.importorskip("optax", reason="descentlab.optax needs the jax extra: pip install -e '.[jax]'")

import jax.numpy as jnp

import descentlab.optax as dopt
from descentlab import optim


def ref_gd(theta, g, r, t, lr):
    return theta - lr * g


def ref_momentum(theta, g, r, t, lr, gamma):
    r["v"] = gamma * r["v"] + lr * g
    return theta - r["v"]


def ref_nag(theta, grad, r, t, lr, gamma):
    r["v"] = gamma * r["v"] + lr * grad(theta - gamma * r["v"])
    return theta - r["v"]


def ref_adagrad(theta, g, r, t, lr, eps, variant="lecture", initial_accumulator=0.0):
    r["G"] = r["G"] + g**2
    if variant == "lecture":
        return theta - lr / jnp.sqrt(r["G"] + eps) * g
    return theta - lr / (jnp.sqrt(r["G"]) + eps) * g


def ref_rmsprop(theta, g, r, t, lr, gamma, eps):
    r["G"] = gamma * r["G"] + (1 - gamma) * g**2
    return theta - lr / (jnp.sqrt(r["G"]) + eps) * g


def ref_adadelta(theta, g, r, t, gamma, eps, lr=1.0):
    r["G"] = gamma * r["G"] + (1 - gamma) * g**2
    delta = jnp.sqrt(r["s"] + eps) / jnp.sqrt(r["G"] + eps) * g
    r["s"] = gamma * r["s"] + (1 - gamma) * delta**2
    return theta - lr * delta


def ref_adam(theta, g, r, t, lr, beta1, beta2, eps):
    r["m"] = beta1 * r["m"] + (1 - beta1) * g
    r["v"] = beta2 * r["v"] + (1 - beta2) * g**2
    mhat, vhat = r["m"] / (1 - beta1**t), r["v"] / (1 - beta2**t)
    return theta - lr * mhat / (jnp.sqrt(vhat) + eps)


def ref_nadam(theta, g, r, t, lr, beta1, beta2, eps, variant="ruder", momentum_decay=0.004):
    r["m"] = beta1 * r["m"] + (1 - beta1) * g
    r["v"] = beta2 * r["v"] + (1 - beta2) * g**2
    denom = jnp.sqrt(r["v"] / (1 - beta2**t)) + eps
    if variant == "ruder":  # Ruder's overview, the lecture's Nadam
        return theta - lr / denom * (beta1 * r["m"] / (1 - beta1**t)
                                     + (1 - beta1) * g / (1 - beta1**t))
    if variant == "optax":  # optax.nadam: beta1 * m bias-corrected with t + 1
        return theta - lr / denom * (beta1 * r["m"] / (1 - beta1 ** (t + 1))
                                     + (1 - beta1) * g / (1 - beta1**t))
    # torch.optim.NAdam's documented algorithm: mu_t = beta1 (1 - 0.5 * 0.96^(t psi))
    mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    r["P"] = r.get("P", 1.0) * mu
    return (theta - lr * (1 - mu) / (1 - r["P"]) * g / denom
            - lr * mu_next / (1 - r["P"] * mu_next) * r["m"] / denom)


@dataclass(frozen=True)
class Case:
    id: str
    factory: object  # the descentlab.optax function
    core: type  # its descentlab.optim class
    hp: dict
    ref: object
    buffers: tuple = ()
    extra: dict = field(default_factory=dict)  # keyword-only arguments (variant=...)

    def make(self, **override):
        return self.factory(**{**self.hp, **self.extra, **override})

    def make_core(self, **override):
        return self.core(**{**self.hp, **self.extra, **override})


CASES = [
    Case("gd", dopt.gd, optim.GD, {"lr": 0.1}, ref_gd),
    Case("sgd", dopt.sgd, optim.SGD, {"lr": 0.07}, ref_gd),
    Case("momentum", dopt.momentum, optim.Momentum, {"lr": 0.03, "gamma": 0.8}, ref_momentum,
         ("v",)),
    Case("nag", dopt.nag, optim.NAG, {"lr": 0.03, "gamma": 0.8}, ref_nag, ("v",)),
    Case("adagrad", dopt.adagrad, optim.Adagrad, {"lr": 0.3, "eps": 0.5}, ref_adagrad, ("G",)),
    Case("adagrad-torch", dopt.adagrad, optim.Adagrad, {"lr": 0.3, "eps": 0.5}, ref_adagrad,
         ("G",), {"variant": "torch", "initial_accumulator": 0.25}),
    Case("rmsprop", dopt.rmsprop, optim.RMSProp, {"lr": 0.05, "gamma": 0.8, "eps": 0.01},
         ref_rmsprop, ("G",)),
    Case("adadelta", dopt.adadelta, optim.AdaDelta, {"gamma": 0.8, "eps": 0.01}, ref_adadelta,
         ("G", "s")),
    Case("adadelta-lr", dopt.adadelta, optim.AdaDelta, {"gamma": 0.8, "eps": 0.01, "lr": 0.5},
         ref_adadelta, ("G", "s")),
    Case("adam", dopt.adam, optim.Adam, {"lr": 0.05, "beta1": 0.8, "beta2": 0.95, "eps": 1e-3},
         ref_adam, ("m", "v")),
    Case("nadam", dopt.nadam, optim.Nadam,
         {"lr": 0.05, "beta1": 0.8, "beta2": 0.95, "eps": 1e-3}, ref_nadam, ("m", "v")),
    Case("nadam-optax", dopt.nadam, optim.Nadam,
         {"lr": 0.05, "beta1": 0.8, "beta2": 0.95, "eps": 1e-3}, ref_nadam, ("m", "v"),
         {"variant": "optax"}),
    Case("nadam-torch", dopt.nadam, optim.Nadam,
         {"lr": 0.05, "beta1": 0.8, "beta2": 0.95, "eps": 1e-3}, ref_nadam, ("m", "v"),
         {"variant": "torch", "momentum_decay": 0.3}),
]
IDS = [c.id for c in CASES]
#: the cases whose update is exact (module docstring): one `theta -= step` from theta = 0
EXACT = [c for c in CASES if c.id not in ("nag", "nadam-torch")]
