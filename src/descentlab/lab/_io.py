"""Export and import of runs: CSV (one row per trajectory point) and JSON, written atomically.

Recorded optimizer states (``Runs.states``, from ``lab.run(..., record_state=True)``) travel too:
every entry of shape (steps+1, runs, 2) becomes two CSV columns ``<symbol>_x``, ``<symbol>_y``
after the fixed ones, and a per-run ``"states"`` mapping in JSON; entries of any other shape
are not exported. Without recorded states both formats are exactly as before.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np

from descentlab._files import atomic_write_text, umask

__all__ = ["write_csv", "write_json", "load", "atomic_write_text", "umask"]

FORMAT = "descentlab.runs/1"
CSV_COLUMNS = ("run", "step", "x", "y", "loss", "optimizer", "hyperparameters", "start_x",
               "start_y", "seed", "batch_size", "diverged_at", "surface")


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


def _nan(v):
    return math.nan if v is None else v


def load(path):
    """Read runs written by ``Runs.to_json`` or ``Runs.to_csv`` (chosen by the file's suffix).

    Returns a ``Runs`` whose trajectories, losses, metadata, ``diverged_at`` and ``states`` (the
    exported ones; ``None`` when the file has none) equal the written ones. The surface is
    rebuilt from its spec (JSON) or, for CSV, from its catalog name; a CSV of a formula or a
    custom data surface cannot rebuild its surface and raises ValueError.
    """
    from descentlab import surfaces
    from descentlab.lab._runs import RunMeta, Runs, _blocks

    path = Path(path)
    if path.suffix.lower() == ".json":
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("format") != FORMAT:
            raise ValueError(f"{path}: not a descentlab runs file (format {doc.get('format')!r}).")
        surface = surfaces.from_spec(doc["settings"]["surface"])
        items = doc["runs"]
        traj = np.array([[[_nan(c) for c in p] for p in it["trajectory"]] for it in items],
                        dtype=np.float64).transpose(1, 0, 2)
        losses = np.array([[_nan(v) for v in it["losses"]] for it in items],
                          dtype=np.float64).T
        states = None
        if items and "states" in items[0]:
            states = {k: np.array([[[_nan(c) for c in p] for p in it["states"][k]]
                                   for it in items], dtype=np.float64).transpose(1, 0, 2)
                      for k in items[0]["states"]}
        settings = doc["settings"]
    elif path.suffix.lower() == ".csv":
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            extra = list(reader.fieldnames or ())[len(CSV_COLUMNS):]
        if not rows:
            raise ValueError(f"{path}: no rows.")
        symbols = [c[:-2] for c in extra[::2]]
        if _state_columns(symbols) != extra:
            raise ValueError(f"{path}: the columns after {CSV_COLUMNS[-1]!r} must be state "
                             f"pairs <symbol>_x, <symbol>_y; got {extra}.")
        surface = surfaces.get(rows[0]["surface"])
        n_runs = int(rows[-1]["run"]) + 1
        steps = len(rows) // n_runs - 1
        traj = np.empty((steps + 1, n_runs, 2))
        losses = np.empty((steps + 1, n_runs))
        states = {k: np.empty((steps + 1, n_runs, 2)) for k in symbols} or None
        items = []
        for row in rows:
            r, t = int(row["run"]), int(row["step"])
            traj[t, r] = float(row["x"]), float(row["y"])
            losses[t, r] = float(row["loss"])
            for k in symbols:
                states[k][t, r] = float(row[f"{k}_x"]), float(row[f"{k}_y"])
            if t == 0:
                items.append({"optimizer": row["optimizer"],
                              "hyperparameters": json.loads(row["hyperparameters"]),
                              "start": [float(row["start_x"]), float(row["start_y"])],
                              "seed": int(row["seed"]),
                              "batch_size": int(row["batch_size"]) if row["batch_size"] else None,
                              "diverged_at": int(row["diverged_at"])})
        settings = {"surface": surface.spec, "steps": steps,
                    "seeds": sorted({it["seed"] for it in items}),
                    "batch_size": items[0]["batch_size"], "divergence_bound": None,
                    "record_state": states is not None}
    else:
        raise ValueError(f"{path}: unknown suffix {path.suffix!r}; expected .json or .csv.")
    blocks, block_of, grid_of, starts, start_of, seeds, seed_of = [], [], [], [], [], [], []
    for it in items:
        blocks += _blocks((it["optimizer"], dict(it["hyperparameters"])))
        block_of.append(len(blocks) - 1)
        grid_of.append(0)
        starts.append(it["start"])
        start_of.append(len(starts) - 1)
        seeds.append(it["seed"])
        seed_of.append(len(seeds) - 1)
    meta = RunMeta(blocks, np.array(block_of, dtype=np.intp), np.array(grid_of, dtype=np.intp),
                   np.array(starts, dtype=np.float64).reshape(-1, 2),
                   np.array(start_of, dtype=np.intp), seeds, np.array(seed_of, dtype=np.intp),
                   items[0]["batch_size"] if items else None)
    diverged_at = np.array([it["diverged_at"] for it in items], dtype=np.int64)
    return Runs(surface, traj, losses, meta, diverged_at, states, settings)
