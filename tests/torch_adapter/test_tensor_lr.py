"""A tensor lr: the rule reads the tensor itself at every step, so schedulers that change it in
place are followed, and under torch.compile a schedule does not recompile the step."""

from __future__ import annotations

import copy

import pytest
import torch
from adapter_cases import LR, NAMES, PAIRS, assert_same_run, make, make_model, train

import descentlab.torch as dt


def test_the_issue_s_repro_gives_torch_optim_s_result():
    """StepLR fills the tensor in place; the stale rule kept lr = 0.1 (w = -0.300)."""
    results = []
    for cls in (dt.GD, torch.optim.SGD):
        w = torch.nn.Parameter(torch.zeros(1))
        o = cls([{"params": [w], "lr": torch.tensor(0.1)}])
        s = torch.optim.lr_scheduler.StepLR(o, 1, gamma=0.1)
        for _ in range(3):
            w.grad = torch.ones(1)
            o.step()
            s.step()
        results.append(w.item())
    assert results[0] == results[1]
    assert abs(results[0] - -0.111) < 1e-9


# with a changing lr, the lecture's Momentum (v = gamma v + lr g) is not torch's (b = gamma b + g,
# steps lr b): see descentlab.optim.Momentum; test_tensor_lr_steps_as_the_same_float_lr covers them
SCHEDULED = [p for p in PAIRS if p[0] not in ("Momentum", "NAG")]


@pytest.mark.parametrize("where", ["constructor", "group"])
@pytest.mark.parametrize("pair", SCHEDULED, ids=[p[0] for p in SCHEDULED])
def test_scheduled_tensor_lr_matches_torch_optim(pair, where):
    _, ours_factory, torch_factory, state_map = pair
    model_a = make_model()
    model_b = copy.deepcopy(model_a)
    opts = []
    for model, factory in ((model_a, ours_factory), (model_b, torch_factory)):
        lr = torch.tensor(1.0 if pair[0] == "AdaDelta" else 0.01)
        if where == "constructor":
            opts.append(factory(model.parameters(), lr=lr))
        else:
            opts.append(factory([{"params": model.parameters(), "lr": lr}]))
    scheds = [torch.optim.lr_scheduler.StepLR(o, 4, gamma=0.5) for o in opts]
    train(model_a, opts[0], steps=12, scheduler=scheds[0])
    train(model_b, opts[1], steps=12, scheduler=scheds[1])
    assert torch.is_tensor(opts[0].param_groups[0]["lr"])
    assert float(opts[0].param_groups[0]["lr"]) < 0.2 * float(scheds[0].base_lrs[0])
    assert_same_run(model_a, opts[0], model_b, opts[1], state_map)


