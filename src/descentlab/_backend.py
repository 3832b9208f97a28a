"""Array backends: the same rule runs on NumPy arrays and on torch tensors.

The optimizers only use names that NumPy and torch share (``multiply``, ``divide``, ``sqrt``,
``square``, ``zeros_like`` ... with ``out=``) and in-place operators, so one implementation serves
both. torch is never imported here: a tensor is recognised by its type's module.
"""

from __future__ import annotations

import sys

import numpy as np

__all__ = ["is_torch", "namespace", "as_like", "describe"]


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


def as_like(value, like):
    """``value`` (a Python float or a float64 ndarray) in the backend, dtype and device of ``like``.

    Python floats are returned unchanged: both backends combine them with arrays at the array's
    precision.
    """
    if isinstance(value, float):
        return value
    if isinstance(like, np.ndarray):
        return np.asarray(value, dtype=like.dtype)
    torch = sys.modules["torch"]
    return torch.as_tensor(np.asarray(value), dtype=like.dtype, device=like.device)


def describe(x) -> str:
    if is_torch(x):
        return f"torch.Tensor(shape={tuple(x.shape)}, dtype={x.dtype}, device={x.device})"
    return f"ndarray(shape={x.shape}, dtype={x.dtype})"
