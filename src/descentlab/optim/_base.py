"""The optimizer protocol: explicit state, one ``rule`` per class, on NumPy, torch and JAX arrays.

An optimizer is a small object holding validated hyperparameters. It never holds the run's state:

    state = opt.init(params)                 # step count t and buffers shaped like params
    point = opt.lookahead(params, state)     # where to take the gradient (NAG: params - gamma v)
    opt.step(params, grad, state)            # params and state are updated in place

Each class writes its math once, in ``rule``: see :class:`Optimizer` for its contract, the
precision of batched runs and the public state protocol.
"""

from __future__ import annotations

import contextlib
import inspect
import numbers
from dataclasses import dataclass

import numpy as np

from descentlab._backend import describe, in_library_of, is_torch, namespace
from descentlab._validation import Interval, check_in_range

__all__ = ["Optimizer", "Family", "Hyperparameter", "NONNEGATIVE", "POSITIVE", "UNIT_OPEN"]

NONNEGATIVE = Interval(0.0, None)  # [0, inf)
POSITIVE = Interval(0.0, None, low_closed=False)  # (0, inf)
UNIT_OPEN = Interval(0.0, 1.0, high_closed=False)  # [0, 1)


@dataclass(frozen=True)
class Family:
    """An optimizer's place in the lecture's family tree (LECTURE.md, section 3)."""

    parents: tuple[str, ...]
    branch: str  # "root", "data", "direction", "step size" or "both"
    year: int
    paper: str
    motto: str = ""


@dataclass(frozen=True)
class Hyperparameter:
    """Name, default, allowed interval and meaning of one hyperparameter (drives checks and UIs)."""

    name: str
    default: float | str
    interval: Interval | None = None  # None: a keyword choice, not a number
    choices: tuple[str, ...] = ()
    doc: str = ""


class Coefficients:
    """The hyperparameters as ``rule`` reads them: ``hp.lr``, ``hp.beta1``, ... (attributes)."""

    def __init__(self, **values):
        for name, value in values.items():
            setattr(self, name, value)

    def __repr__(self) -> str:
        return f"Coefficients({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


