"""``run``: optimizers x hyperparameter grid x seeds x start points as one vectorized computation.

Every run is a 2-D parameter vector; all runs of one optimizer class (and one choice of its keyword
options, e.g. Nadam's ``variant``) advance together as params of shape (runs, 2), with each
hyperparameter either a float (when all runs share it) or an array of shape (runs, 1): the core's
batched hyperparameters. One step of all those runs is one call of ``opt.apply`` (``opt.step``
without its checks, which run once per chunk); NAG's gradient is
taken at ``opt.lookahead``. Nothing is clipped or tuned: the trajectories are exactly what
``descentlab.optim`` computes, run by run (the tests compare with a plain loop: bit for bit, but
where a beta is batched, whose ``beta ** t`` NumPy's vectorized pow may round differently).
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from descentlab import optim
from descentlab._validation import check_in_range, check_int
from descentlab.lab import _io, _metrics

__all__ = ["run", "Runs", "RunMeta"]


# ----------------------------------------------------------------------------- optimizer specs
@dataclass
class _Block:
    """One optimizer spec's grid: fixed keyword options and numeric hyperparameter columns."""

    cls: type
    choices: dict  # keyword (string) hyperparameters, fixed in the block
    numeric: dict  # name -> float64 array (G,), every numeric hyperparameter incl. defaults
    order: tuple  # hyperparameter names in the constructor's order

    @property
    def size(self) -> int:
        return len(next(iter(self.numeric.values()))) if self.numeric else 1

    @property
    def key(self):
        return (self.cls, tuple(sorted(self.choices.items())))


