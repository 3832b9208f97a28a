"""The lecture's optimizers, exact to its update rules, on NumPy arrays and torch tensors.

>>> from descentlab import optim
>>> optim.names()
['GD', 'SGD', 'Momentum', 'NAG', 'Adagrad', 'RMSProp', 'AdaDelta', 'Adam', 'Nadam']
>>> optim.get("adam", lr=0.01)
Adam(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-08)
"""

from descentlab.optim._adam import Adam, Nadam
from descentlab.optim._adaptive import AdaDelta, Adagrad, RMSProp
from descentlab.optim._base import Coefficients, Family, Hyperparameter, Optimizer
from descentlab.optim._sgd import GD, NAG, SGD, Momentum

__all__ = [
    "GD", "SGD", "Momentum", "NAG", "Adagrad", "RMSProp", "AdaDelta", "Adam", "Nadam",
    "Optimizer", "Coefficients", "Family", "Hyperparameter", "get", "names", "lookup",
    "family_tree",
]

_REGISTRY: dict[str, type[Optimizer]] = {
    cls.__name__: cls for cls in (GD, SGD, Momentum, NAG, Adagrad, RMSProp, AdaDelta, Adam, Nadam)
}


def names() -> list[str]:
    """The optimizers' names, in the lecture's order."""
    return list(_REGISTRY)


def lookup(name: str) -> type[Optimizer]:
    """The optimizer class called ``name`` (case-insensitive)."""
    for key, cls in _REGISTRY.items():
        if key.lower() == str(name).lower():
            return cls
    raise ValueError(f"Unknown optimizer {name!r}. Valid choices: {', '.join(_REGISTRY)}.")


def get(name: str, **hyperparameters) -> Optimizer:
    """An optimizer by name (case-insensitive): ``get("adam", lr=0.01)``."""
    return lookup(name)(**hyperparameters)


def family_tree() -> dict[str, Family]:
    """Each optimizer's place in the lecture's family tree, by name, in the lecture's order.

    >>> {n: f.parents for n, f in family_tree().items() if n in ("Adam", "Nadam")}
    {'Adam': ('Momentum', 'RMSProp'), 'Nadam': ('NAG', 'Adam')}
    """
    return {name: cls.family for name, cls in _REGISTRY.items()}
