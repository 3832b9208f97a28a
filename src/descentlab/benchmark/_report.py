"""The HTML report: one self-contained file (PNG figures inlined as data URIs, no remote assets).

Decisions:

* The heat map colours each cell by its ratio to the problem's best mean, on one fixed scale for
  every problem (1x to 3x and beyond, log-spaced): a colour means the same gap everywhere, and a
  cell tied with the best (overlapping 95% intervals, starred) is drawn in the best colour
  whatever its mean. (Min-max per problem drew statistically tied cells as extremes.)
* Curves: each descentlab optimizer has its colour from the lab's figures (one hue each); the
  torch:* reference rows take their descentlab counterpart's hue, dashed.
* The page fits a 1280 px window: figures scale to the text width, wide tables scroll inside
  their own box.
* ``performance.json`` next to the report keeps the last performance line of an invocation that
  ran trials; a re-run that finds every trial in the store says so and repeats that line, rather
  than "0 trials per minute".
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import warnings
from pathlib import Path

import numpy as np

from descentlab._files import atomic_write_text
from descentlab.benchmark._analysis import Analysis, _fmt

__all__ = ["write_report"]


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _styles(names) -> dict:
    """``name -> {"color", "ls"}``: the lab's colour of each optimizer; a ``torch:NAME`` row
    shares NAME's colour, dashed; other names cycle through tab10 after the lab's colours."""
    from descentlab.lab._figures_common import optimizer_color

    out, extra = {}, 0
    for n in names:
        base = n.split(":", 1)[1] if n.startswith("torch:") else n
        color = optimizer_color(base, extra)
        out[n] = {"color": color, "ls": "--" if n.startswith("torch:") else "-"}
        extra += 1
    return out


def _grid(n):
    import matplotlib.pyplot as plt

    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.0 * cols, 3.6 * rows + 1.2), squeeze=False,
                             layout="constrained")
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _legend(fig, axes) -> None:
    """One legend for the figure, with every optimizer that appears in any panel."""
    seen = {}
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, h)
    fig.legend(list(seen.values()), list(seen), loc="outside lower center",
               ncol=min(6, len(seen)), fontsize=10)


def _learning_curves(A: Analysis, ruleset: str) -> str:
    s = A.settings
    styles = _styles(s.optimizers)
    fig, axes = _grid(len(s.problems))
    for ax, p in zip(axes, s.problems, strict=True):
        for o in s.optimizers_for(p):
            if (ruleset, p, o) not in A.curves:
                continue
            x, c = A.curves[(ruleset, p, o)]
            y = c["train_loss"]
            cap = 10.0 * float(np.nanmax(y[:, 0]))  # diverged runs: above 10x the start
            y = np.where(np.isfinite(y) & (y <= cap), y, np.nan)
            if np.isnan(y).all():
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
                med, lo, hi = np.nanmedian(y, 0), np.nanmin(y, 0), np.nanmax(y, 0)
            ax.plot(x, med, color=styles[o]["color"], ls=styles[o]["ls"], label=o, lw=1.5)
            ax.fill_between(x, lo, hi, color=styles[o]["color"], alpha=0.12, lw=0)
        ax.set_yscale("log")
        ax.set_title(p, fontsize=10)
        ax.set_xlabel("step (= epoch, exact gradient)" if p.startswith("quadratic") else "epoch")
        ax.set_ylabel("train loss")
    _legend(fig, axes)
    fig.suptitle(f"Learning curves ({ruleset}, final seeds): median, band = min..max; "
                 "curves of diverged runs stop", fontsize=11)
    return _png(fig)


def _lr_curves(A: Analysis) -> str | None:
    s = A.settings
    if "lr-grid" not in s.rulesets:
        return None
    styles = _styles(s.optimizers)
    fig, axes = _grid(len(s.problems))
    for ax, p in zip(axes, s.problems, strict=True):
        metric = None
        for o in s.optimizers_for(p):
            pts = A.tuning.get(("lr-grid", p, o))
            if not pts:
                continue
            metric = A.row(p, "lr-grid", o)["metric"]
            lr = np.array([a for a, _ in pts], dtype=float)
            sc = np.array([b for _, b in pts], dtype=float)
            order = np.argsort(lr)
            lr, sc = lr[order], sc[order]
            _, c0 = A.curves[("lr-grid", p, o)]
            cap = 10.0 * float(np.nanmax(c0["val_metric"][:, 0]))  # 10 x the starting value
            ok = np.isfinite(sc) & (sc <= cap)
            st = styles[o]
            ax.plot(lr[ok], sc[ok], marker="o", ms=2.5, color=st["color"], ls=st["ls"], label=o,
                    lw=1.2)
            if (~ok).any():
                ax.plot(lr[~ok], np.full(int((~ok).sum()), cap), "x", color=st["color"], ms=4)
        ax.set_xscale("log")
        if metric == "error":
            ax.set_ylim(0, 1.05)
        else:
            ax.set_yscale("log")
        ax.set_title(p, fontsize=10)
        ax.set_xlabel("learning rate")
        ax.set_ylabel(f"validation {metric}")
    _legend(fig, axes)
    fig.suptitle("lr sensitivity: mean final validation metric over the tuning seeds; "
                 "x = diverged or above 10 times the starting value", fontsize=11)
    return _png(fig)


def _profiles(A: Analysis) -> str:
    import matplotlib.pyplot as plt

    keys = list(A.profiles)
    costs = list(dict.fromkeys(c for c, _ in keys))
    rulesets = list(dict.fromkeys(r for _, r in keys))
    fig, axes = plt.subplots(len(costs), len(rulesets), squeeze=False, layout="constrained",
                             figsize=(5.5 * len(rulesets), 3.6 * len(costs) + 0.8))
    styles = _styles(A.settings.optimizers)
    for ax, (cost, rs) in zip(axes.flat, [(c, r) for c in costs for r in rulesets], strict=True):
        taus, rho = A.profiles[(cost, rs)]
        tmax = max(2.0, float(taus[-1]) * 1.1)
        for o, r in rho.items():
            xs = np.concatenate([taus, [tmax]])
            ys = np.concatenate([r, [r[-1]]])
            st = styles.get(o, {"color": None, "ls": "-"})
            ax.step(xs, ys, where="post", label=o, color=st["color"], ls=st["ls"], lw=1.4)
        ax.set_xscale("log")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(f"tau ({cost} / the best optimizer's)")
        ax.set_ylabel("fraction of problems")
        ax.set_title(f"performance profile: {cost}, {rs}", fontsize=10)
    _legend(fig, list(axes.flat))
    return _png(fig)


#: the heat map's fixed colour scale: ratio to the problem's best mean, 1x (best) to this
HEAT_MAX_RATIO = 3.0


def heat_ratios(A: Analysis, ruleset: str):
    """``(problems, optimizers, ratio, text)``: each cell's mean test metric divided by its
    problem's best mean (1.0 for the best and for every cell tied with it), NaN where a cell has
    no row or no finite mean; ``text`` is the cell's label (the mean, "★" when tied with the
    best). Where the best mean is 0 (an error rate of 0), other cells get ``inf``."""
    s = A.settings
    probs, opts = list(s.problems), list(s.optimizers)
    ratio = np.full((len(probs), len(opts)), np.nan)
    text = [[""] * len(opts) for _ in probs]
    for i, p in enumerate(probs):
        vals = {}
        for j, o in enumerate(opts):
            r = A.row(p, ruleset, o)
            if r is None:
                continue
            vals[j] = (r["test_metric"], bool(r["tied_best"]))
            text[i][j] = _fmt(r["test_metric"]) + (" ★" if r["tied_best"] else "")
        finite = [v for v, _ in vals.values() if math.isfinite(v)]
        if not finite:
            continue
        best = min(finite)
        for j, (v, tied) in vals.items():
            if not math.isfinite(v):
                continue
            if tied or v == best:
                ratio[i, j] = 1.0
            else:
                ratio[i, j] = v / best if best > 0 else math.inf
    return probs, opts, ratio, text


def _heatmap(A: Analysis, ruleset: str) -> str:
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    probs, opts, ratio, text = heat_ratios(A, ruleset)
    # one row per optimizer, one column per problem: there are more optimizers (17 with the
    # torch:* rows) than problems, and columns are what must fit the page's width
    shown = np.clip(ratio, 1.0, HEAT_MAX_RATIO).T  # inf -> the end of the scale
    # grey: no row (a torch:* optimizer on a NumPy problem)
    cmap = plt.get_cmap("YlOrRd").with_extremes(bad="#e6e6e6")
    fig, ax = plt.subplots(figsize=(0.95 * len(probs) + 3.4, 0.34 * len(opts) + 2.0),
                           layout="constrained")
    norm = LogNorm(1.0, HEAT_MAX_RATIO)
    im = ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, norm=norm, aspect="auto")
    ax.set_xticks(range(len(probs)), probs, rotation=35, ha="right", fontsize=10)
    ax.set_yticks(range(len(opts)), opts, fontsize=10)
    for j in range(len(opts)):
        for i in range(len(probs)):
            if text[i][j]:
                dark = np.isfinite(shown[j, i]) and norm(shown[j, i]) > 0.6
                ax.text(i, j, text[i][j], ha="center", va="center", fontsize=9,
                        fontweight="bold" if "★" in text[i][j] else "normal",
                        color="white" if dark else "black")
    ticks = [1.0, 1.25, 1.5, 2.0, HEAT_MAX_RATIO]
    cb = fig.colorbar(im, ax=ax, ticks=ticks)
    cb.ax.set_yticklabels([f"{t:g}x" for t in ticks[:-1]] + [f">= {HEAT_MAX_RATIO:g}x"])
    cb.set_label("mean test metric / the problem's best", fontsize=10)
    ax.set_title(f"mean test metric ({ruleset}), coloured by its ratio to the problem's best;\n"
                 "★ = best or tied with it (overlapping 95% intervals), coloured as the best",
                 fontsize=10)
    return _png(fig)


def _kappa_plot(A: Analysis) -> str | None:
    import matplotlib.pyplot as plt

    if A.kappa is None:
        return None
    fig, ax = plt.subplots(figsize=(5, 3.8))
    ks = np.array([100.0, 1000.0])
    for o, c in (("GD", "C0"), ("Momentum", "C1")):
        steps = np.array([A.kappa["points"][(o, k)]["steps"] for k in ks], dtype=float)
        ax.loglog(ks, steps, "o-", color=c,
                  label=f"{o} (measured exponent {A.kappa['exponents'][o]:.2f})")
        if np.isfinite(steps[0]):
            ref = 1.0 if o == "GD" else 0.5
            ax.loglog(ks, steps[0] * (ks / ks[0]) ** ref, ":", color=c,
                      label=f"kappa^{ref:g} through the first point")
    ax.set_xlabel("condition number kappa")
    ax.set_ylabel(f"steps to f <= {A.kappa['tol']:g} f0")
    ax.legend(fontsize=7)
    ax.set_title("steps to tolerance on the quadratics (best setting of each grid)", fontsize=10)
    return _png(fig)


def _table(rows, columns) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c)
            v = _fmt(v) if isinstance(v, float) else ("" if v is None else str(v))
            cells.append(f"<td>{html.escape(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<div class=scroll><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")


_CSS = (
    "*{box-sizing:border-box}"
    "body{font:14px/1.45 system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;"
    "color:#222}.scroll{overflow-x:auto;max-width:100%}"
    "table{border-collapse:collapse;font-size:12px;margin:1em 0}td,th{border:1px "
    "solid #ccc;padding:2px 6px;text-align:right}th{background:#f3f3f3}td:first-child,"
    "td:nth-child(2),td:nth-child(3){text-align:left}img{max-width:100%}.warn{background:#fff6d6;"
    "padding:.5em}.reproduced{color:#0a6d2c;font-weight:600}.contradicted{color:#a4161a;"
    "font-weight:600}.partly{color:#b26a00;font-weight:600}"
)


PERFORMANCE_FIELDS = ("trials_run", "tasks_run", "executor", "wall_s", "trials_per_minute",
                      "utilisation", "in_store_at_start")


def run_sentence(stats: dict) -> str:
    """"N trials in M tasks on EXECUTOR in S s: R trials per minute, worker utilisation U"."""
    return (f"{stats.get('trials_run', 0)} trials in {stats.get('tasks_run', 0)} tasks on "
            f"{stats.get('executor', '?')} in {stats.get('wall_s', 0.0):.1f} s: "
            f"{stats.get('trials_per_minute', 0.0):.0f} trials per minute, worker utilisation "
            f"{stats.get('utilisation', 0.0):.0%}")


def save_performance(stats: dict, keep: Path) -> bool:
    """Save the performance of an invocation that ran trials in ``keep`` (performance.json);
    one that ran none leaves the saved one alone. True when it wrote."""
    if stats.get("trials_run", 0) <= 0:
        return False
    atomic_write_text(keep, json.dumps({k: stats.get(k) for k in PERFORMANCE_FIELDS},
                                       indent=2) + "\n")
    return True


def saved_performance(keep: Path) -> dict | None:
    """The performance saved in ``keep`` by the last invocation that ran trials (None: none)."""
    try:
        before = json.loads(Path(keep).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return before if isinstance(before, dict) else None


def _performance_line(stats: dict, keep: Path) -> str:
    """The report's performance line. An invocation that ran trials states its speed and saves
    it in ``keep``; one that ran none (every trial already in the store) says so and repeats the
    saved line of the invocation that ran them (or says that none is known)."""
    if save_performance(stats, keep):
        return (f"This invocation ran {run_sentence(stats)}; "
                f"{stats.get('in_store_at_start', 0)} trials were already in the store and were "
                "not redone.")
    line = (f"This invocation found all {stats.get('in_store_at_start', 0)} trials in the store "
            "and ran none.")
    before = saved_performance(keep)
    if before is None:
        return line + " The performance of the invocation that ran them was not recorded."
    return line + f" The last invocation that ran trials ran {run_sentence(before)}."


def write_report(A: Analysis, stats: dict, path) -> None:
    """``report.html``: the reading, the findings, the figures and the tables, self-contained."""
    import matplotlib

    matplotlib.use("Agg")
    s = A.settings
    main = A.tuned_ruleset or "defaults"
    figs = [("Learning curves", _learning_curves(A, main))]
    lr = _lr_curves(A)
    if lr:
        figs.append(("Learning-rate sensitivity", lr))
    if A.profiles:
        figs.append(("Performance profiles", _profiles(A)))
    for rs in s.rulesets:
        figs.append((f"Problem x optimizer heat map ({rs})", _heatmap(A, rs)))
    kp = _kappa_plot(A)
    if kp:
        figs.append(("Condition number and steps to tolerance", kp))

    def esc(x):
        return html.escape(str(x))

    budgets = ", ".join(f"{p} {s.budget(p)}" for p in s.problems)
    grid = (f"from default/{10 ** s.grid_decades[0]} to default*{10 ** s.grid_decades[1]}"
            if s.lr_grid is None else f"from {s.lr_grid[0]:g} to {s.lr_grid[1]:g}")
    run_line = _performance_line(stats, Path(path).with_name("performance.json"))
    quick = ("<p class=warn><b>--quick</b>: short budgets, a narrower initial lr grid, "
             f"{s.tune_seeds} tuning seed(s) and {s.seeds} final seeds (the full protocol: 2 "
             "and 10); intervals are wide and the verdicts indicative.</p>" if s.quick else "")
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>descentlab benchmark</title><style>{_CSS}</style></head><body>",
        "<h1>descentlab benchmark</h1>",
        f"<p>Problems: {esc(', '.join(s.problems))}. Optimizers: {esc(', '.join(s.optimizers))}"
        " (torch:* rows are torch.optim's own implementations, on torch problems only). "
        f"Rulesets: {esc(', '.join(s.rulesets))}. Budgets in epochs (the quadratics count "
        f"exact-gradient steps): {esc(budgets)}. Final seeds: {s.seeds} (0..{s.seeds - 1}, "
        f"shared by every optimizer); tuning seeds: {s.tune_seeds}; lr grid: {s.per_decade} "
        f"points per decade {esc(grid)}, extended up to {s.max_extensions} times when the best "
        "value is at an edge. No gradient clipping, no schedules, no early stopping; test "
        "metrics are the final iterate's.</p>",
        quick,
        f"<p>{esc(run_line)}</p>",
        "<h2>Reading</h2><ul>" + "".join(f"<li>{esc(t)}</li>" for t in A.reading) + "</ul>",
        "<h2>Published findings</h2><p>Each verdict is computed from this run's numbers.</p>",
        "<div class=scroll>"
        "<table><thead><tr><th>claim</th><th>verdict</th><th>evidence</th></tr></thead><tbody>"
        + "".join(
            f"<tr><td>{esc(f['claim'])}</td><td class='{f['verdict'].split()[0]}'>"
            f"{esc(f['verdict'])}</td><td style='text-align:left'>{esc(f['evidence'])}</td></tr>"
            for f in A.findings)
        + "</tbody></table></div>",
    ]
    for title, uri in figs:
        parts.append(f"<h2>{esc(title)}</h2><img alt='{esc(title)}' src='{uri}'>")
    parts.append("<h2>Summary</h2><p>test metric: mean over the final seeds with a 95% "
                 "bootstrap interval, lower is better (error = 1 - accuracy). epochs_to_target: "
                 "first epoch at which the median test-metric curve reaches the target (the "
                 "median of the best tuned method); empty = never. lr_width_decades: decades of "
                 "lr within 20% of the best validation metric. lr_at_grid_edge: the tuned lr is "
                 "the smallest or largest of its grid after the last extension.</p>")
    parts.append(_table(A.rows, ["problem", "ruleset", "optimizer", "lr", "metric",
                                 "test_metric", "test_metric_ci_low", "test_metric_ci_high",
                                 "train_loss", "epochs_to_target", "diverged_fraction",
                                 "lr_width_decades", "lr_at_grid_edge", "tied_best"]))
    parts.append("<h2>Wall time per step relative to SGD</h2><p>Median wall time of one "
                 "training step per run (gradient + update) in the final trials; NumPy rows "
                 "advance all seeds together. GD's step is a full-batch step. Timings vary "
                 "between runs and are not part of summary.csv.</p>")
    parts.append(_table(A.timing, ["problem", "optimizer", "step_s", "relative_to_sgd"]))
    parts.append("</body></html>")
    atomic_write_text(path, "\n".join(parts))
