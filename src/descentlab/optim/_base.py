"""The optimizer protocol: explicit state, one rule per class, NumPy or torch, batched hyperparams.

An optimizer is a small object holding validated hyperparameters. It never holds the run's state:

    state = opt.init(params)                 # step count t and buffers shaped like params
    point = opt.lookahead(params, state)     # where to take the gradient (NAG: params - gamma v)
    opt.step(params, grad, state)            # params and state are updated in place

Every hyperparameter may be a float or an array that broadcasts against ``params`` without changing
its shape, so ``Adam(lr=np.array([[0.01], [0.03], [0.13]]))`` on params of shape (3, 2) advances
three independent two-parameter runs in one call, bit-for-bit the same as three separate runs.

Speed: with float hyperparameters, a NumPy step on a contiguous array of 4096 elements or more
runs the rule as one compiled loop where numba is installed (``_fused``), and otherwise, from
131072 elements, block by block (cache-sized blocks); either way large arrays are split over up to
``get_num_threads()`` threads (numba and NumPy release the GIL in their loops). The arithmetic per
element is unchanged, so the result is bit-for-bit the whole-array result; ``set_num_threads(0)``
turns these paths off. ``step_many`` steps the many arrays of a model in one call.
"""

from __future__ import annotations

import inspect
import itertools
import math
import numbers
import os
import threading
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from descentlab._backend import as_like, describe, is_torch, namespace
from descentlab._validation import Interval, check_in_range
from descentlab.optim import _fused, _omp