class Optimizer:
    """Base class. Subclasses define ``_ranges``, ``buffers``, ``family`` and ``rule``.

    Each class writes its math once, in ``rule``, under the formula in its docstring::

        def rule(self, theta, g, state, hp):
            m, v, t = state["m"], state["v"], state["t"]
            m *= hp.beta1
            m += (1 - hp.beta1) * g
            ...
            theta -= hp.lr * mhat / (sqrt(vhat) + hp.eps)
            return theta, {"m": m, "v": v}

    The contract of ``rule(theta, g, state, hp)``, the one piece of math every path runs:

    * ``theta`` and ``g`` are the parameters and their gradient, and ``state`` the run's state
      (a dict) with ``state["t"]`` already advanced to this step's number (1 on the first step).
      They are NumPy arrays, torch tensors or JAX arrays, all of one kind.
    * ``hp`` holds the hyperparameters as attributes (``hp.lr``, ``hp.beta1``, ...): Python
      floats, or, for batched runs, float64 arrays in the params' own library (JAX's default
      float without x64). The rule reads them from ``hp`` only, never from ``self``: the torch
      adapter and ``descentlab.optax`` hand in their own (a :class:`Coefficients`).
    * It returns ``(theta, updates)``: the new parameters and a dict of the new state entries
      besides ``t`` (the buffers, and any other state such as Nadam's ``mu_product``). Written
      with augmented assignment (``m *= beta1``), the body updates NumPy and torch buffers in
      place and rebinds the name for an immutable JAX array; either way it returns the new
      values. ``apply`` copies a returned array into the caller's buffer only when the rule made
      a new one (``m = beta1 * m + ...`` works too, at the cost of a copy).
    * Every rule ends with ``theta -= step`` and reads ``theta`` nowhere else:
      ``descentlab.optax`` runs it from ``theta = 0`` to get the update ``-step`` exactly.

    Every hyperparameter may be a float or an array that broadcasts against ``params`` without
    changing its shape, so ``Adam(lr=np.array([[0.01], [0.03], [0.13]]))`` on params of shape
    (3, 2) advances three independent two-parameter runs in one call. Precision: the coefficients
    built from hyperparameters alone (``1 - beta1``, ``beta1 ** t``) are computed in float64. A
    float coefficient is then rounded to the params' dtype where it meets an array (NumPy's and
    torch's rule for Python numbers); an array one stays float64, and so does the arithmetic it
    enters, until the result is stored in the params' dtype. So a batched run agrees with the
    separate runs to rounding: with float64 params the arithmetic is the same but for
    ``beta ** t``, which NumPy computes for an array with its vectorized pow and Python for a
    float with C's (they may differ in the last bit); with float32 params, to float32 rounding.

    The public state protocol, for code that drives optimizers (the torch adapter, the lab, the
    web page): ``buffers`` (the state arrays shaped like params), ``scalars`` (the other state
    entries, ``("t",)`` or more), ``check(params, grad, state)`` (every check, writing nothing),
    ``apply(params, grad, state)`` (the step without the checks: ``step`` is ``check`` then
    ``apply``) and ``coefficients(params)`` (the ``hp`` that ``apply`` hands the rule).
    """

    #: allowed interval for each numeric hyperparameter
    _ranges: dict[str, Interval] = {}
    #: allowed values for each keyword (string) hyperparameter
    _choices: dict[str, tuple[str, ...]] = {}
    #: names of the state buffers shaped like params, in the lecture's symbols
    buffers: tuple[str, ...] = ()
    #: names of the state's other entries (numbers): the step count ``t`` and any the rule keeps
    scalars: tuple[str, ...] = ("t",)
    family: Family

    def __init__(self, **hyperparameters):
        owner = type(self).__name__
        hp = {}
        for name, value in hyperparameters.items():
            if name in self._choices:
                if value not in self._choices[name]:
                    raise ValueError(
                        f"The {name!r} parameter of {owner} must be one of "
                        f"{list(self._choices[name])}. Got {value!r} instead."
                    )
                hp[name] = value
                continue
            iv = self._ranges[name]
            hp[name] = check_in_range(
                value, name=name, owner=owner, low=iv.low, high=iv.high,
                low_closed=iv.low_closed, high_closed=iv.high_closed,
            )
        self.hyperparameters = hp  # fixed from here on: build a new optimizer to change them
        self._batched = tuple((k, v) for k, v in hp.items() if isinstance(v, np.ndarray))
        self._coefficients = Coefficients(**hp)

    # ----------------------------------------------------------------- introspection
    @classmethod
    def hyperparameter_specs(cls) -> tuple[Hyperparameter, ...]:
        """Defaults from the constructor's signature, ranges from the validation table."""
        specs = []
        for p in inspect.signature(cls.__init__).parameters.values():
            if p.name == "self":
                continue
            if p.name in cls._choices:
                specs.append(Hyperparameter(p.name, p.default, None, cls._choices[p.name]))
            else:
                specs.append(Hyperparameter(p.name, p.default, cls._ranges[p.name]))
        return tuple(specs)

    def __getattr__(self, name):
        hp = self.__dict__.get("hyperparameters", {})
        if name in hp:
            return hp[name]
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def __setattr__(self, name, value):
        # ``opt.lr = 0.5`` would look like it changed the rule while ``hyperparameters`` (what
        # the rule reads) kept the validated value: refuse it
        if name in self.__dict__.get("hyperparameters", {}):
            raise AttributeError(
                f"{type(self).__name__}'s {name!r} is fixed at construction; build a new "
                f"optimizer to change it: {type(self).__name__}(..., {name}={value!r}).")
        super().__setattr__(name, value)

    def __repr__(self) -> str:
        def show(v):
            if isinstance(v, np.ndarray):
                if v.size > 6:
                    return f"array(shape={v.shape})"
                return np.array2string(v, separator=", ")
            return repr(v)

        args = ", ".join(f"{k}={show(v)}" for k, v in self.hyperparameters.items())
        return f"{type(self).__name__}({args})"

    # ----------------------------------------------------------------- protocol
    def init(self, params) -> dict:
        """Fresh state: ``{"t": 0}`` plus one zero buffer shaped like ``params`` per symbol."""
        self._check_params(params)
        xp = namespace(params)
        state = {"t": 0}
        for name in self.buffers:
            state[name] = xp.zeros_like(params)
        return state

    def lookahead(self, params, state):
        """The point where the gradient of the next step must be evaluated: ``params`` itself."""
        return params

    def step(self, params, grad, state) -> None:
        """Advance ``params`` and ``state`` by one step of the rule, in place.

        All checks happen before anything is written, so a refused call leaves both untouched.
        """
        if isinstance(grad, np.generic):  # 0-d arithmetic gives NumPy scalars: accept them
            grad = np.asarray(grad)
        self.check(params, grad, state)
        self.apply(params, grad, state)

    def apply(self, params, grad, state) -> None:
        """``step`` without its checks: count the step, run ``rule``, keep what it returns.

        For code that has already called ``check`` on every array it is about to step.
        """
        state["t"] += 1
        with _no_grad(params):
            theta, updates = self.rule(params, grad, state, self.coefficients(params))
            if theta is not params:
                _write(params, theta)
            for name, value in updates.items():
                if name in self.buffers:
                    if value is not state[name]:
                        _write(state[name], value)
                else:
                    state[name] = value

    def coefficients(self, like) -> Coefficients:
        """The hyperparameters as ``rule`` takes them for params ``like``: floats and choices
        unchanged, batched arrays in ``like``'s library and device (float64, see above)."""
        if not self._batched:
            return self._coefficients
        return Coefficients(**{k: in_library_of(v, like) if isinstance(v, np.ndarray) else v
                               for k, v in self.hyperparameters.items()})

    def rule(self, theta, g, state, hp):  # pragma: no cover - abstract
        """The lecture's update: see the module docstring for the contract."""
        raise NotImplementedError

    def step_many(self, params, grads, states) -> None:
        """``step`` on each array of a model at once, e.g. every layer's weights and biases.

        ``params``, ``grads`` and ``states`` are sequences of equal length: one array, its
        gradient and its own state (from ``init``) per entry, each array given once (an array
        twice, or two views sharing elements of one array, are refused). Every entry is checked
        before any is written, so a refused call leaves all of them untouched; then each is
        stepped as ``step`` would.

        Example:
          >>> import numpy as np
          >>> from descentlab.optim import Adam
          >>> W, b = np.ones((2, 3)), np.zeros(3)
          >>> opt = Adam(lr=0.1); states = [opt.init(W), opt.init(b)]
          >>> opt.step_many([W, b], [np.full((2, 3), 2.0), np.ones(3)], states)
          >>> W[0], b, states[1]["t"]        # Adam's first step is lr * sign(g)
          (array([0.9, 0.9, 0.9]), array([-0.1, -0.1, -0.1]), 1)
        """
        owner = type(self).__name__
        params, grads, states = list(params), list(grads), list(states)
        if not len(params) == len(grads) == len(states):
            raise ValueError(f"{owner}.step_many: got {len(params)} params, {len(grads)} grads "
                             f"and {len(states)} states; give one of each per array.")
        grads = [np.asarray(g) if isinstance(g, np.generic) else g for g in grads]
        for what, objs in (("params", params), ("state", states)):
            first: dict[int, int] = {}
            for j, o in enumerate(objs):  # a second step on one array would be silent
                i = first.setdefault(id(o), j)
                if i != j:
                    raise ValueError(f"{owner}.step_many: entry {j} has the same {what} as "
                                     f"entry {i}; give each array once.")
        for i, (p, g, s) in enumerate(zip(params, grads, states, strict=True)):
            try:
                self.check(p, g, s)
            except (ValueError, TypeError) as e:
                raise type(e)(f"{owner}.step_many, entry {i}: {e}") from None
        _check_no_shared_memory(owner, params)
        for p, g, s in zip(params, grads, states, strict=True):
            self.apply(p, g, s)

    # ----------------------------------------------------------------- checks
    def check(self, params, grad, state) -> None:
        """Every check of a step, writing nothing: raises ValueError (TypeError for a params that
        is no array) naming the culprit, the allowed values and what was given."""
        self._check_params(params)
        self._check_grad(params, grad)
        self._check_state(params, state)

    def _check_params(self, params) -> None:
        owner = type(self).__name__
        namespace(params)  # raises TypeError for lists, floats ...
        if not _is_floating(params):
            raise ValueError(
                f"{owner}: params must have a floating dtype to be updated in place, "
                f"got {describe(params)}."
            )
        if isinstance(params, np.ndarray) and not params.flags.writeable:
            raise ValueError(f"{owner}: params is read-only ({describe(params)}), and the step "
                             "updates it in place; pass a writeable copy (np.array(params)).")
        shape = tuple(params.shape)
        for name, value in self._batched:
            try:
                ok = np.broadcast_shapes(value.shape, shape) == shape
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(
                    f"{owner}: hyperparameter {name!r} has shape {value.shape}, which does "
                    f"not broadcast to the params' shape {shape} without changing it."
                )

    def _check_grad(self, params, grad) -> None:
        owner = type(self).__name__
        if is_torch(params) != is_torch(grad) or not (
            isinstance(grad, np.ndarray) or is_torch(grad)
        ):
            raise ValueError(f"{owner}: grad must be the same kind of array as params; "
                             f"got params {describe(params)} and grad {type(grad).__name__}.")
        if tuple(grad.shape) != tuple(params.shape):
            raise ValueError(
                f"{owner}: grad has shape {tuple(grad.shape)} but params has shape "
                f"{tuple(params.shape)}; they must match exactly."
            )
        if not _is_floating(grad):
            raise ValueError(f"{owner}: grad must have a floating dtype, got {describe(grad)}.")
        if is_torch(params) and grad.device != params.device:
            raise ValueError(f"{owner}: grad is on {grad.device} but params on {params.device}.")

    def _check_state(self, params, state) -> None:
        owner = type(self).__name__
        if not isinstance(state, dict):
            raise ValueError(f"{owner}: state must be the dict that {owner}.init(params) "
                             f"returns; got {type(state).__name__}.")
        missing = [k for k in (*self.scalars, *self.buffers) if k not in state]
        if missing:
            raise ValueError(f"{owner}: state lacks {missing}; build it with {owner}.init(params).")
        t = state["t"]
        if _scalar_tensor(t, params):  # torch's own form (the adapter's), never read back
            pass
        elif isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 0:
            raise ValueError(f"{owner}: state['t'] must be the step count, an int >= 0; got "
                             f"{type(t).__name__} {t!r} (a state read back with np.load: "
                             "state['t'] = int(state['t'])).")
        for name in self.scalars[1:]:
            value = state[name]
            if not self._batched and not _scalar_tensor(value, params) and (
                    isinstance(value, bool) or not isinstance(value, numbers.Real)):
                raise ValueError(f"{owner}: state[{name!r}] must be a float; got "
                                 f"{type(value).__name__} {value!r}.")
        for name in self.buffers:
            buf = state[name]
            if not (isinstance(buf, np.ndarray) or is_torch(buf)):
                raise ValueError(f"{owner}: state[{name!r}] is {type(buf).__name__}, not an "
                                 f"array like params; build the state with {owner}.init(params).")
            if (
                is_torch(buf) != is_torch(params)
                or tuple(buf.shape) != tuple(params.shape)
                or buf.dtype != params.dtype
                or (is_torch(buf) and buf.device != params.device)
            ):
                raise ValueError(
                    f"{owner}: state[{name!r}] is {describe(buf)} but params is "
                    f"{describe(params)}; build the state with {owner}.init(params)."
                )
            if isinstance(buf, np.ndarray) and not buf.flags.writeable:
                raise ValueError(f"{owner}: state[{name!r}] is read-only; the step updates it "
                                 "in place.")


