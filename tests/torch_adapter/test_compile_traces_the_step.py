"""``torch.compile`` traces a function that calls ``opt.step()`` whole: no graph break in the step.

That is what makes ``torch.compile`` the adapters' speed switch (as torch's documentation advises
for torch.optim): the rule's tensor arithmetic becomes one fused kernel per parameter.
"""

from __future__ import annotations

import pytest
import torch

import descentlab.torch as dt
from descentlab import optim


@pytest.mark.parametrize("name", optim.names())
def test_step_compiles_without_graph_break(name):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    opt = getattr(dt, name)(model.parameters())
    model(torch.randn(5, 8)).sum().backward()
    opt.step()  # the state exists: the first step builds it, as torch.optim's does

    def step():
        opt.step()

    torch._dynamo.reset()
    explained = torch._dynamo.explain(step)()
    assert explained.graph_break_count == 0, explained.break_reasons
    assert explained.graph_count == 1


def test_compiled_steps_give_the_eager_results():
    """Compiled and eager adapters take the same steps (to float32 rounding), with ``t`` rising."""
    torch.manual_seed(0)
    eager = torch.nn.Linear(16, 3)
    compiled = torch.nn.Linear(16, 3)
    compiled.load_state_dict(eager.state_dict())
    x = torch.randn(32, 16)
    opt_e, opt_c = dt.Adam(eager.parameters(), lr=0.05), dt.Adam(compiled.parameters(), lr=0.05)

    @torch.compile
    def step():
        opt_c.step()

    torch._dynamo.reset()
    for _ in range(6):
        for model, stepper in ((eager, opt_e.step), (compiled, step)):
            model.zero_grad()
            model(x).square().mean().backward()
            stepper()
    for p, q in zip(eager.parameters(), compiled.parameters(), strict=True):
        torch.testing.assert_close(q, p, rtol=1e-5, atol=1e-6)
        assert opt_c.state[q]["t"] == opt_e.state[p]["t"] == 6


@pytest.mark.parametrize("name", ["Adam", "Nadam"])
def test_growing_step_count_does_not_recompile(name):
    """torch's tutorial compiles ``opt.step()`` through a global optimizer: the step count ``t``
    (and Nadam's ``mu_product``) are 0-d tensors in the state, read as data, so ten steps compile
    the step twice at most (the first, which builds the state, and the rest)."""
    from torch._dynamo.testing import CompileCounter

    torch.manual_seed(0)
    model = torch.nn.Linear(6, 2)
    opt = getattr(dt, name)(model.parameters(), lr=0.01, **({"variant": "torch"}
                                                             if name == "Nadam" else {}))
    counter = CompileCounter()
    torch._dynamo.reset()
    step = torch.compile(opt.step, backend=counter)
    for _ in range(10):
        model.zero_grad()
        model(torch.randn(4, 6)).sum().backward()
        step()
    assert counter.frame_count <= 2, counter.frame_count
    assert opt.state[model.weight]["t"] == 10
