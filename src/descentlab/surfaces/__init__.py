"""Loss surfaces over the plane for watching optimizers: a catalog, formulas, and data fits.

A surface has ``value(xy)`` and ``grad(xy)`` for points of shape (..., 2) (NumPy or torch),
``bounds`` ((xmin, xmax), (ymin, ymax)), known ``minima`` (shape (k, 2)), a suggested ``start``,
a ``description`` and a ``spec`` that rebuilds it (``from_spec``).

>>> from descentlab import surfaces
>>> surfaces.names()
['bowl', 'ravine', 'rosenbrock', 'beale', 'himmelblau', 'saddle', 'rastrigin', 'lecture_lr',
 'linear_fit']
>>> s = surfaces.get("himmelblau")
>>> s.minima.shape
(4, 2)
>>> float(s.value(s.minima).max()) < 1e-20
True
"""

from __future__ import annotations

from collections.abc import Callable

from descentlab.surfaces._base import Surface
from descentlab.surfaces._catalog import (
    beale,
    bowl,
    himmelblau,
    rastrigin,
    ravine,
    rosenbrock,
    saddle,
)
from descentlab.surfaces._data import REGRESSION_LOSSES, DataSurface, lecture_lr, linear_fit
from descentlab.surfaces._expression import from_expression

__all__ = ["Surface", "DataSurface", "get", "names", "from_expression", "linear_fit",
           "from_spec", "REGRESSION_LOSSES"]

_CATALOG: dict[str, Callable[..., Surface]] = {
    "bowl": bowl,
    "ravine": ravine,
    "rosenbrock": rosenbrock,
    "beale": beale,
    "himmelblau": himmelblau,
    "saddle": saddle,
    "rastrigin": rastrigin,
    "lecture_lr": lecture_lr,
    "linear_fit": linear_fit,
}
_DATA = ("linear_fit",)


def names() -> list[str]:
    """The catalog's surface names (lowercase)."""
    return list(_CATALOG)


def get(name: str, **options) -> Surface:
    """The catalog surface called ``name`` (case-insensitive), freshly built.

    ``options`` go to data surfaces only: ``get("linear_fit", loss="mae", outliers=5)`` is
    ``linear_fit(loss="mae", outliers=5)``.
    """
    key = str(name).lower()
    if key not in _CATALOG:
        raise ValueError(f"Unknown surface {name!r}. Valid choices: {', '.join(_CATALOG)}.")
    if options and key not in _DATA:
        raise ValueError(
            f"The surface {key!r} takes no options (got {sorted(options)}); only the data "
            f"surfaces {list(_DATA)} do."
        )
    return _CATALOG[key](**options)


def from_spec(spec: dict) -> Surface:
    """Rebuild a surface from its ``spec`` (a JSON-ready dict).

    Forms: ``{"name": "rosenbrock"}``, ``{"expression": "x**2 + y**2", "bounds": [[-3, 3],
    [-3, 3]], "minima": []}`` and ``{"linear_fit": {"loss": "mae", "n": 100, ...}}``.

    >>> s = get("linear_fit", loss="huber", delta=2.0, outliers=3)
    >>> t = from_spec(s.spec)
    >>> bool((t.x == s.x).all() and (t.minima == s.minima).all()), t.loss_options
    (True, {'delta': 2.0})
    """
    if not isinstance(spec, dict) or len(spec.keys() & {"name", "expression", "linear_fit"}) != 1:
        raise ValueError(
            "A surface spec must be a dict with exactly one of the keys 'name', 'expression' or "
            f"'linear_fit'. Got {spec!r}."
        )
    if "name" in spec:
        return get(spec["name"])
    if "expression" in spec:
        kw = {k: spec[k] for k in ("bounds", "minima") if k in spec}
        return from_expression(spec["expression"], **kw)
    return linear_fit(**spec["linear_fit"])
