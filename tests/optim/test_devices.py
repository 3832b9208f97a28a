"""The rules on torch tensors of every device this machine has: the same numbers as NumPy.

CPU always runs; CUDA (and Apple's MPS) join where present, so a GPU machine checks the GPU path
with ``python -m pytest tests/optim/test_devices.py tests/torch_adapter -k device``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from optim_cases import CASES, IDS, grad_fn, run

DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else []),
           *(["mps"] if torch.backends.mps.is_available() else [])]


@pytest.mark.parametrize("batched", [False, True], ids=["float-hp", "batched-hp"])
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_rules_on_device_match_numpy(case, device, batched):
    dtype = torch.float32 if device == "mps" else torch.float64  # MPS has no float64
    hp = {case.batch: np.array(case.values).reshape(3, 1)} if batched else {}
    theta0 = np.linspace(-1.5, 1.5, 12).reshape(3, 4)
    theta_np, state_np = run(case.make(**hp), theta0.astype(np.float64 if dtype ==
                                                             torch.float64 else np.float32), 6)
    theta_t, state_t = run(case.make(**hp), torch.tensor(theta0, dtype=dtype, device=device), 6)
    assert theta_t.device.type == device and theta_t.dtype == dtype
    tol = dict(rtol=1e-13, atol=1e-15) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(theta_t.cpu().numpy(), theta_np, **tol)
    for name in case.buffers:
        assert state_t[name].device.type == device
        np.testing.assert_allclose(state_t[name].cpu().numpy(), state_np[name], **tol)


@pytest.mark.parametrize("batched", [False, True], ids=["float-hp", "batched-hp"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_rules_never_read_tensor_data_back_to_the_host(case, batched):
    """Without a GPU here, torch's "meta" device stands in for one: its tensors have a shape, a
    dtype and a device but no data, so any step that reads values back to the host (``.item()``,
    ``.numpy()``, ``float(t)``, a data-dependent branch), or mixes in a tensor of another device
    (a batched hyperparameter left on the CPU), raises. On a GPU such a step would fail or stall
    on a device-to-host copy each step."""
    hp = {case.batch: np.array(case.values).reshape(3, 1)} if batched else {}
    opt = case.make(**hp)
    theta = torch.empty(3, 4, dtype=torch.float64, device="meta")
    state = opt.init(theta)
    for _ in range(3):
        opt.step(theta, grad_fn(opt.lookahead(theta, state)), state)
    assert state["t"] == 3 and theta.device.type == "meta"
    for name in case.buffers:
        assert state[name].device.type == "meta" and state[name].shape == (3, 4)
