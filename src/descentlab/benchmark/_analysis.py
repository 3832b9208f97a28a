"""From finished trials to numbers: summary table, targets, profiles and the published findings.

Everything here is a pure function of the store's trial results (never of timings), so a resumed
benchmark writes the same ``summary.csv`` as an uninterrupted one, bit for bit.

Decisions:

* ``test_metric`` is the final iterate's test metric (lower is better: error, loss, KL or
  suboptimality), averaged over the final seeds, with a 95% percentile-bootstrap interval.
* Ties: within a (problem, ruleset), every optimizer whose interval overlaps the interval of the
  best mean is tied with it (``tied_best``).
* Targets: on each problem, the best tuned method is the (tuned ruleset, optimizer) with the
  lowest mean test metric (tuned rulesets: lr-grid, random; with neither, the defaults); the
  target is the MEDIAN over its seeds of its final test metric. ``epochs_to_target`` is the first
  evaluation epoch at which the median (over seeds) test-metric curve is at or below the target,
  empty when never. The best method reaches its own target by construction.
* lr-sensitivity width (lr-grid only): decades of lr around the best grid point whose mean
  validation metric is within 20% of the best (``_stats.lr_sensitivity_width``).
* ``lr_at_grid_edge`` (lr-grid only): the chosen lr is the smallest or largest of the final grid,
  i.e. the grid could not grow past it (``max_extensions`` used up, or the lr bounds reached), so
  the best lr may lie outside the grid. The reading names these rows.
* Performance profiles (Dolan & More), two per ruleset: cost = epochs to target (failure: never
  reached), and cost = mean final test metric (failure: +inf; an error is counted as at least
  half a test example, so that a perfect score keeps a finite ratio). Only optimizers run on every
  problem take part (the torch:* reference rows exist on torch problems only).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from descentlab._files import atomic_write_text
from descentlab.benchmark import _stats
from descentlab.benchmark._protocol import KAPPA_TOL, Settings, pipelines, plan
from descentlab.benchmark._trial import get_problem

__all__ = ["Analysis", "analyse", "write_summary", "SUMMARY_COLUMNS"]

SUMMARY_COLUMNS = (
    "problem", "ruleset", "optimizer", "lr", "test_metric", "test_metric_ci_low",
    "test_metric_ci_high", "epochs_to_target", "diverged_fraction", "metric", "test_loss",
    "train_loss", "train_loss_ci_low", "train_loss_ci_high", "target", "lr_width_decades",
    "tied_best", "hyperparameters", "seeds", "epochs", "lr_at_grid_edge",
)
ADAGRAD_RIVALS = ("RMSProp", "Adam", "Nadam")


@dataclass
class Analysis:
    settings: Settings
    rows: list = field(default_factory=list)  # one dict per (problem, ruleset, optimizer)
    curves: dict = field(default_factory=dict)  # (ruleset, problem, opt) -> (x, {name: array})
    tuning: dict = field(default_factory=dict)  # (ruleset, problem, opt) -> [(lr, val metric)]
    targets: dict = field(default_factory=dict)  # problem -> (target, ruleset, optimizer)
    profiles: dict = field(default_factory=dict)  # (cost, ruleset) -> (taus, {opt: rho})
    kappa: dict | None = None
    findings: list = field(default_factory=list)
    timing: list = field(default_factory=list)
    reading: list = field(default_factory=list)

    def row(self, problem, ruleset, optimizer) -> dict | None:
        for r in self.rows:
            if (r["problem"], r["ruleset"], r["optimizer"]) == (problem, ruleset, optimizer):
                return r
        return None

    @property
    def tuned_ruleset(self) -> str | None:
        for r in ("lr-grid", "random"):
            if r in self.settings.rulesets:
                return r
        return None


def analyse(settings: Settings, store) -> Analysis:
    """Compute everything the summary and the report show (all trials must be finished)."""
    A = Analysis(settings)
    plans = {key: plan(settings, key, store) for key in pipelines(settings)}
    unfinished = [k for k, p in plans.items() if not p.done]
    if unfinished:
        raise RuntimeError(f"{len(unfinished)} pipelines are unfinished, e.g. {unfinished[0]}; "
                           "run the benchmark first.")
    finals = {}
    for key, p in plans.items():
        if key[0] == "kappa":
            continue
        recs = [store.get(s.id) for s in p.final]
        finals[key] = recs
        x = recs[0]["result"]["x"]
        A.curves[key] = (x, {c: np.array([r["result"][c] for r in recs], dtype=float)
                             for c in ("train_loss", "test_metric", "test_loss", "val_metric")})
        if p.tuning:
            A.tuning[key] = [(c["lr"], metric) for c, metric, _, _ in p.tuning]
    _rows(A, settings, plans, finals)
    _targets(A, settings, finals)
    everywhere = [o for o in settings.optimizers
                  if all(o in settings.optimizers_for(p) for p in settings.problems)]
    for ruleset in settings.rulesets if everywhere else ():
        speed, quality = {}, {}
        for problem in settings.problems:
            rows = [r for r in A.rows if r["problem"] == problem and r["ruleset"] == ruleset
                    and r["optimizer"] in everywhere]
            speed[problem] = {r["optimizer"]: (math.inf if r["epochs_to_target"] is None
                                               else max(r["epochs_to_target"], 1))
                              for r in rows}
            floor = _metric_floor(problem)
            quality[problem] = {r["optimizer"]: max(r["test_metric"], floor) for r in rows}
        A.profiles[("epochs to target", ruleset)] = _stats.performance_profile(speed)
        A.profiles[("test metric", ruleset)] = _stats.performance_profile(quality)
    if settings.kappa_study:
        A.kappa = _kappa(plans, store)
    A.timing = _timing(finals)
    A.findings = _findings(A)
    A.reading = _reading(A)
    return A


def _metric_floor(problem: str) -> float:
    """Smallest cost a profile uses: half a test example for an error (so that an error of 0
    has a finite ratio), the smallest normal double otherwise."""
    p = get_problem(problem)
    return 0.5 / len(p.data.test.X) if p.metric == "error" else 2.2250738585072014e-308


def _rows(A, settings, plans, finals):
    for key, recs in finals.items():
        ruleset, problem, optimizer = key
        fin = [r["result"]["final"] for r in recs]
        tm = _stats.bootstrap_ci([f["test_metric"] for f in fin])
        tl = _stats.bootstrap_ci([f["test_loss"] for f in fin])
        tr = _stats.bootstrap_ci([f["train_loss"] for f in fin])
        chosen = plans[key].chosen
        width, at_edge = math.nan, None
        if ruleset == "lr-grid" and key in A.tuning:
            lrs, scores = zip(*A.tuning[key], strict=True)
            width = _stats.lr_sensitivity_width(lrs, scores)
            at_edge = chosen["lr"] in (min(lrs), max(lrs))
        A.rows.append({
            "problem": problem, "ruleset": ruleset, "optimizer": optimizer,
            "lr": chosen.get("lr"), "test_metric": tm[0], "test_metric_ci_low": tm[1],
            "test_metric_ci_high": tm[2], "epochs_to_target": None,
            "diverged_fraction": float(np.mean([f["diverged"] for f in fin])),
            "metric": get_problem(problem).metric, "test_loss": tl[0], "train_loss": tr[0],
            "train_loss_ci_low": tr[1], "train_loss_ci_high": tr[2], "target": None,
            "lr_width_decades": width, "tied_best": False,
            "hyperparameters": json.dumps(chosen, sort_keys=True), "seeds": len(recs),
            "epochs": settings.budget(problem), "lr_at_grid_edge": at_edge,
        })
    groups = defaultdict(list)
    for r in A.rows:
        groups[(r["problem"], r["ruleset"])].append(r)
    for rows in groups.values():
        ties = _stats.overlapping([(r["test_metric"], r["test_metric_ci_low"],
                                    r["test_metric_ci_high"]) for r in rows])
        for r, tied in zip(rows, ties, strict=True):
            r["tied_best"] = bool(tied)


def _targets(A, settings, finals):
    tuned = [r for r in settings.rulesets if r != "defaults"] or ["defaults"]
    for problem in settings.problems:
        cands = [r for r in A.rows if r["problem"] == problem and r["ruleset"] in tuned]
        best = min(cands, key=lambda r: (r["test_metric"], r["ruleset"], r["optimizer"]))
        key = (best["ruleset"], problem, best["optimizer"])
        target = float(np.median([r["result"]["final"]["test_metric"] for r in finals[key]]))
        A.targets[problem] = (target, best["ruleset"], best["optimizer"])
        for r in A.rows:
            if r["problem"] == problem:
                x, c = A.curves[(r["ruleset"], problem, r["optimizer"])]
                r["target"] = target
                r["epochs_to_target"] = _stats.epochs_to_target(x, c["test_metric"], target)


def _kappa(plans, store) -> dict:
    points = {}
    for problem in ("quadratic-k100", "quadratic-k1000"):
        kappa = get_problem(problem).kappa
        for optimizer in ("GD", "Momentum"):
            by = defaultdict(list)
            for s in plans[("kappa", problem, optimizer)].final:
                cfg = dict(s.config)
                steps = store.get(s.id)["result"]["steps"]
                by[(cfg["lr"], cfg.get("gamma"))].append(math.inf if steps is None else steps)
            worst = {k: max(v) for k, v in by.items()}
            best = min(worst, key=lambda k: (worst[k], k))
            points[(optimizer, kappa)] = {"steps": worst[best], "lr": best[0], "gamma": best[1]}
    exponents = {}
    for optimizer in ("GD", "Momentum"):
        a, b = points[(optimizer, 100.0)]["steps"], points[(optimizer, 1000.0)]["steps"]
        exponents[optimizer] = (math.log10(b / a) if math.isfinite(a) and math.isfinite(b)
                                else math.nan)
    return {"points": points, "exponents": exponents, "tol": KAPPA_TOL}


def _timing(finals) -> list[dict]:
    """Wall time of one training step per run (gradient + update), relative to SGD's on the same
    problem, from the final trials. Not part of summary.csv: timings vary between runs."""
    per = defaultdict(list)
    for (_, problem, optimizer), recs in finals.items():
        per[(problem, optimizer)].extend(r["timing"]["step_s"] / r["timing"]["runs"]
                                         for r in recs)
    rows = []
    for (problem, optimizer), v in per.items():
        sgd = per.get((problem, "SGD"))
        t = float(np.median(v))
        rows.append({"problem": problem, "optimizer": optimizer, "step_s": t,
                     "relative_to_sgd": t / float(np.median(sgd)) if sgd else math.nan})
    return rows


# ------------------------------------------------------------------------------------ findings
def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return f"{x:.3g}"


def _finding_winner(A):
    s, main = A.settings, A.tuned_ruleset or "defaults"
    everywhere = [o for o in s.optimizers
                  if all(A.row(p, main, o) is not None for p in s.problems)]
    winners = [o for o in everywhere if all(A.row(p, main, o)["tied_best"] for p in s.problems)]
    claim = ("No optimizer wins everywhere (Schmidt, Schneider & Hennig 2021, 'Descending "
             "through a Crowded Valley')")
    if len(s.problems) < 2 or not everywhere:
        return {"claim": claim, "verdict": "not measured",
                "evidence": "needs at least two problems sharing an optimizer"}
    if winners:
        verdict = "contradicted"
        evidence = f"ruleset {main}: {', '.join(winners)} is best or tied on every problem"
    else:
        verdict = "reproduced"
        evidence = (f"ruleset {main}: no optimizer is best or tied with the best (overlapping "
                    f"95% intervals) on all {len(s.problems)} problems")
    count = {o: sum(A.row(p, main, o)["tied_best"] for p in s.problems) for o in everywhere}
    top = max(count.values())
    evidence += (f"; most often best or tied: "
                 f"{', '.join(o for o in everywhere if count[o] == top)} "
                 f"({top}/{len(s.problems)})")
    return {"claim": claim, "verdict": verdict, "evidence": evidence}


def _finding_adam(A):
    s, tuned = A.settings, A.tuned_ruleset
    claim = ("Tuned Adam and Nadam are not worse than Momentum (Choi et al. 2019, 'On empirical "
             "comparisons of optimizers for deep learning')")
    worse, compared = [], 0
    for p in s.problems if tuned else ():
        mom = A.row(p, tuned, "Momentum")
        for o in ("Adam", "Nadam"):
            r = A.row(p, tuned, o)
            if mom is None or r is None:
                continue
            compared += 1
            if r["test_metric_ci_low"] > mom["test_metric_ci_high"]:
                worse.append(f"{o} on {p} ({_fmt(r['test_metric'])} vs "
                             f"{_fmt(mom['test_metric'])})")
    if not compared:
        return {"claim": claim, "verdict": "not measured",
                "evidence": "needs a tuned ruleset with Momentum and Adam or Nadam"}
    note = (" (Choi et al. tune every hyperparameter; lr-grid tunes only the learning rate)"
            if tuned == "lr-grid" else "")
    if worse:
        return {"claim": claim, "verdict": "contradicted",
                "evidence": f"ruleset {tuned}: significantly worse (interval entirely above "
                            f"Momentum's) in {len(worse)} of {compared} comparisons: "
                            + "; ".join(worse) + note}
    return {"claim": claim, "verdict": "reproduced",
            "evidence": f"ruleset {tuned}: in {compared} comparisons Adam/Nadam is never "
                        f"significantly worse than Momentum" + note}


def _finding_adagrad(A):
    s, tuned = A.settings, A.tuned_ruleset
    claim = ("Adagrad lags on long non-convex runs: its accumulated G keeps shrinking the step "
             "(the lecture; Tieleman & Hinton 2012; Zeiler 2012)")
    lags, compared = [], []
    for p in s.problems if tuned else ():
        if get_problem(p).convex:
            continue
        ada = A.row(p, tuned, "Adagrad")
        rivals = [r for r in (A.row(p, tuned, o) for o in ADAGRAD_RIVALS) if r is not None]
        if ada is None or not rivals:
            continue
        best = min(rivals, key=lambda r: r["train_loss"])
        compared.append(p)
        if ada["train_loss_ci_low"] > best["train_loss_ci_high"]:
            lags.append(f"{p} (train loss {_fmt(ada['train_loss'])} vs {best['optimizer']} "
                        f"{_fmt(best['train_loss'])})")
    if not compared:
        return {"claim": claim, "verdict": "not measured",
                "evidence": "needs a tuned ruleset, a non-convex problem, Adagrad and one of "
                            + "/".join(ADAGRAD_RIVALS)}
    verdict = ("reproduced" if len(lags) > len(compared) / 2 else
               "partly reproduced" if lags else "contradicted")
    budgets = ", ".join(f"{p} {s.budget(p)} epochs" for p in compared)
    evidence = (f"ruleset {tuned}, final training loss against the best of "
                f"{'/'.join(ADAGRAD_RIVALS)}: Adagrad is significantly behind (intervals apart) "
                f"on {len(lags)} of {len(compared)} non-convex problems"
                + (": " + "; ".join(lags) if lags else "") + f" (budgets: {budgets})")
    return {"claim": claim, "verdict": verdict, "evidence": evidence}


def _finding_kappa(A):
    claim = ("Heavy-ball momentum needs O(sqrt(kappa)) steps where GD needs O(kappa) "
             "(Polyak 1964)")
    if A.kappa is None:
        return {"claim": claim, "verdict": "not measured",
                "evidence": "needs quadratic-k100, quadratic-k1000, GD and Momentum"}
    eg, em = A.kappa["exponents"]["GD"], A.kappa["exponents"]["Momentum"]
    ok_gd, ok_m = abs(eg - 1.0) <= 0.15, abs(em - 0.5) <= 0.15
    verdict = ("reproduced" if ok_gd and ok_m else
               "partly reproduced" if ok_gd or ok_m else "contradicted")
    pts = A.kappa["points"]
    evidence = (f"steps to f <= {A.kappa['tol']:g} f0 with the best setting of each grid, kappa "
                f"100 -> 1000: GD {_fmt(pts[('GD', 100.0)]['steps'])} -> "
                f"{_fmt(pts[('GD', 1000.0)]['steps'])}, Momentum "
                f"{_fmt(pts[('Momentum', 100.0)]['steps'])} -> "
                f"{_fmt(pts[('Momentum', 1000.0)]['steps'])}; measured exponents GD {eg:.2f} "
                f"(theory 1), Momentum {em:.2f} (theory 0.5); the verdict needs each within "
                "0.15 of its theory")
    return {"claim": claim, "verdict": verdict, "evidence": evidence}


def _findings(A: Analysis) -> list[dict]:
    return [_finding_winner(A), _finding_adam(A), _finding_adagrad(A), _finding_kappa(A)]


def _reading(A: Analysis) -> list[str]:
    """A few sentences generated from the numbers."""
    lines = []
    main = A.tuned_ruleset or "defaults"
    for p in A.settings.problems:
        rows = sorted([r for r in A.rows if r["problem"] == p and r["ruleset"] == main],
                      key=lambda r: (r["test_metric"], r["optimizer"]))
        best = rows[0]
        tied = [r["optimizer"] for r in rows[1:] if r["tied_best"]]
        div = [r["optimizer"] for r in rows if r["diverged_fraction"] > 0]
        text = (f"{p} ({best['metric']}, {main}): best {best['optimizer']} "
                f"{_fmt(best['test_metric'])} [{_fmt(best['test_metric_ci_low'])}, "
                f"{_fmt(best['test_metric_ci_high'])}]")
        text += f"; tied with it: {', '.join(tied)}" if tied else "; no ties"
        if len(rows) > 1:
            text += f"; worst {rows[-1]['optimizer']} {_fmt(rows[-1]['test_metric'])}"
        if div:
            text += f"; some final seeds diverged for {', '.join(div)}"
        lines.append(text + ".")
    edge = [f"{r['optimizer']} on {r['problem']} (lr {_fmt(r['lr'])})" for r in A.rows
            if r["lr_at_grid_edge"]]
    if edge:
        lines.append("Tuned lr at the edge of its grid after the last extension (the best lr may "
                     "lie outside the grid; widen --lr-grid or use the full protocol): "
                     + ", ".join(edge) + ".")
    if "defaults" in A.settings.rulesets and A.tuned_ruleset:
        gains = []
        for r in A.rows:
            d = A.row(r["problem"], "defaults", r["optimizer"])
            if (r["ruleset"] == A.tuned_ruleset and d and math.isfinite(d["test_metric"])
                    and d["test_metric"] > 0 and math.isfinite(r["test_metric"])):
                gains.append(r["test_metric"] / d["test_metric"])
        if gains:
            lines.append(f"Tuning the learning rate ({A.tuned_ruleset}) multiplied the test "
                         f"metric by a median factor of {np.median(gains):.2g} relative to the "
                         f"defaults (over {len(gains)} problem x optimizer pairs; below 1 is "
                         "better).")
    if not A.profiles:
        return lines
    taus, rho = A.profiles[("epochs to target", main)]
    at1 = {o: float(r[0]) for o, r in rho.items()}
    lead = max(at1.values())
    lines.append(f"Performance profile ({main}, cost = epochs to target): fastest on the most "
                 f"problems: {', '.join(o for o, v in at1.items() if v == lead)} "
                 f"({lead:.0%} of problems); share of problems where the target is reached: "
                 + ", ".join(f"{o} {float(r[-1]):.0%}" for o, r in sorted(rho.items())) + ".")
    taus, rho = A.profiles[("test metric", main)]
    within = {o: float(r[np.searchsorted(taus, 2.0, side="right") - 1]) for o, r in rho.items()}
    top = max(within.values())
    lines.append(f"Performance profile ({main}, cost = test metric): within a factor 2 of the "
                 f"best on the most problems: "
                 f"{', '.join(o for o, v in within.items() if v == top)} ({top:.0%}).")
    return lines


# ------------------------------------------------------------------------------------ files
def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return str(v)


def write_summary(A: Analysis, path) -> None:
    """``summary.csv``: one row per (problem, ruleset, optimizer), columns ``SUMMARY_COLUMNS``."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(SUMMARY_COLUMNS)
    for r in A.rows:
        w.writerow([_cell(r[c]) for c in SUMMARY_COLUMNS])
    atomic_write_text(path, buf.getvalue())