@pytest.mark.parametrize("name", NAMES)
def test_tensor_lr_steps_as_the_same_float_lr(name):
    """The rule's arithmetic with hp.lr a 0-d float64 tensor is the float's, to round-off (torch
    divides a Python float by a tensor and a tensor by a tensor in different kernels)."""
    model_a = make_model()
    model_b = copy.deepcopy(model_a)
    a = make(name, model_a.parameters(), lr=torch.tensor(LR[name], dtype=torch.float64))
    b = make(name, model_b.parameters())
    for k in range(6):
        a.param_groups[0]["lr"].fill_(LR[name] / (k + 1))  # in place, as schedulers do
        b.param_groups[0]["lr"] = LR[name] / (k + 1)
        train(model_a, a, steps=1)
        train(model_b, b, steps=1)
    for p, q in zip(model_a.parameters(), model_b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("name", NAMES)
def test_bad_tensor_lrs_are_refused(name):
    p = torch.nn.Parameter(torch.ones(2))
    for bad, match in [(torch.tensor([0.1, 0.2]), "Tensor lr must be 1-element"),
                       (torch.tensor(1), "real floating dtype"),
                       (torch.tensor(-0.1), r"'lr' parameter of \w+ must be a float in the range"),
                       (torch.tensor(float("nan")), "Got nan")]:
        with pytest.raises(ValueError, match=match):
            make(name, [p], lr=bad)
        with pytest.raises(ValueError, match=match):
            make(name, [{"params": [p], "lr": bad}])
    others = [h for h in getattr(dt, name).rule.hyperparameter_specs()
              if h.name != "lr" and not isinstance(h.default, str)]
    for h in others:  # a tensor elsewhere would be read once, not followed: refused
        with pytest.raises(ValueError, match=f"'{h.name}' parameter of {name} must be a Python "
                                             "float; got a tensor .* Only lr may be a tensor"):
            make(name, [p], **{h.name: torch.tensor(float(h.default))})


@pytest.mark.parametrize("name", NAMES)
def test_a_cpu_tensor_lr_changed_in_place_is_checked_before_the_step(name):
    """Outside torch.compile, a CPU tensor lr is read and checked at every step: driven out of
    range in place, the step is refused and nothing is written."""
    p = torch.nn.Parameter(torch.ones(2))
    lr = torch.tensor(0.1)
    opt = make(name, [p], lr=lr)
    p.grad = torch.ones(2)
    opt.step()
    before, t = p.detach().clone(), opt.state[p]["t"]
    lr.fill_(-1.0)
    with pytest.raises(ValueError, match=r"'lr' parameter of \w+ must be a float in the range"):
        opt.step()
    torch.testing.assert_close(p.detach(), before, rtol=0, atol=0)
    assert opt.state[p]["t"] == t
    lr.fill_(0.05)
    opt.step()
    assert opt.state[p]["t"] == t + 1


def test_a_tensor_lr_is_checked_when_the_group_gets_a_new_one():
    """A CPU lr works with parameters on any device (meta stands in for a GPU); a new tensor
    object in a group is checked at the next step, and one whose value cannot be read is
    refused. (A readable lr on a device other than the parameters' is refused too; no second
    device to test that with here.)"""
    p = torch.nn.Parameter(torch.ones(2))
    opt = dt.Adam([p], lr=torch.tensor(0.1))
    opt.param_groups[0]["lr"] = torch.tensor(0.1)  # a new object: validated again
    p.grad = torch.ones(2)
    opt.step()
    meta = torch.nn.Parameter(torch.ones(2, device="meta"))
    opt2 = dt.GD([{"params": [meta], "lr": torch.tensor(0.1)}])  # CPU lr, meta param: fine
    meta.grad = torch.empty(2, device="meta")
    opt2.step()
    lr_meta = torch.empty((), device="meta")
    opt3 = dt.GD([p], lr=0.1)
    opt3.param_groups[0]["lr"] = lr_meta
    with pytest.raises(ValueError, match="is a tensor on meta whose value cannot be read"):
        opt3.step()
    with pytest.raises(ValueError, match="is a tensor on meta whose value cannot be read"):
        dt.GD([p], lr=lr_meta)
    t = opt.state[p]["t"]
    opt.add_param_group({"params": [torch.nn.Parameter(torch.ones(1))]})
    opt.param_groups[0]["lr"] = torch.tensor(0.1)
    opt.step()
    assert opt.state[p]["t"] == t + 1


def _compile_counts(name, lr, steps=8, scheduler=True):
    """Frames compiled by ``torch.compile(lambda opt: opt.step())`` over ``steps`` steps, and the
    params against an eager twin."""
    from torch._dynamo.testing import CompileCounter

    torch._dynamo.reset()
    model = torch.nn.Linear(3, 2)
    twin = copy.deepcopy(model)
    opt = make(name, model.parameters(), lr=lr() if callable(lr) else lr, weight_decay=0.01)
    ref = make(name, twin.parameters(), lr=lr() if callable(lr) else lr, weight_decay=0.01)
    scheds = [torch.optim.lr_scheduler.StepLR(o, 1, gamma=0.8) for o in (opt, ref)]
    counter = CompileCounter()
    step = torch.compile(lambda o: o.step(), backend=counter)
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    for k in range(steps):
        for m, o, compiled in ((model, opt, True), (twin, ref, False)):
            o.zero_grad()
            m(x).pow(2).sum().backward()
            if k == 0 or not compiled:  # the first step creates the state, in eager mode
                o.step()
            else:
                step(o)
        if scheduler:
            for s in scheds:
                s.step()
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-15)
    return counter.frame_count


@pytest.mark.parametrize("name", NAMES)
def test_compiled_step_with_a_scheduled_tensor_lr_does_not_recompile(name):
    """torch's CompileCounter: one graph for the first compiled step, one more when the step
    count t turns dynamic, then none for the rest of the schedule; the params are eager's.
    A float lr, which dynamo guards on, recompiles as the schedule changes it."""
    pytest.importorskip("torch._dynamo")
    assert _compile_counts(name, lambda: torch.tensor(LR[name]), steps=10) <= 2
    if name == "Adam":
        assert _compile_counts(name, LR[name], steps=6) >= 4


@pytest.mark.parametrize("name", ["Adam", "NAG", "Nadam"])
def test_compiled_step_has_no_graph_break(name):
    model = torch.nn.Linear(3, 2)
    opt = make(name, model.parameters(), lr=torch.tensor(0.01), weight_decay=0.01,
               maximize=True)
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    explained = torch._dynamo.explain(lambda o: o.step())(opt)
    assert explained.graph_break_count == 0 and explained.graph_count == 1
    assert all(p.grad is not None for p in model.parameters())
