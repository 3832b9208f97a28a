"""The protocol: which trials a benchmark needs, decided only from finished trials in the store.

For every (ruleset, problem, optimizer) a *pipeline* replays its decisions from the store each time
it is asked (``plan``): the missing trials of its current stage, or, when none are missing, the
next stage. Nothing else is remembered, so an interrupted benchmark resumes where it stopped and
takes the same decisions.

Rulesets (all give every optimizer the same budget in epochs and the same final seeds):

* ``defaults``: the library's default hyperparameters, no tuning.
* ``lr-grid``: learning rates on a log grid with ``per_decade`` points per decade (3: 1, 2.15,
  4.64, 10, ...), by default from 1/100 to 10 times the optimizer's default lr (``--quick``: 1/10
  to 10 times); every other hyperparameter at its default. Each grid point is trained with
  ``tune_seeds`` seeds (10000, 10001, ...) and scored on the VALIDATION split: the mean final
  validation metric, ties broken by the mean final validation loss, then by the smaller lr. When
  the best point sits at an edge of the grid, the grid grows by one decade on that side (at most
  ``max_extensions`` times, within 1e-8 < lr < 1e4); all tuning runs diverging counts as "best at
  the low edge", and a one-point grid (``--lr-grid X:X``) grows on both sides. A best point still
  at an edge when the grid cannot grow is reported (``lr_at_grid_edge`` in the summary).
* ``random``: ``random_samples`` configurations drawn log-uniformly, seeded by problem and
  optimizer: lr in [default/100, default*10] (with ``lr_grid``, in [LOW, HIGH]); gamma, beta1,
  momentum, rho and alpha equal to 1 - 10^U(-2.5, -0.5); beta2 = 1 - 10^U(-4, -1);
  eps = 10^U(-10, -4). Scored as lr-grid.

The chosen setting is then trained with the final seeds 0, 1, ..., ``seeds - 1`` (fresh: disjoint
from the tuning seeds, shared by all optimizers) and its final iterate is measured on the TEST
split.

The kappa study (needs both quadratics, GD and Momentum): steps until f <= 1e-10 f(theta_0) with
exact gradients, for GD over lr in [0.1, 3.16] (12 per decade; L = 1, so 2/L = 2 is GD's stability
edge) and for Momentum over lr in [0.316, 5.62] x gamma = 1 - 10^(-j/8), j = 4..20 (8 per decade
each; this box contains Polyak's optimum lr = 4/(sqrt(L) + sqrt(mu))^2, gamma = ((sqrt(kappa) - 1)
/ (sqrt(kappa) + 1))^2 for both kappas), three seeds each. A setting's steps are its worst seed's,
and the best setting counts. The tolerance is tight (1e-10) so that the asymptotic rate, not the
first few steps, decides the count.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

import numpy as np

from descentlab.benchmark import _optimizers
from descentlab.benchmark._trial import get_problem, trial_id

__all__ = ["Settings", "make_settings", "TrialSpec", "Plan", "plan", "pipelines", "RULESETS",
           "problem_names", "KAPPA_TOL"]

RULESETS = ("defaults", "lr-grid", "random")
KAPPA_TOL = 1e-10
LR_BOUNDS = (1e-8, 1e4)


def problem_names(*, with_torch: bool | None = None) -> list[str]:
    """Every problem the benchmark knows; torch problems only when torch is importable."""
    from descentlab.benchmark._problems import NUMPY_PROBLEMS
    from descentlab.benchmark._torch_problems import TORCH_PROBLEMS

    if with_torch is None:
        with_torch = _torch_available()
    return list(NUMPY_PROBLEMS) + (list(TORCH_PROBLEMS) if with_torch else [])


def _torch_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


@dataclass(frozen=True)
class Settings:
    """Everything that decides a benchmark's trials (``make_settings`` builds and checks it)."""

    problems: tuple[str, ...]
    optimizers: tuple[str, ...]
    rulesets: tuple[str, ...]
    seeds: int
    tune_seeds: int
    quick: bool
    per_decade: int = 3
    lr_grid: tuple[float, float] | None = None  # absolute (low, high); None: around the default
    grid_decades: tuple[int, int] = (2, 1)  # decades below / above the default lr
    max_extensions: int = 4
    random_samples: int = 10
    epochs: dict = field(default_factory=dict)  # problem -> epochs (overrides the problem's)

    def budget(self, problem: str) -> int:
        if problem in self.epochs:
            return int(self.epochs[problem])
        p = get_problem(problem)
        return p.quick_epochs if self.quick else p.epochs

    def optimizers_for(self, problem: str) -> list[str]:
        torch_problem = get_problem(problem).backend == "torch"
        return [o for o in self.optimizers if torch_problem or not _optimizers.is_reference(o)]

    @property
    def final_seeds(self) -> list[int]:
        return list(range(self.seeds))

    @property
    def tuning_seeds(self) -> list[int]:
        return [10_000 + i for i in range(self.tune_seeds)]

    @property
    def kappa_study(self) -> bool:
        return ({"quadratic-k100", "quadratic-k1000"} <= set(self.problems)
                and {"GD", "Momentum"} <= set(self.optimizers))


