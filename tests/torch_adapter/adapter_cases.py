"""Shared cases for the adapter tests: the nine adapters, and pairs with torch.optim's math."""

from __future__ import annotations

import copy

import torch

import descentlab.torch as dt

#: the nine adapters, each with hyperparameters that train the test MLP
NAMES = ["GD", "SGD", "Momentum", "NAG", "Adagrad", "RMSProp", "AdaDelta", "Adam", "Nadam"]
LR = {"GD": 0.05, "SGD": 0.05, "Momentum": 0.05, "NAG": 0.05, "Adagrad": 0.1, "RMSProp": 0.01,
      "AdaDelta": 1.0, "Adam": 0.01, "Nadam": 0.01}


def make(name, params, **kwargs):
    """The adapter ``name`` over ``params``, with an lr that trains the test MLP."""
    return getattr(dt, name)(params, **{"lr": LR[name], **kwargs})


def buf(name):
    return lambda st, hp: st[name]


def _momentum_v(st, hp):
    return hp["lr"] * st["momentum_buffer"]


def _pair(id_, ours, ours_kw, theirs, theirs_kw, state_map):
    """A case: factories that take extra keywords (options, or an lr replacing the case's)."""
    return (id_, lambda p, **o: ours(p, **{**ours_kw, **o}),
            lambda p, **o: theirs(p, **{**theirs_kw, **o}), state_map)


# (id, ours(params, **options), torch.optim's(params, **options), {our state key: torch's state ->
# our form}); ``options`` are keywords both take under the same name: lr, weight_decay, maximize
# (and decoupled_weight_decay for Adam and NAdam)
PAIRS = [
    _pair("GD", dt.GD, {"lr": 0.05}, torch.optim.SGD, {"lr": 0.05}, {}),
    _pair("SGD", dt.SGD, {"lr": 0.05}, torch.optim.SGD, {"lr": 0.05}, {}),
    _pair("Momentum", dt.Momentum, {"lr": 0.05, "gamma": 0.9},
          torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}, {"v": _momentum_v}),
    _pair("NAG", dt.NAG, {"lr": 0.05, "gamma": 0.9},
          torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}, {"v": _momentum_v}),
    _pair("RMSProp", dt.RMSProp, {"lr": 0.01, "gamma": 0.9, "eps": 1e-6},
          torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9, "eps": 1e-6}, {"G": buf("square_avg")}),
    _pair("AdaDelta", dt.AdaDelta, {"gamma": 0.9, "eps": 1e-6},
          torch.optim.Adadelta, {"lr": 1.0, "rho": 0.9, "eps": 1e-6},
          {"G": buf("square_avg"), "s": buf("acc_delta")}),
    _pair("Adam", dt.Adam, {"lr": 0.01, "beta1": 0.8, "beta2": 0.99},
          torch.optim.Adam, {"lr": 0.01, "betas": (0.8, 0.99)},
          {"m": buf("exp_avg"), "v": buf("exp_avg_sq")}),
    _pair("Adagrad-torch", dt.Adagrad,
          {"lr": 0.05, "eps": 1e-10, "variant": "torch", "initial_accumulator": 0.1},
          torch.optim.Adagrad, {"lr": 0.05, "eps": 1e-10, "initial_accumulator_value": 0.1},
          {"G": buf("sum")}),
    _pair("Nadam-torch", dt.Nadam, {"lr": 0.01, "variant": "torch"}, torch.optim.NAdam,
          {"lr": 0.01}, {"m": buf("exp_avg"), "v": buf("exp_avg_sq"),
                         "mu_product": buf("mu_product")}),
]
PAIR_IDS = [p[0] for p in PAIRS]
DECOUPLED = ("Adam", "Nadam-torch")


def make_model(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 8),
                               torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()


def data(seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 4, generator=g, dtype=torch.float64)
    return x, torch.sin(x.sum(1, keepdim=True)) + 0.1 * torch.randn(64, 1, generator=g,
                                                                     dtype=torch.float64)


def loss_of(model, sign=1.0):
    x, y = data()
    return sign * torch.nn.functional.mse_loss(model(x), y)


def train(model, opt, steps=20, sign=1.0, scheduler=None):
    """``steps`` full-batch steps on ``sign * mse``; the mse before each step."""
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_of(model, sign)
        loss.backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(abs(loss.item()))
    return losses


def twins(seed=0):
    model = make_model(seed)
    return model, copy.deepcopy(model)


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-300))


def assert_same_run(model_a, ours, model_b, theirs, state_map, rtol=1e-12):
    """Params, and the state through ``state_map``, to ``rtol`` (relative to the largest entry)."""
    hp = theirs.param_groups[0]
    for pa, pb in zip(model_a.parameters(), model_b.parameters(), strict=True):
        assert rel(pa.detach(), pb.detach()) < rtol
        for name, convert in state_map.items():
            expected, actual = convert(theirs.state[pb], hp), ours.state[pa][name]
            if torch.is_tensor(expected) and expected.ndim:
                assert rel(actual, expected) < rtol, name
            else:
                assert abs(float(actual) - float(expected)) <= 1e-14 * abs(float(expected)), name
