"""Data-driven surfaces: the loss of fitting the line y = w x + b to a data set, over (w, b).

The plane's first coordinate is the slope w, the second the intercept b. The loss is any of
``descentlab.losses``' regression losses (``mse, mae, huber, log_cosh, quantile``) averaged over
the data; its gradient is full-batch (GD) or taken on a minibatch (SGD):

    J(w, b) = 1/n sum_i L(y_i, w x_i + b)
    dJ/dw   = 1/n sum_i L'(y_i, w x_i + b) x_i,      dJ/db = 1/n sum_i L'(y_i, w x_i + b)

with L' = ``loss.grad(..., reduction="none")``; a minibatch B replaces 1/n sum_i by
1/|B| sum_(i in B).
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from descentlab._backend import is_torch
from descentlab.surfaces._base import Surface, as_points

__all__ = ["DataSurface", "linear_fit", "lecture_lr", "REGRESSION_LOSSES"]

REGRESSION_LOSSES = ("mse", "mae", "huber", "log_cosh", "quantile")


def _loss_function(name: str):
    from descentlab import losses

    key = str(name).lower()
    if key not in REGRESSION_LOSSES:
        raise ValueError(
            f"The 'loss' parameter of linear_fit must be one of {list(REGRESSION_LOSSES)}. "
            f"Got {name!r} instead."
        )
    return getattr(losses, key)


class DataSurface(Surface):
    """The loss of fitting y = w x + b to the data ``(x, y)``, as a surface over (w, b).

    Use :func:`linear_fit` to build one. Besides ``Surface``'s methods it offers minibatch
    gradients: ``grad(wb, batch_size=8, rng=0)`` and ``minibatch_grads`` (the cloud of minibatch
    gradients around the full-batch one). torch inputs are accepted and computed in NumPy (like
    ``descentlab.losses``); the result comes back as a tensor of the input's dtype and device.

    Attributes:
      x, y: the data (read-only float64 arrays of length n).
      loss: the loss's name; ``loss_options``: its keyword arguments (``delta``, ``q``).
      n: the number of data points.
    """

    def __init__(self, x, y, *, loss="mse", loss_options=None, name="linear_fit", bounds=None,
                 start=None, description="", spec=None):
        x = np.array(x, dtype=np.float64).reshape(-1)
        y = np.array(y, dtype=np.float64).reshape(-1)
        if x.shape != y.shape or x.size < 2:
            raise ValueError(
                f"DataSurface: x and y must be 1-D with the same length >= 2; got shapes "
                f"{x.shape} and {y.shape}."
            )
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise ValueError("DataSurface: x and y must be finite.")
        x.setflags(write=False)
        y.setflags(write=False)
        self.x, self.y, self.n = x, y, x.size
        self._fn = _loss_function(loss)
        self.loss = self._fn.__name__
        self.loss_options = dict(loss_options or {})
        allowed = [p for p in inspect.signature(self._fn).parameters
                   if p not in ("y_true", "y_pred", "reduction")]
        unknown = [k for k in self.loss_options if k not in allowed]
        if unknown:
            raise ValueError(
                f"linear_fit: the {self.loss} loss has no option {unknown[0]!r}. "
                f"Valid options: {allowed or 'none'}."
            )
        self._fn(y[:2], y[:2], **self.loss_options)  # validates delta / q with the loss's message
        minimum = self._minimize()
        self.fit_ = minimum
        if bounds is None:
            bounds = ((minimum[0] - 3.0, minimum[0] + 3.0), (minimum[1] - 3.0, minimum[1] + 3.0))
        if start is None:
            start = (minimum[0] - 2.0, minimum[1] + 2.4)
        super().__init__(
            name, self._value_fn, self._grad_fn, bounds=bounds, minima=[minimum], start=start,
            formula=f"1/n sum_i {self.loss}(y_i, w*x_i + b)", description=description,
            spec=spec, value_and_grad=self._value_and_grad_fn,
            curvatures=self._curvatures() if self.loss == "mse" else None,
        )

    # ----------------------------------------------------------------- the loss over (w, b)
    def _pred(self, w, b, idx):
        x = self.x if idx is None else self.x[idx]
        y = self.y if idx is None else self.y[idx]
        yp = w[..., None] * x + b[..., None]
        return x, np.broadcast_to(y, yp.shape), yp

    def _value_fn(self, w, b, xp, idx=None):
        _, y, yp = self._pred(w, b, idx)
        return np.mean(self._fn(y, yp, reduction="none", **self.loss_options), axis=-1)

    def _grad_fn(self, w, b, xp, idx=None):
        x, y, yp = self._pred(w, b, idx)
        d = self._fn.grad(y, yp, reduction="none", **self.loss_options)  # dL_i / d yp_i
        return np.mean(d * x, axis=-1), np.mean(d, axis=-1)

    def _value_and_grad_fn(self, w, b, xp, idx=None):
        x, y, yp = self._pred(w, b, idx)
        L = self._fn(y, yp, reduction="none", **self.loss_options)
        d = self._fn.grad(y, yp, reduction="none", **self.loss_options)
        return np.mean(L, axis=-1), np.mean(d * x, axis=-1), np.mean(d, axis=-1)

    def _numpy_call(self, method, xy, *args, **kwargs):
        """Run ``method`` on NumPy points and give the result back in the input's backend."""
        xy = as_points(xy, owner=f"Surface {self.name!r}")
        if not is_torch(xy):
            return method(xy, *args, **kwargs)
        import torch

        out = method(xy.detach().cpu().numpy(), *args, **kwargs)
        conv = lambda a: torch.as_tensor(np.asarray(a), device=xy.device).to(xy.dtype)  # noqa: E731
        return tuple(conv(a) for a in out) if isinstance(out, tuple) else conv(out)

    def value(self, xy):
        """The full-batch loss J(w, b) at each point: shape (..., 2) -> (...)."""
        return self._numpy_call(super().value, xy)

    __call__ = value

    def value_and_grad(self, xy):
        """``(value(xy), grad(xy))`` on the full batch, computed together."""
        return self._numpy_call(super().value_and_grad, xy)

    def grad(self, xy, batch_size=None, rng=None, *, indices=None):
        """The gradient (dJ/dw, dJ/db) on the full batch, or on a minibatch.

        Args:
          xy: points (w, b), shape (..., 2).
          batch_size: ``None`` (default) for the full batch; else draw ONE minibatch of this many
            distinct data points (without replacement) from ``rng`` and use it at every point.
          rng: a ``numpy.random.Generator`` or a seed; required with ``batch_size``.
          indices: explicit data indices instead: shape (batch,) for one minibatch shared by all
            points, or ``xy.shape[:-1] + (batch,)`` for one minibatch per point.

        Returns:
          The gradient, shape (..., 2).
        """
        if batch_size is None and indices is None:
            return self._numpy_call(super().grad, xy)
        if indices is None:
            indices = self.draw(batch_size, rng)
        idx = np.asarray(indices)
        if idx.dtype.kind not in "iu" or idx.size == 0:
            raise ValueError("DataSurface.grad: indices must be a non-empty integer array.")
        if idx.min() < 0 or idx.max() >= self.n:
            raise ValueError(
                f"DataSurface.grad: indices must lie in [0, {self.n - 1}]; got values in "
                f"[{idx.min()}, {idx.max()}]."
            )

        def minibatch(p):
            gw, gb = self._grad_fn(p[..., 0], p[..., 1], np, idx=idx)
            out = np.empty(np.broadcast_shapes(np.shape(gw), p.shape[:-1]) + (2,), dtype=p.dtype)
            out[..., 0], out[..., 1] = gw, gb
            return out

        return self._numpy_call(minibatch, xy)

    def draw(self, batch_size, rng):
        """Indices of one minibatch: ``batch_size`` distinct data points drawn from ``rng``."""
        if rng is None:
            raise ValueError("DataSurface: a minibatch needs rng (a numpy Generator or a seed).")
        bs = _check_batch_size(batch_size, self.n)
        return np.random.default_rng(rng).choice(self.n, size=bs, replace=False)

    def minibatch_grads(self, xy, batch_size, count, rng):
        """``count`` independent minibatch gradients at ``xy``: shape (count, ..., 2).

        Each minibatch holds ``batch_size`` distinct points, drawn from ``rng`` (a Generator or a
        seed); the minibatches are independent of one another. Their mean estimates ``grad(xy)``.

        Example:
          >>> import numpy as np
          >>> from descentlab import surfaces
          >>> s = surfaces.linear_fit("mse", n=50, seed=0)
          >>> cloud = s.minibatch_grads(np.array([0.0, 0.0]), batch_size=5, count=2000, rng=1)
          >>> cloud.shape
          (2000, 2)
          >>> bool(np.allclose(cloud.mean(axis=0), s.grad(np.array([0.0, 0.0])), atol=0.3))
          True
        """
        if not isinstance(count, (int, np.integer)) or isinstance(count, bool) or count < 1:
            raise ValueError(f"The 'count' parameter of minibatch_grads must be an integer >= 1. "
                             f"Got {count!r} instead.")
        gen = np.random.default_rng(rng)
        bs = _check_batch_size(batch_size, self.n)
        idx = np.stack([gen.choice(self.n, size=bs, replace=False) for _ in range(count)])

        def cloud(p):
            q = np.broadcast_to(p, (count,) + p.shape)
            # one minibatch per cloud member, shared by all points in p
            per = idx.reshape((count,) + (1,) * (p.ndim - 1) + (bs,))
            per = np.broadcast_to(per, q.shape[:-1] + (bs,))
            gw, gb = self._grad_fn(q[..., 0], q[..., 1], np, idx=per)
            out = np.empty(q.shape, dtype=p.dtype)
            out[..., 0], out[..., 1] = gw, gb
            return out

        return self._numpy_call(cloud, xy)

    # ----------------------------------------------------------------- the minimum
    def _full(self, wb):
        wb = np.asarray(wb, dtype=np.float64)
        return float(self._value_fn(wb[..., 0], wb[..., 1], np))

    def _minimize(self) -> np.ndarray:
        """The full-batch minimizer (w*, b*): every supported loss is convex in (w, b).

        mse: least squares (closed form). mae and quantile (piecewise linear): for a fixed w the
        best b is the q-quantile of the residuals y - w x, and min_b J(w, b) is convex in w, so a
        golden-section search over w converges to the exact kink. huber and log_cosh (smooth):
        Newton's method from the least-squares fit, with a finite-difference Hessian of the
        analytic gradient and a backtracking line search.
        """
        A = np.stack((self.x, np.ones(self.n)), axis=1)
        ls = np.linalg.lstsq(A, self.y, rcond=None)[0]
        if self.loss == "mse":
            return ls
        if self.loss in ("mae", "quantile"):
            q = float(self.loss_options.get("q", 0.5)) if self.loss == "quantile" else 0.5
            return self._minimize_piecewise_linear(q)
        return self._minimize_newton(ls)

    def _minimize_piecewise_linear(self, q: float) -> np.ndarray:
        x, y = self.x, self.y

        def best_b(w):
            r = np.sort(y - w * x)
            return r[min(self.n - 1, max(0, math.ceil(q * self.n) - 1))]

        def F(w):
            return self._full((w, best_b(w)))

        dx = x[:, None] - x[None, :]
        ok = np.abs(dx) > 0
        slopes = (y[:, None] - y[None, :])[ok] / dx[ok] if ok.any() else np.zeros(1)
        lo, hi = float(slopes.min()) - 1.0, float(slopes.max()) + 1.0
        invphi = (math.sqrt(5) - 1) / 2
        a, b = lo, hi
        c, d = b - invphi * (b - a), a + invphi * (b - a)
        fc, fd = F(c), F(d)
        for _ in range(200):
            if b - a <= 1e-15 * max(1.0, abs(a), abs(b)):
                break
            if fc <= fd:
                b, d, fd = d, c, fc
                c = b - invphi * (b - a)
                fc = F(c)
            else:
                a, c, fc = c, d, fd
                d = a + invphi * (b - a)
                fd = F(d)
        w = 0.5 * (a + b)
        return np.array([w, best_b(w)])

    def _minimize_newton(self, start) -> np.ndarray:
        wb = np.array(start, dtype=np.float64)

        def g(p):
            gw, gb = self._grad_fn(p[..., 0], p[..., 1], np)
            return np.array([gw, gb], dtype=np.float64)

        for _ in range(100):
            gk = g(wb)
            h = 1e-6 * max(1.0, float(np.abs(wb).max()))
            H = np.stack([(g(wb + e) - g(wb - e)) / (2 * h) for e in np.eye(2) * h], axis=1)
            H = 0.5 * (H + H.T) + 1e-12 * np.eye(2)
            try:
                step = np.linalg.solve(H, gk)
            except np.linalg.LinAlgError:
                step = gk
            f0, alpha = self._full(wb), 1.0
            while alpha > 1e-10 and self._full(wb - alpha * step) > f0 - 1e-4 * alpha * gk @ step:
                alpha *= 0.5
            wb = wb - alpha * step
            if np.abs(alpha * step).max() <= 1e-13 * max(1.0, float(np.abs(wb).max())):
                break
        return wb

    def _curvatures(self):
        """Eigenvalues of the MSE Hessian 2 [[mean x^2, mean x], [mean x, 1]] (constant)."""
        H = 2 * np.array([[np.mean(self.x**2), np.mean(self.x)], [np.mean(self.x), 1.0]])
        return tuple(np.linalg.eigvalsh(H))

    def __repr__(self) -> str:
        opts = "".join(f", {k}={v!r}" for k, v in self.loss_options.items())
        return f"DataSurface({self.name!r}, loss={self.loss!r}{opts}, n={self.n})"