def _as_list(value):
    """A hyperparameter's values: a list, or a float64 array for a numeric array given."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiu":
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
    elif isinstance(value, (list, tuple, np.ndarray)):
        arr = list(np.reshape(value, -1)) if isinstance(value, np.ndarray) else list(value)
    else:
        return [value]
    if len(arr) == 0:
        raise ValueError("lab.run: a hyperparameter's list of values is empty.")
    return arr


def _check_grid_values(owner: str, h, col: np.ndarray, given) -> None:
    """Refuse a list of values for one hyperparameter that has values outside its interval,
    naming those values as given (and the grid text they came from, when the list is a lab
    ``GridValues``: ``lr=-1:1:5 gives -1.0 and -0.5, outside [0.0, inf)``), not an index into
    the runs' internal array. A single value is left to the optimizer's own check."""
    if not isinstance(given, (list, tuple, np.ndarray)) or len(col) < 2:
        return
    bad = col[~h.interval.contains(col)]
    if not len(bad):
        return
    shown = [r if len(r := repr(float(v))) <= 10 else f"{v:.6g}" for v in bad[:4]]
    if len(bad) > 4:
        shown[-1] = f"{len(bad) - 3} more"
    listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
    source = getattr(given, "source", None)
    if source:
        raise ValueError(f"{source} gives {listed}, outside {h.interval}: the range of the "
                         f"{h.name!r} parameter of {owner}.")
    raise ValueError(f"The {h.name!r} parameter of {owner} must be a float in the range "
                     f"{h.interval}. Got {listed} in the {len(col)} values given.")


def _blocks(spec) -> list[_Block]:
    """Expand one optimizer spec into blocks (one per combination of keyword options)."""
    if isinstance(spec, optim.Optimizer):
        cls, given = type(spec), dict(spec.hyperparameters)
        for name, value in given.items():
            if isinstance(value, np.ndarray):
                raise ValueError(
                    f"lab.run: the {cls.__name__} instance has an array hyperparameter {name!r}; "
                    f"give a grid as ({cls.__name__!r}, {{{name!r}: [values ...]}}) instead."
                )
    elif isinstance(spec, str):
        cls, given = optim.lookup(spec), {}
    elif isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[0], str):
        cls = optim.lookup(spec[0])
        if not isinstance(spec[1], dict):
            raise ValueError(
                f"lab.run: the second item of an optimizer spec must be a dict of "
                f"hyperparameters; got {spec[1]!r} in {spec!r}."
            )
        given = dict(spec[1])
    else:
        raise ValueError(
            "lab.run: an optimizer spec is a name ('adam'), a (name, {hyperparameter: value or "
            f"list of values}}) pair, or a descentlab.optim optimizer. Got {spec!r}."
        )
    hspecs = cls.hyperparameter_specs()
    known = [h.name for h in hspecs]
    unknown = [k for k in given if k not in known]
    if unknown:
        raise ValueError(
            f"{cls.__name__} has no hyperparameter {unknown[0]!r}. Valid names: "
            f"{', '.join(known)}."
        )
    choice_names = [h.name for h in hspecs if h.interval is None]
    numeric_names = [h.name for h in hspecs if h.interval is not None]
    defaults = {h.name: h.default for h in hspecs}
    hspec = {h.name: h for h in hspecs}
    values = {name: _as_list(given.get(name, defaults[name])) for name in known}
    blocks = []
    for combo in itertools.product(*(values[n] for n in choice_names)):
        choices = dict(zip(choice_names, combo, strict=True))
        cols = []
        for name in numeric_names:
            try:
                col = np.asarray(values[name], dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    f"The {name!r} parameter of {cls.__name__} must be a float or a list of "
                    f"floats. Got {values[name]!r} instead."
                ) from None
            _check_grid_values(cls.__name__, hspec[name], col, given.get(name))
            cols.append(col)
        numeric = {}
        if cols:
            mesh = np.meshgrid(*[np.arange(len(c)) for c in cols], indexing="ij")
            for name, col, ix in zip(numeric_names, cols, mesh, strict=True):
                numeric[name] = col[ix.reshape(-1)]
        blocks.append(_Block(cls, choices, numeric, tuple(known)))
    return blocks


# ----------------------------------------------------------------------------- metadata
class RunMeta(Sequence):
    """Per-run metadata, a sequence of dicts built on access (cheap for 100,000 runs).

    Each item: ``{"optimizer": "Adam", "hyperparameters": {every hyperparameter, defaults
    included}, "start": (x, y), "seed": int, "batch_size": int or None}``.
    """

    def __init__(self, blocks, block_of, grid_of, starts, start_of, seeds, seed_of, batch_size):
        self._blocks, self._block_of, self._grid_of = blocks, block_of, grid_of
        self._starts, self._start_of = starts, start_of
        self._seeds, self._seed_of = seeds, seed_of
        self._batch_size = batch_size

    def __len__(self) -> int:
        return len(self._block_of)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = range(len(self))[i]
        blk = self._blocks[self._block_of[i]]
        g = self._grid_of[i]
        hp = {}
        for name in blk.order:
            hp[name] = blk.choices[name] if name in blk.choices else float(blk.numeric[name][g])
        x, y = self._starts[self._start_of[i]]
        return {"optimizer": blk.cls.__name__, "hyperparameters": hp,
                "start": (float(x), float(y)), "seed": int(self._seeds[self._seed_of[i]]),
                "batch_size": self._batch_size}

    def optimizer_names(self) -> np.ndarray:
        names = np.array([b.cls.__name__ for b in self._blocks], dtype=object)
        return names[self._block_of]

    def column(self, name: str) -> np.ndarray:
        """One hyperparameter for every run: float64 (NaN where the optimizer lacks it), or an
        object array for keyword options."""
        numeric = any(name in b.numeric for b in self._blocks)
        out = np.full(len(self), np.nan) if numeric else np.full(len(self), None, dtype=object)
        for k, b in enumerate(self._blocks):
            sel = self._block_of == k
            if name in b.numeric:
                out[sel] = b.numeric[name][self._grid_of[sel]]
            elif name in b.choices:
                out[sel] = b.choices[name]
        return out


# ----------------------------------------------------------------------------- results
class Runs:
    """The result of :func:`run`: trajectories, losses, metadata, divergence, optional state.

    Attributes:
      surface: the surface the runs ran on.
      trajectories: positions, shape (steps+1, runs, 2); row 0 is the start. After a run diverges
        (``diverged_at[r] = k >= 0``), row k holds the offending point as computed (possibly
        inf/NaN) and rows k+1 ... are NaN.
      losses: J at each position, shape (steps+1, runs) (full-batch J on data surfaces, also when
        the steps used minibatch gradients); NaN after divergence.
      meta: per-run metadata (see :class:`RunMeta`), ``meta[r]`` is a dict.
      diverged_at: shape (runs,), int: the step at which each run diverged, -1 for never.
      states: with ``record_state=True`` a dict symbol -> array (steps+1, runs, 2): the optimizer's
        buffers after each step (``v``, ``m``, ``G``, ``s``; NaN for runs whose optimizer has no
        such buffer), ``grad`` (the gradient used for the step from row t to t+1),
        ``lookahead`` (where that gradient was taken: NAG's theta - gamma v, else the position)
        and ``step_size``, the per-axis effective step size -(theta_{t+1} - theta_t) / g_t: the
        learning rate a plain GD step would need to make the same move (lr for GD,
        lr / sqrt(G_t + eps) for Adagrad ...; NaN where g_t = 0). The last row of ``grad``,
        ``lookahead`` and ``step_size`` is NaN (no step follows). ``None`` otherwise.
      settings: everything the call was given (surface spec, steps, seeds, batch_size,
        divergence_bound), so the runs can be reproduced.
    """

    def __init__(self, surface, trajectories, losses, meta, diverged_at, states, settings):
        self.surface = surface
        self.trajectories = trajectories
        self.losses = losses
        self.meta = meta
        self.diverged_at = diverged_at
        self.states = states
        self.settings = settings

    def __len__(self) -> int:
        return self.trajectories.shape[1]

    @property
    def steps(self) -> int:
        return self.trajectories.shape[0] - 1

    def __repr__(self) -> str:
        names = sorted(set(self.meta.optimizer_names())) if len(self) else []
        return (f"Runs(surface={self.surface.name!r}, runs={len(self)}, steps={self.steps}, "
                f"optimizers={names}, diverged={int((self.diverged_at >= 0).sum())})")

    def _repr_html_(self) -> str:
        """In a notebook: a table of every run's metrics (see ``descentlab.lab._display``)."""
        from descentlab.lab._display import runs_html

        return runs_html(self)

    # ------------------------------------------------------------------ read-outs
    def label(self, i: int) -> str:
        """A legend label: the optimizer, its learning rate and momentum factor (always, when it
        has them: a default run reads ``NAG(lr=0.01, gamma=0.9)``, not ``NAG()``) and every other
        hyperparameter that differs from its default."""
        m = self.meta[i]
        defaults = {h.name: h.default for h in optim.lookup(m["optimizer"]).hyperparameter_specs()}
        shown = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                 for k, v in m["hyperparameters"].items()
                 if k in ("lr", "gamma") or v != defaults[k]]
        return f"{m['optimizer']}({', '.join(shown)})"

    def hyperparameter(self, name: str) -> np.ndarray:
        """The hyperparameter ``name`` of every run, shape (runs,) (NaN where not applicable)."""
        return self.meta.column(name)

    def metrics(self, tol: float = 1e-3, *, columns: bool = False):
        """Measured metrics of every run (see ``descentlab.lab._metrics`` for the definitions).

        Args:
          tol: tolerance on J - f* for ``steps_to_tol``, in (0, inf). Default 1e-3.
          columns: ``False`` (default): a list of dicts, one per run, with the run's index,
            optimizer, hyperparameters (by name), start, seed, batch_size and the metrics
            ``final_loss, loss_gap, distance, nearest_minimum, first_within_tol (first step
            within tol), steps_to_tol (the step from which it stays within), path_length,
            oscillation, diverged_at``. ``True``: a dict metric -> array over runs.
        """
        tol = check_in_range(tol, name="tol", owner="Runs.metrics", low=0.0, low_closed=False)
        cols = _metrics.compute(
            self.trajectories, self.losses, self.diverged_at, minima=self.surface.minima,
            minimum_value=self.surface.minimum_value, bounds=self.surface.bounds, tol=tol,
        )
        if columns:
            return cols
        rows = []
        for i in range(len(self)):
            m = self.meta[i]
            row = {"run": i, "optimizer": m["optimizer"], **m["hyperparameters"],
                   "start_x": m["start"][0], "start_y": m["start"][1], "seed": m["seed"],
                   "batch_size": m["batch_size"]}
            for k, v in cols.items():
                row[k] = int(v[i]) if v.dtype.kind == "i" else float(v[i])
            rows.append(row)
        return rows

    def subset(self, indices) -> Runs:
        """The runs at ``indices`` (an index array, a boolean mask or a slice), as a new Runs."""
        idx = np.arange(len(self))[indices]
        idx = np.atleast_1d(idx)
        meta = RunMeta(self.meta._blocks, self.meta._block_of[idx], self.meta._grid_of[idx],
                       self.meta._starts, self.meta._start_of[idx], self.meta._seeds,
                       self.meta._seed_of[idx], self.meta._batch_size)
        states = None if self.states is None else {k: v[:, idx] for k, v in self.states.items()}
        return Runs(self.surface, self.trajectories[:, idx], self.losses[:, idx], meta,
                    self.diverged_at[idx], states, dict(self.settings))

    # ------------------------------------------------------------------ export
    def to_csv(self, path) -> None:
        """Write every trajectory point as a CSV row (written atomically: temp file, then rename).

        Columns: run, step, x, y, loss, optimizer, hyperparameters (JSON), start_x, start_y, seed,
        batch_size, diverged_at, surface (the surface's name). With recorded ``states``
        (``record_state=True``) two columns follow per state symbol, in ``states``' order:
        ``<symbol>_x`` and ``<symbol>_y``, the state's two axes at that row's step (``grad_x,
        grad_y, lookahead_x, lookahead_y, step_size_x, step_size_y, v_x, v_y, ...``; NaN where a
        run's optimizer has no such buffer, or no step follows). State entries whose shape is
        not (steps+1, runs, 2) are not written; without states the columns are exactly the
        thirteen above. Non-finite values are written as ``nan`` / ``inf`` (Python's float
        spelling). :func:`descentlab.lab.load` reads the file back, states included.
        """
        _io.write_csv(self, path)

    def to_json(self, path) -> None:
        """Write the settings, the surface's spec and every run (metadata, trajectory, losses,
        diverged_at) as JSON, atomically; non-finite numbers become ``null``.

        With recorded ``states`` each run also has ``"states": {symbol: [[x, y] per step]}``
        (the run's slice of ``Runs.states[symbol]``, shape (steps+1, 2) like its
        ``"trajectory"``); state entries whose shape is not (steps+1, runs, 2) are left out.
        Without states the file has no ``"states"`` key. :func:`descentlab.lab.load` reads it
        back, states included.
        """
        _io.write_json(self, path)


