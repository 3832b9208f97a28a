"""descentlab.torch: torch.optim.Optimizer subclasses that run descentlab.optim's rules."""

from __future__ import annotations

import copy
import io

import numpy as np
import pytest
import torch
from adapter_cases import data, make_model

import descentlab.torch as dt
from descentlab import optim

STEPS = 60
RTOL = 1e-12


@pytest.fixture(autouse=True)
def float64_default():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # torch.optim's scalar state (NAdam) in float64
    yield
    torch.set_default_dtype(old)


def train(model, opt, steps=STEPS, batch=None):
    x, y = data()
    losses = []
    for k in range(steps):
        idx = slice(None) if batch is None else slice((k * batch) % 64, (k * batch) % 64 + batch)
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-300))


def buf(name):
    return lambda st, hp: st[name]


# (id, descentlab.torch factory, torch.optim factory, {our state key: torch state -> our form})
PAIRS = [
    ("GD", lambda p: dt.GD(p, lr=0.05), lambda p: torch.optim.SGD(p, lr=0.05), {}),
    ("Momentum", lambda p: dt.Momentum(p, lr=0.05, gamma=0.9),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
     {"v": lambda st, hp: hp["lr"] * st["momentum_buffer"]}),
    ("NAG", lambda p: dt.NAG(p, lr=0.05, gamma=0.9),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
     {"v": lambda st, hp: hp["lr"] * st["momentum_buffer"]}),
    ("RMSProp", lambda p: dt.RMSProp(p, lr=0.01, gamma=0.9, eps=1e-6),
     lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-6), {"G": buf("square_avg")}),
    ("AdaDelta", lambda p: dt.AdaDelta(p, gamma=0.9, eps=1e-6),
     lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.9, eps=1e-6),
     {"G": buf("square_avg"), "s": buf("acc_delta")}),
    ("Adam", lambda p: dt.Adam(p, lr=0.01, beta1=0.8, beta2=0.99),
     lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99)),
     {"m": buf("exp_avg"), "v": buf("exp_avg_sq")}),
    ("Adagrad-torch", lambda p: dt.Adagrad(p, lr=0.05, eps=1e-10, variant="torch",
                                           initial_accumulator=0.1),
     lambda p: torch.optim.Adagrad(p, lr=0.05, eps=1e-10, initial_accumulator_value=0.1),
     {"G": buf("sum")}),
    ("Nadam-torch", lambda p: dt.Nadam(p, lr=0.01, variant="torch"),
     lambda p: torch.optim.NAdam(p, lr=0.01), {"m": buf("exp_avg"), "v": buf("exp_avg_sq"),
                                               "mu_product": buf("mu_product")}),
]


@pytest.mark.parametrize("pair", PAIRS, ids=[p[0] for p in PAIRS])
def test_mlp_parity_with_torch_optim(pair):
    """A 4-16-8-1 MLP, float64, minibatches of 16, 60 steps: params and state to round-off."""
    _, ours_factory, torch_factory, state_map = pair
    model_a = make_model()
    model_b = copy.deepcopy(model_a)
    ours, theirs = ours_factory(model_a.parameters()), torch_factory(model_b.parameters())
    losses_a = train(model_a, ours, batch=16)
    losses_b = train(model_b, theirs, batch=16)
    assert losses_a[-1] < losses_a[0]
    np.testing.assert_allclose(losses_a, losses_b, rtol=RTOL)
    hp = theirs.param_groups[0]
    for pa, pb in zip(model_a.parameters(), model_b.parameters(), strict=True):
        assert rel(pa.detach(), pb.detach()) < RTOL
        sa, sb = ours.state[pa], theirs.state[pb]
        assert sa["t"] == STEPS
        for name, convert in state_map.items():
            expected = convert(sb, hp)
            actual = sa[name]
            if torch.is_tensor(expected) and expected.ndim:
                assert rel(actual, expected) < RTOL, name
            else:
                assert abs(float(actual) - float(expected)) <= 1e-15 * abs(float(expected))


