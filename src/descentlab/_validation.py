"""One place that writes every validation message.

Messages follow one format (after scikit-learn's): what was wrong, the allowed range, what was
given.

>>> check_in_range(-1.0, name="lr", owner="Adam", low=0.0)
Traceback (most recent call last):
...
ValueError: The 'lr' parameter of Adam must be a float in the range [0.0, inf). Got -1.0 instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Interval", "check_in_range", "check_int", "check_same_shape", "interval_text"]


@dataclass(frozen=True)
class Interval:
    """A closed or half-open real interval; ``None`` bounds mean infinite."""

    low: float | None = None
    high: float | None = None
    low_closed: bool = True
    high_closed: bool = True

    def __str__(self) -> str:
        left = "[" if self.low_closed and self.low is not None else "("
        right = "]" if self.high_closed and self.high is not None else ")"
        lo = "-inf" if self.low is None else repr(float(self.low))
        hi = "inf" if self.high is None else repr(float(self.high))
        return f"{left}{lo}, {hi}{right}"

    def contains(self, x: np.ndarray) -> np.ndarray:
        """Element-wise membership; NaN is never inside."""
        ok = ~np.isnan(x)
        if self.low is None:
            ok &= x > -np.inf  # an open infinite end excludes the infinity itself
        if self.high is None:
            ok &= x < np.inf
        if self.low is not None:
            ok &= (x >= self.low) if self.low_closed else (x > self.low)
        if self.high is not None:
            ok &= (x <= self.high) if self.high_closed else (x < self.high)
        return ok


def interval_text(low=None, high=None, *, low_closed=True, high_closed=True) -> str:
    return str(Interval(low, high, low_closed, high_closed))


def check_in_range(
    value,
    *,
    name: str,
    owner: str,
    low: float | None = None,
    high: float | None = None,
    low_closed: bool = True,
    high_closed: bool = True,
):
    """Return ``value`` as a Python float, or as a float64 array when it is array-like.

    Arrays are checked element by element and the first offending element is named with its index.
    """
    interval = Interval(low, high, low_closed, high_closed)
    where = f"The {name!r} parameter of {owner}"
    if isinstance(value, bool):
        raise ValueError(f"{where} must be a float in the range {interval}. Got {value!r} instead.")
    if isinstance(value, (int, float, np.integer, np.floating)):
        try:
            x = float(value)
        except OverflowError:  # a Python int past the float range, e.g. 10**400
            digits = str(abs(value))
            raise ValueError(f"{where} must be a float in the range {interval}. Got an integer "
                             f"of {len(digits)} digits, beyond any float, instead.") from None
        if not bool(interval.contains(np.asarray(x))):
            raise ValueError(
                f"{where} must be a float in the range {interval}. Got {value!r} instead."
            )
        return x
    try:
        raw = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value)
    except (TypeError, ValueError):
        raw = np.asarray(None)
    if raw.dtype.kind not in "fiu":  # strings ("0.1"), booleans, objects, complex numbers
        raise ValueError(
            f"{where} must be a float or an array of floats in the range {interval}. "
            f"Got {value!r} instead."
        )
    arr = raw.astype(np.float64)
    if arr.ndim == 0:
        return check_in_range(float(arr), name=name, owner=owner, low=low, high=high,
                              low_closed=low_closed, high_closed=high_closed)
    bad = ~interval.contains(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{where} must be a float in the range {interval} element-wise. "
            f"Got {arr[idx].item()!r} at index {idx} "
            f"({int(bad.sum())} of {arr.size} elements invalid)."
        )
    arr.setflags(write=False)
    return arr


def check_int(value, *, name: str, owner: str, low: int | None = None,
              high: int | None = None) -> int:
    """Return ``value`` as a Python int if it is an integer (not a bool, not a float such as 2.0)
    in ``[low, high]`` (``None``: unbounded); else raise ValueError in this module's format.

    The lab's settings and ``lab.run`` both check their integers here.

    >>> check_int(3, name="--fps", owner="descentlab race", low=1, high=50)
    3
    >>> check_int(0, name="n", owner="f", low=1)
    Traceback (most recent call last):
    ...
    ValueError: The 'n' parameter of f must be an integer in the range [1, inf). Got 0 instead.
    """
    ok = (isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
          and (low is None or value >= low) and (high is None or value <= high))
    if not ok:
        lo = "(-inf" if low is None else f"[{low}"
        hi = "inf)" if high is None else f"{high}]"
        raise ValueError(f"The {name!r} parameter of {owner} must be an integer in the range "
                         f"{lo}, {hi}. Got {value!r} instead.")
    return int(value)


def check_same_shape(a, b, *, name_a: str, name_b: str, owner: str) -> None:
    """Refuse to let broadcasting hide a shape bug."""
    sa, sb = tuple(a.shape), tuple(b.shape)
    if sa != sb:
        raise ValueError(
            f"{owner}: {name_a} has shape {sa} but {name_b} has shape {sb}; they must match "
            "exactly (no broadcasting)."
        )


