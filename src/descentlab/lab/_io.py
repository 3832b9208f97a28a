"""Export of runs: CSV (one row per trajectory point) and JSON, written atomically.

This module is a leaf: it knows the file formats and reads a ``Runs`` only through its public
attributes; ``lab/_load.py`` reads the files back (it imports this module and ``lab/_runs.py``,
which imports this one, so there is no import circle).

Recorded optimizer states (``Runs.states``, from ``lab.run(..., record_state=True)``) travel too:
every entry of shape (steps+1, runs, 2) becomes two CSV columns ``<symbol>_x``, ``<symbol>_y``
after the fixed ones, and a per-run ``"states"`` mapping in JSON; entries of any other shape
are not exported. Without recorded states both formats are exactly as before.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np

from descentlab._files import atomic_write_text, check_replaceable, umask
from descentlab.lab._metrics import METRICS

__all__ = ["write_csv", "write_json", "atomic_write_text", "umask", "FORMAT", "CSV_COLUMNS",
           "METRICS_COLUMNS", "is_written_header"]

FORMAT = "descentlab.runs/1"
CSV_COLUMNS = ("run", "step", "x", "y", "loss", "optimizer", "hyperparameters", "start_x",
               "start_y", "seed", "batch_size", "diverged_at", "surface")


#: the columns of ``race --metrics`` (CSV header; JSON: every row's keys, in this order)
METRICS_COLUMNS = ("run", "label", "optimizer", "hyperparameters", "start_x", "start_y", "seed",
                   "tol", *METRICS)


def is_written_header(line: str) -> bool:
    """Whether ``line`` is exactly a header that descentlab writes: the trajectories'
    (:data:`CSV_COLUMNS`, then ``<symbol>_x,<symbol>_y`` per recorded state) or the metrics
    table's (:data:`METRICS_COLUMNS`). (This is how an existing CSV file is recognised as
    descentlab's, and so replaceable: :func:`descentlab._files.check_replaceable`.)

    >>> is_written_header(",".join(CSV_COLUMNS) + ",v_x,v_y")
    True
    >>> is_written_header("run,step,x,y")
    False
    """
    cols = line.split(",")
    if cols == list(METRICS_COLUMNS):
        return True
    n = len(CSV_COLUMNS)
    extra = cols[n:]
    return (cols[:n] == list(CSV_COLUMNS) and len(extra) % 2 == 0
            and all(a.endswith("_x") and b == a[:-2] + "_y" and len(a) > 2
                    for a, b in zip(extra[::2], extra[1::2], strict=True)))


def _exported_states(runs) -> dict:
    """The recorded states that the exports carry: ``symbol -> float64 array (steps+1, runs, 2)``
    in ``Runs.states``'s order; entries of another shape (none that ``lab.run`` records) are left
    out. Empty when no state was recorded."""
    if runs.states is None:
        return {}
    shape = runs.trajectories.shape
    return {k: np.asarray(v, dtype=np.float64) for k, v in runs.states.items()
            if np.shape(v) == shape}


def _state_columns(symbols) -> list[str]:
    """The CSV columns of the states: ``<symbol>_x, <symbol>_y`` per symbol, in order."""
    return [f"{k}_{axis}" for k in symbols for axis in ("x", "y")]


def write_csv(runs, path) -> None:
    check_replaceable(path)
    states = _exported_states(runs)
    extra = _state_columns(states)
    clash = sorted(set(extra) & set(CSV_COLUMNS))
    if clash:
        raise ValueError(f"Runs.to_csv: the state column {clash[0]!r} would repeat a fixed "
                         f"column; rename the state {clash[0][:-2]!r}.")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*CSV_COLUMNS, *extra])
    steps = runs.steps
    for r in range(len(runs)):
        m = runs.meta[r]
        fixed = [m["optimizer"], json.dumps(m["hyperparameters"]), repr(m["start"][0]),
                 repr(m["start"][1]), m["seed"], "" if m["batch_size"] is None else m["batch_size"],
                 int(runs.diverged_at[r]), runs.surface.name]
        xy, L = runs.trajectories[:, r], runs.losses[:, r]
        # per step: each state's x then y, as Python floats (repr: nan, inf, shortest round trip)
        st = (np.concatenate([a[:, r] for a in states.values()], axis=1).tolist() if states
              else [[]] * (steps + 1))
        for t in range(steps + 1):
            w.writerow([r, t, repr(float(xy[t, 0])), repr(float(xy[t, 1])), repr(float(L[t])),
                        *fixed, *map(repr, st[t])])
    atomic_write_text(path, buf.getvalue())


def _finite_or_none(a):
    a = np.asarray(a, dtype=np.float64)
    o = a.astype(object)
    o[~np.isfinite(a)] = None
    return o.tolist()


def write_json(runs, path) -> None:
    check_replaceable(path)
    states = _exported_states(runs)
    items = []
    for r in range(len(runs)):
        item = {**runs.meta[r], "start": list(runs.meta[r]["start"]),
                "diverged_at": int(runs.diverged_at[r]),
                "trajectory": _finite_or_none(runs.trajectories[:, r]),
                "losses": _finite_or_none(runs.losses[:, r])}
        if states:
            item["states"] = {k: _finite_or_none(a[:, r]) for k, a in states.items()}
        items.append(item)
    doc = {"format": FORMAT, "settings": runs.settings, "runs": items}
    atomic_write_text(path, json.dumps(doc, allow_nan=False))