# ----------------------------------------------------------------------------- the runner
def _minibatch_table(seeds, n, batch_size, steps):
    """Indices of the minibatch of every step, per seed: (len(seeds), steps, batch_size).

    Sampling is epoch by epoch: each epoch is a fresh permutation of the n points from
    ``numpy.random.default_rng(seed)``, cut into floor(n / batch_size) minibatches of distinct
    points (the leftover n mod batch_size points of that epoch are skipped, like PyTorch's
    ``DataLoader(shuffle=True, drop_last=True)``).
    """
    per_epoch = n // batch_size
    epochs = math.ceil(steps / per_epoch) if steps else 0
    table = np.empty((len(seeds), steps, batch_size), dtype=np.intp)
    for k, seed in enumerate(seeds):
        rng = np.random.default_rng(seed)
        batches = [rng.permutation(n)[: per_epoch * batch_size].reshape(per_epoch, batch_size)
                   for _ in range(epochs)]
        if steps:
            table[k] = np.concatenate(batches)[:steps]
    return table


#: a run diverges when it leaves the surface's bounds enlarged this many times about their centre
DIVERGENCE_BOUND = 10.0


def divergence_window(bounds, divergence_bound: float = DIVERGENCE_BOUND) -> tuple:
    """``(centre, half_widths)``, each ``(x, y)``: a run at ``p`` has diverged where
    ``|p - centre| > half_widths`` on either axis (the bounds enlarged ``divergence_bound``
    times about their centre)."""
    (bx0, bx1), (by0, by1) = bounds
    return (((bx0 + bx1) / 2, (by0 + by1) / 2),
            (divergence_bound * ((bx1 - bx0) / 2), divergence_bound * ((by1 - by0) / 2)))


