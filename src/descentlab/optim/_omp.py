"""Large steps on torch's own OpenMP threads, where torch is imported and runs on GNU OpenMP.

Why. A step on 2 cores needs both, and right after a torch call (a backward pass) torch's
OpenMP threads spin on the other core, waiting for torch's next parallel region. descentlab's own
worker thread (``_base._Worker``) then waits for the scheduler to give it that core: it started
58-66 us late (median) in a training loop, and in some processes it did no work at all, so the
adapter's Momentum step at 1M parameters took 1.5-1.7x torch.optim's. Here the step itself opens
a parallel region of torch's OpenMP runtime (``GOMP_parallel``), so the threads already spinning
take their pieces at once. Measured in one process, in a loop of forward, backward and step of
three 1024x1024 models in random order (torch.optim.SGD, the adapter on descentlab's threads, the
adapter on the OpenMP team; median of 37-97 paired ratios, 2026-11-26): adapter / torch.optim
1.07-1.57 on descentlab's threads against 0.98-1.10 on the team, bit for bit the same parameters
(in a process where the weight's memory is slow, 2.82 against 1.58; see the README's Speed section).
A first version that ran the kernels from Python callbacks, taking the GIL in each thread, reached
1.19-1.30.

How. The team runs the compiled bodies of ``_team_bodies``: each thread claims pieces of the
arrays with an atomic counter and runs the rule's numba kernel on them, without the GIL (the
ctypes call releases it). The runtime is found only among the libraries already loaded
(``RTLD_NOLOAD``): ``libgomp.so.1``, the soname of the GNU OpenMP library that torch's Linux
wheels load; nothing is loaded for it. Elsewhere (no torch, macOS, another OpenMP runtime),
in a child forked after descentlab was imported and in any multiprocessing worker, steps use
descentlab's own threads: GNU OpenMP is not fork-safe, and a forked child whose parent used it
hangs in its next parallel region (torch's own next parallel call hangs there too). Not covered:
a child of a bare ``os.fork()`` that imports descentlab only after the fork, from a parent that
had run torch; such a child hangs in torch's parallel calls as well. The team has at most
``torch.get_num_threads()`` threads and at most ``descentlab.optim.get_num_threads()``.
"""

from __future__ import annotations

import ctypes
import os
import sys
import warnings

import numpy as np

__all__ = ["step_on_team"]

_PIECE = 1 << 16  # elements a thread claims at once (an atomic add each): fine enough to balance


class _Runtime:
    def __init__(self, lib: ctypes.CDLL) -> None:
        from descentlab.optim import _fused, _team_bodies

        self.parallel = lib.GOMP_parallel
        self.parallel.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
        self.parallel.restype = None
        self.bodies = _team_bodies.BODIES
        self.fill_row = _team_bodies.fill_row
        self.ids = {_fused.kernel(name): i for name, i in _team_bodies.IDS.items()}
        self.n_arrays, self.n_coefficients = _team_bodies.MAX_ARRAYS, _team_bodies.MAX_COEFFICIENTS


_runtime: _Runtime | None | bool = None  # None: not looked for yet; False: none to use
enabled = True  # tests turn this off to run descentlab's own threads in a torch process


def _find() -> tuple[_Runtime | bool, Exception | None]:
    """The runtime, or False; and the error that kept the bodies from building, if one did."""
    mp = sys.modules.get("multiprocessing")
    if mp is not None and mp.parent_process() is not None:
        # a multiprocessing worker: a forked one whose parent had used GNU OpenMP hangs in it
        # (torch's own next parallel call does too), and descentlab may have been imported only
        # after the fork, too late for the fork hook below; a spawned one loses only speed
        return False, None
    try:
        lib = ctypes.CDLL("libgomp.so.1", mode=os.RTLD_NOLOAD)
    except (OSError, AttributeError):  # not loaded (or no RTLD_NOLOAD on this platform)
        return False, None
    try:
        return _Runtime(lib), None
    except (AttributeError, ImportError):  # no such symbols, or no numba
        return False, None
    except Exception as e:  # the bodies failed to compile: the own threads give the same result
        return False, e


def runtime() -> _Runtime | None:
    """The OpenMP runtime to step on, or None (looked for once, when torch is imported).

    Steps call this before they write anything, so that the warning below, turned into an error
    by a warnings filter, leaves their arrays and state untouched.
    """
    global _runtime
    if _runtime is None:
        if "torch" not in sys.modules:
            return None
        _runtime, error = _find()  # (kept before warning: a raised warning must not retry)
        if error is not None:
            warnings.warn(f"descentlab.optim: large steps use descentlab's own threads, not "
                          f"torch's OpenMP threads, whose compiled bodies failed to build "
                          f"({error!r}).", RuntimeWarning, stacklevel=3)
    return _runtime or None


def step_on_team(calls: list[tuple], n_threads: int) -> bool:
    """Run each ``(kernel, flat arrays, coefficients)`` of ``calls`` over all its elements on an
    OpenMP team of ``n_threads`` at most; False (nothing run) where there is no team to use or a
    kernel is not one of ``_team_bodies``' (the caller then uses descentlab's own threads)."""
    rt = runtime() if enabled else None
    if rt is None:
        return False
    groups: dict[np.dtype, list] = {}
    for kernel, arrays, args in calls:
        kid = rt.ids.get(kernel)
        if kid is None:
            return False
        groups.setdefault(arrays[0].dtype, []).append((kid, arrays, args))
    # torch's thread count: its setting reaches a thread's OpenMP only once torch runs there
    # (torch.get_num_threads() applies it in this thread), omp_get_max_threads() alone would not
    n_threads = max(1, min(n_threads, sys.modules["torch"].get_num_threads()))
    for dtype, rows in groups.items():
        table = np.empty((len(rows), 4 + rt.n_arrays), np.int64)
        coefficients: dict[int, int] = {}  # id(args) -> its row: the entries of a step share one
        args_rows = []
        first = 0
        for r, (kid, arrays, args) in enumerate(rows):
            c = coefficients.setdefault(id(args), len(coefficients))
            if c == len(args_rows):
                args_rows.append(args)
            first = rt.fill_row(table, r, kid, c, first, _PIECE,
                                *arrays, *(arrays[0],) * (rt.n_arrays - len(arrays)))
        cs = np.zeros((len(args_rows), rt.n_coefficients), dtype)
        for c, args in enumerate(args_rows):
            cs[c, :len(args)] = args
        header = np.array([table.ctypes.data, cs.ctypes.data, len(rows), _PIECE, first, 0],
                          np.int64)
        rt.parallel(rt.bodies[dtype], header.ctypes.data, n_threads, 0)
    return True


def _forget_after_fork() -> None:
    global _runtime
    _runtime = False  # whether or not this process used it: torch may have


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
