"""optax transformations that run the ``rule`` of a :mod:`descentlab.optim` optimizer on JAX arrays.

Each public function (``gd``, ``sgd``, ``momentum``, ``nag``, ``adagrad``, ``rmsprop``,
``adadelta``, ``adam``, ``nadam``) validates its keyword arguments by building the optimizer of
:mod:`descentlab.optim` with the same names (so the defaults and every error message are that
class's), and returns an ``optax.GradientTransformation`` whose ``update`` calls that object's
``rule(theta, g, state, hp)`` on each leaf of the gradient pytree. The rules are written with
operators, augmented assignment and ``descentlab._backend.sqrt``: on a JAX array ``m *= beta1``
rebinds ``m`` to a new array and the rule returns the new values, which is all a pure optax update
needs. They trace under ``jax.jit`` and ``jax.vmap`` as they are, the step count ``t`` included (an
int32 array in the state: ``beta1 ** t`` becomes ``lax.pow`` of a float and an integer).

Decisions, each tested in ``tests/optax_adapter``:

* **Updates are the rule run from zero.** optax wants the update ``u`` that
  ``optax.apply_updates`` adds to the parameters, while a rule returns the new parameters. Each
  rule ends with one ``theta -= step`` and reads ``theta`` nowhere else, so the update calls it with
  ``theta = 0`` and gets ``u = 0 - step = -step``, with no rounding at all. Then
  ``apply_updates(params, u) = params + (-step)``, which in IEEE arithmetic is ``params - step``
  exactly: the rule's own iterate, bit for bit, in any precision. Tested over many steps in
  float64 and float32 against the same rule run on the parameters themselves (which also catches a
  rule that starts reading ``theta``), and to 1e-13 in float64 against independent formulas and the
  NumPy optimizer (XLA's ``beta ** t`` and C's ``pow`` may differ in the last bit). The alternative
  ``u = new_theta - params`` loses the exactness whenever ``new_theta`` and ``params`` are not
  within a factor of 2 of each other (``params + (new_theta - params)`` is then rounded twice),
  e.g. for a coordinate that crosses zero. Two cases are exact only to rounding (a few units in
  the last place), both tested at 1e-13: ``nadam(variant="torch")``, whose rule subtracts two terms
  from ``theta`` (the update is ``-(a + b)``, added once, where the rule rounds ``theta - a - b``
  twice), and ``nag``, below. A consequence worth knowing: ``update`` never needs ``params``
  (``params=None`` is fine), as for ``optax.adam``.
* **State.** A NamedTuple per optimizer, a pytree like optax's own states: ``t`` (int32, the
  number of steps taken; the rule sees it advanced, 1 on the first step) and one pytree shaped like
  the parameters per buffer of the lecture (``AdamState(t, m, v)``, ``AdagradState(t, G)``, ...),
  plus ``mu_product`` for ``nadam(variant="torch")`` (one array for the whole tree, shaped like the
  hyperparameters). ``init`` takes any pytree. Buffers keep the parameters' dtype, and the updates
  have the gradients' dtype, in float32 and float64 alike.
* **NAG keeps the parameters at the look-ahead point** ``phi = theta - gamma * v``, as
  ``torch.optim.SGD(nesterov=True)`` and ``descentlab.torch.NAG`` do, so that the gradient the
  training loop computes at ``params`` is the lecture's ``grad J(theta - gamma v)``. ``update``
  forms ``theta - phi = gamma * v_prev``, runs NAG's rule from there and subtracts
  ``gamma * v_new``: ``phi_new - phi``. Recover the lecture's iterate with
  ``theta = jax.tree.map(lambda p, v: p + gamma * v, params, state.v)``. The phi iterates equal
  the lecture's only to rounding (``phi = theta - gamma v`` is itself rounded), tested at 1e-13.
* **Precision.** In float32 (JAX's default) the coefficients built from hyperparameters alone
  (``1 - beta2 ** t``) are float32 too, as in optax, where NumPy and torch compute them in float64:
  ``1 - 0.999`` is then 0.00099998713, and Adam's first step is 6.6e-6 (relative) off ``lr``. Under
  ``jax_enable_x64`` with float64 parameters everything is float64.
* **Batched hyperparameters** work as in NumPy: an array hyperparameter must broadcast against
  every leaf without changing its shape, so ``adam(lr=jnp.array([[0.01], [0.03], [0.1]]))`` on
  parameters of shape (3, n) advances three independent runs. Arrays are held in float64 (as
  :mod:`descentlab.optim` does), given to the rule as JAX arrays of the default float dtype
  (float64 under ``jax_enable_x64``), and the results are stored back in the parameters' dtype.
* **Traced hyperparameters.** A hyperparameter that is a JAX tracer (inside ``jax.jit``,
  ``jax.vmap`` over hyperparameters, or ``optax.inject_hyperparams``, the way to drive one with a
  schedule) has no value yet: it is checked to be a real number array whose shape broadcasts,
  and used as given; its range cannot be checked. Concrete values, arrays included, meet the
  checks of :mod:`descentlab.optim`. A schedule function is refused: wrap the factory in
  ``optax.inject_hyperparams`` instead.

Where optax's own transformations coincide with the lecture's rules, and where they do not (each
tested in ``tests/optax_adapter/test_optax_parity.py``):

* ``gd``/``sgd`` = ``optax.sgd(lr)``. ``momentum`` = ``optax.sgd(lr, momentum=gamma)`` at a constant
  lr (optax keeps ``b = gamma b + g`` and steps ``lr b``: the lecture's ``v`` is ``lr b``; with a
  schedule the two differ). ``nag`` = ``optax.sgd(lr, momentum=gamma, nesterov=True)`` at a
  constant lr: optax's parameters are the same look-ahead ``phi``.
* ``adagrad``: ``optax.adagrad`` starts ``G`` at ``initial_accumulator_value=0.1`` (the lecture at
  0) with ``eps=1e-7`` (the lecture 1e-8), inside the root like the lecture; with
  ``initial_accumulator_value=0.0`` and the same ``eps`` the two agree (optax steps 0 where ``G`` is
  0, the lecture ``0 / sqrt(eps) = 0``; with ``eps=0`` the lecture gives 0/0 = NaN there).
* ``rmsprop`` = ``optax.rmsprop(lr, decay=gamma, eps=eps, eps_in_sqrt=False)``; optax's default
  ``eps_in_sqrt=True`` puts eps inside the root.
* ``adadelta``: ``optax.adadelta()`` with its default ``learning_rate=None`` returns ``+delta``:
  applied with ``apply_updates`` it climbs the loss. ``optax.adadelta(learning_rate=1.0, rho=gamma,
  eps=eps)`` is the lecture's rule (defaults differ: rho 0.9 against Zeiler's 0.95).
* ``adam`` = ``optax.adam`` (same defaults). ``nadam(variant="optax")`` = ``optax.nadam``; the
  default ``variant="ruder"`` (the lecture's) differs: optax bias-corrects ``beta1 * m`` with
  ``t + 1``. ``nadam(variant="torch")`` is ``torch.optim.NAdam``'s schedule, which optax lacks.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from descentlab import optim
from descentlab.optim import Coefficients

__all__ = [
    "gd", "sgd", "momentum", "nag", "adagrad", "rmsprop", "adadelta", "adam", "nadam",
    "GDState", "MomentumState", "AdagradState", "RMSPropState", "AdaDeltaState", "AdamState",
    "NadamState", "NadamTorchState",
]


# ------------------------------------------------------------------------------------ states
class GDState(NamedTuple):
    """State of ``gd`` and ``sgd``: the number of steps taken."""

    t: jax.Array


class MomentumState(NamedTuple):
    """State of ``momentum`` and ``nag``: the step count and the velocity ``v``."""

    t: jax.Array
    v: Any


class AdagradState(NamedTuple):
    """State of ``adagrad``: the step count and the sum ``G`` of squared gradients."""

    t: jax.Array
    G: Any


class RMSPropState(NamedTuple):
    """State of ``rmsprop``: the step count and the average ``G`` of squared gradients."""

    t: jax.Array
    G: Any


class AdaDeltaState(NamedTuple):
    """State of ``adadelta``: the averages ``G`` of squared gradients and ``s`` of squared steps."""

    t: jax.Array
    G: Any
    s: Any


class AdamState(NamedTuple):
    """State of ``adam``: the step count and the moments ``m`` and ``v``."""

    t: jax.Array
    m: Any
    v: Any


class NadamState(NamedTuple):
    """State of ``nadam`` (variants ``"ruder"`` and ``"optax"``): as Adam's."""

    t: jax.Array
    m: Any
    v: Any


