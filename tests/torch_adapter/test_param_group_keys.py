"""Param-group keys: torch.optim's hyperparameters that an adapter lacks are refused by name, with
the lecture's name for them; the keys schedulers, SWA and users add are kept."""

from __future__ import annotations

import copy

import pytest
import torch
from adapter_cases import NAMES, make, make_model, train

import descentlab.torch as dt

# (adapter, torch.optim's key and a value, what the message must say)
REFUSED = [
    ("Momentum", "momentum", 0.9, r"the lecture calls it gamma"),
    ("NAG", "momentum", 0.9, r"the lecture calls it gamma"),
    ("GD", "momentum", 0.9, r"the lecture's gamma of descentlab.torch.Momentum and "
                            r"descentlab.torch.NAG"),
    ("Momentum", "nesterov", True, r"the lecture's Nesterov momentum of descentlab.torch.NAG"),
    ("NAG", "nesterov", True, r"NAG is Nesterov momentum already"),
    ("Adam", "betas", (0.8, 0.99), r"the lecture calls it beta1 and beta2: "
                                   r"\{'beta1': 0.8, 'beta2': 0.99\}"),
    ("Nadam", "betas", (0.8, 0.99), r"beta1 and beta2"),
    ("RMSProp", "alpha", 0.99, r"the lecture calls it gamma"),
    ("AdaDelta", "rho", 0.9, r"the lecture calls it gamma"),
    ("Adagrad", "initial_accumulator_value", 0.1, r"the lecture calls it "
                                                  r"initial_accumulator"),
    ("Adam", "momentum_decay", 0.004, r"descentlab.torch.Nadam"),
    ("GD", "eps", 1e-8, r"the lecture's eps of"),
    ("Adam", "amsgrad", True, r"the lecture's rule has no such option"),
    ("SGD", "dampening", 0.1, r"the lecture's rule has no such option"),
    ("RMSProp", "centered", True, r"no such option"),
    ("Adagrad", "lr_decay", 0.1, r"no such option"),
    *[(name, key, True, r"one implementation, plain tensor arithmetic")
      for name in ("Adam", "GD") for key in ("foreach", "fused", "capturable", "differentiable")],
]
IDS = [f"{n}-{k}" for n, k, _, _ in REFUSED]


@pytest.mark.parametrize(("name", "key", "value", "hint"), REFUSED, ids=IDS)
def test_torch_optim_keys_are_refused_everywhere_with_the_lecture_name(name, key, value, hint):
    p, q = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2))
    head = rf"{name} does not take torch.optim's '{key}'"
    with pytest.raises(ValueError, match=head + r" \(as a keyword\): .*" + hint):
        make(name, [p], **{key: value})
    with pytest.raises(ValueError, match=head + r" \(in param group 0\): .*" + hint):
        make(name, [{"params": [p], key: value}])
    opt = make(name, [p])
    with pytest.raises(ValueError, match=head + r" \(in param group 1\): .*" + hint):
        opt.add_param_group({"params": [q], key: value})
    assert len(opt.param_groups) == 1
    # a key written into a group after the fact: refused at the step, nothing written
    p.grad = torch.ones(3)
    opt.step()
    before = p.detach().clone()
    t = opt.state[p]["t"]
    opt.param_groups[0][key] = value
    with pytest.raises(ValueError, match=head):
        opt.step()
    torch.testing.assert_close(p.detach(), before, rtol=0, atol=0)
    assert opt.state[p]["t"] == t
    del opt.param_groups[0][key]
    opt.step()
    assert opt.state[p]["t"] == t + 1


@pytest.mark.parametrize("name", NAMES)
def test_every_torch_optim_key_the_adapter_lacks_is_refused(name):
    """Every hyperparameter of every torch.optim optimizer in the installed torch, read from their
    signatures here: those the adapter does not take are refused, the others accepted."""
    import inspect

    keys = set()
    for obj in vars(torch.optim).values():
        if isinstance(obj, type) and issubclass(obj, torch.optim.Optimizer):
            keys |= {p.name for p in list(inspect.signature(obj).parameters.values())[1:]}
    own = {h.name for h in getattr(dt, name).rule.hyperparameter_specs()}
    own |= {"weight_decay", "maximize"} | ({"decoupled_weight_decay"}
                                            if name in ("Adam", "Nadam") else set())
    assert {"momentum", "betas", "nesterov", "amsgrad", "foreach", "fused"} <= keys
    p = torch.nn.Parameter(torch.ones(1))
    opt = make(name, [p])
    for key in sorted(keys - own):
        with pytest.raises(ValueError, match=f"does not take torch.optim's '{key}'"):
            opt.add_param_group({"params": [torch.nn.Parameter(torch.ones(1))], key: None})
    assert len(opt.param_groups) == 1
    assert own - keys <= {"gamma", "beta1", "beta2", "variant", "initial_accumulator"}


