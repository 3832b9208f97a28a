"""Optional accelerator: each rule as one fused loop compiled by numba (``pip install numba``).

A NumPy step makes about ten passes over memory (one per ufunc call); these kernels make one. Each
kernel performs, element by element, exactly the operations of its rule's ``_update`` in the same
order, in the params' dtype (coefficients rounded to it first, as NumPy rounds a Python float), with
numba's default strict IEEE semantics (no fastmath, so no fused multiply-add and no reassociation):
the results are bit-for-bit those of the NumPy path, which the tests check for every rule in float32
and float64. Used only for NumPy arrays that the blocked path would take (large, contiguous, float
hyperparameters) and only when numba is importable; ``set_accelerator("numpy")`` turns it off.
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["kernel", "parallel_kernel"]

_KERNELS: dict | None = None
_PARALLEL: dict | None = None
_lock = threading.Lock()


def kernel(name: str):
    """The compiled kernel called ``name``, or None when numba is not installed."""
    global _KERNELS
    if _KERNELS is None:
        with _lock:
            if _KERNELS is None:
                try:
                    _KERNELS = _compile_serial()
                except ImportError:
                    _KERNELS = {}
    return _KERNELS.get(name)


def parallel_kernel(name: str):
    """The ``prange`` kernel called ``name``, or None unless numba runs it on a safe layer (tbb)."""
    global _PARALLEL
    if _PARALLEL is None:
        with _lock:
            if _PARALLEL is None:
                _PARALLEL = _compile_parallel() if _safe_threading_layer() else {}
    return _PARALLEL.get(name)


def _safe_threading_layer() -> bool:
    """Whether numba's parallel loops run on TBB, launching it if nobody chose another layer.

    numba picks its threading layer once per process, at the first parallel loop. Its other
    layers are unsafe here: GNU OpenMP (``omp``) breaks a process that forks after using it, and
    ``workqueue`` aborts when two Python threads run parallel loops at once. So: if numba's threads
    already run, use them only if they are TBB; if the user chose a layer (``NUMBA_THREADING_LAYER``
    or numba's config) other than ``tbb``/``safe``, leave it to them and use no parallel kernels;
    otherwise (numba's default, which tries TBB first anyway) launch TBB now, making the TBB
    library of the ``tbb`` package loadable first (pip puts it in ``sys.prefix/lib``, where the
    dynamic loader of a venv does not look). Without TBB, nothing is launched.
    """
    try:
        import numba
        from numba.np.ufunc import parallel
    except ImportError:
        return False
    try:
        if not parallel._is_initialized:
            layer = str(numba.config.THREADING_LAYER).lower()
            if layer == "default" and list(numba.config.THREADING_LAYER_PRIORITY)[0] == "tbb":
                if not _load_tbb():
                    return False
                numba.config.THREADING_LAYER = "tbb"  # fail rather than fall back to omp
                try:
                    parallel._launch_threads()
                finally:
                    numba.config.THREADING_LAYER = layer
            elif layer in ("tbb", "safe"):
                parallel._launch_threads()
            else:
                return False
        return numba.threading_layer() == "tbb"
    except (AttributeError, ImportError, OSError, ValueError):  # no TBB, or numba changed
        return False


def _load_tbb() -> bool:
    import ctypes

    try:
        ctypes.CDLL("libtbb.so.12")
        return True
    except OSError:
        pass
    try:
        from importlib import metadata

        files = metadata.distribution("tbb").files or ()
    except metadata.PackageNotFoundError:
        return False
    for f in files:
        if f.name == "libtbb.so.12":
            try:
                ctypes.CDLL(str(f.locate()), mode=ctypes.RTLD_GLOBAL)
                return True
            except OSError:
                return False
    return False


def _compile_serial() -> dict:
    import numba

    jit = numba.njit(nogil=True, cache=True, error_model="numpy")

    @jit
    def gd(theta, g, lr):
        for i in range(theta.size):
            theta[i] -= g[i] * lr

    @jit
    def momentum(theta, g, v, gamma, lr):
        for i in range(theta.size):
            vi = v[i] * gamma + g[i] * lr
            v[i] = vi
            theta[i] -= vi

    @jit
    def adagrad(theta, g, G, eps, lr, eps_inside):
        for i in range(theta.size):
            gi = g[i]
            Gi = G[i] + gi * gi
            G[i] = Gi
            d = np.sqrt(Gi + eps) if eps_inside else np.sqrt(Gi) + eps
            theta[i] -= (gi / d) * lr

    @jit
    def rmsprop(theta, g, G, gamma, one_minus_gamma, eps, lr):
        for i in range(theta.size):
            gi = g[i]
            Gi = G[i] * gamma + (gi * gi) * one_minus_gamma
            G[i] = Gi
            theta[i] -= (gi / (np.sqrt(Gi) + eps)) * lr

    @jit
    def adadelta(theta, g, G, s, gamma, one_minus_gamma, eps, lr):
        for i in range(theta.size):
            gi = g[i]
            Gi = G[i] * gamma + (gi * gi) * one_minus_gamma
            G[i] = Gi
            delta = (np.sqrt(s[i] + eps) / np.sqrt(Gi + eps)) * gi
            theta[i] -= delta * lr
            s[i] = s[i] * gamma + (delta * delta) * one_minus_gamma

    @jit
    def adam(theta, g, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, bc2, eps, step):
        for i in range(theta.size):
            gi = g[i]
            mi = m[i] * beta1 + gi * one_minus_beta1
            vi = v[i] * beta2 + (gi * gi) * one_minus_beta2
            m[i] = mi
            v[i] = vi
            theta[i] -= (mi / (np.sqrt(vi / bc2) + eps)) * step

    @jit
    def nadam(theta, g, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, bc2, eps, bc1, k,
              lr):
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
                    a_g, a_m):
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


def _compile_parallel() -> dict:
    # kernel(theta, g, *buffers, *coefficients, parts): the serial kernel on ``parts`` equal
    # slices (the blocked path's bounds), one slice per thread of numba's threading layer
    import numba

    jit = numba.njit(nogil=True, cache=True, error_model="numpy", parallel=True)
    prange = numba.prange
    gd_, momentum_, adagrad_, rmsprop_, adadelta_, adam_, nadam_, nadam_torch_ = (
        kernel(name) for name in ("gd", "momentum", "adagrad", "rmsprop", "adadelta", "adam",
                                  "nadam", "nadam_torch"))

    @jit
    def gd(theta, g, lr, parts):
        n = theta.size
        for p in prange(parts):
            a, b = n * p // parts, n * (p + 1) // parts
            gd_(theta[a:b], g[a:b], lr)

    @jit
    def momentum(theta, g, v, gamma, lr, parts):
        n = theta.size
        for p in prange(parts):
            a, b = n * p // parts, n * (p + 1) // parts
            momentum_(theta[a:b], g[a:b], v[a:b], gamma, lr)

    @jit
    def adagrad(theta, g, G, eps, lr, eps_inside, parts):
        n = theta.size
        for p in prange(parts):
            a, b = n * p // parts, n * (p + 1) // parts
            adagrad_(theta[a:b], g[a:b], G[a:b], eps, lr, eps_inside)

    @jit
    def rmsprop(theta, g, G, gamma, one_minus_gamma, eps, lr, parts):
        n = theta.size
        for p in prange(parts):
            a, b = n * p // parts, n * (p + 1) // parts
            rmsprop_(theta[a:b], g[a:b], G[a:b], gamma, one_minus_gamma, eps, lr)

    @jit
    def adadelta(theta, g, G, s, gamma, one_minus_gamma, eps, lr, parts):
        n = theta.size
        for p in prange(parts):
            a, b = n * p // parts, n * (p + 1) // parts
            adadelta_(theta[a:b], g[a:b], G[a:b], s[a:b], gamma, one_minus_gamma, eps, lr)

    @jit
    def adam(theta, g, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, bc2, eps, step,
             parts):
        n = theta.size
        for p in prange(parts):
            a, b = n * p // parts, n * (p + 1) // parts
            adam_(theta[a:b], g[a:b], m[a:b], v[a:b], beta1, one_minus_beta1, beta2,
                  one_minus_beta2, bc2, eps, step)

    @jit
    def nadam(theta, g, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, bc2, eps, bc1, k,
              lr, parts):
        n = theta.size
        for p in prange(parts):
            a, b = n * p // parts, n * (p + 1) // parts
            nadam_(theta[a:b], g[a:b], m[a:b], v[a:b], beta1, one_minus_beta1, beta2,
                   one_minus_beta2, bc2, eps, bc1, k, lr)

    @jit
    def nadam_torch(theta, g, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, bc2, eps,
                    a_g, a_m, parts):
        n = theta.size
        for p in prange(parts):
            a, b = n * p // parts, n * (p + 1) // parts
            nadam_torch_(theta[a:b], g[a:b], m[a:b], v[a:b], beta1, one_minus_beta1, beta2,
                         one_minus_beta2, bc2, eps, a_g, a_m)

    return {f.__name__: f for f in (gd, momentum, adagrad, rmsprop, adadelta, adam, nadam,
                                    nadam_torch)}
