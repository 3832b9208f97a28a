"""Caps on the work one lab command may ask for, checked before anything is allocated.

Cheap to import (no NumPy): the command-line parser reads these numbers for its checks and help.

Decisions:

* ``MAX_FPS = 50`` and ``MAX_FRAMES = 120``: the playground's own caps (``web/_models.py``). A GIF
  stores each frame's delay in hundredths of a second and browsers slow delays under 20 ms down
  to 100 ms, so 50 fps is the fastest a GIF plays as asked; 120 distinct frames already show a
  path step by step at any readable speed. An animation never has more distinct frames than
  ``steps + 1`` (one per step): more are capped to that.
* ``DPI`` in [10, 600]: 600 is twice print quality; a 13-inch figure is then 7800 pixels wide,
  well under Agg's 2**16 limit, and its raster stays in the hundreds of MB.
* ``MAX_MEMORY_BYTES = 2 GiB``: the estimated memory of one command. A run stores x, y and J as
  float64 for every run and step (24 bytes a run-step); the metrics (step differences, norms)
  and the drawn lines make copies of about the same size, so a run-step is counted as
  ``BYTES_PER_RUN_STEP = 72`` bytes. A GIF keeps every distinct frame as RGBA (4 bytes a pixel)
  until it is encoded. ``--steps 200000000`` on three runs (about 40 GiB) or a 100000 x 100000
  sweep is refused with that estimate instead of ending in a MemoryError.
* ``basins`` runs its starts in batches of ``BASIN_BATCH_BYTES = 256 MiB`` of trajectories and
  keeps per start and optimizer setting only where the run ended and its pixel:
  ``BYTES_PER_BASIN_START = 64`` bytes (its class as each batch's part and in the whole map, the
  panel's image and matplotlib's copies of it), plus ``BYTES_PER_BASIN_POINT = 64`` bytes per
  start for the grid itself (its x and y meshes and the start points). Measured: one setting on
  a 5400 x 5400 grid used 2.28 GiB besides the interpreter, 84 bytes a start.
* ``MAX_GRID_VALUES = 1_000_000`` values on one ``--grid`` axis, so that parsing the axis itself
  stays small; the product of the axes is bounded by the memory estimate.
"""

from __future__ import annotations

__all__ = ["MIN_FPS", "MAX_FPS", "MAX_FRAMES", "MIN_FRAMES", "MIN_DPI", "MAX_DPI",
           "MAX_MEMORY_BYTES", "BYTES_PER_RUN_STEP", "BASIN_BATCH_BYTES", "BYTES_PER_BASIN_START",
           "BYTES_PER_BASIN_POINT", "MAX_GRID_VALUES", "gib", "check_memory",
           "check_basins_memory"]

MIN_FPS = 1
MAX_FPS = 50
MIN_FRAMES = 2
MAX_FRAMES = 120
MIN_DPI = 10
MAX_DPI = 600
MAX_MEMORY_BYTES = 2 * 1024**3
BYTES_PER_RUN_STEP = 72
BASIN_BATCH_BYTES = 256 * 1024**2
BYTES_PER_BASIN_START = 64
BYTES_PER_BASIN_POINT = 64
MAX_GRID_VALUES = 1_000_000


def gib(nbytes: float) -> str:
    """``nbytes`` in GiB for messages: ``"13.4 GiB"``."""
    return f"{nbytes / 1024**3:.3g} GiB"


def _usage(message: str):
    from descentlab.lab._specs import UsageError

    return UsageError(message)


def check_memory(settings: dict, *, runs: int, what: str, extra_bytes: int = 0,
                  extra_what: str = "") -> None:
    """Refuse a command whose estimated memory exceeds the lab's cap (see ``lab/_limits.py``)."""
    steps = settings["steps"]
    need = runs * (steps + 1) * BYTES_PER_RUN_STEP + extra_bytes
    if need > MAX_MEMORY_BYTES:
        detail = (f"{runs:,} runs ({what}) x {steps + 1:,} points (--steps {steps:,}) x "
                  f"{BYTES_PER_RUN_STEP} bytes")
        if extra_bytes:
            detail += f" + {gib(extra_bytes)} for {extra_what}"
        lower = "--steps or the number of runs" + (f" or {extra_what}" if extra_bytes else "")
        raise _usage(f"descentlab {settings['_command']} would need about {gib(need)} of "
                         f"memory ({detail}); the lab's cap is {gib(MAX_MEMORY_BYTES)}. "
                         f"Lower {lower}.")

def check_basins_memory(settings: dict, per_start: int) -> None:
    """basins runs its starts batch by batch (``plot_basins``): what it holds at once is one batch
    of runs (``BASIN_BATCH_BYTES``, or one start's runs if they need more), the grid itself
    (``BYTES_PER_BASIN_POINT`` a start) and, for every start and optimizer setting, where the run
    ended and its pixel (``BYTES_PER_BASIN_START``)."""
    grid, steps = settings["grid"], settings["steps"]
    points = f"{steps + 1:,} point{'s' if steps else ''} (--steps {steps:,})"
    one_start = per_start * (steps + 1) * BYTES_PER_RUN_STEP
    if one_start > MAX_MEMORY_BYTES:
        raise _usage(
            f"descentlab basins would need about {gib(one_start)} of memory for the runs of a "
            f"single start ({per_start} optimizer settings x {points} x {BYTES_PER_RUN_STEP} "
            f"bytes); the lab's cap is {gib(MAX_MEMORY_BYTES)}. Lower --steps or the number "
            "of optimizer settings.")
    batch = max(one_start, min(BASIN_BATCH_BYTES, one_start * grid**2))
    per_point = BYTES_PER_BASIN_POINT + per_start * BYTES_PER_BASIN_START
    need = batch + grid**2 * per_point
    if need > MAX_MEMORY_BYTES:
        raise _usage(
            f"descentlab basins would need about {gib(need)} of memory ({grid:,} x {grid:,} "
            f"starts (--grid {grid}) x ({BYTES_PER_BASIN_POINT} + {per_start} optimizer "
            f"settings x {BYTES_PER_BASIN_START}) bytes, plus a batch of runs of "
            f"{gib(batch)}); the lab's cap is {gib(MAX_MEMORY_BYTES)}. Lower --grid or "
            "the number of optimizer settings.")