__all__ = ["Optimizer", "Family", "Hyperparameter", "Step", "NONNEGATIVE", "POSITIVE", "UNIT_OPEN",
           "set_num_threads", "get_num_threads", "set_accelerator", "get_accelerator", "power"]

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
        self.hyperparameters = hp  # fixed from here on: build a new optimizer to change them
        self._work_cache: dict = {}
        self._plans: dict = {}  # the numba kernel and its coefficients, see _fused_call
        # precomputed for the checks that run on every step
        self._batched = tuple((k, v) for k, v in hp.items() if isinstance(v, np.ndarray))
        self._scalar_keys = ("t", *self._extra_state())
        self._extra_keys = self._scalar_keys[1:]
        self._state_keys = ("t", *self._buffers, *self._extra_keys)
        self._state_key_set = frozenset(self._state_keys)

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
        # ``opt.lr = 0.5`` would shadow the validated value for some paths only (the numba
        # kernels read attributes, the NumPy rule reads ``hyperparameters``): refuse it
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
        if isinstance(grad, np.generic):  # 0-d arithmetic gives NumPy scalars: accept them
            grad = np.asarray(grad)
        self._check(params, grad, state)
        state["t"] += 1
        self._advance(state)
        self._update_any(params, grad, state, _FUSE)

    def step_many(self, params, grads, states) -> None:
        """``step`` on each array of a model at once, e.g. every layer's weights and biases.

        ``params``, ``grads`` and ``states`` are sequences of equal length: one array, its
        gradient and its own state (from ``init``) per entry, each array given once (an array
        twice, or two views sharing elements of one array, are refused; a grad must not share
        memory with another entry's params or state). Every entry is checked before any is
        written, so a refused call leaves all of them untouched. The results are bit-for-bit
        those of calling ``step`` on each entry in turn; what changes is the speed on many small
        arrays: where numba is installed, each array runs as its rule's compiled loop whatever
        its size (``step`` leaves arrays under 4096 elements to NumPy, so that a small problem
        never loads numba), each step count's coefficients are computed once, and the large
        arrays are split over the threads while the calling thread steps the small ones. The
        PyTorch adapter steps each parameter group this way.

        Example:
          >>> import numpy as np
          >>> from descentlab.optim import Adam
          >>> W, b = np.ones((2, 3)), np.zeros(3)
          >>> opt = Adam(lr=0.1); states = [opt.init(W), opt.init(b)]
          >>> opt.step_many([W, b], [np.full((2, 3), 2.0), np.ones(3)], states)
          >>> W[0], b, states[1]["t"]        # Adam's first step is lr * sign(g)
          (array([0.9, 0.9, 0.9]), array([-0.1, -0.1, -0.1]), 1)
        """
        self._step_many_checked(*self._check_many(params, grads, states))

    def _check_many(self, params, grads, states) -> tuple[list, list, list]:
        """``step_many``'s checks, writing nothing: the entries as lists, ready to step."""
        owner = type(self).__name__
        params, grads, states = list(params), list(grads), list(states)
        if not len(params) == len(grads) == len(states):
            raise ValueError(f"{owner}.step_many: got {len(params)} params, {len(grads)} grads "
                             f"and {len(states)} states; give one of each per array.")
        grads = [np.asarray(g) if isinstance(g, np.generic) else g for g in grads]
        for what, objs in (("params", params), ("state", states)):
            if len(set(map(id, objs))) < len(objs):  # a second step on one array would be silent
                first = {}
                i, j = next((first[id(o)], i) for i, o in enumerate(objs)
                            if first.setdefault(id(o), i) != i)
                raise ValueError(f"{owner}.step_many: entry {j} has the same {what} as entry "
                                 f"{i}; give each array once.")
        for i, (p, g, s) in enumerate(zip(params, grads, states, strict=True)):
            try:
                self._check(p, g, s)
            except (ValueError, TypeError) as e:
                raise type(e)(f"{owner}.step_many, entry {i}: {e}") from None
        _check_no_shared_memory(owner, params)
        return params, grads, states

    def _step_many_checked(self, params: list, grads: list, states: list) -> None:
        fused: list[tuple] = []  # (kernel, flat arrays, coefficients): run together below
        for p, g, s in zip(params, grads, states, strict=True):
            s["t"] += 1
            self._advance(s)
            call = self._fused_call(p, g, s, 0)
            if call is None:
                self._update_unfused(p, g, s)
            else:
                fused.append((call[0], self._flat(p, g, s), call[1]))
        _run_kernels(fused)

    def _update_any(self, params, grad, state, fuse_from: int) -> None:
        """The checked, advanced step on whichever path fits: numba, torch, NumPy blocks, NumPy."""
        call = self._fused_call(params, grad, state, fuse_from)
        if call is None:
            self._update_unfused(params, grad, state)
        else:
            _run_kernels([(call[0], self._flat(params, grad, state), call[1])])

    def _update_unfused(self, params, grad, state) -> None:
        """The step where no numba kernel runs: on torch, NumPy blocks or whole NumPy arrays."""
        if is_torch(params):
            import torch

            with torch.no_grad():
                self._update(params, grad, state, Step(self.hyperparameters, params),
                             self._work(params))
        elif params.size >= _BLOCK and self._blockable(params, grad, state, _BLOCK):
            self._update_blocked(params, grad, state, Step(self.hyperparameters, params))
        else:
            self._update(params, grad, state, Step(self.hyperparameters, params),
                         self._work(params))

    def _update(self, theta, g, state, hp, work) -> None:  # pragma: no cover - abstract
        """The element-wise rule: ``theta``, ``g``, the buffers in ``state`` and the ``work``
        scratch arrays all have one shape (the whole params, or one block of them)."""
        raise NotImplementedError

    _kernel_reads_state = True  # whether _kernel's coefficients depend on the scalar state

    def _kernel(self, state) -> tuple[str, tuple] | None:
        """The fused kernel of this rule (see ``_fused``) and its float64 coefficients."""
        return None

    def _extra_state(self) -> dict:
        """Scalar state entries besides ``t`` (Nadam's ``mu_product``)."""
        return {}

    def _advance(self, state) -> None:
        """Advance the scalar state once per step, after ``t`` (the rule only reads it)."""

    # ----------------------------------------------------------------- blocked NumPy path
    # Memory, not arithmetic, bounds a step on large arrays: each NumPy call is one pass over
    # memory. Running the rule block by block (blocks that fit in the L2 cache) makes the rule's
    # ~10 passes hit the cache and leaves one read (and write) of each array per step; NumPy
    # releases the GIL inside its loops, so the blocks split over threads too. The arithmetic is
    # the same, element by element, so the result is bit-for-bit that of the whole-array call.
    def _blockable(self, params, grad, state, fuse_from: int) -> bool:
        """Large enough for the numba kernel (``fuse_from``) or the blocks (``_BLOCK``), float
        hyperparameters, contiguous arrays, and the fast paths not turned off."""
        if params.size < min(fuse_from, _BLOCK) or _num_threads < 1 or self._batched:
            return False  # (batched hyperparameters broadcast against the whole shape)
        if not (params.flags.c_contiguous and grad.flags.c_contiguous):
            return False
        for name in self._buffers:
            if not state[name].flags.c_contiguous:
                return False
        return True

    def _update_blocked(self, params, grad, state, hp) -> None:
        theta, g = params.reshape(-1), grad.reshape(-1)
        buffers = {name: state[name].reshape(-1) for name in self._buffers}
        errstate = np.geterr()

        def run(start: int, stop: int) -> None:
            work = self._scratch(theta.dtype)
            sub = dict(state)
            with np.errstate(**errstate):
                for a in range(start, stop, _BLOCK):
                    b = min(a + _BLOCK, stop)
                    for name, buf in buffers.items():
                        sub[name] = buf[a:b]
                    self._update(theta[a:b], g[a:b], sub, hp, [w[: b - a] for w in work])

        _run_split(run, theta.size)

    def _fused_call(self, params, grad, state, fuse_from: int):
        """``(kernel, coefficients)`` when this step runs as a numba kernel, else None.

        Besides the arrays' dtype, the coefficients depend on the scalar state (``t``, ...) for
        the rules whose ``_kernel_reads_state`` is true, and on nothing else (hyperparameters are
        fixed at construction): they are computed once per key and kept in ``self._plans``.
        """
        if (_accelerator != "numba" or type(params) is not np.ndarray
                or params.dtype not in _KERNEL_DTYPES or grad.dtype != params.dtype
                or not self._blockable(params, grad, state, fuse_from)):
            return None
        key = (params.dtype, *(state[k] for k in self._scalar_keys)) \
            if self._kernel_reads_state else params.dtype
        call = self._plans.get(key, False)
        if call is False:
            plan = self._kernel(state)
            kernel = _fused.kernel(plan[0]) if plan else None
            cast = params.dtype.type  # round each coefficient to the params' dtype, as NumPy does
            call = None if kernel is None else \
                (kernel, [c if isinstance(c, bool) else cast(c) for c in plan[1]])
            if len(self._plans) >= 8:  # (a new t each step: keep the few latest)
                self._plans.clear()
            self._plans[key] = call
        return call

    def _flat(self, params, grad, state) -> tuple:
        """The 1-d views a kernel takes: params, grad, then the state's buffers in order."""
        return (params.reshape(-1), grad.reshape(-1),
                *(state[name].reshape(-1) for name in self._buffers))

    def _scratch(self, dtype) -> list:
        # one set per thread: steps of one optimizer may run in several threads at once
        key = ("block", str(dtype), threading.get_ident())
        work = self._work_cache.get(key)
        if work is None:
            work = [np.empty(_BLOCK, dtype=dtype) for _ in range(self._n_work)]
            self._work_cache[key] = work
        return work

    # ----------------------------------------------------------------- helpers
    def _check(self, params, grad, state) -> None:
        """All of a step's checks; the common case (NumPy, float, matching) in short first.

        Every path checks its arrays here before it writes anything (``step``, ``step_many``,
        the torch adapter, whose NAG moves its parameters before the rule's step), so torch's
        OpenMP runtime is looked up here too: a warning it raises (an error under a warnings
        filter) then leaves params and state untouched.
        """
        if _omp._runtime is None:
            _omp.runtime()
        if (type(params) is np.ndarray and type(grad) is np.ndarray and not self._batched
                and params.dtype.kind == "f" and grad.dtype.kind == "f"
                and grad.shape == params.shape and params.flags.writeable
                and isinstance(state, dict) and state.keys() >= self._state_key_set
                and type(state["t"]) is int and state["t"] >= 0
                and (not self._extra_keys
                     or all(type(state[k]) is float for k in self._extra_keys))):
            shape, dtype = params.shape, params.dtype
            for name in self._buffers:
                buf = state[name]
                if (type(buf) is not np.ndarray or buf.shape != shape or buf.dtype != dtype
                        or not buf.flags.writeable):
                    break
            else:
                return
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
        if self._batched:
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
        missing = [k for k in self._state_keys if k not in state]
        if missing:
            raise ValueError(f"{owner}: state lacks {missing}; build it with {owner}.init(params).")
        t = state["t"]
        if isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 0:
            raise ValueError(f"{owner}: state['t'] must be the step count, an int >= 0; got "
                             f"{type(t).__name__} {t!r} (a state read back with np.load: "
                             "state['t'] = int(state['t'])).")
        for name in self._scalar_keys[1:]:
            value = state[name]
            if not self._batched and (isinstance(value, bool)
                                      or not isinstance(value, numbers.Real)):
                raise ValueError(f"{owner}: state[{name!r}] must be a float; got "
                                 f"{type(value).__name__} {value!r}.")
        for name in self._buffers:
            buf = state[name]
            if not (isinstance(buf, np.ndarray) or is_torch(buf)):
                raise ValueError(f"{owner}: state[{name!r}] is {type(buf).__name__}, not an "
                                 f"array like params; build the state with {owner}.init(params).")
            if (
                not (type(buf) is type(params) or is_torch(buf) == is_torch(params))
                or tuple(buf.shape) != tuple(params.shape)
                or buf.dtype != params.dtype
            ):
                raise ValueError(
                    f"{owner}: state[{name!r}] is {describe(buf)} but params is "
                    f"{describe(params)}; build the state with {owner}.init(params)."
                )
            if isinstance(buf, np.ndarray) and not buf.flags.writeable:
                raise ValueError(f"{owner}: state[{name!r}] is read-only; the step updates it "
                                 "in place.")

    def _work(self, like) -> list:
        # per thread too: two threads stepping with one optimizer must not share scratch
        key = (type(like), tuple(like.shape), like.dtype, getattr(like, "device", None),
               threading.get_ident())
        work = self._work_cache.get(key)
        if work is None:
            xp = namespace(like)
            work = [xp.empty_like(like) for _ in range(self._n_work)]
            self._work_cache[key] = work
        return work


