"""Optional accelerator: each rule as one fused loop compiled by numba (``pip install numba``).

A NumPy step makes about ten passes over memory (one per ufunc call); these kernels make one. Each
kernel steps the elements ``a:b`` of its flat arrays (one chunk of a step that is split over
threads, or ``0:n``) and performs, element by element, exactly the operations of its rule's
``_update`` in the same order, in the params' dtype (coefficients rounded to it first, as NumPy
rounds a Python float), with numba's default strict IEEE semantics (no fastmath, so no fused
multiply-add and no reassociation): the results are bit-for-bit those of the NumPy path, which the
tests check for every rule in float32 and float64. Used only for contiguous NumPy arrays with float
(not batched) hyperparameters, of 4096 elements or more in ``step`` and of any size in
``step_many``, and only when numba is importable; ``set_accelerator("numpy")`` turns it off. Unlike
NumPy, a kernel does not warn on overflow or on an invalid value: the inf or nan it produces is the
same.

Threads. A large step runs the kernel over chunks of the arrays, shared out between the calling
thread and ``get_num_threads() - 1`` persistent Python threads of descentlab's own (the kernels
release the GIL), see ``_base._run_kernels``. Decision, measured on the 2-core machine of issue 2
(Momentum, 1M float32, ms per step, fastest of 60, interleaved with torch.optim's steps as in
``benchmarks/step_throughput.py``; numbers vary +-20% from run to run):

* serial kernel 0.33-0.37; torch foreach 0.39-0.49; torch default SGD 0.34-0.43.
* ThreadPoolExecutor, one fixed half per thread (before): step 0.41-0.52. The split gained
  nothing: torch's OpenMP threads keep spinning on the second core after each torch call, so
  the caller finished its half and then waited for a worker the scheduler had not run yet.
* numba ``parallel=True`` + ``prange`` on the TBB threading layer (``pip install tbb``, the only
  layer both fork- and thread-safe: GNU OpenMP breaks a process that forks after using it,
  ``workqueue`` aborts when two threads run parallel loops at once): step 0.35-0.41, about the
  same as the next option, for a 7 MB dependency that numba outside conda only finds with
  ``LD_LIBRARY_PATH`` or a preload, and numba's process-wide layer choice. Not taken.
* persistent threads taking chunks (taken): step 0.33-0.41; the caller never waits for a
  worker that has not started, and waits only for chunks a worker has begun. No dependency,
  fork-safe (a forked child starts new threads), thread-safe (each step is its own job; a
  worker helps whichever step woke it last).

With it, Momentum at 1M, each function timed alone (``benchmarks/step_throughput.py``, fastest of
50, 2026-11-26): numpy 0.11-0.15 ms, torch foreach 0.17, fused 0.10-0.12. Inside a step (timed with
perf_counter), the worker starts its first chunk 10-15 us after the caller starts its own, and the
caller waits 1-33 us (mostly about 10) at the end for the worker's last chunk; two threads stepping
their chunks at once take about 45 us per 256K-element chunk against 38 us alone (they share the L3
cache's bandwidth). Right after a torch backward pass, though, torch's OpenMP threads spin on the
second core, and in some processes the worker never got it: the torch adapter's Momentum step at
1M was 1.5-1.7x torch.optim's default in a training loop. So where torch is imported, a large step
runs on torch's OpenMP threads instead (``_omp``, ``_team_bodies``: the same kernels, called from
a compiled body without the GIL), and descentlab's own threads serve the other processes.

Tried and not kept (2026-11-26): each kernel as two loops per block of 2048 elements, first the
state, then the parameters (fewer arrays streamed at once). One thread stepping Momentum at 1M
right after a backward pass: 0.49 ms against 0.58, and 2.0 against 3.2 in the processes whose
weight memory is slow (see the README); but in the training loop on two threads the adapter's step
was the same (1.68-1.73 ms against 1.65-1.76 there), each function timed alone was a little
slower in cache, and plain NumPy Adam at 16M on one thread went from 9.3-10.3 ms to 14.3-14.8.
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["kernel"]

_KERNELS: dict | None = None
_lock = threading.Lock()


def kernel(name: str):
    """The compiled kernel called ``name``, or None when numba is not installed."""
    global _KERNELS
    if _KERNELS is None:
        with _lock:
            if _KERNELS is None:
                try:
                    _KERNELS = _compile()
                except ImportError:
                    _KERNELS = {}
    return _KERNELS.get(name)


def cached(decorator, **options):
    """``decorator(cache=True, **options)``, or without the cache where numba has no writable
    place for it (a read-only install and no writable home: numba then refuses ``cache=True``
    with a RuntimeError): the functions are then compiled anew in each process."""
    def wrap(f):
        try:
            return decorator(cache=True, **options)(f)
        except RuntimeError as e:
            if "no locator available" not in str(e):
                raise
            return decorator(**options)(f)

    return wrap


def _compile() -> dict:
    import numba

    jit = cached(numba.njit, nogil=True, error_model="numpy")

    @jit
    def gd(theta, g, lr, a, b):
        theta, g = theta[a:b], g[a:b]
        for i in range(theta.size):
            theta[i] -= g[i] * lr

    @jit
    def momentum(theta, g, v, gamma, lr, a, b):
        theta, g, v = theta[a:b], g[a:b], v[a:b]
        for i in range(theta.size):
            vi = v[i] * gamma + g[i] * lr
            v[i] = vi
            theta[i] -= vi

    @jit
    def adagrad(theta, g, G, eps, lr, eps_inside, a, b):
        theta, g, G = theta[a:b], g[a:b], G[a:b]
        for i in range(theta.size):
            gi = g[i]
            Gi = G[i] + gi * gi
            G[i] = Gi
            d = np.sqrt(Gi + eps) if eps_inside else np.sqrt(Gi) + eps
            theta[i] -= (gi / d) * lr

    @jit
    def rmsprop(theta, g, G, gamma, one_minus_gamma, eps, lr, a, b):
        theta, g, G = theta[a:b], g[a:b], G[a:b]
        for i in range(theta.size):
            gi = g[i]
            Gi = G[i] * gamma + (gi * gi) * one_minus_gamma
            G[i] = Gi
            theta[i] -= (gi / (np.sqrt(Gi) + eps)) * lr

    @jit
    def adadelta(theta, g, G, s, gamma, one_minus_gamma, eps, lr, a, b):
        theta, g, G, s = theta[a:b], g[a:b], G[a:b], s[a:b]
        for i in range(theta.size):
            gi = g[i]
            Gi = G[i] * gamma + (gi * gi) * one_minus_gamma
            G[i] = Gi
            delta = (np.sqrt(s[i] + eps) / np.sqrt(Gi + eps)) * gi
            theta[i] -= delta * lr
            s[i] = s[i] * gamma + (delta * delta) * one_minus_gamma

    @jit
    def adam(theta, g, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, bc2, eps, step,
             a, b):
        theta, g, m, v = theta[a:b], g[a:b], m[a:b], v[a:b]
        for i in range(theta.size):
            gi = g[i]
            mi = m[i] * beta1 + gi * one_minus_beta1
            vi = v[i] * beta2 + (gi * gi) * one_minus_beta2
            m[i] = mi
            v[i] = vi
            theta[i] -= (mi / (np.sqrt(vi / bc2) + eps)) * step

    @jit
    def nadam(theta, g, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, bc2, eps, bc1, k,
              lr, a, b):
        theta, g, m, v = theta[a:b], g[a:b], m[a:b], v[a:b]
        for i in range(theta.size):
            gi = g[i]
            w = gi * one_minus_beta1
            mi = m[i] * beta1 + w
            vi = v[i] * beta2 + (gi * gi) * one_minus_beta2
            m[i] = mi
            v[i] = vi
            d = np.sqrt(vi / bc2) + eps
            theta[i] -= ((w / bc1 + mi * k) / d) * lr

    @jit
    def nadam_torch(theta, g, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, bc2, eps,
                    a_g, a_m, a, b):
        theta, g, m, v = theta[a:b], g[a:b], m[a:b], v[a:b]
        for i in range(theta.size):
            gi = g[i]
            mi = m[i] * beta1 + gi * one_minus_beta1
            vi = v[i] * beta2 + (gi * gi) * one_minus_beta2
            m[i] = mi
            v[i] = vi
            d = np.sqrt(vi / bc2) + eps
            th = theta[i] - (gi / d) * a_g
            theta[i] = th - (mi / d) * a_m

    return {f.__name__: f for f in (gd, momentum, adagrad, rmsprop, adadelta, adam, nadam,
                                    nadam_torch)}
