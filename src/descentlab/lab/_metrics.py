"""Measured metrics of runs, computed from trajectories and losses alone (vectorized over runs).

Definitions (each run; ``f*`` = the surface's lowest known minimum value):

* ``final_loss``: J at the last step (NaN if the run diverged).
* ``loss_gap``: ``final_loss - f*`` (NaN when no minimum is known).
* ``distance``: Euclidean distance from the last point to the nearest known minimum (NaN when none
  is known or the run diverged); ``nearest_minimum``: that minimum's index in ``surface.minima``
  (-1 then).
* ``first_within_tol``: the first step t at which ``J_t - f* <= tol`` ("first reached"); -1 if
  it never gets there or no minimum is known.
* ``steps_to_tol``: the first step t from which the run stays within ``tol`` of the minimum value,
  ``J_s - f* <= tol`` for every s >= t ("stays below from": a run that touches the tolerance and
  bounces out again has not arrived); -1 if it never settles, diverged, or no minimum is known.
  Every place that shows one of the two shows both: Nadam on Rosenbrock first gets within 1e-3
  at one step, spikes out, and stays within only hundreds of steps later.
* ``path_length``: the sum of the lengths of all finite steps, sum_t |theta_{t+1} - theta_t|.
* ``oscillation`` (zig-zag index): among consecutive pairs of steps that both move (length above
  1e-10 times the diagonal of the surface's bounds), the fraction whose direction turns by MORE
  than 90 degrees (negative dot product). 0 for a straight or gently curving path, 1 for a path
  that reverses direction at every step; NaN when fewer than two steps move.
* ``diverged_at``: the step at which the run was found non-finite or outside the divergence box
  (-1: never).
"""

from __future__ import annotations

import numpy as np

__all__ = ["compute", "path_length", "oscillation_index", "steps_to_tolerance",
           "first_within_tolerance", "nearest_minimum", "METRICS"]

METRICS = ("final_loss", "loss_gap", "distance", "nearest_minimum", "first_within_tol",
           "steps_to_tol", "path_length", "oscillation", "diverged_at")


def path_length(traj: np.ndarray) -> np.ndarray:
    """Sum of the finite step lengths; ``traj`` (steps+1, runs, 2) -> (runs,)."""
    with np.errstate(invalid="ignore", over="ignore"):
        lengths = np.linalg.norm(np.diff(traj, axis=0), axis=-1)
    return np.where(np.isfinite(lengths), lengths, 0.0).sum(axis=0)


def oscillation_index(traj: np.ndarray, *, min_step: float = 0.0) -> np.ndarray:
    """Fraction of consecutive moving steps that turn by more than 90 degrees: (runs,)."""
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.diff(traj, axis=0)  # (steps, runs, 2)
        moving = np.linalg.norm(d, axis=-1) > min_step  # NaN -> False
        dots = np.sum(d[1:] * d[:-1], axis=-1)
    pairs = moving[1:] & moving[:-1] & np.isfinite(dots)
    turns = pairs & (dots < 0)
    n = pairs.sum(axis=0)
    out = np.full(traj.shape[1], np.nan)
    ok = n > 0
    out[ok] = turns.sum(axis=0)[ok] / n[ok]
    return out


def steps_to_tolerance(losses: np.ndarray, minimum_value: float, tol: float) -> np.ndarray:
    """First step from which ``loss - minimum_value <= tol`` holds to the end (-1: never)."""
    steps_plus_1, runs = losses.shape
    if not np.isfinite(minimum_value):
        return np.full(runs, -1, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        ok = (losses - minimum_value) <= tol  # NaN -> False
    bad = ~ok
    # index of the last bad step (or -1 if none): the run has settled from the step after it
    last_bad = steps_plus_1 - 1 - np.argmax(bad[::-1], axis=0)
    last_bad = np.where(bad.any(axis=0), last_bad, -1)
    return np.where(ok[-1], last_bad + 1, -1).astype(np.int64)


def first_within_tolerance(losses: np.ndarray, minimum_value: float, tol: float) -> np.ndarray:
    """First step at which ``loss - minimum_value <= tol`` (-1: never): (runs,)."""
    runs = losses.shape[1]
    if not np.isfinite(minimum_value):
        return np.full(runs, -1, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        ok = (losses - minimum_value) <= tol  # NaN -> False
    return np.where(ok.any(axis=0), np.argmax(ok, axis=0), -1).astype(np.int64)


def nearest_minimum(points: np.ndarray, minima: np.ndarray):
    """``(index, distance)`` of the nearest minimum for each point (runs, 2); -1 / NaN if none."""
    runs = points.shape[0]
    if len(minima) == 0:
        return np.full(runs, -1, dtype=np.int64), np.full(runs, np.nan)
    with np.errstate(invalid="ignore", over="ignore"):
        dist = np.linalg.norm(points[:, None, :] - minima[None, :, :], axis=-1)  # (runs, k)
    finite = np.isfinite(dist).all(axis=1)
    idx = np.where(finite, np.argmin(np.where(np.isfinite(dist), dist, np.inf), axis=1), -1)
    d = np.where(finite, dist[np.arange(runs), np.maximum(idx, 0)], np.nan)
    return idx.astype(np.int64), d


def compute(traj, losses, diverged_at, *, minima, minimum_value, bounds, tol) -> dict:
    """Every metric of ``METRICS`` as an array over runs."""
    (x0, x1), (y0, y1) = bounds
    diagonal = float(np.hypot(x1 - x0, y1 - y0))
    final = traj[-1]
    idx, dist = nearest_minimum(final, np.asarray(minima, dtype=np.float64).reshape(-1, 2))
    final_loss = losses[-1].astype(np.float64)
    return {
        "final_loss": final_loss,
        "loss_gap": final_loss - minimum_value,
        "distance": dist,
        "nearest_minimum": idx,
        "first_within_tol": first_within_tolerance(losses, minimum_value, tol),
        "steps_to_tol": steps_to_tolerance(losses, minimum_value, tol),
        "path_length": path_length(traj),
        "oscillation": oscillation_index(traj, min_step=1e-10 * diagonal),
        "diverged_at": np.asarray(diverged_at, dtype=np.int64),
    }
