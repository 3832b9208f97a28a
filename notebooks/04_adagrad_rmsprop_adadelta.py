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
# # 4. Adagrad, RMSProp and AdaDelta: steps of the right size
#
# The other branch of the family tree adapts the step size of each parameter separately.
#
# * **Adagrad** sums the squared gradients, G_t = G_{t-1} + g_t^2, and steps
#   eta / sqrt(G_t + eps) * g_t. Parameters that moved a lot get smaller steps, but G only grows,
#   so over a long run the steps shrink towards zero and learning stops.
# * **RMSProp** replaces the sum by a moving average, G = gamma G + (1 - gamma) g^2, so G forgets
#   old gradients and the step size settles instead of vanishing (eps outside the root).
# * **AdaDelta** uses the same average and removes the learning rate: the step is
#   sqrt(s + eps) / sqrt(G + eps) * g, where s is a moving average of the past squared steps.

# %%
import matplotlib.pyplot as plt
import numpy as np

from descentlab import lab, optim

lab.plot_family_tree()

# %% [markdown]
# ## One step by hand
#
# Where eps sits matters: inside the square root for Adagrad (as in the lecture), outside for
# RMSProp. Each optimizer's step matches its formula.

# %%
g = np.array([0.3, -2.0])
theta = np.array([1.0, 1.0])

ada = optim.Adagrad(lr=0.1, eps=1e-8)
p = theta.copy()
ada.step(p, g, ada.init(p))
print("Adagrad ", p, "formula", theta - 0.1 / np.sqrt(g**2 + 1e-8) * g)

rms = optim.RMSProp(lr=0.1, gamma=0.9, eps=1e-8)
p = theta.copy()
rms.step(p, g, rms.init(p))
G = 0.1 * g**2
print("RMSProp ", p, "formula", theta - 0.1 / (np.sqrt(G) + 1e-8) * g)

add = optim.AdaDelta(gamma=0.9, eps=1e-6)
p = theta.copy()
add.step(p, g, add.init(p))
print("AdaDelta", p, "formula", theta - np.sqrt(0 + 1e-6) / np.sqrt(G + 1e-6) * g)

# %% [markdown]
# ## Adagrad's shrinking step, measured
#
# With `record_state=True` the lab keeps every optimizer's state and the per-axis *effective step
# size* (the learning rate a plain GD step would need to make the same move). We train the
# lecture's line fit with minibatches of 10 points, so the gradients never vanish. Adagrad's
# step size can only fall (G only grows), and keeps falling; RMSProp's follows the recent
# gradients: small while they are large, then it settles.

# %%
r = lab.run("lecture_lr", [("adagrad", {"lr": 0.5}), ("rmsprop", {"lr": 0.01, "gamma": 0.9})],
            steps=2000, batch_size=10, record_state=True)
step_size = r.states["step_size"]          # (steps + 1, runs, 2): axes w and b

fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
t = np.arange(r.steps + 1)
for k, color in zip(range(len(r)), ("#2ca02c", "#9467bd"), strict=True):
    ax.loglog(t[1:], step_size[1:, k, 0], color=color, label=f"{r.label(k)}, w")
    ax.loglog(t[1:], step_size[1:, k, 1], color=color, ls="--", label=f"{r.label(k)}, b")
ax.set(xlabel="step t", ylabel="effective step size",
       title="Per-axis step sizes, minibatch SGD on the lecture's line fit")
fig.legend(loc="outside lower center", fontsize=9, ncols=2)  # below the axes: covers no curve
plt.show()
for k in range(len(r)):
    print(f"{r.label(k):>22}: step size along w at t = 100: {step_size[100, k, 0]:.4f}, "
          f"at t = 1999: {step_size[1999, k, 0]:.4f}")

# %% [markdown]
# The inspector figure shows the same state along one path: the buffers named by the lecture's
# symbols and the effective step size, for Adagrad on the ravine.

# %%
lab.plot_inspector("ravine", ("adagrad", {"lr": 0.5}), steps=200)

# %% [markdown]
# ## The three on Rosenbrock
#
# AdaDelta has no learning rate: its first steps are tiny (sqrt(eps)-sized) and grow as s
# accumulates. The metrics table says how far each got.

# %%
race = lab.run("rosenbrock", [("adagrad", {"lr": 0.5}), ("rmsprop", {"lr": 0.01}),
                              ("adadelta", {})], steps=1000)
lab.plot_race(race)

# %%
race
