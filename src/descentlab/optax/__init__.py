"""The lecture's optimizers as optax transformations, running descentlab's own rules in JAX.

``descentlab.optax.adam(lr=0.01)`` is an ``optax.GradientTransformation``: ``init(params)`` builds
the state for any pytree of parameters, ``update(grads, state, params=None)`` returns the updates
that ``optax.apply_updates`` adds to the parameters. Its ``update`` calls the ``rule`` method of
:class:`descentlab.optim.Adam` on each leaf (the same code that steps NumPy arrays and torch
tensors), so there is no separate JAX copy of the math. Keyword arguments, defaults and error
messages are those of :mod:`descentlab.optim`.

>>> import jax, jax.numpy as jnp, optax
>>> import descentlab.optax as dopt
>>> loss = lambda p: jnp.sum(p["w"] ** 2) + (p["b"] - 1.0) ** 2
>>> params = {"w": jnp.array([1.0, -2.0]), "b": jnp.array(0.0)}
>>> tx = dopt.adam(lr=0.1)
>>> state = tx.init(params)
>>> @jax.jit
... def train_step(params, state):
...     updates, state = tx.update(jax.grad(loss)(params), state)
...     return optax.apply_updates(params, updates), state
>>> for _ in range(200):
...     params, state = train_step(params, state)
>>> round(float(loss(params)), 4), int(state.t)
(0.0, 200)

See :mod:`descentlab.optax._transform` for the design decisions (how updates are formed, the
state, NAG's look-ahead parameters, batched and traced hyperparameters, where optax differs).
"""

from __future__ import annotations

from descentlab._extras import require

require("optax", extra="jax", feature="descentlab.optax's transformations")

from descentlab.optax._transform import (  # noqa: E402
    AdaDeltaState,
    AdagradState,
    AdamState,
    GDState,
    MomentumState,
    NadamState,
    NadamTorchState,
    RMSPropState,
    adadelta,
    adagrad,
    adam,
    gd,
    momentum,
    nadam,
    nag,
    rmsprop,
    sgd,
)

__all__ = [
    "gd", "sgd", "momentum", "nag", "adagrad", "rmsprop", "adadelta", "adam", "nadam",
    "GDState", "MomentumState", "AdagradState", "RMSPropState", "AdaDeltaState", "AdamState",
    "NadamState", "NadamTorchState",
]
