"""The ``descentlab`` command.

Built on argparse (standard library) so that the core keeps NumPy as its only dependency. Each part
of the project registers its own subcommands from a module listed in ``_COMMAND_MODULES``; such a
module must be cheap to import (heavy imports go inside the command's function) and define
``register(subparsers)``, which adds parsers whose ``func`` takes the parsed arguments and
returns an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys

from descentlab._extras import MissingExtraError

_COMMAND_MODULES = (
    "descentlab.cli",
    "descentlab.lab.cli",
    "descentlab.web.cli",
    "descentlab.benchmark.cli",
)


def _list(args: argparse.Namespace) -> int:
    """Print the optimizers and losses with their defaults."""
    from descentlab import optim

    print("Optimizers (descentlab.optim; lecture order):")
    for name, fam in optim.family_tree().items():
        cls = optim.lookup(name)
        hps = ", ".join(f"{h.name}={h.default!r}" for h in cls.hyperparameter_specs())
        parents = "+".join(fam.parents) or "-"
        print(f"  {name:<9} {hps}")
        print(f"  {'':<9} branch: {fam.branch}; from: {parents}; {fam.paper}")
    try:
        from descentlab import losses
    except ImportError:  # pragma: no cover - losses are part of the core
        return 0
    print("\nLosses (descentlab.losses; each has .grad(...) = dLoss/dy_pred):")
    for name in losses.names():
        print(f"  {name}{inspect.signature(getattr(losses, name))}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "list", help="print the optimizers and losses with their defaults",
        description="Print every optimizer (with its hyperparameters' defaults and its place in "
        "the lecture's family tree) and every loss (with its keyword arguments).",
    )
    p.set_defaults(func=_list)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="descentlab",
        description="The lecture's loss functions and optimizers: "
        "use them, see them, compare them.",
    )
    from descentlab import __version__

    parser.add_argument("--version", action="version", version=f"descentlab {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_name in _COMMAND_MODULES:
        module = sys.modules[__name__] if module_name == __name__ else None
        module = module or importlib.import_module(module_name)
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MissingExtraError as err:
        print(f"descentlab {args.command}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
