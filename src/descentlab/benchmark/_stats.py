"""Statistics: bootstrap intervals, ties, epochs to target, lr sensitivity, performance profiles.

All functions treat "lower is better" and take +inf as "failed" (a diverged run's loss, a target
never reached); none of them draws unseeded random numbers.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["bootstrap_ci", "overlapping", "epochs_to_target", "lr_sensitivity_width",
           "performance_profile"]


def bootstrap_ci(values, *, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0):
    """Mean of ``values`` with a percentile-bootstrap confidence interval: ``(mean, low, high)``.

    Math::

        mean*_b = mean of n values drawn with replacement from values,  b = 1..n_resamples
        low, high = the (1 - confidence)/2 and (1 + confidence)/2 order statistics of mean*_b

    Args:
      values: one number per seed (at least one). +inf is allowed (a failed run): every resample
        that contains it has mean +inf, so the mean and the upper end become +inf honestly.
      confidence: coverage, in (0, 1). Default 0.95.
      n_resamples: number of bootstrap resamples, in [1, inf). Default 2000.
      seed: seed of the resampling (fixed: the same values always give the same interval).

    Example:
      >>> bootstrap_ci([1.0, 1.0, 1.0])
      (1.0, 1.0, 1.0)
      >>> m, lo, hi = bootstrap_ci([0.0, 1.0, 2.0, 3.0, 4.0])
      >>> m, lo < m < hi
      (2.0, True)

    Reference: B. Efron, R. Tibshirani, "An Introduction to the Bootstrap" (1993), ch. 13.
    """
    from descentlab._validation import check_in_range

    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("bootstrap_ci needs at least one value. Got an empty sequence instead.")
    if np.isnan(x).any():
        raise ValueError(f"bootstrap_ci: values must not be NaN (use +inf for a failed run). "
                         f"Got {x.tolist()} instead.")
    check_in_range(confidence, name="confidence", owner="bootstrap_ci", low=0.0, high=1.0,
                   low_closed=False, high_closed=False)
    check_in_range(n_resamples, name="n_resamples", owner="bootstrap_ci", low=1.0)
    B = int(n_resamples)
    mean = float(np.mean(x)) if np.isfinite(x).all() else math.inf
    idx = np.random.default_rng(seed).integers(0, x.size, size=(B, x.size))
    with np.errstate(invalid="ignore", over="ignore"):
        means = np.sort(np.mean(x[idx], axis=1))
    alpha = (1.0 - float(confidence)) / 2.0
    lo = means[min(B - 1, max(0, int(math.floor(alpha * B))))]
    hi = means[min(B - 1, max(0, int(math.ceil((1.0 - alpha) * B)) - 1))]
    return mean, float(lo), float(hi)


def overlapping(intervals) -> list[bool]:
    """Which intervals ``(mean, low, high)`` overlap the interval of the smallest mean (ties).

    >>> overlapping([(1.0, 0.8, 1.2), (1.5, 1.1, 1.9), (3.0, 2.5, 3.5)])
    [True, True, False]
    """
    intervals = list(intervals)
    if not intervals:
        return []
    best = min(range(len(intervals)), key=lambda i: (intervals[i][0], i))
    _, blo, bhi = intervals[best]
    return [i == best or (lo <= bhi and blo <= hi) for i, (_, lo, hi) in enumerate(intervals)]


def epochs_to_target(x, curves, target: float):
    """First epoch at which the median over seeds of a lower-is-better curve is <= ``target``.

    Args:
      x: the evaluation epochs, increasing.
      curves: array (seeds, len(x)); NaN (a diverged run) counts as +inf.
      target: the value to reach.

    Returns the epoch (an int), or None when the median curve never reaches the target.

    >>> epochs_to_target([0, 1, 2, 3], [[5, 3, 1, 1], [5, 4, 2, 1], [5, 2, 2, 0]], 2.0)
    2
    """
    c = np.asarray(curves, dtype=np.float64)
    c = np.where(np.isnan(c), np.inf, c)
    med = np.median(c, axis=0)
    hit = np.nonzero(med <= target)[0]
    return int(x[hit[0]]) if hit.size else None


def lr_sensitivity_width(lrs, scores, *, within: float = 0.2) -> float:
    """Width, in decades, of the lr range whose score is within ``within`` of the best score.

    The range is the contiguous run of grid points around the best one whose (lower-is-better)
    score is <= best + within * |best|; its width is log10(largest lr / smallest lr), so 0 means
    that only the best grid point qualifies. Non-finite scores never qualify.

    >>> lr_sensitivity_width([0.01, 0.1, 1.0, 10.0], [0.5, 0.11, 0.1, 5.0])
    1.0
    """
    order = np.argsort(np.asarray(lrs, dtype=float), kind="stable")
    lr = np.asarray(lrs, dtype=float)[order]
    s = np.asarray(scores, dtype=float)[order]
    s = np.where(np.isfinite(s), s, np.inf)
    if not np.isfinite(s).any():
        return math.nan
    b = int(np.argmin(s))
    ok = s <= s[b] + within * abs(s[b])
    lo = hi = b
    while lo > 0 and ok[lo - 1]:
        lo -= 1
    while hi < len(s) - 1 and ok[hi + 1]:
        hi += 1
    return float(np.log10(lr[hi] / lr[lo]))


def performance_profile(costs: dict, *, taus=None):
    """Dolan-More performance profile: for each solver, the fraction of problems it solves within
    a factor tau of the best solver on that problem.

    Math::

        r_{p,s} = t_{p,s} / min_s' t_{p,s'}          (+inf when solver s failed on p)
        rho_s(tau) = |{p : r_{p,s} <= tau}| / |problems|

    Args:
      costs: ``{problem: {solver: cost}}`` with positive costs (lower is better) and +inf or None
        for a failure. A problem that no solver solved counts as failed for all.
      taus: where to evaluate rho; default: 1 and every finite ratio that occurs, sorted.

    Returns ``(taus, {solver: rho(taus)})`` as NumPy arrays.

    Example:
      >>> taus, rho = performance_profile({"p1": {"a": 1, "b": 2}, "p2": {"a": 4, "b": 2}})
      >>> taus.tolist(), rho["a"].tolist(), rho["b"].tolist()
      ([1.0, 2.0], [0.5, 1.0], [0.5, 1.0])

    Paper: E. D. Dolan, J. J. More, "Benchmarking optimization software with performance
    profiles", Mathematical Programming 91 (2002).
    """
    problems = list(costs)
    solvers = sorted({s for p in problems for s in costs[p]})
    if not problems or not solvers:
        raise ValueError("performance_profile needs at least one problem and one solver.")
    ratios = np.full((len(problems), len(solvers)), np.inf)
    for i, p in enumerate(problems):
        t = np.array([np.inf if costs[p].get(s) is None else float(costs[p][s])
                      for s in solvers])
        if (t <= 0).any() or np.isnan(t).any():
            raise ValueError(f"performance_profile: costs must be positive; problem {p!r} has "
                             f"{dict(zip(solvers, t.tolist(), strict=True))}.")
        best = np.min(t)
        if np.isfinite(best):
            ratios[i] = t / best
    if taus is None:
        finite = ratios[np.isfinite(ratios)]
        taus = np.unique(np.concatenate([[1.0], finite]))
    taus = np.asarray(taus, dtype=float)
    rho = {s: np.mean(ratios[:, j][:, None] <= taus[None, :], axis=0)
           for j, s in enumerate(solvers)}
    return taus, rho
