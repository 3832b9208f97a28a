"""The ``Surface`` object: a loss J(x, y) over the plane, its analytic gradient, bounds and minima.

A surface evaluates on arrays of shape ``(..., 2)`` (the last axis holds x and y), NumPy or torch:
``value`` returns shape ``(...)`` and ``grad`` shape ``(..., 2)``, in the input's backend, dtype and
device. The rule functions only use names NumPy and torch share (``sin``, ``exp``, ``arctan2`` ...),
so one formula serves both backends.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from descentlab._backend import is_torch, namespace

__all__ = ["Surface", "as_points", "stack_xy", "MAX_ABS_BOUND"]

# Decision: a surface's bounds lie in [-MAX_ABS_BOUND, MAX_ABS_BOUND]. Finite bounds are not
# enough: the pictures' tick locator multiplies the view's width by up to 100 and overflowed
# (an OverflowError traceback from matplotlib for `--bounds=0,1.7e308,0,1`), and the lab's
# divergence test multiplies half-widths by its bound. No 2-D picture needs a view wider than
# 1e100, and squares of such coordinates (1e200) are still finite.
MAX_ABS_BOUND = 1e100


def as_points(xy, *, owner: str = "Surface"):
    """``xy`` as a float array or tensor whose last axis has length 2 (lists become float64)."""
    if not (isinstance(xy, np.ndarray) or is_torch(xy)):
        xy = np.asarray(xy, dtype=np.float64)
    if isinstance(xy, np.ndarray) and xy.dtype.kind != "f":
        xy = xy.astype(np.float64)
    if is_torch(xy) and not xy.is_floating_point():
        xy = xy.double()
    if xy.ndim == 0 or tuple(xy.shape)[-1] != 2:
        raise ValueError(
            f"{owner}: points must have shape (..., 2) (x and y on the last axis); "
            f"got shape {tuple(xy.shape)}."
        )
    return xy


def stack_xy(gx, gy, like):
    """Stack two arrays shaped like ``like[..., 0]`` (or numbers) into the shape of ``like``."""
    xp = namespace(like)
    if xp is np:
        out = np.empty(like.shape, dtype=like.dtype)
        out[..., 0] = gx
        out[..., 1] = gy
        return out
    shape = like.shape[:-1]
    parts = [xp.broadcast_to(xp.as_tensor(g, dtype=like.dtype, device=like.device), shape)
             for g in (gx, gy)]
    return xp.stack(parts, dim=-1)


class Surface:
    """A differentiable loss surface J(x, y) for optimizer demonstrations.

    Args:
      name: lowercase identifier (``surfaces.get(name)`` finds catalog surfaces).
      value: ``f(x, y, xp) -> J``, element-wise over arrays of the backend ``xp`` (numpy or torch).
      grad: ``g(x, y, xp) -> (dJ/dx, dJ/dy)``, the analytic gradient, same conventions.
      bounds: ``((xmin, xmax), (ymin, ymax))``, the window where the surface is worth looking at.
      minima: known minimizers, shape ``(k, 2)``; empty (shape ``(0, 2)``) when none are known.
      description: one paragraph saying what the surface shows.
      formula: the formula as text.
      start: a suggested start point, shape ``(2,)`` (figures and the command line use it).
      curvatures: for a quadratic, the Hessian's eigenvalues ``(mu, L)`` (stability limits such as
        GD's ``lr < 2 / L`` use them); ``None`` otherwise.
      spec: a JSON-ready dict that rebuilds the surface with ``surfaces.from_spec``.
      value_and_grad: optional ``f(x, y, xp) -> (J, dJ/dx, dJ/dy)`` sharing work between the two.

    Example:
      >>> import numpy as np
      >>> from descentlab import surfaces
      >>> s = surfaces.get("rosenbrock")
      >>> s.value(np.array([[1.0, 1.0], [0.0, 0.0]]))
      array([0., 1.])
      >>> s.grad(np.array([0.0, 0.0]))
      array([-2.,  0.])
    """

    def __init__(
        self,
        name: str,
        value: Callable,
        grad: Callable,
        *,
        bounds,
        minima=(),
        description: str = "",
        formula: str = "",
        start=None,
        curvatures=None,
        spec: dict | None = None,
        value_and_grad: Callable | None = None,
    ):
        self.name = name
        self._value = value
        self._grad = grad
        self._value_and_grad = value_and_grad
        (x0, x1), (y0, y1) = bounds
        if not (x0 < x1 and y0 < y1):
            raise ValueError(
                f"Surface {name!r}: bounds must be ((xmin, xmax), (ymin, ymax)) with xmin < xmax "
                f"and ymin < ymax; got {bounds!r}."
            )
        if not all(abs(float(v)) <= MAX_ABS_BOUND for v in (x0, x1, y0, y1)):
            raise ValueError(
                f"Surface {name!r}: bounds must lie in [-{MAX_ABS_BOUND:g}, {MAX_ABS_BOUND:g}] "
                f"(figures need room to compute ticks); got {bounds!r}."
            )
        self.bounds = ((float(x0), float(x1)), (float(y0), float(y1)))
        self.minima = np.asarray(minima, dtype=np.float64).reshape(-1, 2)
        self.minima.setflags(write=False)
        self.description = description
        self.formula = formula
        if start is None:
            start = (x0 + 0.1 * (x1 - x0), y0 + 0.9 * (y1 - y0))
        self.start = np.asarray(start, dtype=np.float64).reshape(2)
        self.start.setflags(write=False)
        self.curvatures = None if curvatures is None else tuple(float(c) for c in curvatures)
        self.spec = dict(spec) if spec is not None else {"name": name}

    # ----------------------------------------------------------------- evaluation
    def value(self, xy):
        """J at each point: ``xy`` of shape (..., 2) -> shape (...)."""
        xy = as_points(xy, owner=f"Surface {self.name!r}")
        xp = namespace(xy)
        v = self._value(xy[..., 0], xy[..., 1], xp)
        return _like(v, xy[..., 0])

    __call__ = value

    def grad(self, xy):
        """The analytic gradient (dJ/dx, dJ/dy) at each point: shape (..., 2) -> (..., 2)."""
        xy = as_points(xy, owner=f"Surface {self.name!r}")
        gx, gy = self._grad(xy[..., 0], xy[..., 1], namespace(xy))
        return stack_xy(gx, gy, xy)

    def value_and_grad(self, xy):
        """``(value(xy), grad(xy))`` computed together (shared subexpressions where possible)."""
        xy = as_points(xy, owner=f"Surface {self.name!r}")
        xp = namespace(xy)
        if self._value_and_grad is None:
            return self.value(xy), self.grad(xy)
        v, gx, gy = self._value_and_grad(xy[..., 0], xy[..., 1], xp)
        return _like(v, xy[..., 0]), stack_xy(gx, gy, xy)

    def hessian(self, xy, *, h: float = 1e-5):
        """The Hessian at each point by central differences of the analytic gradient: (..., 2, 2).

        Numerical (error O(h^2)); used for curvature read-outs, never inside a run.
        """
        xy = np.asarray(as_points(xy, owner=f"Surface {self.name!r}"), dtype=np.float64)
        cols = []
        for k in range(2):
            e = np.zeros(2)
            e[k] = h
            cols.append((self.grad(xy + e) - self.grad(xy - e)) / (2 * h))
        H = np.stack(cols, axis=-1)  # H[..., i, k] = d g_i / d x_k
        return 0.5 * (H + np.swapaxes(H, -1, -2))

    # ----------------------------------------------------------------- read-outs
    @property
    def minimum_value(self) -> float:
        """The lowest value of J over the known minima (NaN when none are known)."""
        if len(self.minima) == 0:
            return float("nan")
        return float(np.min(self.value(self.minima)))

    def grid(self, resolution: int = 200):
        """``(X, Y, Z)`` on a square grid of ``resolution`` points a side over ``bounds``."""
        (x0, x1), (y0, y1) = self.bounds
        X, Y = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
        with np.errstate(all="ignore"):
            Z = self.value(np.stack((X, Y), axis=-1))
        return X, Y, Z

    def __repr__(self) -> str:
        return f"Surface({self.name!r}, bounds={self.bounds}, minima={len(self.minima)})"


def _like(v, like):
    """A value that may be a Python number (constant formulas) broadcast to ``like``'s shape."""
    xp = namespace(like)
    if xp is np:
        v = np.asarray(v, dtype=like.dtype)
        return v if v.shape == like.shape else np.broadcast_to(v, like.shape).copy()
    v = xp.as_tensor(v, dtype=like.dtype, device=like.device)
    return v if v.shape == like.shape else xp.broadcast_to(v, like.shape).clone()