def spec_list(optimizers) -> list:
    """``run``'s ``optimizers`` as a list of specs: one spec (a name, a ``(name, dict)`` pair or
    an optimizer instance) becomes a list of one."""
    single_pair = (isinstance(optimizers, tuple) and len(optimizers) == 2
                   and isinstance(optimizers[0], str) and isinstance(optimizers[1], dict))
    if single_pair or not isinstance(optimizers, (list, tuple)):
        return [optimizers]
    return list(optimizers)


def run(surface, optimizers, starts=None, *, steps: int = 100, seed=0, batch_size=None,
        record_state: bool = False, divergence_bound: float = DIVERGENCE_BOUND,
        progress=None) -> Runs:
    """Run optimizers x hyperparameter grid x seeds x starts on a surface, vectorized.

    Args:
      surface: a ``descentlab.surfaces`` surface, or a catalog name.
      optimizers: one spec or a list of specs. A spec is a name (``"adam"``: default
        hyperparameters), a pair ``(name, {hyperparameter: value or list of values})`` (lists
        are expanded into a grid, the cartesian product in the dict's order), or an optimizer
        instance (``optim.Adam(lr=0.1)``, float hyperparameters).
      starts: start points, shape (k, 2) or (2,). Default: the surface's suggested ``start``.
      steps: number of steps, >= 0. Default 100.
      seed: an int or a list of ints (each seed is one more grid dimension). Seeds drive the
        minibatch draws on data surfaces (``batch_size``); runs with the same seed see the same
        sequence of minibatches (see ``_minibatch_table``), so a run is reproduced exactly alone
        or inside any batch. Default 0.
      batch_size: ``None`` (default): full-batch gradients; an int: minibatch gradients of that
        many distinct points (data surfaces only).
      record_state: also record the optimizers' internal state at every step (``Runs.states``).
      divergence_bound: a run diverges when its position or loss is non-finite, or when it leaves
        the surface's bounds enlarged ``divergence_bound`` times about their centre (each axis).
        In [1, inf]; default 10. A diverged run is frozen: its later positions and losses are
        NaN. It never stops the other runs, and no floating-point warning escapes.
      progress: show a tqdm progress bar; ``None`` (default): only for long runs (at least 10^7
        run-steps) when stderr is a terminal.

    Returns:
      A :class:`Runs`. Runs are ordered spec by spec; within a spec, grid point by grid point
      (the first hyperparameter varies slowest), then seed, then start.

    All runs of one optimizer class (and keyword options) advance together, in chunks of
    16,384 runs (batched hyperparameters); the trajectories are those of one
    ``descentlab.optim`` loop per run, bit for bit but where a beta varies over the grid (there
    to rounding: see ``descentlab.optim.Optimizer``).

    Example:
      >>> import numpy as np
      >>> from descentlab import lab
      >>> r = lab.run("rosenbrock", [("adam", {"lr": [0.01, 0.1]}), ("nag", {"lr": 0.001})],
      ...             starts=np.array([[-1.2, 1.0]]), steps=500)
      >>> r.trajectories.shape, [r.label(i) for i in range(len(r))]
      ((501, 3, 2), ['Adam(lr=0.01)', 'Adam(lr=0.1)', 'NAG(lr=0.001, gamma=0.9)'])
      >>> [round(m["final_loss"], 4) for m in r.metrics()]
      [3.2831, 0.0155, 0.0025]
    """
    from descentlab import surfaces as _surfaces

    if isinstance(surface, str):
        surface = _surfaces.get(surface)
    if not isinstance(surface, _surfaces.Surface):
        raise ValueError(f"lab.run: surface must be a descentlab.surfaces surface or a catalog "
                         f"name. Got {type(surface).__name__}.")
    steps = check_int(steps, name="steps", owner="lab.run", low=0)
    divergence_bound = check_in_range(divergence_bound, name="divergence_bound",
                                      owner="lab.run", low=1.0, high=math.inf)
    if starts is None:
        starts = surface.start[None, :]
    starts = np.array(starts, dtype=np.float64)
    if starts.ndim == 1:
        starts = starts[None, :]
    if starts.ndim != 2 or starts.shape[1] != 2 or starts.shape[0] == 0:
        raise ValueError(f"lab.run: starts must have shape (k, 2) with k >= 1 (or (2,)); got "
                         f"shape {starts.shape}.")
    if not np.isfinite(starts).all():
        raise ValueError("lab.run: every start point must be finite.")
    seeds = [check_int(s, name="seed", owner="lab.run", low=0) for s in _as_list(seed)]
    is_data = isinstance(surface, _surfaces.DataSurface)
    if batch_size is not None:
        if not is_data:
            raise ValueError(
                f"lab.run: batch_size needs a data surface (linear_fit, lecture_lr); the surface "
                f"{surface.name!r} has no data to sample. Got batch_size={batch_size!r}."
            )
        batch_size = check_int(batch_size, name="batch_size", owner="lab.run", low=1,
                               high=surface.n)
    blocks = [b for spec in spec_list(optimizers) for b in _blocks(spec)]
    if not blocks:
        raise ValueError("lab.run: no optimizers given.")

    # run layout: block, then grid point, then seed, then start
    S, K = len(seeds), len(starts)
    block_of, grid_of, seed_of, start_of = [], [], [], []
    for k, b in enumerate(blocks):
        G = b.size
        block_of.append(np.full(G * S * K, k, dtype=np.intp))
        grid_of.append(np.repeat(np.arange(G), S * K))
        seed_of.append(np.tile(np.repeat(np.arange(S), K), G))
        start_of.append(np.tile(np.arange(K), G * S))
    block_of, grid_of = np.concatenate(block_of), np.concatenate(grid_of)
    seed_of, start_of = np.concatenate(seed_of), np.concatenate(start_of)
    R = len(block_of)
    meta = RunMeta(blocks, block_of, grid_of, starts, start_of, seeds, seed_of, batch_size)

    traj = np.empty((steps + 1, R, 2))
    losses = np.empty((steps + 1, R))
    diverged_at = np.full(R, -1, dtype=np.int64)
    states = None
    if record_state:
        names = ["grad", "lookahead", "step_size"]
        for b in blocks:
            names += [n for n in b.cls.buffers if n not in names]
        states = {n: np.full((steps + 1, R, 2), np.nan) for n in names}
    table = (_minibatch_table(seeds, surface.n, batch_size, steps)
             if batch_size is not None else None)

    # groups: blocks sharing an optimizer class and keyword options run as one optimizer
    groups: dict = {}
    for k, b in enumerate(blocks):
        groups.setdefault(b.key, []).append(k)
    centre, limit = (np.array(v) for v in divergence_window(surface.bounds, divergence_bound))

    # tasks: each group's runs in chunks of at most _CHUNK runs (see _CHUNK)
    tasks = []
    for ks in groups.values():
        group = np.flatnonzero(np.isin(block_of, ks))
        for a in range(0, len(group), _CHUNK):
            idx = group[a:a + _CHUNK]
            sel = slice(idx[0], idx[-1] + 1) if idx[-1] - idx[0] + 1 == len(idx) else idx
            tasks.append((ks, idx, sel))

    bar = _progress_bar(progress, R * steps)

    def advance(task):
        ks, idx, sel = task
        opt = _group_optimizer(blocks, ks, block_of[idx], grid_of[idx])
        with np.errstate(all="ignore"):
            diverged_at[sel] = _advance(surface, opt, traj, losses, sel, starts[start_of[idx]],
                                        steps, centre, limit, states, table, seed_of[idx], bar)

    for task in tasks:
        advance(task)
    if bar is not None:
        bar.close()

    # freeze diverged runs: the offending row keeps what was computed, later rows are NaN
    hit = diverged_at >= 0
    if hit.any():
        cols = np.flatnonzero(hit)
        after = np.arange(steps + 1)[:, None] > diverged_at[cols][None, :]
        for arr in (traj, losses, *(states or {}).values()):
            sub = arr[:, cols]
            sub[after] = np.nan
            arr[:, cols] = sub
    settings = {"surface": surface.spec, "steps": steps, "seeds": seeds,
                "batch_size": batch_size, "divergence_bound": float(divergence_bound),
                "record_state": bool(record_state)}
    return Runs(surface, traj, losses, meta, diverged_at, states, settings)