class NadamTorchState(NamedTuple):
    """State of ``nadam(variant="torch")``: Adam's and the product ``mu_1 ... mu_t``."""

    t: jax.Array
    m: Any
    v: Any
    mu_product: jax.Array


#: the starting value of each state entry that is not a zero buffer nor ``t``, as the optimizers'
#: ``init`` sets it (Adagrad.init: G = initial_accumulator; Nadam.init: mu_product = 1); a test
#: compares ``init`` here with theirs for every optimizer
_START = {"G": "initial_accumulator", "mu_product": 1.0}


# ------------------------------------------------------------------------------------ machinery
def _is_traced(value) -> bool:
    return isinstance(value, jax.core.Tracer)


def _transformation(cls: type[optim.Optimizer], state_cls: type, hyperparameters: dict, *,
                    look_ahead: bool = False) -> optax.GradientTransformation:
    """The transformation running ``cls.rule``; hyperparameters validated by ``cls`` itself."""
    owner = cls.__name__
    defaults = {spec.name: spec.default for spec in cls.hyperparameter_specs()}
    traced = {}
    for name, value in hyperparameters.items():
        if not _is_traced(value):
            continue
        if name in cls._choices:
            raise ValueError(f"The {name!r} parameter of {owner} must be one of "
                             f"{list(cls._choices[name])}. Got a traced JAX array instead.")
        if not (jnp.issubdtype(value.dtype, jnp.floating)
                or jnp.issubdtype(value.dtype, jnp.integer)):
            raise ValueError(f"The {name!r} parameter of {owner} must be a float or an array of "
                             f"floats. Got a traced JAX array of dtype {value.dtype} instead.")
        traced[name] = value
    # every concrete value meets the class's checks; a traced one stands in by its default
    core = cls(**{k: defaults[k] if k in traced else v for k, v in hyperparameters.items()})
    values = {**core.hyperparameters, **traced}
    fields = ("t", *core.buffers, *core.scalars[1:])
    if state_cls._fields != fields:  # pragma: no cover - guards against a change in the core
        raise RuntimeError(f"{state_cls.__name__} has fields {state_cls._fields}, but "
                           f"{owner}'s state is {fields}: update descentlab.optax.")
    shapes = {k: tuple(np.shape(v)) for k, v in values.items()
              if isinstance(v, np.ndarray) or _is_traced(v)}

    def coefficients() -> Coefficients:
        # arrays go to JAX here, not at construction, so they take the default float dtype in
        # force when the transformation runs (float64 under jax_enable_x64)
        return Coefficients(**{k: jnp.asarray(v) if isinstance(v, np.ndarray) else v
                               for k, v in values.items()})

    def check_leaf(what, path, leaf) -> None:
        shape = tuple(jnp.shape(leaf))
        where = f"{what}{jax.tree_util.keystr(path)}"
        if not jnp.issubdtype(jnp.result_type(leaf), jnp.floating):
            raise ValueError(f"{owner}: {where} must have a floating dtype, got "
                             f"{jnp.result_type(leaf)}.")
        for name, hp_shape in shapes.items():
            try:
                ok = np.broadcast_shapes(hp_shape, shape) == shape
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(
                    f"{owner}: hyperparameter {name!r} has shape {hp_shape}, which does not "
                    f"broadcast to the shape {shape} of {where} without changing it.")

    def init_fn(params):
        leaves, treedef = jax.tree_util.tree_flatten_with_path(params)
        for path, leaf in leaves:
            check_leaf("params", path, leaf)
        hp = coefficients()
        state = {"t": jnp.zeros([], jnp.int32)}
        for name in core.buffers:
            start = getattr(hp, _START[name], 0.0) if name in _START else 0.0
            state[name] = jax.tree.map(
                lambda p, start=start: (jnp.zeros_like(p) + start).astype(jnp.result_type(p)),
                params)
        for name in core.scalars[1:]:
            shape = np.broadcast_shapes(*shapes.values()) if shapes else ()
            state[name] = jnp.full(shape, _START[name], dtype=jnp.result_type(float))
        return state_cls(**state)

    def rule(g, state, hp):
        """The optimizer's rule on one leaf: the update (see the module docstring) and state."""
        if look_ahead:  # params hold phi = theta - gamma v: run the rule from theta - phi
            theta, new = core.rule(hp.gamma * state["v"], g, state, hp)
            return theta - hp.gamma * new["v"], new
        return core.rule(jnp.zeros_like(g), g, state, hp)

    def update_fn(updates, state, params=None):
        del params  # no rule reads theta but to subtract its step from it (module docstring)
        hp = coefficients()
        t = optax.safe_increment(state.t)
        leaves, treedef = jax.tree_util.tree_flatten_with_path(updates)
        buffers = {b: treedef.flatten_up_to(getattr(state, b)) for b in core.buffers}
        scalars = {k: getattr(state, k) for k in core.scalars[1:]}
        new_updates, new_buffers, new_scalars = [], {b: [] for b in core.buffers}, None
        for i, (path, g) in enumerate(leaves):
            check_leaf("grads", path, g)
            g = jnp.asarray(g)
            leaf_state = {"t": t, **{b: buffers[b][i] for b in core.buffers}, **scalars}
            u, new = rule(g, leaf_state, hp)
            new_updates.append(jnp.asarray(u).astype(g.dtype))
            for b in core.buffers:
                new_buffers[b].append(new[b].astype(buffers[b][i].dtype))
            if new_scalars is None:  # (the same for every leaf: they depend on t and hp only)
                new_scalars = {k: new[k] for k in scalars}
        if new_scalars is None and scalars:  # an empty tree: advance them all the same
            _, new = rule(jnp.zeros([]), {"t": t, **{b: jnp.zeros([]) for b in core.buffers},
                                          **scalars}, hp)
            new_scalars = {k: new[k] for k in scalars}
        new_state = state_cls(
            t=t,
            **{b: jax.tree_util.tree_unflatten(treedef, new_buffers[b]) for b in core.buffers},
            **{k: jnp.asarray(new_scalars[k]).astype(scalars[k].dtype) for k in scalars})
        return jax.tree_util.tree_unflatten(treedef, new_updates), new_state

    return optax.GradientTransformation(init_fn, update_fn)


