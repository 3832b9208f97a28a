"""The lecture's optimizers as ``torch.optim.Optimizer`` subclasses, running descentlab's own rules.

Drop them into any PyTorch training loop; each runs exactly the rule of its namesake in
:mod:`descentlab.optim` (the same code: the adapter hands each parameter, its gradient and its
state to that optimizer's ``step``), with the same keyword hyperparameters, defaults and checks.
Besides them, every adapter takes torch.optim's ``weight_decay`` and ``maximize`` (Adam and Nadam
also ``decoupled_weight_decay``), a one-element tensor ``lr`` that schedulers change in place,
and complex parameters; a torch.optim option it lacks is refused by name (see
:class:`TorchOptimizer`).

>>> import torch
>>> from descentlab.torch import Adam
>>> torch.manual_seed(0)  # doctest: +ELLIPSIS
<torch._C.Generator object at ...>
>>> model = torch.nn.Linear(3, 1)
>>> opt = Adam(model.parameters(), lr=0.1)
>>> x, y = torch.randn(64, 3), torch.randn(64, 1)
>>> for _ in range(100):
...     opt.zero_grad()
...     loss = torch.nn.functional.mse_loss(model(x), y)
...     loss.backward()
...     opt.step()
>>> sorted(opt.state[model.weight])
['m', 't', 'v']
"""

from __future__ import annotations

from descentlab._extras import require

require("torch", extra="torch", feature="descentlab.torch's optimizers")

from descentlab.torch._adapter import (  # noqa: E402
    GD,
    NAG,
    SGD,
    AdaDelta,
    Adagrad,
    Adam,
    Momentum,
    Nadam,
    RMSProp,
    TorchOptimizer,
)

__all__ = ["GD", "SGD", "Momentum", "NAG", "Adagrad", "RMSProp", "AdaDelta", "Adam", "Nadam",
           "TorchOptimizer"]