#: Runs advanced together in one chunk. A step reads and writes each of ~15 arrays of the chunk's
#: size about twice; 16,384 runs keep those arrays (256 KiB each) in the cache, where NumPy's
#: passes are several times faster than over main memory, while each NumPy call still has enough
#: elements to hide its ~1 microsecond of Python overhead. Chunking never changes a result: the
#: arithmetic is element-wise.
_CHUNK = 16384


def _group_optimizer(blocks, ks, block_of, grid_of):
    """One optimizer for all runs of a group: floats where they agree, arrays where they differ."""
    first = blocks[ks[0]]
    hp = dict(first.choices)
    for name in first.numeric:
        col = np.empty(len(block_of))
        for k in ks:
            sel = block_of == k
            col[sel] = blocks[k].numeric[name][grid_of[sel]]
        # a grid becomes an array of the params' shape (runs, 2): numerically the same as the
        # core's (runs, 1) form, but every array operation of the step is then same-shape and
        # contiguous, which NumPy runs several times faster than a broadcast over a length-2 axis
        hp[name] = float(col[0]) if (col == col[0]).all() else np.repeat(col[:, None], 2, axis=1)
    return first.cls(**hp)


def _advance(surface, opt, traj, losses, sel, P0, steps, centre, limit, states, table, seed_of,
             bar) -> np.ndarray:
    """Advance one group of runs (columns ``sel`` of the outputs) through all steps.

    Returns the step at which each run diverged (-1: never). Runs are independent element-wise
    computations, so a run that leaves the box or overflows cannot disturb the others; the loop
    therefore only tracks, per run, the smallest and largest coordinates so far (two in-cache
    passes per step) and whether J was ever non-finite (one sum per step). A run whose J turns
    non-finite is parked at its start with zeroed state so that no surface ever sees a
    non-finite point twice. After the loop, the exact first offending step of the few suspect
    runs is read from their recorded rows.
    """
    P = np.array(P0)  # (runs, 2), the optimizer's params
    n = len(P)
    state = opt.init(P)
    buffers = [b for b in opt.buffers if states is not None]
    lo, hi = P.copy(), P.copy()  # running min / max of each coordinate (NaN sticks)
    nonfinite = np.zeros(n, dtype=bool)
    shared_seed = table is not None and (seed_of == seed_of[0]).all()
    # a plain Surface: call its rule functions directly and write the gradient in place
    fast = table is None and type(surface).value_and_grad is _surfaces_value_and_grad()
    G = np.empty_like(P)
    traj[0, sel] = P
    if states is not None:
        for b in buffers:
            states[b][0, sel] = state[b]
    for t in range(steps + 1):
        point = opt.lookahead(P, state) if t < steps else P
        if t == steps:  # the last point: its loss only
            g = None
            v = surface.value(P)
        elif table is not None:  # minibatch gradient, full-batch loss
            indices = table[seed_of[0], t] if shared_seed else table[seed_of, t]
            v = surface.value(P)
            g = surface.grad(point, indices=indices)
        elif point is P and fast and surface._value_and_grad is not None:
            v, G[:, 0], G[:, 1] = surface._value_and_grad(P[:, 0], P[:, 1], np)
            g = G
        elif fast:
            v = surface._value(P[:, 0], P[:, 1], np)
            G[:, 0], G[:, 1] = surface._grad(point[:, 0], point[:, 1], np)
            g = G
        elif point is P:
            v, g = surface.value_and_grad(P)
        else:
            v = surface.value(P)
            g = surface.grad(point)
        losses[t, sel] = v
        if not np.isfinite(np.add.reduce(v)):  # some J non-finite (or the sum overflowed)
            bad = ~np.isfinite(v)
            if bad.any():
                nonfinite |= bad
                P[bad] = P0[bad]
                for value in state.values():
                    if isinstance(value, np.ndarray) and value.shape == P.shape:
                        value[bad] = 0.0
                if g is not None:
                    g[bad] = 0.0
        if g is None:
            break
        if states is not None:
            states["grad"][t, sel] = g
            states["lookahead"][t, sel] = point
        if t == 0:  # the arrays keep their kind, shape and dtype: checked once, then applied
            opt.check(P, g, state)
        opt.apply(P, g, state)
        traj[t + 1, sel] = P
        np.minimum(lo, P, out=lo)
        np.maximum(hi, P, out=hi)
        if states is not None:
            for b in buffers:
                states[b][t + 1, sel] = state[b]
            states["step_size"][t, sel] = -(P - traj[t, sel]) / np.where(g == 0, np.nan, g)
        if bar is not None:
            bar.update(n)
    # suspects: ever non-finite, or a coordinate beyond the box (NaN compares False)
    inside = (np.abs(lo - centre) <= limit) & (np.abs(hi - centre) <= limit)
    suspects = np.flatnonzero(~inside.all(axis=1) | nonfinite)
    diverged_at = np.full(n, -1, dtype=np.int64)
    if len(suspects):
        cols = np.arange(traj.shape[1])[sel][suspects]
        path, J = traj[:, cols], losses[:, cols]
        bad = ~(np.abs(path - centre) <= limit).all(axis=-1) | ~np.isfinite(J)
        diverged_at[suspects] = np.where(bad.any(axis=0), np.argmax(bad, axis=0), -1)
    return diverged_at


def _surfaces_value_and_grad():
    from descentlab.surfaces import Surface

    return Surface.value_and_grad


def _progress_bar(progress, work):
    if progress is None:
        progress = work >= 10**7 and sys.stderr.isatty()
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm ships with the lab extra
        return None
    return tqdm(total=work, unit="run-step", unit_scale=True, desc="descentlab.lab.run")