# ------------------------------------------------------------------------------------ public
def gd(lr=0.01) -> optax.GradientTransformation:
    """Gradient descent, :class:`descentlab.optim.GD`'s rule: ``theta -= lr * g``.

    Args:
      lr: learning rate eta, in [0, inf). Default 0.01.

    Same as ``optax.sgd(lr)``.

    Example:
      >>> import jax.numpy as jnp, optax
      >>> from descentlab.optax import gd
      >>> tx = gd(lr=0.1); params = jnp.array([1.0, -2.0]); state = tx.init(params)
      >>> updates, state = tx.update(2 * params, state)     # J = |theta|^2, g = 2 theta
      >>> optax.apply_updates(params, updates)
      Array([ 0.8, -1.6], dtype=float32)

    Paper: A. Cauchy (1847).
    """
    return _transformation(optim.GD, GDState, {"lr": lr})


def sgd(lr=0.01) -> optax.GradientTransformation:
    """Stochastic gradient descent, :class:`descentlab.optim.SGD`'s rule (GD's, fed minibatches).

    Args:
      lr: learning rate eta, in [0, inf). Default 0.01.

    Same as ``optax.sgd(lr)``.

    Example:
      >>> import jax.numpy as jnp, optax
      >>> from descentlab.optax import sgd
      >>> tx = sgd(lr=0.5); params = {"w": jnp.array([1.0])}; state = tx.init(params)
      >>> updates, state = tx.update({"w": jnp.array([0.4])}, state)
      >>> optax.apply_updates(params, updates)["w"]
      Array([0.8], dtype=float32)

    Paper: H. Robbins, S. Monro (1951).
    """
    return _transformation(optim.SGD, GDState, {"lr": lr})