class Step(SimpleNamespace):
    """The hyperparameters as one step's rule sees them, plus ``like``.

    Hyperparameters stay Python floats or float64 NumPy arrays, and every coefficient the rule
    derives from them (``1 - beta1``, ``lr / (1 - beta1^t)``) is computed in float64. ``like(c)``
    then hands a coefficient to the element-wise arithmetic: a float unchanged (NumPy and torch
    round a Python float to the params' dtype), an array rounded to the params' dtype, backend and
    device. Both forms round the same float64 number the same way, so a batched run is bit-for-bit
    the separate runs, in float32 too.
    """

    def __init__(self, hyperparameters: dict, params):
        super().__init__(**hyperparameters)
        self._params = params

    def like(self, c):
        if isinstance(c, float):
            return c
        if not c.flags.writeable:  # validated hyperparameters are read-only; torch wants a copy
            c = np.array(c)
        return as_like(c, self._params)


# Measured on 2 cores (AMD EPYC, 2 MiB L2) with benchmarks/step_throughput.py: smaller blocks pay
# more Python overhead per NumPy call than they save in cache misses.
_BLOCK = 1 << 17  # elements per block
# The numba kernel pays for its call (about a microsecond) from a few thousand elements on: a
# 64K-element Momentum step takes 2 us as one kernel against 20 us as four NumPy passes. Below
# this size NumPy runs (and a step on a tiny array never imports numba).
_FUSE = 1 << 12
_MIN_PART = 1 << 18  # elements per chunk (so per thread), at least: threads cost more below
_CHUNKS_PER_THREAD = 8  # chunks per thread on large arrays: fine enough to share out late
_num_threads_default = min(os.cpu_count() or 1, 4)
_num_threads = _num_threads_default


