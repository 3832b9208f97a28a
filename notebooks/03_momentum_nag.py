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
# # 3. Momentum and Nesterov (NAG): look where you are going
#
# Momentum adds the previous direction to the current gradient, like a ball that keeps rolling:
#
#     v_t = gamma * v_{t-1} + eta * grad J(theta_t);   theta_{t+1} = theta_t - v_t
#
# In a ravine, where plain GD bounces between the steep walls while crawling along the flat
# floor, the bounces cancel in v and the crawl accumulates. NAG takes the gradient at the point
# the momentum step is about to reach, theta_t - gamma * v_{t-1}, and so corrects earlier.

# %%
import numpy as np

from descentlab import lab, optim, surfaces

ravine = surfaces.get("ravine")
print(ravine.formula, "|", ravine.description)

# %% [markdown]
# ## The rules, step by step
#
# Both optimizers keep the velocity `v` in their explicit state. NAG's `lookahead` returns the
# point where its gradient is taken. We take five steps of each with the library and the same five
# steps with the formulas written out by hand, and compare where they end.

# %%
lr, gamma = 0.05, 0.9
theta0 = ravine.start.copy()

mom, nag = optim.Momentum(lr=lr, gamma=gamma), optim.NAG(lr=lr, gamma=gamma)
theta_m, theta_n = theta0.copy(), theta0.copy()
state_m, state_n = mom.init(theta_m), nag.init(theta_n)
for _ in range(5):
    mom.step(theta_m, ravine.grad(theta_m), state_m)
    nag.step(theta_n, ravine.grad(nag.lookahead(theta_n, state_n)), state_n)

# the same five steps from the formulas
th_m, th_n = theta0.copy(), theta0.copy()
v_m, v_n = np.zeros(2), np.zeros(2)
for _ in range(5):
    v_m = gamma * v_m + lr * ravine.grad(th_m)
    th_m = th_m - v_m
    v_n = gamma * v_n + lr * ravine.grad(th_n - gamma * v_n)
    th_n = th_n - v_n
print("Momentum:", theta_m, "formula:", th_m)
print("NAG:     ", theta_n, "formula:", th_n)
assert np.allclose(theta_m, th_m) and np.allclose(theta_n, th_n)

# %% [markdown]
# ## SGD vs Momentum in the ravine (the lecture's figure)
#
# SGD near its stability limit (eta = 0.19 < 2 / 10) zig-zags across the steep axis and crawls
# along the flat one; Momentum at the same learning rate damps the zig-zag.

# %%
lab.plot_ravine()

# %% [markdown]
# ## The Nesterov step, from real optimizer state
#
# After a few Momentum steps build up a velocity, one Momentum step and one NAG step are taken
# from the same point and state: Momentum adds the gradient at theta, NAG the gradient at the
# look-ahead point (the CS231n picture).

# %%
lab.plot_nesterov_step()

# %% [markdown]
# ## Where momentum is stable
#
# On a quadratic with largest curvature L, heavy-ball momentum is stable for
# eta < 2 (1 + gamma) / L: momentum *raises* the usable learning rate. One `lab.run` call runs the
# whole (eta x gamma) grid; each cell counts the steps to reach the tolerance, and the dashed curve
# is the theoretical limit.

# %%
lab.plot_stability_map("ravine", "momentum")

# %% [markdown]
# ## A race on Rosenbrock
#
# Rosenbrock's curved valley is harder: GD, Momentum and NAG at the same learning rate, 1000 steps
# from (-1.2, 1). The table under the figure is the runs' own display.

# %%
race = lab.run("rosenbrock", [("gd", {"lr": 0.001}), ("momentum", {"lr": 0.001, "gamma": 0.9}),
                              ("nag", {"lr": 0.001, "gamma": 0.9})], steps=1000)
lab.plot_race(race)

# %%
race
