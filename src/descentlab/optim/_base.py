"""The optimizer protocol: explicit state, one rule per class, NumPy or torch, batched hyperparams.

An optimizer is a small object holding validated hyperparameters. It never holds the run's state:

    state = opt.init(params)                 # step count t and buffers shaped like params
    point = opt.lookahead(params, state)     # where to take the gradient (NAG: params - gamma v)
    opt.step(params, grad, state)            # params and state are updated in place

Every hyperparameter may be a float or an array that broadcasts against ``params`` without changing
its shape, so ``Adam(lr=np.array([[0.01], [0.03], [0.13]]))`` on params of shape (3, 2) advances
three independent two-parameter runs in one call, bit-for-bit the same as three separate runs.

Speed: with float hyperparameters, a NumPy step on a large contiguous array runs the rule block by
block (cache-sized blocks, split over up to ``get_num_threads()`` threads; NumPy releases the GIL
in its loops). The arithmetic per element is unchanged, so the result is bit-for-bit the
whole-array result; ``set_num_threads(0)`` turns the blocking off.
"""

from __future__ import annotations

import inspect
import math
import os
import threading
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from descentlab._backend import as_like, describe, is_torch, namespace
from descentlab._validation import Interval, check_in_range
from descentlab.optim import _fused

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
        self.hyperparameters = hp
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
        self._check_params(params)
        self._check_grad(params, grad)
        self._check_state(params, state)
        state["t"] += 1
        self._advance(state)
        hp = Step(self.hyperparameters, params)
        if is_torch(params):
            import torch

            with torch.no_grad():
                self._update(params, grad, state, hp, self._work(params))
        elif self._blockable(params, grad, state):
            plan = self._kernel(state) if _accelerator == "numba" else None
            kernel = _fused.kernel(plan[0]) if (
                plan and grad.dtype == params.dtype and params.dtype.char in "fd") else None
            if kernel is None:
                self._update_blocked(params, grad, state, hp)
            else:
                self._update_fused(plan[0], plan[1], params, grad, state)
        else:
            self._update(params, grad, state, hp, self._work(params))

    def _update(self, theta, g, state, hp, work) -> None:  # pragma: no cover - abstract
        """The element-wise rule: ``theta``, ``g``, the buffers in ``state`` and the ``work``
        scratch arrays all have one shape (the whole params, or one block of them)."""
        raise NotImplementedError

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
    def _blockable(self, params, grad, state) -> bool:
        if params.size < _BLOCK or _num_threads < 1:
            return False
        if any(not isinstance(v, (float, str)) for v in self.hyperparameters.values()):
            return False  # batched hyperparameters broadcast against the whole shape
        arrays = (params, grad, *(state[name] for name in self._buffers))
        return all(a.flags.c_contiguous for a in arrays)

    def _update_blocked(self, params, grad, state, hp) -> None:
        theta, g = params.reshape(-1), grad.reshape(-1)
        buffers = {name: state[name].reshape(-1) for name in self._buffers}
        n = theta.size
        n_parts = max(1, min(_num_threads, n // _MIN_PART))
        bounds = [n * i // n_parts for i in range(n_parts + 1)]
        errstate = np.geterr()

        def run(part: int) -> None:
            work = self._scratch(theta.dtype, part)
            sub = dict(state)
            with np.errstate(**errstate):
                for a in range(bounds[part], bounds[part + 1], _BLOCK):
                    b = min(a + _BLOCK, bounds[part + 1])
                    for name, buf in buffers.items():
                        sub[name] = buf[a:b]
                    self._update(theta[a:b], g[a:b], sub, hp, [w[: b - a] for w in work])

        _run_parts(run, n_parts)

    def _update_fused(self, name, coefficients, params, grad, state) -> None:
        theta, g = params.reshape(-1), grad.reshape(-1)
        buffers = [state[name].reshape(-1) for name in self._buffers]
        cast = params.dtype.type  # round each coefficient to the params' dtype, as NumPy does
        args = [c if isinstance(c, bool) else cast(c) for c in coefficients]
        n = theta.size
        n_parts = max(1, min(_num_threads, n // _MIN_PART))
        if n_parts > 1:
            parallel = _fused.parallel_kernel(name)
            if parallel is not None:  # numba's own (TBB) threads: see _fused
                parallel(theta, g, *buffers, *args, n_parts)
                return
        kernel = _fused.kernel(name)
        bounds = [n * i // n_parts for i in range(n_parts + 1)]

        def run(part: int) -> None:
            a, b = bounds[part], bounds[part + 1]
            kernel(theta[a:b], g[a:b], *(buf[a:b] for buf in buffers), *args)

        _run_parts(run, n_parts)

    def _scratch(self, dtype, part: int) -> list:
        key = ("block", str(dtype), part)
        work = self._work_cache.get(key)
        if work is None:
            work = [np.empty(_BLOCK, dtype=dtype) for _ in range(self._n_work)]
            self._work_cache[key] = work
        return work

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
        missing = [k for k in ("t", *self._buffers, *self._extra_state()) if k not in state]
        if missing:
            raise ValueError(f"{owner}: state lacks {missing}; build it with {owner}.init(params).")
        for name in self._buffers:
            buf = state[name]
            if (
                tuple(buf.shape) != tuple(params.shape)
                or is_torch(buf) != is_torch(params)
                or buf.dtype != params.dtype
            ):
                raise ValueError(
                    f"{owner}: state[{name!r}] is {describe(buf)} but params is "
                    f"{describe(params)}; build the state with {owner}.init(params)."
                )

    def _work(self, like) -> list:
        key = (type(like), tuple(like.shape), str(like.dtype), str(getattr(like, "device", "")))
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
_MIN_PART = 1 << 18  # elements per thread, at least: below that, threads cost more than they save
_num_threads_default = min(os.cpu_count() or 1, 4)
_num_threads = _num_threads_default


class _Crew:
    """Persistent worker threads that run the parts of one step beside the calling thread.

    A ``ThreadPoolExecutor`` costs a Future, a queue and two condition variables per part (about
    0.1 ms a step on 2 cores, as much as the split saves at 1M parameters); here each worker
    waits on a lock of its own and one ``release`` starts it. One step at a time uses the crew:
    a step that finds it busy (another Python thread is stepping) runs its parts in its own
    thread instead of waiting, so concurrent steps never block each other and stay exact.
    """

    def __init__(self) -> None:
        self._busy = threading.Lock()
        self._workers: list[_Worker] = []

    def run(self, run, n_parts: int) -> None:
        if n_parts == 1 or not self._busy.acquire(blocking=False):
            for part in range(n_parts):
                run(part)
            return
        error, waited = None, 0
        try:
            while len(self._workers) < n_parts - 1:
                self._workers.append(_Worker())
            workers = self._workers[: n_parts - 1]
            for part, worker in enumerate(workers, start=1):
                worker.start(run, part)
            try:
                run(0)
            except Exception as e:  # still wait for the workers: they write the same arrays
                error = e
            for worker in workers:
                error = worker.wait() or error
                waited += 1
        finally:
            if waited < n_parts - 1:  # interrupted (KeyboardInterrupt): never reuse these workers
                self._workers = []
            self._busy.release()
        if error is not None:
            raise error


class _Worker:
    def __init__(self) -> None:
        self._go, self._done = threading.Lock(), threading.Lock()
        self._go.acquire()
        self._done.acquire()
        self._task = None
        self._error = None
        threading.Thread(target=self._loop, name="descentlab-optim", daemon=True).start()

    def start(self, run, part: int) -> None:
        self._task = (run, part)
        self._go.release()

    def wait(self):
        self._done.acquire()
        error, self._error, self._task = self._error, None, None
        return error

    def _loop(self) -> None:
        while True:
            self._go.acquire()
            run, part = self._task
            try:
                run(part)
            except BaseException as e:  # handed to the caller; the worker carries on
                self._error = e
            self._done.release()


_crew = _Crew()


def _run_parts(run, n_parts: int) -> None:
    """``run(part)`` for each part: part 0 in the calling thread, the others on the crew."""
    _crew.run(run, n_parts)


def _forget_crew_after_fork() -> None:
    # a forked child has none of the parent's threads (and maybe a held lock): a fresh crew
    global _crew
    _crew = _Crew()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_crew_after_fork)


def set_num_threads(n: int) -> None:
    """How many threads a NumPy step on a large array may use (default: the cores, at most 4).

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
    if isinstance(base, float) and isinstance(exponent, (int, float)):
        return math.pow(base, exponent)
    return _pow(base, exponent).astype(np.float64)


_pow = np.frompyfunc(math.pow, 2, 1)
