"""Optional dependencies: import them where needed, with one clear message when one is missing.

>>> require("numpy", extra="core", feature="the optimizers").__name__
'numpy'
>>> require("no_such_module_xyz", extra="plot", feature="the figures")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
descentlab._extras.MissingExtraError: the figures: requires ... pip install 'descentlab[plot]'
"""

from __future__ import annotations

import importlib

__all__ = ["MissingExtraError", "require"]


class MissingExtraError(ImportError):
    """An optional dependency of descentlab is not installed; the message says which extra."""


def require(module: str, *, extra: str, feature: str):
    """Import ``module`` or raise :class:`MissingExtraError` naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name != module.split(".")[0]:
            raise  # the module exists but something inside it is broken: show the real error
        raise MissingExtraError(
            f"{feature}: requires the package {module.split('.')[0]!r}, which is not installed: "
            f"pip install 'descentlab[{extra}]'"
        ) from None
