"""The rules on torch tensors of every device this machine has: the same numbers as NumPy.

CPU always runs; CUDA (and Apple's MPS) join where present, so a GPU machine checks the GPU path
with ``python -m pytest tests/optim/test_devices.py tests/torch_adapter -k device``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from optim_cases import CASES, IDS, run

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