def _check_batch_size(batch_size, n):
    if (not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool)
            or not 1 <= batch_size <= n):
        raise ValueError(
            f"The 'batch_size' parameter must be an integer in the range [1, {n}] (the number of "
            f"data points). Got {batch_size!r} instead."
        )
    return int(batch_size)


def linear_fit(loss: str = "mse", *, n: int = 100, outliers: int = 0, seed: int = 0,
               noise: float = 0.5, true_w: float = 2.0, true_b: float = 1.0,
               outlier_offset: float = 10.0, x=None, y=None, bounds=None,
               **loss_options) -> DataSurface:
    """The loss of fitting y = w x + b to a seeded data set, as a surface over (w, b).

    Math::

        x_i ~ U(-3, 3),  y_i = true_w x_i + true_b + noise * N(0, 1)     (i = 1 .. n, seeded)
        then ``outliers`` points (chosen at random) get y_i += outlier_offset
        J(w, b) = 1/n sum_i loss(y_i, w x_i + b)

    Args:
      loss: one of ``"mse"`` (default), ``"mae"``, ``"huber"``, ``"log_cosh"``, ``"quantile"``
        (``descentlab.losses``); its options (``delta=`` for huber, ``q=`` for quantile) are
        passed as keywords.
      n: number of data points, >= 2. Default 100.
      outliers: how many points to turn into outliers, in [0, n]. Default 0.
      seed: seed of the data set. Default 0.
      noise: standard deviation of the Gaussian noise on y, >= 0. Default 0.5.
      true_w, true_b: the line the data come from. Defaults 2.0 and 1.0.
      outlier_offset: added to y at each outlier. Default 10.0.
      x, y: your own data instead (then n, seed, noise, true_w, true_b, outliers are ignored).
      bounds: plotting window; default: the full-batch minimizer +- 3 on both axes.

    The minimum (``minima[0]``, also ``fit_``) is the exact full-batch minimizer of J.

    Example:
      >>> from descentlab import surfaces
      >>> s = surfaces.linear_fit("mae", n=50, outliers=5, seed=0)
      >>> s.name, s.n, s.minima.shape
      ('linear_fit', 50, (1, 2))
    """
    owner = "linear_fit"
    from descentlab._validation import check_in_range

    if x is None and y is None:
        for value, name in ((n, "n"), (outliers, "outliers"), (seed, "seed")):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
                raise ValueError(f"The {name!r} parameter of {owner} must be an integer. "
                                 f"Got {value!r} instead.")
        if n < 2:
            raise ValueError(f"The 'n' parameter of {owner} must be an integer >= 2. Got {n!r} "
                             "instead.")
        if not 0 <= outliers <= n:
            raise ValueError(f"The 'outliers' parameter of {owner} must be an integer in the "
                             f"range [0, {n}]. Got {outliers!r} instead.")
        noise = check_in_range(noise, name="noise", owner=owner, low=0.0)
        rng = np.random.default_rng(seed)
        x = rng.uniform(-3.0, 3.0, size=n)
        y = true_w * x + true_b + noise * rng.normal(size=n)
        if outliers:
            y[rng.choice(n, size=outliers, replace=False)] += outlier_offset
        spec = {"linear_fit": dict(loss=str(loss).lower(), n=int(n), outliers=int(outliers),
                                   seed=int(seed), noise=float(noise), true_w=float(true_w),
                                   true_b=float(true_b), outlier_offset=float(outlier_offset),
                                   **{k: float(v) for k, v in loss_options.items()})}
        what = f"{n} points from y = {true_w:g} x + {true_b:g} + noise (sd {noise:g}, seed {seed})"
        if outliers:
            what += f", {outliers} of them outliers (+{outlier_offset:g})"
    elif x is None or y is None:
        raise ValueError("linear_fit: give both x and y, or neither.")
    else:
        spec = {"linear_fit": dict(loss=str(loss).lower(), x=np.asarray(x, float).tolist(),
                                   y=np.asarray(y, float).tolist(),
                                   **{k: float(v) for k, v in loss_options.items()})}
        what = f"{np.size(x)} given points"
    if bounds is not None:
        spec["linear_fit"]["bounds"] = [list(map(float, b)) for b in bounds]
    return DataSurface(
        x, y, loss=loss, loss_options=loss_options, bounds=bounds, spec=spec,
        description=f"The {str(loss).lower()} loss of the line y = w x + b over {what}, as a "
        "surface over (w, b). Full-batch gradients give GD; minibatch gradients (batch_size) "
        "give SGD's noisy path.",
    )


