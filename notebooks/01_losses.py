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
# # 1. Loss functions: MAE, MSE, Huber, cross-entropy and KL
#
# A loss function scores how far a prediction is from the truth; training follows its gradient.
# The lecture's first example: the truth is 500, the model predicts 350, so the "difference" is
# 150. *How* that difference is turned into a number decides what the model cares about.
#
# Every loss in `descentlab.losses` is a plain function `loss(y_true, y_pred)` with its
# derivative `loss.grad(y_true, y_pred)` (dLoss/dy_pred), written with the lecture's formulas.

# %%
import numpy as np

from descentlab import lab, losses

y_true, y_pred = np.array([500.0]), np.array([350.0])
print("MAE   ", losses.mae(y_true, y_pred))      # |500 - 350|
print("MSE   ", losses.mse(y_true, y_pred))      # (500 - 350)^2
print("Huber ", losses.huber(y_true, y_pred, delta=1.0))  # quadratic near 0, linear beyond delta

# %% [markdown]
# ## MAE, MSE and Huber
#
# MSE squares the residual: big errors dominate, and its gradient shrinks as the fit improves, so
# it converges smoothly. MAE counts every unit of error the same: robust to outliers, but its
# gradient never shrinks (it is the sign of the residual), so plain gradient descent keeps
# jumping around the minimum. Huber is MSE inside `delta` and MAE outside. The gradients below
# are the library's `loss.grad`; we check one against a finite difference.

# %%
r = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])        # residuals y_pred - y_true
zero = np.zeros_like(r)
for name in ("mae", "mse", "huber"):
    loss = getattr(losses, name)
    print(f"{name:>5} grad: {loss.grad(zero, r, reduction='sum')}")

h = 1e-6 * np.eye(len(r))[1]                     # nudge the second residual only
fd = (losses.huber(zero, r + h, reduction="sum")
      - losses.huber(zero, r - h, reduction="sum")) / 2e-6
grad = losses.huber.grad(zero, r, reduction="sum")[1]
print(f"Huber at r = -0.5: finite difference {fd:.6f}, grad {grad}")

# %%
lab.plot_loss_curves()

# %% [markdown]
# What an outlier does: the same noisy line with a few points pulled far below it, fitted by
# gradient descent (Adam) under each loss. MSE tilts towards the outliers; MAE and Huber mostly
# ignore them. The slopes each fit found are in the figure's `measured` numbers.

# %%
fig = lab.plot_outlier_fit()
print("true slope", fig.measured["true_slope"])
print({name: round(float(s), 3) for name, s in fig.measured["slopes"].items()})
fig

# %% [markdown]
# ## Cross-entropy: the lecture's worked example
#
# Cross-entropy H(P, Q) = -sum P(x) log Q(x) compares a predicted distribution Q with the label P.
# With the one-hot label [0, 1]: predicting [0, 1] costs 0 (the term 0 * log 0 counts as 0), and
# predicting [1, 0] costs infinity. The library reproduces both, without NaN; working from logits
# instead of probabilities gives a large but finite cost.

# %%
print(losses.cross_entropy([0, 1], [0.0, 1.0]))                       # 0.0
print(losses.cross_entropy([0, 1], [1.0, 0.0]))                       # inf
print(losses.cross_entropy([1], [[9.0, -9.0]], from_logits=True))      # about 18: the logit gap
print(losses.cross_entropy.grad([0, 1], [0.5, 0.5]))                  # d/dq of -log q_1

# %%
lab.plot_cross_entropy()

# %% [markdown]
# ## KL divergence = cross-entropy - entropy
#
# KL(p || q) = H(p, q) - H(p): the extra cost of coding p with q. It is 0 exactly when q = p and
# it is not symmetric. We check the identity on a few distributions, then plot it.

# %%
p = np.array([0.3, 0.7])
for q in ([0.3, 0.7], [0.5, 0.5], [0.9, 0.1]):
    q = np.array(q)
    kl = losses.kl_div(p, q)
    identity = losses.cross_entropy(p, q) - losses.entropy(p)
    print(f"q={q}: KL(p||q)={float(kl):.4f}  H(p,q)-H(p)={float(identity):.4f}  "
          f"KL(q||p)={float(losses.kl_div(q, p)):.4f}")

# %%
lab.plot_kl_divergence()