def test_nag_keeps_the_lookahead_point_and_gives_the_lecture_iterates():
    """phi + gamma * v, with phi the model's parameters, equals descentlab.optim.NAG run on the
    same network with the gradient evaluated at lookahead(theta), step after step."""
    lr, gamma = 0.05, 0.9
    x, y = data()
    model = make_model()
    lecture = copy.deepcopy(model)  # holds theta
    probe = copy.deepcopy(model)  # where the lecture's gradient is taken
    opt = dt.NAG(model.parameters(), lr=lr, gamma=gamma)
    rule = optim.NAG(lr=lr, gamma=gamma)
    thetas = [p.detach() for p in lecture.parameters()]
    states = [rule.init(t) for t in thetas]
    for _ in range(STEPS):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        with torch.no_grad():
            for q, theta, state in zip(probe.parameters(), thetas, states, strict=True):
                q.copy_(rule.lookahead(theta, state))
        probe.zero_grad()
        torch.nn.functional.mse_loss(probe(x), y).backward()
        for q, theta, state in zip(probe.parameters(), thetas, states, strict=True):
            rule.step(theta, q.grad, state)
        for p, theta, state in zip(model.parameters(), thetas, states, strict=True):
            assert rel(opt.theta(p), theta) < 1e-12
            assert rel(opt.state[p]["v"], state["v"]) < 1e-12
            assert rel(p.detach(), rule.lookahead(theta, state)) < 1e-12


def test_training_reduces_the_loss():
    model = make_model()
    losses = train(model, dt.Adam(model.parameters(), lr=0.01), steps=200)
    assert losses[-1] < 0.3 * losses[0]


def test_closure_returns_the_loss():
    model = make_model()
    x, y = data()
    opt = dt.RMSProp(model.parameters(), lr=0.01)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        return loss

    first = opt.step(closure)
    for _ in range(20):
        last = opt.step(closure)
    assert torch.is_tensor(first) and last.item() < first.item()
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_param_groups_with_different_lr_equal_separate_optimizers():
    model = make_model()
    twin = copy.deepcopy(model)
    first, rest = list(model[0].parameters()), list(model[2].parameters()) + list(
        model[4].parameters())
    opt = dt.Adam([{"params": first, "lr": 0.05}, {"params": rest}], lr=0.002, beta1=0.8)
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.002]
    assert opt.param_groups[0]["beta1"] == 0.8
    twin_first = list(twin[0].parameters())
    twin_rest = list(twin[2].parameters()) + list(twin[4].parameters())
    opt_a, opt_b = dt.Adam(twin_first, lr=0.05, beta1=0.8), dt.Adam(twin_rest, lr=0.002, beta1=0.8)

    class Both:
        def zero_grad(self):
            opt_a.zero_grad()
            opt_b.zero_grad()

        def step(self):
            opt_a.step()
            opt_b.step()

    train(model, opt, steps=20)
    train(twin, Both(), steps=20)
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_state_dict_round_trip_resumes_identically(tmp_path):
    model = make_model()
    opt = dt.Nadam(model.parameters(), lr=0.01, variant="torch")
    train(model, opt, steps=10)
    path = tmp_path / "ckpt.pt"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, path)
    ckpt = torch.load(path, weights_only=True)
    resumed_model = make_model(seed=5)
    resumed_model.load_state_dict(ckpt["model"])
    resumed = dt.Nadam(resumed_model.parameters(), lr=0.01, variant="torch")
    resumed.load_state_dict(ckpt["opt"])
    state = resumed.state[next(resumed_model.parameters())]
    assert state["t"] == 10 and state["mu_product"].dtype == torch.float64  # 0-d, as torch's step
    assert all(torch.is_tensor(state[k]) for k in ("m", "v"))
    train(model, opt, steps=10)
    train(resumed_model, resumed, steps=10)
    for p, q in zip(model.parameters(), resumed_model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_state_dict_holds_only_tensors_and_numbers():
    model = make_model()
    opt = dt.Momentum(model.parameters(), lr=0.1)
    train(model, opt, steps=2)
    buffer = io.BytesIO()
    torch.save(opt.state_dict(), buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)
    for state in loaded["state"].values():
        assert set(state) == {"t", "v"}
        assert all(torch.is_tensor(v) or isinstance(v, (int, float)) for v in state.values())


@pytest.mark.parametrize("name", optim.names())
def test_validation_is_descentlab_optim_s(name):
    params = [torch.nn.Parameter(torch.zeros(3))]
    cls = getattr(dt, name)
    assert issubclass(cls, torch.optim.Optimizer) and cls.rule is optim.lookup(name)
    first = next(iter(optim.lookup(name)._ranges))
    with pytest.raises(ValueError) as ours:
        cls(params, **{first: -1.0})
    with pytest.raises(ValueError) as reference:
        optim.get(name, **{first: -1.0})
    assert str(ours.value) == str(reference.value)
    with pytest.raises(ValueError, match="must be a Python float"):
        cls(params, **{first: np.array([0.1, 0.2])})
    opt = cls(params)
    with pytest.raises(ValueError, match=f"The '{first}' parameter of {name} must be"):
        opt.add_param_group({"params": [torch.nn.Parameter(torch.ones(2))], first: float("nan")})


def test_changed_hyperparameter_is_used_and_checked():
    p = torch.nn.Parameter(torch.tensor([1.0]))
    opt = dt.GD([p], lr=0.1)
    p.grad = torch.tensor([1.0])
    opt.step()
    opt.param_groups[0]["lr"] = 0.5  # what a scheduler does
    opt.step()
    torch.testing.assert_close(p.detach(), torch.tensor([0.4]))
    opt.param_groups[0]["lr"] = -0.5
    with pytest.raises(ValueError, match="'lr' parameter of GD"):
        opt.step()
    torch.testing.assert_close(p.detach(), torch.tensor([0.4]))


def test_refused_nag_step_leaves_the_parameter_untouched():
    p = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    opt = dt.NAG([p], lr=0.1)
    p.grad = torch.tensor([1.0, 1.0])
    opt.step()
    before, v = p.detach().clone(), opt.state[p]["v"]
    opt.state[p]["v"] = v[:1]  # a state buffer of the wrong shape: refused
    with pytest.raises(ValueError, match="build the state with"):
        opt.step()
    torch.testing.assert_close(p.detach(), before, rtol=0, atol=0)


def test_float32_model_runs_and_keeps_dtype():
    torch.set_default_dtype(torch.float32)
    model = make_model().float()
    opt = dt.Adam(model.parameters(), lr=0.01)
    x, y = data()
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x.float()), y.float()).backward()
        opt.step()
    for p in model.parameters():
        assert p.dtype == torch.float32 and opt.state[p]["m"].dtype == torch.float32