def _run_split(run, n: int) -> None:
    """``run(a, b)`` over consecutive chunks covering ``range(n)``, on up to ``_num_threads``.

    Up to ``_num_threads - 1`` persistent worker threads help the calling thread, which never
    waits for one to wake up: everybody takes the next unclaimed chunk until none is left, and
    the caller then waits only for the chunks a worker has started. A ``ThreadPoolExecutor``
    with one fixed half per thread lost its gain whenever the second core was busy (on a 2-core
    machine, torch's OpenMP threads spin there for a while after each torch call): the caller
    finished its half, then waited for a worker that the scheduler had not yet run. Chunks keep
    the element-wise arithmetic, so the result is bit-for-bit the same, in any thread.
    """
    n_threads, chunk = _split_plan(n)
    if n_threads == 1:
        run(0, n)
        return
    _share_out(run, [*range(0, n, chunk), n], n_threads)


def _split_plan(n: int) -> tuple[int, int]:
    """How many threads share ``n`` elements (chunks of ``_MIN_PART`` at least), and the chunk
    size they claim (about ``_CHUNKS_PER_THREAD`` chunks each)."""
    n_threads = max(1, min(_num_threads, n // _MIN_PART))
    return n_threads, max(_MIN_PART, n // (_CHUNKS_PER_THREAD * n_threads))


def _share_out(run, bounds: list[int], n_threads: int, meanwhile=None) -> None:
    """``run(bounds[i], bounds[i + 1])`` for each chunk, claimed by the calling thread and
    ``n_threads - 1`` workers; ``meanwhile()`` runs on the calling thread while they wake up."""
    job = _Job(run, bounds)
    for worker in _crew(n_threads - 1):
        worker.start(job)
    if meanwhile is not None:
        meanwhile()
    job.work()
    job.wait()


_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))  # native byte order only


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


def _run_kernels(calls: list[tuple]) -> None:
    """Run ``kernel(*arrays, *args, 0, n)`` for each call: the fused steps of many arrays at once.

    Where torch's OpenMP runtime is loaded (see ``_omp``) and the arrays hold ``2 * _MIN_PART``
    elements or more in all, every array goes to a parallel region of it (one per dtype), whose
    threads claim pieces of them all. Otherwise descentlab's own threads share the work out, as
    follows. As in ``step``, an array is split over the threads only if it is large (at least two
    ``_MIN_PART`` chunks); the calling thread runs the small ones while the workers wake up, then
    joins in on the large ones' chunks. A kernel takes the bounds ``a, b`` of the elements it
    steps and slices its flat arrays itself (slicing them here cost a few microseconds a step).
    Decision, measured in a torch training loop on 2 cores (``benchmarks/step_throughput.py``'s
    loop table, a 40-tensor MLP of 65K-element weights): sharing the small arrays out too was
    5-10% slower in 7 runs of 8, the GIL changing hands between each kernel call of the two
    threads.
    """
    big = 2 * _MIN_PART
    if _num_threads > 1:
        everything = sum(arrays[0].size for _, arrays, _ in calls)
        if everything >= big and _omp.step_on_team(calls, _split_plan(everything)[0]):
            return
    total = sum(n for _, arrays, _ in calls if (n := arrays[0].size) >= big) \
        if _num_threads > 1 else 0
    if not total:
        for kernel, arrays, args in calls:
            kernel(*arrays, *args, 0, arrays[0].size)
        return

    def small() -> None:
        for kernel, arrays, args in calls:
            if (n := arrays[0].size) < big:
                kernel(*arrays, *args, 0, n)

    n_threads, chunk = _split_plan(total)
    pieces = [(kernel, arrays, args, a, a + chunk)  # (a kernel's slice stops at the array's end)
              for kernel, arrays, args in calls if (n := arrays[0].size) >= big
              for a in range(0, n, chunk)]

    def run(i: int, _: int) -> None:
        kernel, arrays, args, a, b = pieces[i]
        kernel(*arrays, *args, a, b)

    _share_out(run, list(range(len(pieces) + 1)), n_threads, small)


class _Job:
    """One step's chunks; each is claimed once (``next`` on a count is atomic in CPython)."""

    def __init__(self, run, bounds: list[int]) -> None:
        self._run, self._bounds = run, bounds
        self._claim = itertools.count()
        self._left = len(bounds) - 1
        self._lock = threading.Lock()
        self._done = threading.Lock()
        self._done.acquire()
        self._error: BaseException | None = None

    def work(self) -> None:
        n_chunks = len(self._bounds) - 1
        while (i := next(self._claim)) < n_chunks:
            try:
                self._run(self._bounds[i], self._bounds[i + 1])
            except BaseException as e:  # handed to the caller once every chunk has run
                self._error = self._error or e
            with self._lock:
                self._left -= 1
                last = self._left == 0
            if last:
                self._done.release()

    def wait(self) -> None:
        self._done.acquire()
        self._run = None  # a worker waking late must not keep the arrays alive
        if self._error is not None:
            raise self._error


class _Worker:
    def __init__(self) -> None:
        self._wake = threading.Lock()
        self._wake.acquire()
        self._job: _Job | None = None
        threading.Thread(target=self._loop, name="descentlab-optim", daemon=True).start()

    def start(self, job: _Job) -> None:
        self._job = job
        try:
            self._wake.release()
        except RuntimeError:  # not awake yet from an earlier start: it will see this job
            pass

    def _loop(self) -> None:
        while True:
            self._wake.acquire()
            job, self._job = self._job, None
            if job is not None:
                job.work()
            del job


_workers: list[_Worker] = []
_workers_lock = threading.Lock()


def _crew(size: int) -> list[_Worker]:
    with _workers_lock:
        while len(_workers) < size:
            _workers.append(_Worker())
        return _workers[:size]


def _forget_workers_after_fork() -> None:
    # a forked child has none of the parent's threads (and maybe a lock held): start afresh
    global _workers, _workers_lock
    _workers, _workers_lock = [], threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_workers_after_fork)


