"""The lab: run the lecture's optimizers on surfaces, vectorized, and measure what they do.

``run(surface, optimizers, starts, ...)`` runs optimizers x hyperparameter grid x seeds x start
points as one vectorized computation per optimizer class and returns a :class:`Runs` with the
trajectories, losses, metadata, divergence steps, optional internal state and measured metrics.

>>> import numpy as np
>>> from descentlab import lab
>>> r = lab.run("lecture_lr", ("gd", {"lr": [0.01, 0.03, 0.13]}), steps=100)
>>> [round(m["loss_gap"], 4) for m in r.metrics()], r.diverged_at.tolist()
([0.1099, 0.0, nan], [-1, -1, 39])
"""

import importlib

from descentlab.lab._load import load
from descentlab.lab._metrics import METRICS
from descentlab.lab._runs import RunMeta, Runs, run

__all__ = ["run", "Runs", "RunMeta", "load", "METRICS"]

# The figures, animations and the tour need matplotlib: their public names (each module's
# ``__all__``) are re-exported lazily, on first use, so that ``import descentlab.lab`` stays cheap.
_LAZY_MODULES = ("_figures_runs", "_figures_maps", "_figures_lecture", "_animate", "_tour")


def __getattr__(name: str):
    if not name.startswith("_"):
        for module_name in _LAZY_MODULES:
            try:
                module = importlib.import_module(f"{__name__}.{module_name}")
            except ModuleNotFoundError as err:  # a part not installed (matplotlib missing ...)
                if err.name and err.name.startswith(f"{__name__}."):
                    continue
                raise
            if name in getattr(module, "__all__", ()):
                return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
