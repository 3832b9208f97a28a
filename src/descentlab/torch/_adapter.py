"""One adapter class; each optimizer is that class bound to a rule of :mod:`descentlab.optim`."""

from __future__ import annotations

import torch

from descentlab import optim

__all__ = ["TorchOptimizer", "GD", "SGD", "Momentum", "NAG", "Adagrad", "RMSProp", "AdaDelta",
           "Adam", "Nadam"]

class TorchOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` that runs the ``rule`` of a :mod:`descentlab.optim` class.

    Per parameter group, the adapter builds that optimizer from the group's hyperparameters (so a
    changed or invalid value meets the same checks as ``descentlab.optim``), checks every
    parameter that has a gradient, and then applies the rule to the tensors themselves, each
    parameter with its own state dict: the same ``rule`` method that runs on NumPy arrays, here
    in torch's arithmetic, on any device. All groups are checked before any parameter is
    written, so a refused step leaves every parameter and state untouched. The state holds the
    rule's state exactly (``t`` and the buffers named by the lecture's symbols, e.g. ``m``, ``v``;
    NAG adds ``phi_gamma``), only tensors and Python numbers, so ``state_dict()`` survives
    ``torch.save`` / ``torch.load(weights_only=True)``; the optimizer survives ``copy.deepcopy``
    and pickle. A parameter listed twice in a group is refused (torch.optim warns and steps it
    twice).

    Speed: the step is plain tensor arithmetic, one parameter at a time, which
    ``torch.compile`` fuses (compile the function that calls ``opt.step()``, as torch's
    documentation advises for torch.optim).

    Hyperparameters must be Python numbers here (batched arrays are for ``descentlab.optim``).
    Decision: a learning-rate scheduler changes ``lr`` in the lecture's rule; for Momentum the
    lecture's ``v = gamma v + lr g`` then differs from torch's ``v = lr * (gamma b + g)``.
    """

    #: the :mod:`descentlab.optim` class whose ``rule`` this adapter runs
    rule: type[optim.Optimizer] = optim.Optimizer

    def __init__(self, params, **hyperparameters):
        defaults = self._make_core(hyperparameters).hyperparameters
        self._names = tuple(defaults)  # torch adds keys of its own to self.defaults
        self._cores: dict[int, tuple[tuple, optim.Optimizer]] = {}
        super().__init__(params, dict(defaults))

    def _make_core(self, hyperparameters: dict) -> optim.Optimizer:
        core = self.rule(**hyperparameters)
        for name, value in core.hyperparameters.items():
            if not isinstance(value, (float, str)):
                raise ValueError(
                    f"The {name!r} parameter of {type(self).__name__} must be a Python float; "
                    f"got {type(value).__name__}. Batched (array) hyperparameters are for "
                    "descentlab.optim."
                )
        return core

    def add_param_group(self, param_group: dict) -> None:
        params = param_group.get("params")
        if params is not None and not isinstance(params, (torch.Tensor, set)):
            params = list(params)  # (a generator: read it once, here)
            param_group = {**param_group, "params": params}
            first: dict[int, int] = {}
            for i, p in enumerate(params):
                j = first.setdefault(id(p), i)
                if j != i:  # torch.optim only warns, then steps it twice
                    raise ValueError(
                        f"{type(self).__name__}: a parameter group lists one parameter twice "
                        f"(positions {j} and {i}), which would step it twice; give it once.")
        if isinstance(param_group, dict):  # validate the hyperparameters before torch adds it
            self._make_core({name: param_group.get(name, self.defaults.get(name))
                             for name in self._names})
        super().add_param_group(param_group)

    def _core_for(self, index: int) -> optim.Optimizer:
        """The group's optimizer, rebuilt (and so re-validated) when its values change."""
        group = self.param_groups[index]
        key = tuple(group[name] for name in self._names)
        cached = self._cores.get(index)
        if cached is None or cached[0] != key:
            core = self._make_core(dict(zip(self._names, key, strict=True)))
            cached = self._cores[index] = (key, core)
        return cached[1]

    def __setstate__(self, state: dict) -> None:
        # torch.optim.Optimizer pickles (and deep-copies) only defaults, state and param_groups
        super().__setstate__(state)
        if "_names" not in self.__dict__:
            self._names = tuple(h.name for h in self.rule.hyperparameter_specs())
        self.__dict__.setdefault("_cores", {})

    @torch.no_grad()
    def step(self, closure=None):
        """One step of the rule for every parameter that has a gradient.

        Every group is checked (hyperparameters, gradients, states) before any parameter is
        written, and the state of a parameter's first step is kept only then: a refused step
        leaves all parameters and the optimizer's state as they were.

        Args:
          closure: optional callable that re-evaluates the model and returns the loss.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        plans, new_states = [], []
        for index, group in enumerate(self.param_groups):
            core = self._core_for(index)
            items = []
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if g.is_sparse:
                    raise ValueError(f"{type(self).__name__} does not support sparse gradients.")
                state = self.state.get(p)
                if not state:
                    state = core.init(p)
                    new_states.append((p, state))
                core.check(p, g, state)
                items.append((p, g, state))
            plans.append((core, items))
        for p, state in new_states:
            self.state[p] = state
        for core, items in plans:
            self._apply(core, items)
        return loss

    def _apply(self, core: optim.Optimizer, items: list) -> None:
        """Step a group's checked ``(param, grad, state)`` items with the rule."""
        for p, g, state in items:
            core.apply(p, g, state)


def _adapter(rule: type[optim.Optimizer], doc: str) -> type[TorchOptimizer]:
    cls = type(rule.__name__, (TorchOptimizer,), {
        "rule": rule,
        "__module__": "descentlab.torch",
        "__doc__": f"{doc}\n\n    Runs :class:`descentlab.optim.{rule.__name__}`'s rule, with its "
                   "keyword hyperparameters and defaults:\n    "
                   + ", ".join(f"``{h.name}={h.default!r}``" for h in rule.hyperparameter_specs())
                   + ".\n",
    })
    return cls


GD = _adapter(optim.GD, "Gradient descent, ``theta -= lr * g`` (same as ``torch.optim.SGD``).")
SGD = _adapter(optim.SGD, "Stochastic gradient descent: the GD rule on minibatch gradients.")
Momentum = _adapter(optim.Momentum, "Momentum, ``v = gamma v + lr g; theta -= v`` "
                    "(state ``v`` = lr * torch's ``momentum_buffer``).")
Adagrad = _adapter(optim.Adagrad, "Adagrad; ``variant='torch'`` is ``torch.optim.Adagrad``.")
RMSProp = _adapter(optim.RMSProp, "RMSProp, as ``torch.optim.RMSprop(alpha=gamma)``.")
AdaDelta = _adapter(optim.AdaDelta, "AdaDelta, as ``torch.optim.Adadelta(rho=gamma)``.")
Adam = _adapter(optim.Adam, "Adam, as ``torch.optim.Adam``.")
Nadam = _adapter(optim.Nadam, "Nadam; ``variant='torch'`` is ``torch.optim.NAdam``.")


class NAG(TorchOptimizer):
    """Nesterov accelerated gradient, with the model's parameters kept at the look-ahead point.

    A training loop evaluates the gradient where the parameters are, so this adapter keeps them
    at ``phi = theta - gamma * v`` (as ``torch.optim.SGD(nesterov=True)`` does). Each step converts
    ``theta = phi + gamma * v``, applies :class:`descentlab.optim.NAG`'s rule with the gradient
    taken at ``phi`` (which is ``lookahead(theta)``), and stores ``phi = theta - gamma * v_new``.
    The lecture's iterates are ``p + gamma * state["v"]``; :meth:`theta` returns them. Besides the
    rule's ``t`` and ``v``, each parameter's state keeps ``phi_gamma``, the gamma that formed its
    ``phi``, so that a changed ``gamma`` (a momentum schedule) still recovers the lecture's
    ``theta`` (as ``phi + phi_gamma * v``) before stepping with the new value.

    Keyword hyperparameters and defaults as :class:`descentlab.optim.NAG`: ``lr=0.01``,
    ``gamma=0.9``.
    """

    rule = optim.NAG

    def _apply(self, core: optim.Optimizer, items: list) -> None:
        for p, _, state in items:  # theta = phi + gamma v, with the gamma that formed phi
            p.add_(state["v"], alpha=state.get("phi_gamma", core.gamma))
        super()._apply(core, items)  # the lecture's step, g taken at phi = lookahead(theta)
        for p, _, state in items:
            p.sub_(state["v"], alpha=core.gamma)  # phi = theta - gamma v
            state["phi_gamma"] = core.gamma

    def theta(self, p: torch.Tensor) -> torch.Tensor:
        """The lecture's iterate ``theta = phi + gamma * v`` of parameter ``p`` (a new tensor)."""
        state = self.state.get(p)
        if not state:
            return p.detach().clone()
        gamma = state.get("phi_gamma")
        if gamma is None:  # (a state saved before phi_gamma was kept)
            gamma = next(g["gamma"] for g in self.param_groups if any(q is p for q in g["params"]))
        return p.detach() + gamma * state["v"]
