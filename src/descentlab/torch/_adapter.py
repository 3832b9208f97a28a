"""One adapter class; each optimizer is that class bound to a rule of :mod:`descentlab.optim`.

What the adapter adds to the rule, and only here (``descentlab.optim`` does not have them: the
lecture's rules take the gradient they are given, and a NumPy user adds ``wd * theta`` or negates
the gradient before ``step`` in one line):

* ``weight_decay`` and ``maximize``, as torch.optim defines them for every optimizer that has them
  (SGD, Adagrad, RMSprop, Adadelta, Adam, NAdam): gradient transforms applied before the rule,
  ``g <- -g`` for ``maximize``, then ``g <- g + weight_decay * theta``, where ``theta`` is the
  parameter as the training loop sees it (NAG's look-ahead point, as in torch's ``nesterov=True``).
  Adam and Nadam also take ``decoupled_weight_decay=True`` (torch.optim.Adam's and NAdam's name):
  ``theta *= 1 - lr * weight_decay`` before the rule, and the gradient left as it is (AdamW).
* complex parameters, as torch.optim treats them: the rule runs on ``torch.view_as_real`` of the
  parameter, its gradient and its state buffers (which are complex, like the parameter), so each
  real and imaginary part is a parameter of its own.
* a tensor ``lr`` (one element), which the rule reads as a tensor at every step: a scheduler that
  changes it in place (``StepLR`` calls ``fill_`` on tensor lrs) changes the steps, and under
  ``torch.compile`` its value is a graph input, so a schedule does not recompile the step.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np
import torch

from descentlab import optim
from descentlab._validation import check_in_range
from descentlab.optim import Coefficients

__all__ = ["TorchOptimizer", "GD", "SGD", "Momentum", "NAG", "Adagrad", "RMSProp", "AdaDelta",
           "Adam", "Nadam"]


def _torch_optim_keys() -> frozenset[str]:
    """Every hyperparameter name of the installed torch.optim's optimizers (``momentum``, ``betas``,
    ``foreach``, ...): in a param group of an adapter that does not implement one, it is refused."""
    keys = set(_LECTURE_NAMES)
    for obj in vars(torch.optim).values():
        if isinstance(obj, type) and issubclass(obj, torch.optim.Optimizer):
            for p in list(inspect.signature(obj.__init__).parameters.values())[2:]:
                if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                    keys.add(p.name)
    return frozenset(keys)


#: torch.optim's name -> (the lecture's name for it, the adapters that have it under that name)
_LECTURE_NAMES = {
    "momentum": ("gamma", ("Momentum", "NAG")),
    "nesterov": ("Nesterov momentum", ("NAG",)),
    "betas": ("beta1 and beta2", ("Adam", "Nadam")),
    "alpha": ("gamma", ("RMSProp",)),
    "rho": ("gamma", ("AdaDelta",)),
    "initial_accumulator_value": ("initial_accumulator", ("Adagrad",)),
    "eps": ("eps", ("Adagrad", "RMSProp", "AdaDelta", "Adam", "Nadam")),
    "momentum_decay": ("momentum_decay, with variant='torch'", ("Nadam",)),
    "decoupled_weight_decay": ("decoupled_weight_decay", ("Adam", "Nadam")),
}
_ONE_IMPLEMENTATION = ("foreach", "fused", "capturable", "differentiable")
#: keys that torch's schedulers and SWA write into groups: always kept, whatever torch.optim's
#: optimizers come to take (``momentum``/``betas``, which OneCycleLR and CyclicLR cycle, are not
#: here: those schedulers refuse an optimizer whose defaults lack them, unless cycle_momentum=False)
_SCHEDULER_KEYS = frozenset({"initial_lr", "max_lr", "min_lr", "base_lr", "swa_lr",
                             "max_momentum", "base_momentum", "param_names"})
_TORCH_KEYS = _torch_optim_keys() - _SCHEDULER_KEYS


def _compiling() -> bool:
    is_compiling = getattr(torch.compiler, "is_compiling", None)  # torch >= 2.3
    return bool(is_compiling() if is_compiling else torch._dynamo.is_compiling())


def _same(a, b) -> bool:
    """A group's value is the one a cached rule was built from: a tensor by identity (its value
    may change in place: the rule reads the tensor itself), anything else by type and value."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return a is b
    return type(a) is type(b) and a == b


