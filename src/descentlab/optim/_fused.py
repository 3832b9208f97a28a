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

import numpy as np

__all__ = ["kernel"]

_KERNELS: dict | None = None


def kernel(name: str):
    """The compiled kernel called ``name``, or None when numba is not installed."""
    global _KERNELS
    if _KERNELS is None:
        try:
            _KERNELS = _compile()
        except ImportError:
            _KERNELS = {}
    return _KERNELS.get(name)


def _compile() -> dict:
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
