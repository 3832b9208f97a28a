"""The behaviours torch's own optimizer tests check for every torch.optim optimizer (torch's
test/test_optim.py with torch/testing/_internal/common_optimizers.py), on all nine adapters:
checkpoints, copies, param groups, closures, zero_grad, hooks, parameters without gradients,
empty groups, non-contiguous gradients, zero gradients, direction, dtypes, printing."""

from __future__ import annotations

import copy
import io

import pytest
import torch
from adapter_cases import LR, NAMES, loss_of, make, make_model, train
from torch.optim.optimizer import register_optimizer_step_post_hook

pytestmark = pytest.mark.parametrize("name", NAMES)


def snapshot(opt):
    buffer = io.BytesIO()
    torch.save(opt.state_dict(), buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def assert_same_params(a, b):
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_state_dict_loads_into_a_fresh_optimizer_and_resumes_identically(name):
    model = make_model()
    opt = make(name, model.parameters(), weight_decay=0.01)
    train(model, opt, steps=3)
    ckpt = {"model": copy.deepcopy(model.state_dict()), "opt": snapshot(opt)}
    resumed_model = make_model(seed=7)
    resumed_model.load_state_dict(ckpt["model"])
    resumed = make(name, resumed_model.parameters(), lr=0.5 * LR[name])  # overwritten by the load
    resumed.load_state_dict(ckpt["opt"])
    assert resumed.param_groups[0]["lr"] == LR[name]
    assert resumed.param_groups[0]["weight_decay"] == 0.01
    train(model, opt, steps=3)
    train(resumed_model, resumed, steps=3)
    assert_same_params(model, resumed_model)


def test_state_dict_is_deterministic(name):
    """Saving twice gives the same; loading then saving gives it back."""
    model = make_model()
    opt = make(name, model.parameters())
    train(model, opt, steps=2)
    first, second = opt.state_dict(), opt.state_dict()
    other = make(name, make_model().parameters())
    other.load_state_dict(snapshot(opt))
    for sd in (second, other.state_dict()):
        assert sd["param_groups"] == first["param_groups"]
        assert sd["state"].keys() == first["state"].keys()
        for i, st in first["state"].items():
            for k, v in st.items():
                assert torch.equal(torch.as_tensor(sd["state"][i][k]), torch.as_tensor(v)), k


def test_an_older_state_dict_without_the_options_loads(name):
    """A checkpoint saved before weight_decay and maximize existed: its groups get the defaults."""
    model = make_model()
    opt = make(name, model.parameters())
    train(model, opt, steps=2)
    old = snapshot(opt)
    for group in old["param_groups"]:
        for key in ("weight_decay", "maximize", "decoupled_weight_decay"):
            group.pop(key, None)
    other = make(name, model.parameters())
    other.load_state_dict(old)
    assert other.param_groups[0]["weight_decay"] == 0.0
    assert other.param_groups[0]["maximize"] is False
    train(model, other, steps=1)
    assert other.state[next(model.parameters())]["t"] == 3


def test_loading_a_state_dict_with_torch_optim_keys_is_refused_and_changes_nothing(name):
    model = make_model()
    opt = make(name, model.parameters())
    train(model, opt, steps=1)
    sd = snapshot(opt)
    sd["param_groups"][0]["amsgrad"] = True
    before = opt.state_dict()
    with pytest.raises(ValueError, match="does not take torch.optim's 'amsgrad'"):
        opt.load_state_dict(sd)
    assert opt.state_dict()["param_groups"] == before["param_groups"]
    assert "amsgrad" not in opt.param_groups[0]


def test_deepcopy_copies_every_public_attribute_and_steps_on_its_own(name):
    model = make_model()
    opt = make(name, model.parameters())
    train(model, opt, steps=2)
    pair = copy.deepcopy({"model": model, "opt": opt})
    twin, twin_opt = pair["model"], pair["opt"]
    assert twin_opt.defaults == opt.defaults  # (torch's unpickling adds "differentiable")
    assert [{k: v for k, v in g.items() if k != "params"} for g in twin_opt.param_groups] == [
        {k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    train(twin, twin_opt, steps=2)
    p, q = next(model.parameters()), next(twin.parameters())
    assert opt.state[p]["t"] == 2 and twin_opt.state[q]["t"] == 4
    train(model, opt, steps=2)
    assert_same_params(model, twin)
    extra = torch.nn.Parameter(torch.ones(2))  # the copy takes new groups
    twin_opt.add_param_group({"params": [extra]})
    extra.grad = torch.ones(2)
    twin_opt.step()
    assert twin_opt.state[extra]["t"] == 1


def test_param_groups_with_different_hyperparameters_equal_separate_optimizers(name):
    model = make_model()
    twin = copy.deepcopy(model)
    g1 = {"params": list(model[0].parameters()), "lr": 0.5 * LR[name], "weight_decay": 0.1}
    g2 = {"params": list(model[2].parameters()) + list(model[4].parameters())}
    opt = make(name, [g1, g2], maximize=False)
    a = make(name, list(twin[0].parameters()), lr=0.5 * LR[name], weight_decay=0.1)
    b = make(name, list(twin[2].parameters()) + list(twin[4].parameters()))

    class Both:
        def zero_grad(self):
            a.zero_grad()
            b.zero_grad()

        def step(self):
            a.step()
            b.step()

    train(model, opt, steps=4)
    train(twin, Both(), steps=4)
    assert_same_params(model, twin)


def test_closure_is_called_once_and_its_loss_returned(name):
    model = make_model()
    opt = make(name, model.parameters())
    calls = []

    def closure():
        calls.append(1)
        opt.zero_grad()
        loss = loss_of(model)
        loss.backward()
        return loss

    first = opt.step(closure)
    for _ in range(10):
        last = opt.step(closure)
    assert len(calls) == 11 and torch.is_tensor(first)
    assert last.item() < first.item()


def test_zero_grad_sets_to_none_or_to_zero(name):
    model = make_model()
    opt = make(name, model.parameters())
    loss_of(model).backward()
    opt.zero_grad(set_to_none=False)
    assert all(torch.equal(p.grad, torch.zeros_like(p)) for p in model.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_step_hooks_run_around_the_step(name):
    """A pre-hook that halves the gradients gives the step of the halved gradients; a post-hook
    sees the stepped parameters; removed hooks no longer run; the global hooks too."""
    model = make_model()
    twin = copy.deepcopy(model)
    opt, ref = make(name, model.parameters()), make(name, twin.parameters())
    seen = []

    def halve(optimizer, args, kwargs):
        for group in optimizer.param_groups:
            for p in group["params"]:
                p.grad.mul_(0.5)

    def after(optimizer, args, kwargs):
        seen.append(optimizer.state[next(model.parameters())]["t"])

    handles = [opt.register_step_pre_hook(halve), opt.register_step_post_hook(after)]
    global_calls = []
    global_handle = register_optimizer_step_post_hook(
        lambda o, a, k: global_calls.append(type(o).__name__))
    try:
        for _ in range(2):
            for m, o, scale in ((model, opt, 1.0), (twin, ref, 0.5)):
                o.zero_grad()
                (scale * loss_of(m)).backward()
                o.step()
    finally:
        global_handle.remove()
    assert_same_params(model, twin)
    assert seen == [1, 2] and global_calls.count(name) == 4
    for h in handles:
        h.remove()
    train(model, opt, steps=1)
    assert seen == [1, 2]


def test_state_dict_hooks_run(name):
    model = make_model()
    opt = make(name, model.parameters())
    train(model, opt, steps=1)
    calls = []
    opt.register_state_dict_pre_hook(lambda o: calls.append("pre"))
    opt.register_state_dict_post_hook(lambda o, sd: sd.setdefault("note", "saved") and None)
    sd = opt.state_dict()
    assert calls == ["pre"] and sd["note"] == "saved"
    other = make(name, model.parameters())

    def pre_load(o, state_dict):
        calls.append("pre_load")
        state_dict = dict(state_dict)
        state_dict.pop("note")
        return state_dict

    other.register_load_state_dict_pre_hook(pre_load)
    other.register_load_state_dict_post_hook(lambda o: calls.append("post_load"))
    other.load_state_dict(sd)
    assert calls == ["pre", "pre_load", "post_load"]


def test_parameters_without_gradients_are_left_alone(name):
    model = make_model()
    frozen = model[0].weight
    frozen.requires_grad_(False)
    before = frozen.detach().clone()
    opt = make(name, model.parameters())
    train(model, opt, steps=3)
    assert frozen not in opt.state
    torch.testing.assert_close(frozen, before, rtol=0, atol=0)
    assert opt.state[model[0].bias]["t"] == 3
    opt.zero_grad()
    opt.step()  # no gradient anywhere: nothing moves, nothing counts
    assert opt.state[model[0].bias]["t"] == 3


def test_empty_groups_and_empty_parameter_lists(name):
    with pytest.raises(ValueError, match="empty parameter list"):
        make(name, [])
    model = make_model()
    opt = make(name, model.parameters())
    opt.add_param_group({"params": []})
    train(model, opt, steps=2)
    assert len(opt.param_groups) == 2 and opt.param_groups[1]["params"] == []


def test_non_contiguous_gradients_step_as_contiguous_ones(name):
    g = torch.Generator().manual_seed(0)
    p = torch.nn.Parameter(torch.randn(5, 4, generator=g))
    q = torch.nn.Parameter(p.detach().clone())
    a, b = make(name, [p], weight_decay=0.01), make(name, [q], weight_decay=0.01)
    for _ in range(3):
        grad = torch.randn(4, 5, generator=g)
        p.grad = grad.t()  # a transposed view: not contiguous
        q.grad = grad.t().contiguous()
        assert not p.grad.is_contiguous()
        a.step()
        b.step()
    torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_zero_gradients_from_a_fresh_state_do_not_move_the_parameters(name):
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0]))
    opt = make(name, [p])
    for _ in range(3):
        p.grad = torch.zeros(3)
        opt.step()
    torch.testing.assert_close(p.detach(), torch.tensor([1.0, -2.0, 3.0]), rtol=0, atol=0)


@pytest.mark.parametrize("maximize", [False, True])
def test_goes_the_right_direction(name, maximize):
    """On J = |w - 1|^2 from 0: J falls; with maximize=True on the same J, J rises."""
    w = torch.nn.Parameter(torch.zeros(3))
    opt = make(name, [w], maximize=maximize, weight_decay=0.001)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = (w - 1).pow(2).sum()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert (losses[-1] > losses[0]) == maximize and losses[-1] != losses[0]


def test_mixed_dtypes_in_one_group_keep_their_dtypes(name):
    a = torch.nn.Parameter(torch.ones(3, dtype=torch.float32))
    b = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    c = torch.nn.Parameter(torch.ones(3, dtype=torch.complex64))
    opt = make(name, [a, b, c])
    for p in (a, b, c):
        p.grad = torch.ones_like(p)
    opt.step()
    for p in (a, b, c):
        assert p.dtype == p.grad.dtype
        assert all(opt.state[p][k].dtype == p.dtype for k in opt.rule.buffers)
    torch.testing.assert_close(a.detach().double(), b.detach(), rtol=1e-6, atol=1e-7)


def test_integer_parameters_are_refused_with_the_dtypes_that_work(name):
    p = torch.ones(2, dtype=torch.int64)
    opt = make(name, [p])
    p.grad = torch.ones(2, dtype=torch.int64)
    with pytest.raises(ValueError, match=r"real floating or complex dtype.*got torch.int64"):
        opt.step()
    assert torch.equal(p, torch.ones(2, dtype=torch.int64)) and not opt.state


def test_the_optimizer_prints(name):
    opt = make(name, [torch.nn.Parameter(torch.ones(1))], weight_decay=0.1)
    text = repr(opt)
    assert text.startswith(name) and "weight_decay: 0.1" in text and f"lr: {LR[name]}" in text


def test_gradient_scaling_gives_the_unscaled_step(name):
    """torch.amp.GradScaler unscales the gradients before the adapter's step."""
    model = make_model().float()
    twin = copy.deepcopy(model)
    opt, ref = make(name, model.parameters()), make(name, twin.parameters())
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    x, y = torch.ones(4, 4, dtype=torch.float32), torch.zeros(4, 1, dtype=torch.float32)
    for _ in range(3):
        opt.zero_grad()
        scaler.scale(torch.nn.functional.mse_loss(model(x), y)).backward()
        scaler.step(opt)
        scaler.update()
        ref.zero_grad()
        torch.nn.functional.mse_loss(twin(x), y).backward()
        ref.step()
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