@pytest.mark.parametrize("name", ["Momentum", "NAG", "Adam", "Nadam"])
def test_refused_group_step_leaves_every_parameter_untouched(name):
    """The group is checked as a whole: a bad state on the last parameter stops them all."""
    model = make_model()
    opt = getattr(dt, name)(model.parameters())
    train(model, opt, steps=2)
    params = list(model.parameters())
    before = [p.detach().clone() for p in params]
    states = [{k: v.clone() if torch.is_tensor(v) else v for k, v in opt.state[p].items()}
              for p in params]
    buffer = optim.lookup(name).buffers[0]
    opt.state[params[-1]][buffer] = torch.zeros(7, dtype=torch.float64)
    with pytest.raises(ValueError, match="build the state with"):
        opt.step()
    for p, b, s in zip(params[:-1], before, states, strict=False):  # all but the last
        torch.testing.assert_close(p.detach(), b, rtol=0, atol=0)
        for k, v in s.items():
            assert torch.equal(torch.as_tensor(opt.state[p][k]), torch.as_tensor(v))
        assert opt.state[p]["t"] == 2


@pytest.mark.parametrize("name", ["Momentum", "RMSProp", "AdaDelta", "Adam", "Nadam"])
def test_float32_group_matches_the_rule_on_numpy_arrays(name):
    """The adapter runs the rule on the tensors: the NumPy results to float32 rounding (torch's
    and NumPy's float32 kernels may round differently in the last place)."""
    torch.set_default_dtype(torch.float32)
    model = torch.nn.Sequential(torch.nn.Linear(64, 80), torch.nn.Tanh(), torch.nn.Linear(80, 3))
    opt = getattr(dt, name)(model.parameters(), lr=0.01)
    rule = optim.get(name, lr=0.01)
    arrays = [p.detach().numpy().copy() for p in model.parameters()]
    states = [rule.init(a) for a in arrays]
    g = torch.Generator().manual_seed(0)
    for _ in range(4):
        grads = [torch.randn(p.shape, generator=g) for p in model.parameters()]
        for p, grad in zip(model.parameters(), grads, strict=True):
            p.grad = grad.clone()
        opt.step()
        for a, s, grad in zip(arrays, states, grads, strict=True):
            rule.step(a, grad.numpy(), s)
    for p, a, s in zip(model.parameters(), arrays, states, strict=True):
        np.testing.assert_allclose(p.detach().numpy(), a, rtol=1e-5, atol=1e-7)
        for k in rule.buffers:
            np.testing.assert_allclose(opt.state[p][k].numpy(), s[k], rtol=1e-5, atol=1e-7)


DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("pair", PAIRS, ids=[p[0] for p in PAIRS])
def test_mlp_parity_with_torch_optim_on_device(pair, device):
    """The parity test on each device present (CUDA where there is one); NAG's look-ahead too."""
    _, ours_factory, torch_factory, state_map = pair
    model_a = make_model().to(device)
    model_b = copy.deepcopy(model_a)
    ours, theirs = ours_factory(model_a.parameters()), torch_factory(model_b.parameters())
    x, y = (t.to(device) for t in data())
    for _ in range(20):
        for model, opt in ((model_a, ours), (model_b, theirs)):
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            opt.step()
    hp = theirs.param_groups[0]
    for pa, pb in zip(model_a.parameters(), model_b.parameters(), strict=True):
        assert pa.device.type == device
        assert rel(pa.detach(), pb.detach()) < RTOL
        for name, convert in state_map.items():
            expected, actual = convert(theirs.state[pb], hp), ours.state[pa][name]
            if torch.is_tensor(expected) and expected.ndim:
                assert actual.device.type == device
                assert rel(actual, expected) < RTOL, name


def test_a_parameter_listed_twice_in_a_group_is_refused():
    p, q = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2))
    with pytest.raises(ValueError, match=r"lists one parameter twice \(positions 0 and 2\)"):
        dt.Adam([p, q, p])
    opt = dt.Adam([p])
    with pytest.raises(ValueError, match="lists one parameter twice"):
        opt.add_param_group({"params": iter([q, q])})
    assert len(opt.param_groups) == 1
    opt.add_param_group({"params": (t for t in [q])})  # a generator is read once, and kept
    assert opt.param_groups[1]["params"] == [q]


@pytest.mark.parametrize("name", ["Adam", "NAG"])
def test_deepcopy_and_pickle_give_a_working_optimizer(name):
    """torch.optim.Optimizer pickles only defaults, state and param_groups: the copy's first
    step used to raise AttributeError ('... has no attribute _names')."""
    import pickle

    model = make_model()
    opt = getattr(dt, name)(model.parameters(), lr=0.01)
    train(model, opt, steps=3)
    twin = copy.deepcopy({"model": model, "opt": opt})
    loaded = pickle.loads(pickle.dumps({"model": model, "opt": opt}))
    train(model, opt, steps=3)
    for other in (twin, loaded):
        train(other["model"], other["opt"], steps=3)
        for p, q in zip(model.parameters(), other["model"].parameters(), strict=True):
            torch.testing.assert_close(p, q, rtol=0, atol=0)
            assert other["opt"].state[q]["t"] == 6


@pytest.mark.parametrize("name", ["GD", "Adam", "NAG"])
def test_refused_step_in_a_later_group_leaves_earlier_groups_untouched(name):
    """A scheduler or a user setting one group's lr out of range, or a bad state in the last
    group: the groups before it used to be stepped (and new states created) before the refusal."""
    model = make_model()
    groups = [{"params": list(model[0].parameters())}, {"params": list(model[2].parameters())},
              {"params": list(model[4].parameters())}]
    opt = getattr(dt, name)(groups, lr=0.01)
    train(model, opt, steps=2)
    first_new = torch.nn.Parameter(torch.ones(3))
    opt.add_param_group({"params": [first_new]})  # no state yet
    first_new.grad = torch.ones(3)
    # put the new group first, so that it is not the last to be stepped
    opt.param_groups.insert(0, opt.param_groups.pop())
    train(model, opt, steps=1)
    params = [*model.parameters(), first_new]
    before = [p.detach().clone() for p in params]
    states = {p: copy.deepcopy(dict(opt.state[p])) for p in params}
    x, y = data()
    for corrupt in ("lr", "state"):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        first_new.grad = torch.ones(3)
        last = opt.param_groups[-1]
        if corrupt == "lr":
            last["lr"] = -1.0
            match = "'lr' parameter of"
        else:
            last["lr"] = 0.01
            opt.state[last["params"][-1]]["t"] = -1
            match = r"state\['t'\] must be the step count"
        with pytest.raises(ValueError, match=match):
            opt.step()
        if corrupt == "state":
            opt.state[last["params"][-1]]["t"] = states[last["params"][-1]]["t"]
        for p, b in zip(params, before, strict=True):
            torch.testing.assert_close(p.detach(), b, rtol=0, atol=0)
            assert opt.state[p].keys() == states[p].keys()
            for k, v in states[p].items():
                assert torch.equal(torch.as_tensor(opt.state[p][k]), torch.as_tensor(v)), k