def _split_names(value, what, choices):
    if value is None:
        return list(choices)
    if isinstance(value, str):
        value = value.split(",")
    value = [str(v).strip() for v in value if str(v).strip()]
    if not value:
        raise ValueError(f"No {what} given (empty list). Valid choices: {', '.join(choices)}.")
    return value


def make_settings(*, problems=None, optimizers=None, rulesets=None, seeds=None, tune_seeds=None,
                  quick=False, lr_grid=None, per_decade=3, epochs=None) -> Settings:
    """Validated settings; bad names raise ValueError listing the valid choices.

    Defaults: every problem (the torch ones when torch is installed), every optimizer (plus
    torch.optim's reference rows on torch problems), rulesets ``defaults`` and ``lr-grid``, 10
    final seeds and 2 tuning seeds. ``quick``: 5 final seeds, 1 tuning seed, the problems' short
    budgets, an initial grid from 1/10 to 10 times the default lr and at most 3 extensions.
    """
    from descentlab import optim

    with_torch = _torch_available()
    all_problems = problem_names(with_torch=with_torch)
    known = problem_names(with_torch=True)
    probs = []
    for p in _split_names(problems, "problems", all_problems):
        match = [k for k in known if k.lower() == p.lower()]
        if not match:
            raise ValueError(f"Unknown problem {p!r}. Valid choices: {', '.join(all_problems)}.")
        if match[0] not in all_problems:
            raise ValueError(f"Problem {p!r} needs torch, which is not installed "
                             f"(pip install 'descentlab[torch]'). Valid choices: "
                             f"{', '.join(all_problems)}.")
        probs.append(match[0])
    refs = with_torch and any(get_problem(p).backend == "torch" for p in probs)
    all_opts = list(optim.names()) + (list(_optimizers.TORCH_REFERENCES) if refs else [])
    opts = [_optimizers.canonical(o, allow_references=refs)
            for o in _split_names(optimizers, "optimizers", all_opts)]
    for p in probs:
        if get_problem(p).backend == "numpy" and all(_optimizers.is_reference(o) for o in opts):
            raise ValueError(f"Problem {p!r} is a NumPy problem and the torch:* reference rows "
                             f"run on torch problems only; add one of "
                             f"{', '.join(optim.names())}.")
    rules = []
    for r in _split_names(rulesets, "rulesets", ("defaults", "lr-grid")):
        if r.lower() not in RULESETS:
            raise ValueError(f"Unknown ruleset {r!r}. Valid choices: {', '.join(RULESETS)}.")
        rules.append(r.lower())
    seeds = (5 if quick else 10) if seeds is None else int(seeds)
    if seeds < 1:
        raise ValueError(f"The number of seeds must be at least 1. Got {seeds} instead.")
    tune_seeds = (1 if quick else 2) if tune_seeds is None else int(tune_seeds)
    if tune_seeds < 1:
        raise ValueError(f"The number of tuning seeds must be at least 1. "
                         f"Got {tune_seeds} instead.")
    if int(per_decade) < 1:
        raise ValueError(f"Empty lr grid: it needs at least 1 point per decade. "
                         f"Got {per_decade} instead.")
    if lr_grid is not None:
        low, high = (float(v) for v in lr_grid)
        if not (0 < low <= high and math.isfinite(high)):
            raise ValueError(f"Empty lr grid: need 0 < LOW <= HIGH. Got LOW={low!r}, "
                             f"HIGH={high!r} instead.")
        lr_grid = (low, high)
    for name, e in (epochs or {}).items():
        if name not in probs:
            raise ValueError(f"Epochs given for {name!r}, which is not among the problems "
                             f"{', '.join(probs)}.")
        if int(e) < 1:
            raise ValueError(f"The budget of {name!r} must be at least 1 epoch. Got {e} instead.")
    return Settings(
        problems=tuple(dict.fromkeys(probs)), optimizers=tuple(dict.fromkeys(opts)),
        rulesets=tuple(dict.fromkeys(rules)), seeds=seeds, tune_seeds=tune_seeds,
        quick=bool(quick), per_decade=int(per_decade), lr_grid=lr_grid,
        grid_decades=(1, 1) if quick else (2, 1), max_extensions=3 if quick else 4,
        random_samples=6 if quick else 10, epochs=dict(epochs or {}),
    )


