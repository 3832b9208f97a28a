"""One adapter class; each optimizer is that class bound to a rule of :mod:`descentlab.optim`."""

from __future__ import annotations

import torch

from descentlab import optim

__all__ = ["TorchOptimizer", "GD", "SGD", "Momentum", "NAG", "Adagrad", "RMSProp", "AdaDelta",
           "Adam", "Nadam"]

_NUMPY_DTYPES = (torch.float32, torch.float64)


class TorchOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` that runs the rule of a :mod:`descentlab.optim` class.

    Per parameter group, the adapter builds the rule from the group's hyperparameters (so a
    changed or invalid value meets the same checks as ``descentlab.optim``) and steps the group's
    parameters that have a gradient with it, each with its own state dict. The state holds the
    rule's state exactly (``t`` and the buffers named by the lecture's symbols, e.g. ``m``,
    ``v``; NAG adds ``phi_gamma``), only tensors and Python numbers, so ``state_dict()`` survives
    ``torch.save`` / ``torch.load(weights_only=True)``; the optimizer survives ``copy.deepcopy``
    and pickle.

    On the CPU, each parameter group's float32 and float64 parameters are stepped by one
    ``rule.step_many`` call on NumPy views of their memory (the rule's compiled loops where numba
    is installed, run on torch's own OpenMP threads when the group is large; bit-for-bit the rule
    on NumPy arrays); other devices and dtypes run the same rule on the tensors themselves
    (torch's arithmetic, which may differ from NumPy's in the last bit). All groups are checked
    before any parameter is written, so a refused step leaves every parameter and state
    untouched. A parameter listed twice in a group is refused (torch.optim warns and steps it
    twice).

    Hyperparameters must be Python numbers here (batched arrays are for ``descentlab.optim``).
    Decision: a learning-rate scheduler changes ``lr`` in the lecture's rule; for Momentum the
    lecture's ``v = gamma v + lr g`` then differs from torch's ``v = lr * (gamma b + g)``.
    """

    rule: type[optim.Optimizer] = optim.Optimizer
    _numpy_views = True  # tests turn this off to run the torch path of the rules on the CPU

    def __init__(self, params, **hyperparameters):
        defaults = self._make_rule(hyperparameters).hyperparameters
        self._names = tuple(defaults)  # torch adds keys of its own to self.defaults
        self._rules: dict[int, tuple[tuple, optim.Optimizer]] = {}
        super().__init__(params, dict(defaults))

    def _make_rule(self, hyperparameters: dict) -> optim.Optimizer:
        rule = self.rule(**hyperparameters)
        for name, value in rule.hyperparameters.items():
            if not isinstance(value, (float, str)):
                raise ValueError(
                    f"The {name!r} parameter of {type(self).__name__} must be a Python float; "
                    f"got {type(value).__name__}. Batched (array) hyperparameters are for "
                    "descentlab.optim."
                )
        return rule

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
            self._make_rule({name: param_group.get(name, self.defaults.get(name))
                             for name in self._names})
        super().add_param_group(param_group)  # (its rule is built at the first step)

    def _rule_for(self, index: int) -> optim.Optimizer:
        group = self.param_groups[index]
        names = self._names
        key = tuple(group[name] for name in names)
        cached = self._rules.get(index)
        if cached is not None and cached[0] == key:
            return cached[1]
        rule = self._make_rule({name: group[name] for name in names})
        if cached is not None:
            rule._work_cache = cached[1]._work_cache  # scratch does not depend on hyperparameters
        self._rules[index] = (key, rule)
        return rule

    def __setstate__(self, state: dict) -> None:
        # torch.optim.Optimizer pickles (and deep-copies) only defaults, state and param_groups
        super().__setstate__(state)
        if "_names" not in self.__dict__:
            self._names = tuple(h.name for h in self.rule.hyperparameter_specs())
        self.__dict__.setdefault("_rules", {})

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
            rule = self._rule_for(index)
            items = []
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if g.is_sparse:
                    raise ValueError(f"{type(self).__name__} does not support sparse gradients.")
                state = self.state.get(p)
                if not state:
                    state = rule.init(p.detach())
                    new_states.append((p, state))
                items.append((p.detach(), g.detach() if g.requires_grad else g, state))
            if items:
                plans.append((rule, self._prepare(rule, items)))
        for p, state in new_states:
            self.state[p] = state
        for rule, plan in plans:
            self._run(rule, plan)
        return loss

    def _prepare(self, rule, items: list) -> tuple:
        """Check a group's ``(param, grad, state)`` items, writing nothing; the plan to ``_run``.

        CPU float32 / float64 tensors go to the rule's ``step_many`` as NumPy views of their
        memory (one call for the group); the others (GPU, other dtypes) to ``rule.step`` one by
        one.
        """
        views, others = [], []
        for item in items:
            p, g, state = item
            if self._numpy_views and p.is_cpu and p.dtype in _NUMPY_DTYPES and g.dtype == p.dtype:
                views.append(item)
            else:
                others.append(item)
        for p, g, state in others:
            rule._check(p, g, state)
        arrays = None
        if views:
            numpy_states = []
            for _, _, state in views:
                view = dict(state)
                for name in rule._buffers:
                    if torch.is_tensor(view[name]):
                        view[name] = view[name].numpy()
                numpy_states.append(view)
            arrays = rule._check_many([p.numpy() for p, _, _ in views],
                                      [g.numpy() for _, g, _ in views], numpy_states)
        return items, views, others, arrays

    def _run(self, rule, plan: tuple) -> None:
        """Step a group as ``_prepare`` planned it (all checked already)."""
        _, views, others, arrays = plan
        if views:
            rule._step_many_checked(*arrays)
            for (_, _, state), view in zip(views, arrays[2], strict=True):
                for name in rule._scalar_keys:
                    state[name] = view[name]  # t, Nadam's mu_product: the buffers are shared
        for p, g, state in others:
            rule.step(p, g, state)


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

    def _run(self, rule, plan: tuple) -> None:
        items = plan[0]
        for p, _, state in items:  # theta = phi + gamma v, with the gamma that formed phi
            p.add_(state["v"], alpha=state.get("phi_gamma", rule.gamma))
        super()._run(rule, plan)  # the lecture's step, g taken at phi = lookahead(theta)
        for p, _, state in items:
            p.sub_(state["v"], alpha=rule.gamma)  # phi = theta - gamma v
            state["phi_gamma"] = rule.gamma

    def theta(self, p: torch.Tensor) -> torch.Tensor:
        """The lecture's iterate ``theta = phi + gamma * v`` of parameter ``p`` (a new tensor)."""
        state = self.state.get(p)
        if not state:
            return p.detach().clone()
        gamma = state.get("phi_gamma")
        if gamma is None:  # (a state saved before phi_gamma was kept)
            gamma = next(g["gamma"] for g in self.param_groups if any(q is p for q in g["params"]))
        return p.detach() + gamma * state["v"]