def set_num_threads(n: int) -> None:
    """How many threads a NumPy step on a large array may use (default: the cores, at most 4).

    Once torch is imported (on Linux, where it runs on GNU OpenMP), large compiled steps run on
    torch's OpenMP threads, as many as both this setting and ``torch.get_num_threads()`` allow;
    otherwise on descentlab's own threads.

    ``0`` turns the blocked path and the numba kernels off (each rule then runs as whole-array
    NumPy calls); ``1`` keeps them but stays in the calling thread. The result is the same, bit for
    bit, either way.
    """
    global _num_threads
    n = int(check_in_range(n, name="n", owner="set_num_threads", low=0.0))
    _num_threads = n


def get_num_threads() -> int:
    """The current setting of :func:`set_num_threads`."""
    return _num_threads


_ACCELERATORS = ("numba", "numpy")
_accelerator = "numba"


def set_accelerator(name: str) -> None:
    """``"numba"`` (default; used only where numba is installed) or ``"numpy"``.

    With numba, a large NumPy step runs as one compiled loop per rule that repeats the NumPy
    path's arithmetic exactly (same results, bit for bit; see ``descentlab.optim._fused``).
    """
    global _accelerator
    if name not in _ACCELERATORS:
        raise ValueError(f"The 'name' parameter of set_accelerator must be one of "
                         f"{list(_ACCELERATORS)}. Got {name!r} instead.")
    _accelerator = name


def get_accelerator() -> str:
    """``"numba"`` when the fused kernels are in use (numba installed and not turned off)."""
    return "numba" if _accelerator == "numba" and _fused.kernel("gd") is not None else "numpy"


def _is_floating(x) -> bool:
    if isinstance(x, np.ndarray):
        return x.dtype.kind == "f"
    return bool(x.is_floating_point())


def power(base, exponent):
    """``base ** exponent`` in float64, element by element with C's ``pow`` as Python's ``**``
    (so batched and scalar hyperparameters give identical bias corrections ``1 - beta ** t``)."""
    if isinstance(base, float) and isinstance(exponent, numbers.Real):  # (NumPy scalars too)
        return math.pow(base, exponent)
    return _pow(base, exponent).astype(np.float64)


_pow = np.frompyfunc(math.pow, 2, 1)