# ------------------------------------------------------------------------------------ trials
@dataclass(frozen=True)
class TrialSpec:
    kind: str
    problem: str
    optimizer: str
    config: tuple  # sorted (name, value) pairs, hashable
    seed: int
    budget: int

    @property
    def id(self) -> str:
        return trial_id(self.kind, self.problem, self.optimizer, dict(self.config), self.seed,
                        self.budget)


def _spec(kind, problem, optimizer, config: dict, seed, budget) -> TrialSpec:
    return TrialSpec(kind, problem, optimizer, tuple(sorted(config.items())), int(seed),
                     int(budget))


def _round3(x: float) -> float:
    return float(f"{x:.3g}")


@dataclass
class Plan:
    """A pipeline's state: the missing trials of its current stage, or its outcome once done."""

    key: tuple  # (ruleset, problem, optimizer)
    missing: list[TrialSpec]
    tuning: list = field(default_factory=list)  # [(config, val metric, val loss, trial ids)]
    chosen: dict | None = None
    final: list[TrialSpec] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return not self.missing


def pipelines(settings: Settings) -> list[tuple]:
    keys = []
    for problem in settings.problems:
        for optimizer in settings.optimizers_for(problem):
            for ruleset in settings.rulesets:
                keys.append((ruleset, problem, optimizer))
        if settings.kappa_study and problem.startswith("quadratic"):
            for optimizer in ("GD", "Momentum"):
                keys.append(("kappa", problem, optimizer))
    return keys


def _score(store, specs: list[TrialSpec]):
    finals = [store.get(s.id)["result"]["final"] for s in specs]
    metric = float(np.mean([f["val_metric"] for f in finals]))
    loss = float(np.mean([f["val_loss"] for f in finals]))
    return (math.inf if math.isnan(metric) else metric), (math.inf if math.isnan(loss) else loss)


def _lr_grid(settings, default_lr, ks):
    center = default_lr if settings.lr_grid is None else settings.lr_grid[0]
    return [_round3(center * 10 ** (k / settings.per_decade)) for k in ks]


def _initial_ks(settings):
    pd = settings.per_decade
    if settings.lr_grid is None:
        below, above = settings.grid_decades
        return list(range(-below * pd, above * pd + 1))
    low, high = settings.lr_grid
    n = int(math.floor(math.log10(high / low) * pd + 1e-9))
    return list(range(0, n + 1))


