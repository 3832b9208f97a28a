import pytest
import torch


@pytest.fixture(autouse=True)
def float64_default():
    """torch.optim keeps scalar state (NAdam's mu_product, the step) in the default dtype: float64
    here, so that parity with it holds to float64 round-off."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)