def test_refused_first_step_creates_no_state():
    p, q = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    opt = dt.Adam([{"params": [p]}, {"params": [q], "lr": 0.1}])
    p.grad, q.grad = torch.ones(2), torch.ones(2)
    opt.param_groups[1]["lr"] = float("nan")
    with pytest.raises(ValueError, match="Got nan"):
        opt.step()
    assert len(opt.state) == 0 and opt.state_dict()["state"] == {}
    torch.testing.assert_close(p.detach(), torch.ones(2), rtol=0, atol=0)


def test_nag_gives_the_lecture_iterates_when_gamma_changes():
    """A momentum schedule: phi was formed with the gamma of the step that made it, so theta must
    be recovered with that gamma (it was recovered with the new one, which moved theta by
    (gamma_new - gamma_old) * v on its own). The loop's gradient is taken at phi, the look-ahead
    point of the gamma that formed it; the step then uses the new gamma."""
    x, y = data()
    model = make_model()
    lecture = copy.deepcopy(model)
    probe = copy.deepcopy(model)
    opt = dt.NAG(model.parameters(), lr=0.05, gamma=0.9)
    thetas = [p.detach() for p in lecture.parameters()]
    states = [optim.NAG().init(t) for t in thetas]
    phi_gammas = [0.9] * len(thetas)  # the gamma of each parameter's look-ahead point
    frozen = model[0].bias  # no gradient at the step where gamma changes
    for k, gamma in enumerate([0.9, 0.9, 0.5, 0.5, 0.7, 0.99, 0.99]):
        opt.param_groups[0]["gamma"] = gamma
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        if k == 2:
            frozen.grad = None
        opt.step()
        with torch.no_grad():
            for q, theta, state, look in zip(probe.parameters(), thetas, states, phi_gammas,
                                             strict=True):
                q.copy_(optim.NAG(gamma=look).lookahead(theta, state))
        probe.zero_grad()
        torch.nn.functional.mse_loss(probe(x), y).backward()
        for i, (q, theta, state) in enumerate(zip(probe.parameters(), thetas, states,
                                                  strict=True)):
            if not (k == 2 and i == 1):
                optim.NAG(lr=0.05, gamma=gamma).step(theta, q.grad, state)
                phi_gammas[i] = gamma
        if k == 3:  # a checkpoint in the middle of the schedule
            buffer = io.BytesIO()
            torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, buffer)
            buffer.seek(0)
            ckpt = torch.load(buffer, weights_only=True)
            model.load_state_dict(ckpt["model"])
            fresh = dt.NAG(model.parameters(), lr=0.05, gamma=0.1)
            fresh.load_state_dict(ckpt["opt"])
            opt = fresh
        for p, theta, look in zip(model.parameters(), thetas, phi_gammas, strict=True):
            assert rel(opt.theta(p), theta) < 1e-12, k
            assert opt.state[p]["phi_gamma"] == look


@pytest.mark.parametrize("name", ["Adam", "NAG", "Nadam"])
def test_refused_add_param_group_adds_nothing(name):
    """The group with an invalid hyperparameter used to stay in param_groups: every later step
    failed, and adding the corrected group failed too ('some parameters appear in more than one
    parameter group')."""
    p, q = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    opt = getattr(dt, name)([p], lr=0.1)
    with pytest.raises(ValueError, match="'lr' parameter of"):
        opt.add_param_group({"params": [q], "lr": -1.0})
    assert len(opt.param_groups) == 1
    opt.add_param_group({"params": [q], "lr": 0.2})
    p.grad, q.grad = torch.ones(2), torch.ones(2)
    opt.step()
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.2]
    assert opt.state[p]["t"] == opt.state[q]["t"] == 1


@pytest.mark.parametrize("name", [n for n in dt.__all__ if n != "TorchOptimizer"])
def test_adapter_steps_never_read_tensor_data_back_to_the_host(name):
    """The adapter's path for tensors that are not CPU float32/float64 (a GPU's), run on torch's
    data-less "meta" device: any read of values back to the host raises there (see
    tests/optim/test_devices.py)."""
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    model = model.to(device="meta", dtype=torch.float64)
    opt = getattr(dt, name)(model.parameters())
    for _ in range(2):
        for p in model.parameters():
            p.grad = torch.empty_like(p)
        opt.step()
    for p in model.parameters():
        assert opt.state[p]["t"] == 2
        assert all(opt.state[p][k].device.type == "meta" for k in opt.rule.buffers)
