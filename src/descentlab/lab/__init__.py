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

from descentlab.lab._io import load
from descentlab.lab._metrics import METRICS
from descentlab.lab._runs import RunMeta, Runs, run

__all__ = ["run", "Runs", "RunMeta", "load", "METRICS"]
