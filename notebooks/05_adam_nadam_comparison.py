# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5. Adam, Nadam, and comparing them honestly
#
# Adam joins the two branches: a momentum-like average of the gradients (m) and an RMSProp-like
# average of their squares (v), both bias-corrected because they start at zero:
#
#     m_t = beta1 m_{t-1} + (1 - beta1) g_t        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
#     mhat_t = m_t / (1 - beta1^t)                 vhat_t = v_t / (1 - beta2^t)
#     theta_{t+1} = theta_t - eta mhat_t / (sqrt(vhat_t) + eps)
#
# Nadam puts Nesterov's look-ahead into m (Dozat 2016). The lecture gives no formula; descentlab's
# default is the form in Ruder's overview, the lecture's reference, and `variant="torch"` /
# `variant="optax"` reproduce those frameworks.

# %%
import tempfile

import matplotlib.pyplot as plt
import numpy as np

from descentlab import benchmark, lab, optim

# %% [markdown]
# ## Why bias correction
#
# Feed Adam a constant gradient g = 1. The raw average m_t = 1 - beta1^t starts near 0 and takes
# tens of steps to approach 1; the corrected mhat_t is exactly 1 from the first step. Without the
# correction, early steps would be far too small.

# %%
adam = optim.Adam(lr=0.1, beta1=0.9, beta2=0.999)
theta = np.zeros(1)
state = adam.init(theta)
rows = []
for t in range(1, 31):
    adam.step(theta, np.ones(1), state)
    m = float(state["m"][0])
    rows.append((t, m, m / (1 - 0.9**t)))
for t, m, mhat in rows[:3] + rows[9:10] + rows[-1:]:
    print(f"t={t:>2}  m_t={m:.4f}  (1 - 0.9^t = {1 - 0.9**t:.4f})  mhat_t={mhat:.4f}")
# vhat_t is exactly 1 too, so every step is lr * 1 / (1 + eps)
print("theta after 30 steps:", theta, " formula:", -30 * 0.1 / (1 + 1e-8))

# %% [markdown]
# ## Nadam's variants on one step
#
# The same gradients through the three Nadam forms give slightly different steps; the differences
# are documented in `optim.Nadam`'s docstring and tested against PyTorch and optax.

# %%
g = np.array([0.5, -1.0])
for variant in ("ruder", "torch", "optax"):
    opt = optim.Nadam(lr=0.01, variant=variant)
    p = np.zeros(2)
    st = opt.init(p)
    for _ in range(3):
        opt.step(p, g, st)
    print(f"{variant:>6}: theta after 3 steps = {p}")

# %% [markdown]
# ## All nine optimizers on Rosenbrock
#
# The lecture's whole family, 1000 steps from (-1.2, 1), each with a hand-picked learning rate
# (nothing tuned here). The table is the runs' own display: final loss, distance to the minimum,
# steps to get within 1e-3.
#
# GD and SGD take exactly the same steps here: Rosenbrock is a formula, not a data set, so there
# are no minibatches and SGD's gradient is the full gradient. Their paths and loss curves coincide;
# SGD's is drawn dashed over GD's (the legend says so), so both stay visible.

# %%
specs = [("gd", {"lr": 0.001}), ("sgd", {"lr": 0.001}), ("momentum", {"lr": 0.001, "gamma": 0.9}),
         ("nag", {"lr": 0.001, "gamma": 0.9}), ("adagrad", {"lr": 0.5}), ("rmsprop", {"lr": 0.01}),
         ("adadelta", {}), ("adam", {"lr": 0.05}), ("nadam", {"lr": 0.05})]
race = lab.run("rosenbrock", specs, steps=1000)
print("GD and SGD identical:", np.array_equal(race.trajectories[:, 0], race.trajectories[:, 1]))
lab.plot_race(race)

# %%
race

# %% [markdown]
# ## A small benchmark: tuned, seeded, with confidence intervals
#
# One race on one surface says little. `descentlab.benchmark` trains each optimizer on a real
# data set (breast-cancer logistic regression from scikit-learn), tunes the learning rate on
# validation data, re-runs the chosen rate with fresh seeds shared by every optimizer, and reports
# the test error with bootstrap intervals. This run is deliberately small (`quick=True`, 3 seeds,
# one problem) so that it takes seconds; `descentlab bench` runs the full one. It runs in this
# process (`workers=1`): worker processes would need an `if __name__ == "__main__":` guard when
# this notebook's `.py` twin runs as a script.

# %%
out = tempfile.mkdtemp(prefix="descentlab-bench-")
analysis, stats = benchmark.run_benchmark(
    out, quick=True, problems="cancer-logreg", optimizers="sgd,momentum,nag,adam,nadam",
    seeds=3, workers=1, report=False, progress=False)
tuned = [r for r in analysis.rows if r["ruleset"] == "lr-grid"]
for r in tuned:
    print(f"{r['optimizer']:>9}: tuned lr {r['lr']:<7.3g} test error {r['test_metric']:.3f} "
          f"[{r['test_metric_ci_low']:.3f}, {r['test_metric_ci_high']:.3f}]  "
          f"epochs to target {r['epochs_to_target']}")

# %%
order = [r["optimizer"] for r in tuned]
fig, ax = plt.subplots(figsize=(7, 3.4), layout="constrained")
for k, ruleset in enumerate(("defaults", "lr-grid")):
    rows = [analysis.row("cancer-logreg", ruleset, name) for name in order]
    y = np.arange(len(rows)) + (0.15 if k else -0.15)
    x = np.array([r["test_metric"] for r in rows])
    lo = x - np.array([r["test_metric_ci_low"] for r in rows])
    hi = np.array([r["test_metric_ci_high"] for r in rows]) - x
    ax.errorbar(x, y, xerr=[lo, hi], fmt="o", capsize=3,
                label="default lr" if ruleset == "defaults" else "tuned lr")
ax.set_yticks(np.arange(len(order)), order)
ax.set(xlabel="test error (lower is better), 95% bootstrap interval over seeds",
       title="cancer-logreg, 3 seeds")
ax.legend(loc="lower right")
plt.show()

# %% [markdown]
# In this run the default learning rates separate the optimizers widely; once the learning rate is
# tuned, their intervals overlap. The benchmark's findings say which claims from the literature
# such a run can check, and what it found:

# %%
for f in analysis.findings:
    print(f"- {f['verdict']}: {f['claim']}\n  ({f['evidence']})")

# %% [markdown]
# ## Try it yourself
#
# `descentlab.widget.Playground` is the playground page inside the notebook: click the plot to
# move the start, drag the sliders, scrub through the steps; `w.start`, `w.optimizers` and
# `w.runs` are live in Python (it needs the `notebook` extra and a Jupyter front end to show).

# %%
from descentlab.widget import Playground

w = Playground(surface="rosenbrock", optimizers=["adam:lr=0.05", "nadam:lr=0.05"])
w

# %%
w.runs
