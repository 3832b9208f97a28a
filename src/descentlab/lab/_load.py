"""Read runs back from the files ``Runs.to_json`` and ``Runs.to_csv`` write (``lab.load``)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from descentlab.lab._io import CSV_COLUMNS, FORMAT, _state_columns
from descentlab.lab._runs import RunMeta, Runs, _blocks

__all__ = ["load"]


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