def lecture_lr() -> DataSurface:
    """The lecture's learning-rate problem: GD at lr 0.01 / 0.03 / 0.13 is slow / right / wild.

    Design: the MSE of the line y = w x + b over 100 seeded points whose x are standardized to
    mean 0 and mean x^2 = 8 exactly. The MSE's Hessian is 2 [[mean x^2, mean x], [mean x, 1]] =
    diag(16, 2): curvature L = 16 along w and mu = 2 along b, the same at every point. GD
    multiplies the error along each axis by (1 - lr * curvature) per step, so with the lecture's
    budget of 100 steps:

    * lr = 0.01: factors 0.84 (w) and 0.98 (b); after 100 steps 0.98^100 = 13% of the initial b
      error is left: too slow.
    * lr = 0.03: factors 0.52 and 0.94; 0.94^100 = 0.2%: about right, no overshoot (lr L < 1).
    * lr = 0.13 > 2 / L = 0.125: factor 1 - 0.13 * 16 = -1.08 along w: every step jumps past
      the minimum to a point further up the other side, and the run diverges (the b axis alone
      would converge, 0.74 per step).

    Being a data surface, the same problem also gives the lecture's SGD row (``batch_size``).
    The start (about (0.47, -1.57)) lies 1.5 below the minimum along w and 2.5 along b.
    """
    rng = np.random.default_rng(2024)
    x = rng.normal(size=100)
    x = (x - x.mean()) / x.std() * math.sqrt(8.0)
    y = 2.0 * x + 1.0 + 0.5 * rng.normal(size=100)
    s = DataSurface(
        x, y, loss="mse", name="lecture_lr", spec={"name": "lecture_lr"},
        description="The lecture's learning-rate figure: MSE of a line fit whose curvatures are "
        "16 (slope w) and 2 (intercept b). In 100 GD steps lr = 0.01 crawls along b (0.98 per "
        "step), lr = 0.03 converges, and lr = 0.13 > 2/16 overshoots along w by a factor -1.08 "
        "per step and diverges.",
    )
    w0, b0 = s.minima[0]
    s.start = np.array([w0 - 1.5, b0 - 2.5])
    s.start.setflags(write=False)
    return s
