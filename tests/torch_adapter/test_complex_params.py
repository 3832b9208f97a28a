"""Complex parameters, as torch.optim treats them: the rule runs on view_as_real of the parameter,
its gradient and its state buffers (complex, like the parameter)."""

from __future__ import annotations

import pytest
import torch
from adapter_cases import NAMES, PAIR_IDS, PAIRS, make, rel


def complex_problem(seed=0):
    """A complex least-squares problem |A z - b|^2 and a starting point."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(6, 3, dtype=torch.complex128, generator=g)
    b = torch.randn(6, dtype=torch.complex128, generator=g)
    z0 = torch.randn(3, dtype=torch.complex128, generator=g)
    return a, b, z0


def run(opt, z, a, b, steps=15, options=None):
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = (a @ z - b).abs().pow(2).sum()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("options", [{}, {"weight_decay": 0.1, "maximize": False}],
                         ids=["plain", "weight_decay"])
@pytest.mark.parametrize("pair", PAIRS, ids=PAIR_IDS)
def test_complex_params_match_torch_optim(pair, options):
    _, ours_factory, torch_factory, state_map = pair
    a, b, z0 = complex_problem()
    za, zb = torch.nn.Parameter(z0.clone()), torch.nn.Parameter(z0.clone())
    ours, theirs = ours_factory([za], **options), torch_factory([zb], **options)
    la = run(ours, za, a, b)
    run(theirs, zb, a, b)
    assert la[-1] < la[0]
    assert rel(za.detach(), zb.detach()) < 1e-12
    for name, convert in state_map.items():
        expected, actual = convert(theirs.state[zb], theirs.param_groups[0]), ours.state[za][name]
        if torch.is_tensor(expected) and expected.ndim:
            assert actual.dtype == torch.complex128 and actual.shape == za.shape
            assert rel(actual, expected) < 1e-12, name


@pytest.mark.parametrize("name", NAMES)
def test_complex_param_steps_as_its_real_and_imaginary_parts(name):
    """Every adapter (the lecture's variants too): a complex parameter steps exactly as the real
    parameter holding its (real, imaginary) pairs, given the same gradient, to round-off (torch's
    complex kernels for the weight-decay term may round differently in the last place)."""
    g = torch.Generator().manual_seed(3)
    z = torch.nn.Parameter(torch.randn(4, 2, dtype=torch.complex128, generator=g))
    r = torch.nn.Parameter(torch.view_as_real(z.detach()).clone())
    oz = make(name, [z], weight_decay=0.05, maximize=True)
    orr = make(name, [r], weight_decay=0.05, maximize=True)
    for _ in range(5):
        grad = torch.randn(4, 2, dtype=torch.complex128, generator=g)
        z.grad, r.grad = grad, torch.view_as_real(grad).clone()
        oz.step()
        orr.step()
    torch.testing.assert_close(torch.view_as_real(z.detach()), r.detach(), rtol=1e-14, atol=1e-15)
    for key in oz.rule.buffers:
        value = oz.state[z][key]
        assert value.is_complex() and value.shape == z.shape
        torch.testing.assert_close(torch.view_as_real(value), orr.state[r][key],
                                   rtol=1e-14, atol=1e-15)
    for key in oz.rule.scalars:  # the step count (and Nadam's mu_product): 0-d float64 tensors
        assert oz.state[z][key].shape == () and oz.state[z][key] == orr.state[r][key]


def test_complex_state_survives_a_checkpoint():
    import io

    a, b, z0 = complex_problem()
    z = torch.nn.Parameter(z0.clone())
    opt = make("Adam", [z])
    run(opt, z, a, b, steps=3)
    buffer = io.BytesIO()
    torch.save(opt.state_dict(), buffer)
    buffer.seek(0)
    z2 = torch.nn.Parameter(z.detach().clone())
    opt2 = make("Adam", [z2])
    opt2.load_state_dict(torch.load(buffer, weights_only=True))
    assert opt2.state[z2]["m"].dtype == torch.complex128
    run(opt, z, a, b, steps=3)
    run(opt2, z2, a, b, steps=3)
    torch.testing.assert_close(z, z2, rtol=0, atol=0)


def test_a_complex_gradient_for_a_real_parameter_is_refused():
    """torch refuses the assignment itself; a state buffer of the wrong kind is refused by the
    rule's check, naming it."""
    z = torch.nn.Parameter(torch.ones(2, dtype=torch.complex128))
    opt = make("Adam", [z])
    z.grad = torch.ones(2, dtype=torch.complex128)
    opt.step()
    opt.state[z]["m"] = torch.zeros(2, dtype=torch.float64)  # real, for a complex parameter
    before = z.detach().clone()
    with pytest.raises(ValueError, match=r"state\['m'\]"):
        opt.step()
    torch.testing.assert_close(z.detach(), before, rtol=0, atol=0)