def _random_configs(settings, problem, optimizer, base):
    rng = np.random.default_rng([zlib.crc32(f"{problem}/{optimizer}".encode()), 7])
    configs = []
    for _ in range(settings.random_samples):
        c = dict(base)
        for name, value in base.items():
            if isinstance(value, str):
                continue
            if name == "lr":
                u = rng.uniform(-2, 1)  # one draw either way: the other draws stay the same
                if settings.lr_grid is None:
                    c[name] = _round3(value * 10 ** u)
                else:  # log-uniform in the absolute range given by --lr-grid
                    low, high = settings.lr_grid
                    c[name] = _round3(low * (high / low) ** ((u + 2) / 3))
            elif name in ("gamma", "beta1", "momentum", "rho", "alpha"):
                c[name] = 1.0 - _round3(10 ** rng.uniform(-2.5, -0.5))  # round 1 - x, not x
            elif name == "beta2":
                c[name] = 1.0 - _round3(10 ** rng.uniform(-4, -1))
            elif name == "eps":
                c[name] = _round3(10 ** rng.uniform(-10, -4))
        configs.append(c)
    return configs


def plan(settings: Settings, key: tuple, store) -> Plan:
    """The trials ``key``'s pipeline still needs now, or its outcome (replayed from the store)."""
    ruleset, problem, optimizer = key
    budget = settings.budget(problem)
    base = _optimizers.defaults(optimizer)
    if ruleset == "kappa":
        return _plan_kappa(key, store, base)

    def missing(specs):
        return [s for s in specs if s.id not in store]

    tuning = []
    if ruleset == "defaults":
        chosen = base
    else:
        ks, extensions = _initial_ks(settings), 0
        while True:
            if ruleset == "lr-grid":
                configs = [{**base, "lr": lr} for lr in _lr_grid(settings, base["lr"], ks)]
            else:
                configs = _random_configs(settings, problem, optimizer, base)
            specs = [[_spec("train", problem, optimizer, c, s, budget)
                      for s in settings.tuning_seeds] for c in configs]
            need = missing([s for group in specs for s in group])
            if need:
                return Plan(key, need)
            tuning = [(c, *_score(store, group), [s.id for s in group])
                      for c, group in zip(configs, specs, strict=True)]
            best = min(range(len(tuning)),
                       key=lambda i: (tuning[i][1], tuning[i][2], tuning[i][0]["lr"]))
            if ruleset != "lr-grid" or extensions >= settings.max_extensions:
                break
            all_bad = all(math.isinf(t[1]) for t in tuning)
            pd = settings.per_decade
            low = (best == 0 or all_bad) and configs[0]["lr"] / 10 > LR_BOUNDS[0]
            high = best == len(configs) - 1 and configs[-1]["lr"] * 10 < LR_BOUNDS[1]
            if len(configs) == 1:  # a one-point grid is at both edges: grow on both sides
                high = high and not all_bad
            elif low:
                high = False
            if not (low or high):
                break
            if high:
                ks = ks + list(range(ks[-1] + 1, ks[-1] + pd + 1))
            if low:
                ks = list(range(ks[0] - pd, ks[0])) + ks
            extensions += 1
        chosen = tuning[best][0]
    final = [_spec("train", problem, optimizer, chosen, s, budget) for s in settings.final_seeds]
    return Plan(key, missing(final), tuning, chosen, final)


def kappa_configs(optimizer: str, base: dict) -> list[dict]:
    """The kappa study's grid (see the module's docstring)."""
    if optimizer == "GD":
        return [{**base, "lr": _round3(10 ** (k / 12))} for k in range(-12, 7)]
    return [{**base, "lr": _round3(10 ** (k / 8)), "gamma": _round3(1 - 10 ** (-j / 8))}
            for k in range(-4, 7) for j in range(4, 21)]


def kappa_budget(optimizer: str) -> int:
    return 20_000 if optimizer == "GD" else 3_000


def _plan_kappa(key, store, base):
    _, problem, optimizer = key
    configs = kappa_configs(optimizer, {**base, "tol": KAPPA_TOL})
    specs = [_spec("kappa", problem, optimizer, c, s, kappa_budget(optimizer))
             for c in configs for s in (0, 1, 2)]
    need = [s for s in specs if s.id not in store]
    return Plan(key, need, chosen=None, final=specs)