def momentum(lr=0.01, gamma=0.9) -> optax.GradientTransformation:
    """Momentum, :class:`descentlab.optim.Momentum`'s rule::

        v = gamma * v + lr * g;   theta -= v

    Args:
      lr: learning rate eta, in [0, inf). Default 0.01.
      gamma: momentum factor, in [0, 1). Default 0.9.

    Same iterates as ``optax.sgd(lr, momentum=gamma)`` at a constant lr; ``state.v`` is optax's
    trace times lr.

    Example:
      >>> import jax.numpy as jnp, optax
      >>> from descentlab.optax import momentum
      >>> tx = momentum(lr=0.1, gamma=0.5); p = jnp.array([1.0]); s = tx.init(p)
      >>> for _ in range(2):
      ...     u, s = tx.update(2 * p, s); p = optax.apply_updates(p, u)
      >>> s.v, p      # v1 = 0.2, theta1 = 0.8; v2 = 0.5*0.2 + 0.1*1.6 = 0.26, theta2 = 0.54
      (Array([0.26], dtype=float32), Array([0.54], dtype=float32))

    Paper: B. T. Polyak (1964).
    """
    return _transformation(optim.Momentum, MomentumState, {"lr": lr, "gamma": gamma})


def nag(lr=0.01, gamma=0.9) -> optax.GradientTransformation:
    """Nesterov accelerated gradient, :class:`descentlab.optim.NAG`'s rule, with the parameters
    kept at the look-ahead point ``phi = theta - gamma * v``::

        v = gamma * v + lr * grad J(theta - gamma * v);   theta -= v

    Take the gradient at the parameters, as in any training loop: they are ``phi``, where the
    lecture evaluates it. The lecture's ``theta`` is ``phi + gamma * v``:
    ``jax.tree.map(lambda p, v: p + gamma * v, params, state.v)``.

    Args:
      lr: learning rate eta, in [0, inf). Default 0.01.
      gamma: momentum factor, in [0, 1). Default 0.9.

    Same as ``optax.sgd(lr, momentum=gamma, nesterov=True)`` at a constant lr (its parameters are
    the same ``phi``).

    Example:
      >>> import jax.numpy as jnp, optax
      >>> from descentlab.optax import nag
      >>> tx = nag(lr=0.1, gamma=0.5); phi = jnp.array([1.0]); s = tx.init(phi)
      >>> for _ in range(2):
      ...     u, s = tx.update(2 * phi, s); phi = optax.apply_updates(phi, u)   # J = theta^2
      >>> phi + 0.5 * s.v      # theta2: v2 = 0.5*0.2 + 0.1 * 2 * (0.8 - 0.1) = 0.24
      Array([0.56], dtype=float32)

    Paper: Y. Nesterov (1983); I. Sutskever et al., ICML 2013 (the look-ahead form).
    """
    return _transformation(optim.NAG, MomentumState, {"lr": lr, "gamma": gamma},
                           look_ahead=True)


