"""Array backends: the same rule runs on NumPy arrays, torch tensors and JAX arrays.

The optimizers' rules use arithmetic operators, augmented assignment and :func:`sqrt`, which all
three libraries share, so one implementation serves them all. torch is never imported here: a
tensor is recognised by its type's module.
"""

from __future__ import annotations

import sys

import numpy as np

__all__ = ["is_torch", "namespace", "as_like", "in_library_of", "describe", "sqrt"]


def is_torch(x) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def namespace(x):
    """The module whose functions operate on ``x``: ``numpy`` or ``torch``."""
    if isinstance(x, np.ndarray):
        return np
    if is_torch(x):
        return sys.modules["torch"]
    raise TypeError(
        f"expected a NumPy array or a torch tensor, got {type(x).__name__}; "
        "wrap Python numbers with numpy.asarray(..., dtype=float)"
    )


def sqrt(x):
    """The element-wise square root, in ``x``'s own library (NumPy, torch or JAX)."""
    if isinstance(x, (np.ndarray, np.generic, float)):
        return np.sqrt(x)
    if hasattr(x, "sqrt"):  # a torch tensor
        return x.sqrt()
    return x.__array_namespace__().sqrt(x)  # a JAX array (any array-API array)


def in_library_of(value, like):
    """A float64 ndarray ``value`` in ``like``'s library and device, still float64."""
    if isinstance(like, np.ndarray):
        return value
    if is_torch(like):
        torch = sys.modules["torch"]
        # a copy (torch.tensor): validated hyperparameter arrays are read-only, which torch
        # warns about when it shares their memory
        return torch.tensor(value, dtype=torch.float64, device=like.device)
    return like.__array_namespace__().asarray(value)  # JAX (float32 unless x64 is enabled)


def as_like(value, like):
    """``value`` (a Python float or a float64 ndarray) in the backend, dtype and device of ``like``.

    Python floats are returned unchanged: both backends combine them with arrays at the array's
    precision.
    """
    if isinstance(value, float):
        return value
    if isinstance(like, np.ndarray):
        return np.asarray(value, dtype=like.dtype)
    if is_torch(like):
        torch = sys.modules["torch"]
        return torch.as_tensor(np.asarray(value), dtype=like.dtype, device=like.device)
    return like.__array_namespace__().asarray(value, dtype=like.dtype)  # JAX


def describe(x) -> str:
    if is_torch(x):
        return f"torch.Tensor(shape={tuple(x.shape)}, dtype={x.dtype}, device={x.device})"
    return f"ndarray(shape={x.shape}, dtype={x.dtype})"