@pytest.mark.parametrize("name", NAMES)
def test_user_keys_and_param_names_are_kept_as_torch_optim_keeps_them(name):
    model = make_model()
    opt = make(name, [{"params": list(model[0].parameters()), "name": "first", "freeze_at": 3},
                      {"params": list(model[2].parameters()) + list(model[4].parameters())}])
    train(model, opt, steps=2)
    assert opt.param_groups[0]["name"] == "first" and opt.param_groups[0]["freeze_at"] == 3
    model = make_model()
    named = make(name, model.named_parameters())
    assert named.param_groups[0]["param_names"][0] == "0.weight"
    train(model, named, steps=2)
    assert named.state_dict()["param_groups"][0]["param_names"][-1] == "4.bias"


@pytest.mark.parametrize("name", NAMES)
def test_the_keys_schedulers_and_swa_write_are_never_refused(name):
    p = torch.nn.Parameter(torch.ones(1))
    keys = {"initial_lr": 0.1, "max_lr": 0.2, "min_lr": 0.0, "base_lr": 0.01, "swa_lr": 0.05,
            "max_momentum": 0.95, "base_momentum": 0.85}
    opt = make(name, [{"params": [p], **keys}])
    p.grad = torch.ones(1)
    opt.step()
    assert all(opt.param_groups[0][k] == v for k, v in keys.items())


SCHEDULERS = {
    "StepLR": lambda o: torch.optim.lr_scheduler.StepLR(o, 3, gamma=0.5),
    "OneCycleLR": lambda o: torch.optim.lr_scheduler.OneCycleLR(
        o, max_lr=0.02, total_steps=12, cycle_momentum=False),
    "CyclicLR": lambda o: torch.optim.lr_scheduler.CyclicLR(
        o, base_lr=0.001, max_lr=0.02, step_size_up=3, cycle_momentum=False),
    "CosineAnnealingWarmRestarts": lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        o, T_0=4, eta_min=1e-4),
    "SWALR": lambda o: torch.optim.swa_utils.SWALR(o, swa_lr=0.005, anneal_epochs=3),
    "ReduceLROnPlateau": lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, patience=0,
                                                                               min_lr=1e-4),
}


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("name", NAMES)
def test_schedulers_keys_work_and_set_the_lr_of_the_rule(name, scheduler):
    """The keys schedulers and SWA add (initial_lr, max_lr, min_lr, swa_lr, ...) are accepted,
    and the lr they set is the one the step uses: a twin fed the same lrs by hand agrees."""
    model = make_model()
    twin = copy.deepcopy(model)
    opt, manual = make(name, model.parameters()), make(name, twin.parameters())
    sched = SCHEDULERS[scheduler](opt)
    lrs = set()
    for _ in range(12):
        lrs.add(opt.param_groups[0]["lr"])
        manual.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
        for m, o in ((model, opt), (twin, manual)):
            o.zero_grad()
            loss = torch.nn.functional.mse_loss(m(torch.ones(2, 4)), torch.zeros(2, 1))
            loss.backward()
            o.step()
        sched.step(1.0) if scheduler == "ReduceLROnPlateau" else sched.step()  # (no progress)
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert len(lrs) > 2  # the schedule moved the lr


def test_cycling_momentum_is_refused_by_the_scheduler_itself():
    """OneCycleLR and CyclicLR cycle torch's momentum/betas by default; the adapters name them
    gamma/beta1, so torch's scheduler refuses: pass cycle_momentum=False."""
    opt = dt.Adam([torch.nn.Parameter(torch.ones(1))])
    with pytest.raises(ValueError, match="momentum"):
        torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