def adagrad(lr=0.01, eps=1e-8, *, variant="lecture",
            initial_accumulator=0.0) -> optax.GradientTransformation:
    """Adagrad, :class:`descentlab.optim.Adagrad`'s rule (eps INSIDE the root)::

        G += g^2;   theta -= lr / sqrt(G + eps) * g

    Args:
      lr: learning rate eta, in [0, inf). Default 0.01.
      eps: smoothing term, in [0, inf). Default 1e-8.
      variant: ``"lecture"`` (default) or ``"torch"`` (eps outside the root, as torch.optim).
      initial_accumulator: starting value of G, in [0, inf). Default 0.0.

    ``optax.adagrad(lr, initial_accumulator_value=0.0, eps=eps)`` is the same rule; its defaults
    (0.1 and 1e-7) are not the lecture's.

    Example:
      >>> import jax.numpy as jnp, optax
      >>> from descentlab.optax import adagrad
      >>> tx = adagrad(lr=0.5, eps=0.0); p = jnp.array([1.0, 1.0]); s = tx.init(p)
      >>> u, s = tx.update(jnp.array([3.0, 0.1]), s)   # first step: lr * g / |g|
      >>> optax.apply_updates(p, u)
      Array([0.5, 0.5], dtype=float32)

    Paper: J. Duchi, E. Hazan, Y. Singer, JMLR 2011.
    """
    return _transformation(optim.Adagrad, AdagradState,
                           {"lr": lr, "eps": eps, "variant": variant,
                            "initial_accumulator": initial_accumulator})


