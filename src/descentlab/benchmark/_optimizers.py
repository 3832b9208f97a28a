"""The optimizers the benchmark compares: descentlab's nine, and torch.optim's as reference rows.

A name is either one of ``descentlab.optim.names()`` (on NumPy problems the rule from
``descentlab.optim``, on torch problems the same rule through ``descentlab.torch``) or, on torch
problems only, ``torch:<Name>``: torch.optim's own implementation, with torch's own defaults.

Reference rows and their hyperparameter names (the benchmark's names; the mapping to torch's
arguments is below): ``torch:SGD`` (lr), ``torch:Momentum`` = SGD(momentum) (lr, momentum),
``torch:NAG`` = SGD(momentum, nesterov=True) (lr, momentum), ``torch:Adagrad`` (lr, eps),
``torch:RMSprop`` (lr, alpha, eps), ``torch:Adadelta`` (lr, rho, eps), ``torch:Adam`` and
``torch:NAdam`` (lr, beta1, beta2, eps). torch's ``SGD`` has no momentum by default, so the two
momentum rows use momentum = 0.9, the lecture's gamma.
"""

from __future__ import annotations

import inspect

__all__ = ["TORCH_REFERENCES", "defaults", "is_reference", "make_torch_optimizer", "canonical"]

# benchmark name -> (torch.optim class name, fixed keyword arguments, tuned hyperparameter names)
TORCH_REFERENCES: dict[str, tuple[str, dict, tuple[str, ...]]] = {
    "torch:SGD": ("SGD", {}, ("lr",)),
    "torch:Momentum": ("SGD", {}, ("lr", "momentum")),
    "torch:NAG": ("SGD", {"nesterov": True}, ("lr", "momentum")),
    "torch:Adagrad": ("Adagrad", {}, ("lr", "eps")),
    "torch:RMSprop": ("RMSprop", {}, ("lr", "alpha", "eps")),
    "torch:Adadelta": ("Adadelta", {}, ("lr", "rho", "eps")),
    "torch:Adam": ("Adam", {}, ("lr", "beta1", "beta2", "eps")),
    "torch:NAdam": ("NAdam", {}, ("lr", "beta1", "beta2", "eps")),
}


def is_reference(name: str) -> bool:
    return name.startswith("torch:")


def canonical(name: str, *, allow_references: bool) -> str:
    """The exact spelling of an optimizer name given in any case; ValueError listing the choices."""
    from descentlab import optim

    choices = list(optim.names()) + (list(TORCH_REFERENCES) if allow_references else [])
    for c in choices:
        if c.lower() == str(name).strip().lower():
            return c
    for c in TORCH_REFERENCES:
        if c.lower() == str(name).strip().lower():  # known, but not on these problems
            from descentlab.benchmark._torch_problems import TORCH_PROBLEMS

            raise ValueError(
                f"{c!r} is torch.optim's own implementation, a reference row that runs on the "
                f"torch problems only ({', '.join(TORCH_PROBLEMS)}; they need torch). Valid "
                f"choices for these problems: {', '.join(choices)}.")
    raise ValueError(f"Unknown optimizer {name!r}. Valid choices: {', '.join(choices)}.")


def defaults(name: str) -> dict:
    """The library defaults of every hyperparameter, as a flat dict of floats and strings."""
    if not is_reference(name):
        from descentlab import optim

        return {h.name: (h.default if isinstance(h.default, str) else float(h.default))
                for h in optim.lookup(name).hyperparameter_specs()}
    import torch

    cls_name, fixed, tuned = TORCH_REFERENCES[name]
    sig = inspect.signature(getattr(torch.optim, cls_name).__init__).parameters
    out = {}
    for hp in tuned:
        if hp in ("beta1", "beta2"):
            out[hp] = float(sig["betas"].default[0 if hp == "beta1" else 1])
        elif hp == "momentum":
            out[hp] = 0.9  # torch's default 0 would make the row plain SGD
        else:
            out[hp] = float(sig[hp].default)
    return out


def make_torch_optimizer(name: str, params, config: dict):
    """A torch optimizer over ``params``: descentlab.torch's rule, or torch.optim's reference."""
    if not is_reference(name):
        import descentlab.torch as dt

        return getattr(dt, name)(params, **config)
    import torch

    cls_name, fixed, _ = TORCH_REFERENCES[name]
    kw = dict(fixed)
    for k, v in config.items():
        if k in ("beta1", "beta2"):
            continue
        kw[k] = v
    if "beta1" in config:
        kw["betas"] = (config["beta1"], config["beta2"])
    return getattr(torch.optim, cls_name)(params, **kw)
