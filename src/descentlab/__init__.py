"""descentlab: the classic loss functions and gradient-descent optimizers, exact to the lecture.

Use them (``descentlab.optim``, ``descentlab.losses``, ``descentlab.torch``), see them
(``descentlab.surfaces`` and the lab) and compare them (the benchmark).
"""

__version__ = "0.1.0"
