"""weight_decay, maximize and decoupled_weight_decay: torch.optim's options, on every adapter.

They are gradient transforms the adapter applies before the lecture's rule (``g <- -g``, then
``g <- g + weight_decay * theta``; decoupled: ``theta *= 1 - lr * weight_decay`` first), which is
how torch.optim defines them: with them, every adapter whose rule is torch.optim's gives
torch.optim's iterates to float64 round-off, given in the constructor or in a param group.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from adapter_cases import DECOUPLED, NAMES, PAIR_IDS, PAIRS, assert_same_run, make, train, twins

import descentlab.torch as dt

OPTIONS = [
    pytest.param({"weight_decay": 0.05}, id="weight_decay"),
    pytest.param({"maximize": True}, id="maximize"),
    pytest.param({"weight_decay": 0.05, "maximize": True}, id="both"),
]


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("pair", PAIRS, ids=PAIR_IDS)
def test_options_match_torch_optim(pair, options):
    """20 full-batch steps of the MLP (maximize: of -mse, so both still train)."""
    _, ours_factory, torch_factory, state_map = pair
    model_a, model_b = twins()
    ours = ours_factory(model_a.parameters(), **options)
    theirs = torch_factory(model_b.parameters(), **options)
    sign = -1.0 if options.get("maximize") else 1.0
    losses_a = train(model_a, ours, sign=sign)
    losses_b = train(model_b, theirs, sign=sign)
    assert losses_a[-1] < losses_a[0]
    np.testing.assert_allclose(losses_a, losses_b, rtol=1e-12)
    assert_same_run(model_a, ours, model_b, theirs, state_map)


@pytest.mark.parametrize("pair", [p for p in PAIRS if p[0] in DECOUPLED],
                         ids=[i for i in PAIR_IDS if i in DECOUPLED])
@pytest.mark.parametrize("maximize", [False, True])
def test_decoupled_weight_decay_matches_torch_optim(pair, maximize):
    """Adam's and Nadam's decoupled_weight_decay=True, as torch.optim.Adam's and NAdam's
    (torch.optim.AdamW for Adam)."""
    _, ours_factory, torch_factory, state_map = pair
    model_a, model_b = twins()
    options = {"weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": maximize}
    ours = ours_factory(model_a.parameters(), **options)
    theirs = torch_factory(model_b.parameters(), **options)
    sign = -1.0 if maximize else 1.0
    np.testing.assert_allclose(train(model_a, ours, sign=sign), train(model_b, theirs, sign=sign),
                               rtol=1e-12)
    assert_same_run(model_a, ours, model_b, theirs, state_map)
    if pair[0] == "Adam":  # and AdamW is the same thing
        model_c = twins()[1]
        adamw = torch.optim.AdamW(model_c.parameters(), lr=0.01, betas=(0.8, 0.99),
                                  weight_decay=0.1, maximize=maximize)
        train(model_c, adamw, sign=sign)
        assert_same_run(model_a, ours, model_c, adamw, state_map)


@pytest.mark.parametrize("pair", PAIRS, ids=PAIR_IDS)
def test_no_decay_param_group_matches_torch_optim(pair):
    """The usual setup: decay on the weights, a group without it for the biases. The group's
    weight_decay used to be accepted and ignored (every parameter trained without decay)."""
    _, ours_factory, torch_factory, state_map = pair

    def groups(model):
        weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
        biases = [p for n, p in model.named_parameters() if n.endswith("bias")]
        return [{"params": weights}, {"params": biases, "weight_decay": 0.0, "maximize": True}]

    model_a, model_b = twins()
    ours = ours_factory(groups(model_a), weight_decay=0.2)
    theirs = torch_factory(groups(model_b), weight_decay=0.2)
    train(model_a, ours, steps=10)
    train(model_b, theirs, steps=10)
    assert [g["weight_decay"] for g in ours.param_groups] == [0.2, 0.0]
    assert_same_run(model_a, ours, model_b, theirs, state_map)
    model_c = twins()[0]  # and the options changed the run
    train(model_c, ours_factory(groups(model_c)), steps=10)
    assert not torch.equal(model_c[0].weight, model_a[0].weight)


@pytest.mark.parametrize("name", NAMES)
def test_options_in_the_constructor_and_in_a_group_agree(name):
    model_a, model_b = twins()
    opts = {"weight_decay": 0.1, "maximize": True}
    a = make(name, model_a.parameters(), **opts)
    b = make(name, [{"params": model_b.parameters(), **opts}])
    train(model_a, a, steps=5, sign=-1.0)
    train(model_b, b, steps=5, sign=-1.0)
    for p, q in zip(model_a.parameters(), model_b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_weight_decay_by_hand_on_the_first_step(name):
    """A zero loss gradient: the step is the rule's first step on g = wd * theta alone, and
    maximize flips the loss gradient only, not the decay (torch.optim's order)."""
    p = torch.nn.Parameter(torch.tensor([2.0, -1.0]))
    q = torch.nn.Parameter(torch.tensor([2.0, -1.0]))
    opt = make(name, [p], weight_decay=0.5)
    ref = make(name, [q])
    p.grad = torch.zeros(2)
    q.grad = 0.5 * q.detach().clone()
    opt.step()
    ref.step()
    torch.testing.assert_close(p, q, rtol=0, atol=0)
    p.grad = torch.tensor([1.0, 1.0])
    q.grad = -torch.tensor([1.0, 1.0]) + 0.5 * q.detach()
    opt.param_groups[0]["maximize"] = True
    opt.step()
    ref.step()
    torch.testing.assert_close(p, q, rtol=0, atol=1e-15)
    assert torch.equal(p.grad, torch.tensor([1.0, 1.0]))  # p.grad itself is never written


def test_decoupled_decay_by_hand():
    """theta *= 1 - lr * wd, then Adam's first step lr * sign(g): 1 * (1 - 0.1 * 0.5) - 0.1."""
    p = torch.nn.Parameter(torch.tensor([1.0]))
    opt = dt.Adam([p], lr=0.1, eps=0.0, weight_decay=0.5, decoupled_weight_decay=True)
    p.grad = torch.tensor([3.0])
    opt.step()
    torch.testing.assert_close(p.detach(), torch.tensor([0.85]), rtol=1e-15, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_bad_option_values_are_refused_before_anything_is_written(name):
    p = torch.nn.Parameter(torch.ones(2))
    for bad, match in [({"weight_decay": -0.1}, r"'weight_decay' parameter of \w+ must be a "
                        r"float in the range \[0.0, inf\)"),
                       ({"weight_decay": float("nan")}, "'weight_decay' parameter"),
                       ({"weight_decay": torch.tensor(0.1)}, "'weight_decay' parameter"),
                       ({"weight_decay": [0.1]}, "'weight_decay' parameter .* got list"),
                       ({"weight_decay": True}, "'weight_decay' parameter"),
                       ({"maximize": 1}, "'maximize' parameter of .* must be True or False"),
                       ({"maximize": "yes"}, "'maximize' parameter")]:
        with pytest.raises(ValueError, match=match):
            make(name, [p], **bad)
        opt = make(name, [p])
        with pytest.raises(ValueError, match=match):
            opt.add_param_group({"params": [torch.nn.Parameter(torch.ones(1))], **bad})
        assert len(opt.param_groups) == 1
        p.grad = torch.ones(2)
        opt.step()
        before = p.detach().clone()
        state = {k: v.clone() if torch.is_tensor(v) else v for k, v in opt.state[p].items()}
        key = next(iter(bad))
        old = opt.param_groups[0][key]
        opt.param_groups[0][key] = bad[key]  # what a user (or a schedule) may do
        with pytest.raises(ValueError, match=match):
            opt.step()
        torch.testing.assert_close(p.detach(), before, rtol=0, atol=0)
        assert opt.state[p]["t"] == state["t"] == 1
        opt.param_groups[0][key] = old


@pytest.mark.parametrize("name", ["GD", "Momentum", "NAG", "Adagrad", "RMSProp", "AdaDelta"])
def test_decoupled_weight_decay_is_refused_where_torch_optim_has_none(name):
    with pytest.raises(ValueError, match=r"does not take torch.optim's 'decoupled_weight_decay'"
                                         r" \(as a keyword\): it is the lecture's "
                                         "decoupled_weight_decay of descentlab.torch.Adam"):
        make(name, [torch.nn.Parameter(torch.ones(1))], decoupled_weight_decay=True)


def test_defaults_hold_the_options():
    opt = dt.Adam([torch.nn.Parameter(torch.ones(1))])
    assert {k: opt.defaults[k] for k in ("weight_decay", "maximize", "decoupled_weight_decay")} == {
        "weight_decay": 0.0, "maximize": False, "decoupled_weight_decay": False}
    assert "decoupled_weight_decay" not in dt.GD([torch.nn.Parameter(torch.ones(1))]).defaults
