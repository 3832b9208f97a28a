"""The optimizer protocol: explicit state, one rule per class, NumPy or torch, batched hyperparameters.

An optimizer is a small object holding validated hyperparameters. It never holds the run's state:

    state = opt.init(params)                 # step count t and buffers shaped like params
    point = opt.lookahead(params, state)     # where to evaluate the gradient (NAG: params - gamma v)
    opt.step(params, grad, state)            # params and state are updated in place

Every hyperparameter may be a float or an array that broadcasts against ``params`` without changing
its shape, so ``Adam(lr=np.array([[0.01], [0.03], [0.13]]))`` on params of shape (3, 2) advances three
independent two-parameter runs in one call.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from descentlab._backend import as_like, describe, is_torch, namespace
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
    """Name, default, allowed interval and meaning of one hyperparameter (drives validation and UIs)."""

    name: str
    default: float | str
    interval: Interval | None = None  # None: a keyword choice, not a number
    choices: tuple[str, ...] = ()
    doc: str = ""


class Optimizer:
    """Base class. Subclasses define ``_ranges``, ``_buffers``, ``family`` and ``_update``."""

    #: allowed interval for each numeric hyperparameter
    _ranges: dict[str, Interval] = {}
    #: allowed values for each keyword (string) hyperparameter
    _choices: dict[str, tuple[str, ...]] = {}
    #: names of the state buffers shaped like params, in the lecture's symbols
    _buffers: tuple[str, ...] = ()
    #: scratch arrays the rule needs per step (not state: never saved)
    _n_work: int = 1
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
        self.hyperparameters = hp
        self._cast_cache: dict = {}
        self._work_cache: dict = {}

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

    def __repr__(self) -> str:
        def show(v):
            if isinstance(v, np.ndarray):
                return f"array(shape={v.shape})" if v.size > 6 else np.array2string(v, separator=", ")
            return repr(v)

        args = ", ".join(f"{k}={show(v)}" for k, v in self.hyperparameters.items())
        return f"{type(self).__name__}({args})"

    # ----------------------------------------------------------------- protocol
    def init(self, params) -> dict:
        """Fresh state: ``{"t": 0}`` plus one zero buffer shaped like ``params`` per symbol."""
        self._check_params(params)
        xp = namespace(params)
        state = {"t": 0}
        for name in self._buffers:
            state[name] = xp.zeros_like(params)
        state.update(self._extra_state())
        return state

    def lookahead(self, params, state):
        """The point where the gradient of the next step must be evaluated: ``params`` itself."""
        return params

    def step(self, params, grad, state) -> None:
        """Advance ``params`` and ``state`` by one step of the rule, in place.

        All checks happen before anything is written, so a refused call leaves both untouched.
        """
        self._check_params(params)
        self._check_grad(params, grad)
        self._check_state(params, state)
        hp = self._cast(params)
        work = self._work(params)
        state["t"] += 1
        if is_torch(params):
            import torch

            with torch.no_grad():
                self._update(params, grad, state, hp, work)
        else:
            self._update(params, grad, state, hp, work)

    def _update(self, theta, g, state, hp, work) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _extra_state(self) -> dict:
        return {}

    # ----------------------------------------------------------------- helpers
    def _check_params(self, params) -> None:
        owner = type(self).__name__
        namespace(params)  # raises TypeError for lists, floats ...
        if not _is_floating(params):
            raise ValueError(
                f"{owner}: params must have a floating dtype to be updated in place, "
                f"got {describe(params)}."
            )
        shape = tuple(params.shape)
        for name, value in self.hyperparameters.items():
            if isinstance(value, np.ndarray):
                try:
                    ok = np.broadcast_shapes(value.shape, shape) == shape
                except ValueError:
                    ok = False
                if not ok:
                    raise ValueError(
                        f"{owner}: hyperparameter {name!r} has shape {value.shape}, which does not "
                        f"broadcast to the params' shape {shape} without changing it."
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
        missing = [k for k in ("t", *self._buffers) if k not in state]
        if missing:
            raise ValueError(f"{owner}: state lacks {missing}; build it with {owner}.init(params).")
        for name in self._buffers:
            buf = state[name]
            if tuple(buf.shape) != tuple(params.shape) or is_torch(buf) != is_torch(params):
                raise ValueError(
                    f"{owner}: state[{name!r}] is {describe(buf)} but params is "
                    f"{describe(params)}; build the state with {owner}.init(params)."
                )

    def _cast(self, like) -> SimpleNamespace:
        """Hyperparameters for one step: floats stay floats, arrays become arrays like params."""
        key = (type(like), str(like.dtype), str(getattr(like, "device", "")))
        hp = self._cast_cache.get(key)
        if hp is None:
            hp = SimpleNamespace(**{k: (v if isinstance(v, str) else as_like(v, like))
                         for k, v in self.hyperparameters.items()})
            self._cast_cache[key] = hp
        return hp

    def _work(self, like) -> list:
        key = (type(like), tuple(like.shape), str(like.dtype), str(getattr(like, "device", "")))
        work = self._work_cache.get(key)
        if work is None:
            xp = namespace(like)
            work = [xp.empty_like(like) for _ in range(self._n_work)]
            self._work_cache[key] = work
        return work


def _is_floating(x) -> bool:
    if isinstance(x, np.ndarray):
        return x.dtype.kind == "f"
    return bool(x.is_floating_point())


def power(base, t: int):
    """``base ** t`` for a float or an array (bias corrections ``1 - beta ** t``)."""
    return base**t if not isinstance(base, float) else math.pow(base, t)
