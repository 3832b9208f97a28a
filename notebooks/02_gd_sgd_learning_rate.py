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
# # 2. Gradient descent, SGD and the learning rate
#
# Gradient descent moves the parameters against the gradient of the loss:
# theta_{t+1} = theta_t - eta * grad J(theta_t), with the gradient over **all** the data.
# Stochastic gradient descent (SGD) uses the gradient of a small random sample (a minibatch)
# instead: each step is cheaper and noisier. The learning rate eta decides everything else.
#
# The problem is the lecture's: fit a line y = w x + b to 100 points by MSE. Its loss surface in
# (w, b) is a quadratic bowl with curvatures 16 (along w) and 2 (along b).

# %%
import matplotlib.pyplot as plt
import numpy as np

from descentlab import lab, optim, surfaces

s = surfaces.get("lecture_lr")
print(s.description)
print("curvatures:", s.curvatures, " minimum at (w, b) =", s.minima[0].round(3))

# %% [markdown]
# ## The update rule, by hand and by the library
#
# `optim.GD` keeps its state explicit: `init` builds it, `step` updates the parameters in place.
# One step by hand and one by the optimizer agree exactly.

# %%
theta = s.start.copy()
g = s.grad(theta)
by_hand = theta - 0.03 * g

opt = optim.GD(lr=0.03)
state = opt.init(theta)
opt.step(theta, g, state)
print("by hand:", by_hand, " optim.GD:", theta, " equal:", np.array_equal(by_hand, theta))

# %% [markdown]
# ## The lecture's three learning rates
#
# At eta = 0.01 the step along b shrinks the error by only 1 - 0.01 * 2 = 0.98 per step: too
# slow. At 0.03 both directions converge. At 0.13 the factor along w is 1 - 0.13 * 16 = -1.08:
# each step overshoots by more than it corrects, and the run diverges. For a quadratic, GD is
# stable exactly when eta < 2 / L, where L = 16 is the largest curvature: 2 / 16 = 0.125.
# Top row: GD. Bottom row: SGD with minibatches of 10 points (seeded).

# %%
lab.plot_lr_row()

# %% [markdown]
# The lab runs many settings as one vectorized computation. A sweep over 60 learning rates, each
# counted by the steps it needs to get within 1e-6 of the minimum, shows the whole story: too
# small is slow, the fastest rate sits just below the limit (for a quadratic, 2 / (L + mu) with
# mu = 2 the smallest curvature), and past 2 / L the runs diverge: those have no step count, so
# they are the shaded strip on the right. (The smallest rates do not get there within
# the 1000 steps and are left out.)

# %%
lrs = np.geomspace(0.003, 0.2, 60)
r = lab.run(s, ("gd", {"lr": lrs}), steps=1000)
m = r.metrics(tol=1e-6, columns=True)
ok = (r.diverged_at < 0) & (m["steps_to_tol"] >= 0)

diverged = r.diverged_at >= 0
fig, ax = plt.subplots(figsize=(7.5, 3.6), layout="constrained")
ax.semilogx(lrs[ok], m["steps_to_tol"][ok], "o-", ms=3, label="steps to J - J* <= 1e-6")
# a diverged run has no step count: the diverged rates are a shaded strip, with no height on the
# "steps" axis (a mark at some height would read as that many steps)
lo = np.sqrt(lrs[diverged].min() * lrs[~diverged].max())  # between the last good rate and it
ax.axvspan(lo, lrs.max() * 1.05, color="#d62728", alpha=0.15, lw=0,
           label=f"diverged ({diverged.sum()} rates; no step count)")
ax.text(np.sqrt(lo * lrs.max() * 1.05), 0.5, "diverged", color="#a61e1e", rotation=90,
        transform=ax.get_xaxis_transform(), ha="center", va="center", fontsize=9)
ax.axvline(2 / 16, color="k", ls="--", label="2 / L = 0.125")
ax.axvline(2 / 18, color="gray", ls=":", label="2 / (L + mu) = 0.111")
ax.set(xlabel="learning rate eta", ylabel="steps to converge", ylim=(0, None),
       xlim=(lrs.min() / 1.05, lrs.max() * 1.05),
       title="GD on lecture_lr: steps to converge against the learning rate")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
plt.show()
fastest = lrs[ok][np.argmin(m["steps_to_tol"][ok])]
print(f"fastest lr in the sweep: {fastest:.4f}; smallest diverging lr: "
      f"{lrs[r.diverged_at >= 0].min():.4f}")

# %% [markdown]
# `r` is a `lab.Runs`; in a notebook it displays itself as a table of measured metrics. Four of
# the 60 runs, from too slow to diverged:

# %%
r.subset([0, 30, 50, 59])

# %% [markdown]
# ## Why SGD is noisy
#
# Each minibatch gradient is an unbiased but noisy estimate of the full gradient. Around the GD
# step, the possible SGD steps form a cloud; its width shrinks with a larger batch. Near the
# minimum the full gradient vanishes but the cloud does not, which is why SGD jitters around the
# minimum at a fixed learning rate.

# %%
lab.plot_minibatch_cloud()

# %%
g_full = s.grad(s.start)
rng = np.random.default_rng(0)
for batch in (1, 10, 50):
    g_mini = s.minibatch_grads(s.start, batch, 2000, rng)
    print(f"batch {batch:>2}: mean minibatch gradient {g_mini.mean(0).round(2)} "
          f"(full {g_full.round(2)}), spread {g_mini.std(0).round(2)}")