def rmsprop(lr=0.001, gamma=0.9, eps=1e-8) -> optax.GradientTransformation:
    """RMSProp, :class:`descentlab.optim.RMSProp`'s rule (eps OUTSIDE the root)::

        G = gamma * G + (1 - gamma) * g^2;   theta -= lr / (sqrt(G) + eps) * g

    Args:
      lr: learning rate eta, in [0, inf). Default 0.001.
      gamma: decay of the average, in [0, 1). Default 0.9.
      eps: smoothing term, in [0, inf). Default 1e-8.

    Same as ``optax.rmsprop(lr, decay=gamma, eps=eps, eps_in_sqrt=False)``.

    Example:
      >>> import jax.numpy as jnp, optax
      >>> from descentlab.optax import rmsprop
      >>> tx = rmsprop(lr=0.1, gamma=0.75, eps=0.0); p = jnp.array([1.0]); s = tx.init(p)
      >>> u, s = tx.update(jnp.array([2.0]), s)        # G = 0.25 * 4 = 1, step = 0.1 * 2 / 1
      >>> optax.apply_updates(p, u)
      Array([0.8], dtype=float32)

    Paper: T. Tieleman, G. Hinton, COURSERA lecture 6.5 (2012).
    """
    return _transformation(optim.RMSProp, RMSPropState, {"lr": lr, "gamma": gamma, "eps": eps})


def adadelta(gamma=0.95, eps=1e-6, lr=1.0) -> optax.GradientTransformation:
    """AdaDelta, :class:`descentlab.optim.AdaDelta`'s rule (no learning rate: ``lr=1``)::

        G = gamma * G + (1 - gamma) * g^2
        delta = sqrt(s + eps) / sqrt(G + eps) * g;   theta -= lr * delta
        s = gamma * s + (1 - gamma) * delta^2

    Args:
      gamma: decay of both averages, in [0, 1). Default 0.95.
      eps: smoothing term, in (0, inf). Default 1e-6.
      lr: a multiplier on delta, in [0, inf). Default 1.0 (the lecture's rule).

    Same as ``optax.adadelta(learning_rate=1.0, rho=gamma, eps=eps)``; ``optax.adadelta()`` with
    its default ``learning_rate=None`` steps ``+delta``, uphill.

    Example:
      >>> import jax.numpy as jnp, optax
      >>> from descentlab.optax import adadelta
      >>> tx = adadelta(gamma=0.5, eps=0.01); p = jnp.array([1.0]); s = tx.init(p)
      >>> u, s = tx.update(jnp.array([1.0]), s)   # G = 0.5, delta = sqrt(0.01) / sqrt(0.51)
      >>> optax.apply_updates(p, u), s.s
      (Array([0.859972], dtype=float32), Array([0.00980392], dtype=float32))

    Paper: M. D. Zeiler, arXiv:1212.5701 (2012).
    """
    return _transformation(optim.AdaDelta, AdaDeltaState, {"gamma": gamma, "eps": eps, "lr": lr})


def adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8) -> optax.GradientTransformation:
    """Adam, :class:`descentlab.optim.Adam`'s rule::

        m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g^2
        theta -= lr / (sqrt(v / (1 - beta2^t)) + eps) * m / (1 - beta1^t)

    Args:
      lr: learning rate eta, in [0, inf). Default 0.001.
      beta1: decay of the first moment, in [0, 1). Default 0.9.
      beta2: decay of the second moment, in [0, 1). Default 0.999.
      eps: smoothing term, in [0, inf). Default 1e-8.

    Same as ``optax.adam(lr, b1=beta1, b2=beta2, eps=eps)`` (same defaults).

    Example (three learning rates, three independent runs, one per row):
      >>> import jax.numpy as jnp, optax
      >>> from descentlab.optax import adam
      >>> tx = adam(lr=jnp.array([[0.01], [0.03], [0.1]]), eps=0.0)
      >>> p = jnp.ones((3, 2)); s = tx.init(p)
      >>> u, s = tx.update(jnp.full((3, 2), 5.0), s)   # first step: lr * sign(g)
      >>> print(optax.apply_updates(p, u)[:, 0].round(5))   # float32: 1 - 0.9^1 is 0.10000002
      [0.99 0.97 0.9 ]

    Paper: D. P. Kingma, J. Ba, ICLR 2015.
    """
    return _transformation(optim.Adam, AdamState,
                           {"lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps})


def nadam(lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8, *, variant="ruder",
          momentum_decay=0.004) -> optax.GradientTransformation:
    """Nadam, :class:`descentlab.optim.Nadam`'s rule (default: Ruder's form, the lecture's)::

        m, v as in Adam
        theta -= lr / (sqrt(v / (1 - beta2^t)) + eps)
                    * (beta1 * m / (1 - beta1^t) + (1 - beta1) * g / (1 - beta1^t))

    Args:
      lr: learning rate eta, in [0, inf). Default 0.002.
      beta1: decay of the first moment, in [0, 1). Default 0.9.
      beta2: decay of the second moment, in [0, 1). Default 0.999.
      eps: smoothing term, in [0, inf). Default 1e-8.
      variant: ``"ruder"`` (default), ``"torch"`` (``torch.optim.NAdam``'s momentum-decay
        schedule; the state then keeps ``mu_product``) or ``"optax"`` (``optax.nadam``, which
        bias-corrects ``beta1 * m`` with ``t + 1``).
      momentum_decay: psi of the ``"torch"`` schedule, in [0, inf). Default 0.004.

    ``nadam(variant="optax")`` is ``optax.nadam(lr, b1=beta1, b2=beta2, eps=eps)``.

    Example:
      >>> import jax.numpy as jnp, optax
      >>> from descentlab.optax import nadam
      >>> tx = nadam(lr=0.1, eps=0.0); p = jnp.array([1.0]); s = tx.init(p)
      >>> u, s = tx.update(jnp.array([2.0]), s)   # first step: lr * (beta1 + 1 - beta1) sign(g)
      >>> optax.apply_updates(p, u)
      Array([0.9], dtype=float32)

    Paper: T. Dozat, ICLR 2016 workshop.
    """
    state_cls = NadamTorchState if variant == "torch" else NadamState
    return _transformation(optim.Nadam, state_cls,
                           {"lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps,
                            "variant": variant, "momentum_decay": momentum_decay})