def _scalar_tensor(x, params) -> bool:
    """A 0-d real CPU tensor for torch params: how the torch adapter keeps ``t`` (as torch.optim
    keeps ``step``), so that a compiled step reads it as data and does not recompile as it grows.
    Its value is not checked: that would read it back to the host in every compiled step."""
    return is_torch(x) and is_torch(params) and x.ndim == 0 and x.device.type == "cpu" and (
        not x.is_complex())


def _no_grad(params):
    """torch's ``no_grad`` for tensors (autograd must not record a step), else nothing."""
    if is_torch(params):
        import torch

        return torch.no_grad()
    return contextlib.nullcontext()


def _write(target, value) -> None:
    """Copy a rule's new array into the caller's (a rule that rebuilt it instead of updating it)."""
    if is_torch(target):
        target.copy_(value)
    else:
        target[...] = value


def _check_no_shared_memory(owner: str, params: list) -> None:
    """Refuse NumPy params that are views of one array sharing elements (``x`` and ``x[:2]``):
    stepping them as separate entries would step those elements twice. Arrays of different
    base arrays are not compared (torch tensors' views cannot be told apart this way)."""
    if len(params) < 2:
        return
    by_root: dict[int, list[int]] = {}
    for i, p in enumerate(params):
        root = p
        while isinstance(getattr(root, "base", None), np.ndarray):  # (a tensor has no .base)
            root = root.base
        by_root.setdefault(id(root), []).append(i)
    if len(by_root) == len(params):
        return
    for entries in by_root.values():
        for k, i in enumerate(entries):
            for j in entries[k + 1:]:
                try:
                    shared = np.shares_memory(params[i], params[j], max_work=100_000)
                except np.exceptions.TooHardError:
                    shared = True
                if shared:
                    raise ValueError(f"{owner}.step_many: the params of entries {i} and {j} "
                                     "share memory (views of one array); give each element once.")


def _is_floating(x) -> bool:
    if isinstance(x, np.ndarray):
        return x.dtype.kind == "f"
    return bool(x.is_floating_point())