@dataclass(eq=False)
class _GroupRule:
    """A param group's validated optimizer: the core (whose ``coefficients`` hand its rule the
    group's tensor lr, if any) and the gradient transforms the adapter applies before it."""

    key: tuple  # the group's values it was built from
    core: optim.Optimizer
    lr: float | torch.Tensor  # what the rule reads as hp.lr
    lr_tensor: torch.Tensor | None  # the group's own tensor, when lr is one
    weight_decay: float
    maximize: bool
    decoupled: bool


def _core_class(rule: type[optim.Optimizer]) -> type[optim.Optimizer]:
    """``rule``'s class, whose ``coefficients`` returns the ones the adapter built for the group
    (a tensor lr as the tensor itself, not the float it was validated as). The math is ``rule``'s
    own, inherited: this class only changes where ``apply`` reads the hyperparameters from."""

    def coefficients(self, like):
        return self._torch_coefficients

    return type(rule.__name__, (rule,), {"coefficients": coefficients,
                                          "__module__": rule.__module__,
                                          "__qualname__": rule.__qualname__,
                                          "__doc__": rule.__doc__})


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

    Options besides the rule's hyperparameters, in the constructor and in param groups (see the
    module docstring for their math): ``weight_decay=0.0`` (L2, added to the gradient),
    ``maximize=False``, and for Adam and Nadam ``decoupled_weight_decay=False``.

    Param-group keys: the adapter's hyperparameters are the lecture's names. A torch.optim
    hyperparameter that the adapter does not implement (``momentum``, ``betas``, ``nesterov``,
    ``amsgrad``, ``foreach``, ``fused``, ...: every name the installed torch.optim's optimizers
    take) is refused with a ValueError naming the lecture's name where there is one, when the
    group is added or loaded and at every step (a group is a dict anyone may change), before
    anything is written. Any other key is kept and ignored, as torch.optim does: those that
    schedulers and SWA add (``initial_lr``, ``max_lr``, ``min_lr``, ``swa_lr``, ...),
    ``param_names``, and a user's own.

    Hyperparameters are Python numbers (batched arrays are for ``descentlab.optim``), except
    ``lr``, which may also be a one-element floating tensor: the rule then reads that tensor at
    every step, so a scheduler that changes it in place is followed, and under ``torch.compile``
    a schedule does not recompile the step. Its value is checked (a read from its device) when
    the group gets it: at construction, ``add_param_group``, ``load_state_dict``, or the first step
    after the group's ``lr`` was replaced by another object. At every step outside
    ``torch.compile``, a CPU tensor's current value is checked again (a CPU read costs no
    device sync); a tensor on another device, or any tensor inside a compiled step, is not read
    at step time (that would wait for the device at every step, or break the graph).

    Speed: the step is plain tensor arithmetic, one parameter at a time, which
    ``torch.compile`` fuses. The step count ``t`` (and Nadam's ``mu_product``) are 0-d tensors
    in the state, as torch.optim's ``step``, so a compiled ``opt.step()`` reads them as data and
    does not recompile as they grow, whether the optimizer is an argument or a global; a float lr
    that a scheduler changes recompiles the step each time (use a tensor lr).

    Decision: a learning-rate scheduler changes ``lr`` in the lecture's rule; for Momentum the
    lecture's ``v = gamma v + lr g`` then differs from torch's ``v = lr * (gamma b + g)``.
    """

    #: the :mod:`descentlab.optim` class whose ``rule`` this adapter runs
    rule: type[optim.Optimizer] = optim.Optimizer
    #: whether the adapter takes ``decoupled_weight_decay`` (torch.optim.Adam's and NAdam's option)
    decoupled_decay: bool = False
    _core: type[optim.Optimizer] = optim.Optimizer
    _names: tuple[str, ...] = ()  # the rule's hyperparameters
    _options: dict = {}  # the adapter's own, with their defaults
    _lr_interval = None  # the interval of lr, checked again on a CPU tensor lr at each step

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "rule" in cls.__dict__:
            cls._core = _core_class(cls.rule)
            specs = cls.rule.hyperparameter_specs()
            cls._names = tuple(h.name for h in specs)
            cls._lr_interval = next(h.interval for h in specs if h.name == "lr")
            cls._options = {"weight_decay": 0.0, "maximize": False,
                            **({"decoupled_weight_decay": False} if cls.decoupled_decay else {})}

    def __init__(self, params, **hyperparameters):
        self._refuse_torch_keys(hyperparameters, "as a keyword")
        options = {k: hyperparameters.pop(k) for k in list(hyperparameters) if k in self._options}
        tensors = {k: v for k, v in hyperparameters.items() if torch.is_tensor(v)}
        core_values = dict(self._core(**{k: v for k, v in hyperparameters.items()
                                         if k not in tensors}).hyperparameters)
        core_values.update(tensors)  # (the defaults; a TypeError for an unknown keyword)
        defaults = {**core_values, **self._options, **options}
        self._build(defaults, "as a keyword")  # every check, on the tensor lr too
        self._cores: dict[int, _GroupRule] = {}
        super().__init__(params, defaults)

    # ----------------------------------------------------------------- groups
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
        index = len(self.param_groups)
        built = None
        if isinstance(param_group, dict):  # validate before torch adds it
            where = f"in param group {index}"
            built = self._build({**self.defaults, **param_group}, where)
        super().add_param_group(param_group)
        if built is not None:
            self._cores[index] = built  # built outside any compiled step

    def _refuse_torch_keys(self, keys, where: str, ignore: tuple[str, ...] = ()) -> None:
        """A ValueError for a torch.optim hyperparameter this adapter does not implement."""
        cls = type(self).__name__
        for key in keys:
            if (key not in _TORCH_KEYS or key in self._names or key in self._options
                    or key in ignore):
                continue
            lecture, owners = _LECTURE_NAMES.get(key, (None, ()))
            if cls in owners and key == "nesterov":
                hint = "NAG is Nesterov momentum already"
            elif cls in owners:
                hint = f"the lecture calls it {lecture}"
                if key == "betas":
                    betas = keys[key] if isinstance(keys, dict) else None
                    if isinstance(betas, (tuple, list)) and len(betas) == 2:
                        hint += f": {{'beta1': {betas[0]!r}, 'beta2': {betas[1]!r}}}"
            elif owners:
                hint = (f"it is the lecture's {lecture} of "
                        f"{' and '.join('descentlab.torch.' + o for o in owners)}")
            elif key in _ONE_IMPLEMENTATION:
                hint = ("the adapter has one implementation, plain tensor arithmetic "
                        "(torch.compile fuses it)")
            else:
                hint = "the lecture's rule has no such option"
            raise ValueError(
                f"{cls} does not take torch.optim's {key!r} ({where}): {hint}. {cls} takes "
                f"{', '.join(self._names + tuple(self._options))}.")

    def _build(self, values: dict, where: str, ignore: tuple[str, ...] = ()) -> _GroupRule:
        """The group's validated optimizer, from ``values`` (a group, or the defaults)."""
        cls = type(self).__name__
        self._refuse_torch_keys(values, where, ignore)
        floats, lr_tensor = {}, None
        for name in self._names:
            value = values[name]
            if torch.is_tensor(value):
                if name != "lr":
                    raise ValueError(
                        f"The {name!r} parameter of {cls} must be a Python float; got a tensor "
                        f"({where}). Only lr may be a tensor (one element, that a scheduler may "
                        "change in place).")
                if value.numel() != 1 or not value.is_floating_point():
                    raise ValueError(
                        f"The 'lr' parameter of {cls} may be a tensor of one element with a "
                        f"real floating dtype ({where}); got shape {tuple(value.shape)}, "
                        f"{value.dtype}. Tensor lr must be 1-element.")
                lr_tensor = value
                try:
                    value = float(value)  # a host read: here, never inside a compiled step
                except (RuntimeError, NotImplementedError):  # a meta tensor has no value
                    raise ValueError(f"The 'lr' parameter of {cls} ({where}) is a tensor on "
                                     f"{value.device} whose value cannot be read.") from None
            floats[name] = value
        core = self._core(**floats)  # the lecture's checks and messages
        for name, value in core.hyperparameters.items():
            if not isinstance(value, (float, str)):
                raise ValueError(
                    f"The {name!r} parameter of {cls} must be a Python float; got "
                    f"{type(value).__name__}. Batched (array) hyperparameters are for "
                    "descentlab.optim.")
        weight_decay = values["weight_decay"]
        if not isinstance(weight_decay, (int, float, np.integer, np.floating)):
            raise ValueError(f"The 'weight_decay' parameter of {cls} must be a Python float in "
                             f"the range [0.0, inf) ({where}); got {type(weight_decay).__name__}.")
        weight_decay = check_in_range(weight_decay, name="weight_decay", owner=cls, low=0.0)
        flags = {}
        for name in ("maximize", "decoupled_weight_decay"):
            flag = values.get(name, False)
            if not isinstance(flag, (bool, np.bool_)):
                raise ValueError(f"The {name!r} parameter of {cls} must be True or False "
                                 f"({where}). Got {flag!r} instead.")
            flags[name] = bool(flag)
        lr = core.hyperparameters["lr"]
        if lr_tensor is not None:
            lr = (lr_tensor if lr_tensor.dim() == 0 else lr_tensor.view(())).detach()
        core._torch_coefficients = Coefficients(**{**core.hyperparameters, "lr": lr})
        key = tuple(values[name] for name in (*self._names, *self._options))
        return _GroupRule(key, core, lr, lr_tensor, weight_decay, flags["maximize"],
                          flags["decoupled_weight_decay"])

    def _rule_for(self, index: int, eager: bool) -> _GroupRule:
        """The group's rule, rebuilt (and so re-validated) when one of its values changed."""
        group, where = self.param_groups[index], f"in param group {index}"
        # dynamo shows every group to a compiled step with "capturable": True added (what it does
        # for torch.optim's optimizers); the real group's key is checked in eager steps
        ignore = () if eager else ("capturable",)
        self._refuse_torch_keys(group, where, ignore)
        cached = self._cores.get(index)
        names = (*self._names, *self._options)
        if cached is None or not all(_same(group[n], v)
                                     for n, v in zip(names, cached.key, strict=True)):
            cached = self._cores[index] = self._build(group, where, ignore)
        elif eager and cached.lr_tensor is not None and cached.lr_tensor.device.type == "cpu":
            # a scheduler may have changed it in place: check its value (a CPU read, no sync)
            iv = self._lr_interval
            check_in_range(float(cached.lr_tensor), name="lr", owner=type(self).__name__,
                           low=iv.low, high=iv.high, low_closed=iv.low_closed,
                           high_closed=iv.high_closed)
        return cached

    # ----------------------------------------------------------------- pickling, loading
    def __setstate__(self, state: dict) -> None:
        # torch.optim.Optimizer pickles (and deep-copies) only defaults, state and param_groups;
        # load_state_dict ends here too, with the loaded groups: check them before keeping them
        groups = state.get("param_groups", [])
        defaults = state.get("defaults") or self.__dict__.get("defaults", {})
        built = {}
        for index, group in enumerate(groups):
            for name, default in self._options.items():  # (groups saved before the options)
                group.setdefault(name, defaults.get(name, default))
            built[index] = self._build(group, f"in param group {index}")
        super().__setstate__(state)
        if self.defaults.get("differentiable") is False and "differentiable" not in self._options:
            # torch.optim's __setstate__ adds it to the defaults, whence add_param_group would
            # copy it into every new group, and the group be refused
            del self.defaults["differentiable"]
        self._cores = built

    # ----------------------------------------------------------------- step
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
        eager = not _compiling()
        plans, new_states = [], []
        for index in range(len(self.param_groups)):
            rule = self._rule_for(index, eager)
            core, items = rule.core, []
            for p in self.param_groups[index]["params"]:
                g = p.grad
                if g is None:
                    continue
                if g.is_sparse:
                    raise ValueError(f"{type(self).__name__} does not support sparse gradients.")
                if not (p.is_floating_point() or p.is_complex()):
                    raise ValueError(
                        f"{type(self).__name__}: parameters must have a real floating or complex "
                        f"dtype (a complex one is stepped as its real and imaginary parts, as "
                        f"torch.optim does); got {p.dtype} in param group {index}.")
                if rule.lr_tensor is not None and rule.lr_tensor.device.type != "cpu" and (
                        rule.lr_tensor.device != p.device):
                    raise ValueError(f"{type(self).__name__}: the tensor lr of param group "
                                     f"{index} is on {rule.lr_tensor.device} but a parameter is "
                                     f"on {p.device}; put lr on the CPU or on {p.device}.")
                state = self.state.get(p)
                if not state:
                    state = self._init_state(core, p)
                    new_states.append((p, state))
                core.check(*_real(core, p, g, state))
                items.append((p, g, state))
            plans.append((rule, items))
        for p, state in new_states:
            self.state[p] = state
        for rule, items in plans:
            self._apply(rule, items)
        return loss

    @staticmethod
    def _init_state(core: optim.Optimizer, p: torch.Tensor) -> dict:
        """The rule's fresh state; a complex parameter's buffers are complex like it. The step
        count ``t`` (and Nadam's ``mu_product``) are 0-d float64 CPU tensors, as torch.optim
        keeps ``step``: a compiled step then reads them as data instead of recompiling for each
        new value; an eager step reads them as Python numbers (see ``_run``)."""
        real = core.init(torch.view_as_real(p) if p.is_complex() else p)
        state = {}
        for name, value in real.items():
            if name in core.buffers and p.is_complex():
                value, buffer = torch.zeros_like(p), value
                torch.view_as_real(value).copy_(buffer)
            elif name in core.scalars:
                value = torch.tensor(value, dtype=torch.float64)
            state[name] = value
        return state

    @staticmethod
    def _gradient(rule: _GroupRule, p: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """The gradient the rule takes: ``-g`` to maximize, plus the L2 term (torch.optim's
        order). A new tensor when changed; ``p.grad`` is never written."""
        if rule.maximize:
            g = -g
        if rule.weight_decay and not rule.decoupled:
            g = g.add(p, alpha=rule.weight_decay)
        return g

    @staticmethod
    def _run(core: optim.Optimizer, p, g, state) -> None:
        """``core.apply`` on the tensors, viewed as real for a complex parameter.

        Eager, the rule reads ``t`` (and ``mu_product``) as Python numbers, as torch.optim reads
        ``step.item()`` (a CPU tensor: no device sync), so its bias corrections are the NumPy
        path's float64 arithmetic; compiled, it reads the tensors, which the graph updates."""
        rp, rg, rstate = _real(core, p, g, state)
        eager = not _compiling()
        if eager or rstate is not state:
            rstate = dict(rstate)
            for name in core.scalars:
                value = rstate[name]
                if eager and torch.is_tensor(value):
                    rstate[name] = int(value) if name == "t" else float(value)
        core.apply(rp, rg, rstate)
        if rstate is not state:  # the step count and any other number the rule keeps
            for name in core.scalars:
                if torch.is_tensor(state[name]) and not torch.is_tensor(rstate[name]):
                    state[name] = torch.tensor(rstate[name], dtype=torch.float64)  # a new one,
                    # as torch.optim's eager step replaces nothing the caller may hold
                else:
                    state[name] = rstate[name]

    def _apply(self, rule: _GroupRule, items: list) -> None:
        """Step a group's checked ``(param, grad, state)`` items with the rule."""
        for p, g, state in items:
            g = self._gradient(rule, p, g)
            if rule.weight_decay and rule.decoupled:  # AdamW: theta *= 1 - lr * wd, then the rule
                p.mul_(1 - rule.lr * rule.weight_decay)
            self._run(rule.core, p, g, state)


def _real(core: optim.Optimizer, p, g, state):
    """``(params, grad, state)`` as the rule takes them: a complex parameter, its gradient and
    its state's buffers viewed as real (a new dict of views; the same tensors otherwise)."""
    if not p.is_complex():
        return p, g, state
    view = dict(state)
    for name in core.buffers:
        if torch.is_tensor(view.get(name)) and view[name].is_complex():
            view[name] = torch.view_as_real(view[name])
    return torch.view_as_real(p), torch.view_as_real(g) if g.is_complex() else g, view


def _adapter(rule: type[optim.Optimizer], doc: str, decoupled: bool = False
             ) -> type[TorchOptimizer]:
    extra = ", ``weight_decay=0.0``, ``maximize=False``" + (
        ", ``decoupled_weight_decay=False``" if decoupled else "")
    cls = type(rule.__name__, (TorchOptimizer,), {
        "rule": rule,
        "decoupled_decay": decoupled,
        "__module__": "descentlab.torch",
        "__doc__": f"{doc}\n\n    Runs :class:`descentlab.optim.{rule.__name__}`'s rule, with its "
                   "keyword hyperparameters and defaults:\n    "
                   + ", ".join(f"``{h.name}={h.default!r}``" for h in rule.hyperparameter_specs())
                   + f"; and the adapter's{extra} (see :class:`TorchOptimizer`).\n",
    })
    return cls


GD = _adapter(optim.GD, "Gradient descent, ``theta -= lr * g`` (same as ``torch.optim.SGD``).")
SGD = _adapter(optim.SGD, "Stochastic gradient descent: the GD rule on minibatch gradients.")
Momentum = _adapter(optim.Momentum, "Momentum, ``v = gamma v + lr g; theta -= v`` "
                    "(state ``v`` = lr * torch's ``momentum_buffer``).")
Adagrad = _adapter(optim.Adagrad, "Adagrad; ``variant='torch'`` is ``torch.optim.Adagrad``.")
RMSProp = _adapter(optim.RMSProp, "RMSProp, as ``torch.optim.RMSprop(alpha=gamma)``.")
AdaDelta = _adapter(optim.AdaDelta, "AdaDelta, as ``torch.optim.Adadelta(rho=gamma)``.")
Adam = _adapter(optim.Adam, "Adam, as ``torch.optim.Adam``; ``decoupled_weight_decay=True`` is "
                "``torch.optim.AdamW``.", decoupled=True)
Nadam = _adapter(optim.Nadam, "Nadam; ``variant='torch'`` is ``torch.optim.NAdam``.",
                 decoupled=True)


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

    ``weight_decay`` adds ``weight_decay * phi`` to the gradient: the L2 term's gradient where the
    loss's gradient was taken, as torch's ``nesterov=True`` does.

    Keyword hyperparameters and defaults as :class:`descentlab.optim.NAG`: ``lr=0.01``,
    ``gamma=0.9``; and the adapter's ``weight_decay=0.0``, ``maximize=False``.
    """

    rule = optim.NAG

    def _apply(self, rule: _GroupRule, items: list) -> None:
        core = rule.core
        for p, g, state in items:
            g = self._gradient(rule, p, g)  # at phi, where the loop took the gradient
            p.add_(state["v"], alpha=state.get("phi_gamma", core.gamma))  # theta = phi + gamma v
            self._run(core, p, g, state)  # the lecture's step, g taken at phi = lookahead(theta)
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
