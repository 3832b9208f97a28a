"""An honest, tuned, seeded comparison of the optimizers on data that ships with scikit-learn.

``descentlab bench --out DIR`` (or :func:`run_benchmark`) trains every optimizer on every problem
under the same budget, tunes the learning rate on validation data, re-runs the chosen setting with
fresh seeds shared by all optimizers and reports the final iterate's test metrics with bootstrap
intervals, epochs to target, divergence, lr sensitivity and performance profiles. Results are kept
one trial per row in ``DIR/results.sqlite``: an interrupted run resumes with the same command.
``DIR`` is new, empty or a previous bench folder (``DIR/bench.json`` lists the files the benchmark
writes there); any other folder is refused before any work, naming what it holds.

>>> from descentlab import benchmark
>>> benchmark.problem_names(with_torch=False)
['quadratic-k100', 'quadratic-k1000', 'digits-softmax', 'digits-mlp', 'diabetes-mse',
'diabetes-mae', 'cancer-logreg', 'digits-kl']
>>> benchmark.bootstrap_ci([2.0, 2.0, 2.0])
(2.0, 2.0, 2.0)
"""

from descentlab.benchmark._analysis import SUMMARY_COLUMNS, Analysis, analyse
from descentlab.benchmark._protocol import RULESETS, Settings, make_settings, problem_names
from descentlab.benchmark._run_benchmark import run_benchmark
from descentlab.benchmark._stats import (
    bootstrap_ci,
    epochs_to_target,
    lr_sensitivity_width,
    overlapping,
    performance_profile,
)
from descentlab.benchmark._store import Store

__all__ = [
    "run_benchmark", "problem_names", "make_settings", "Settings", "RULESETS", "Store",
    "analyse", "Analysis", "SUMMARY_COLUMNS", "bootstrap_ci", "overlapping", "epochs_to_target",
    "lr_sensitivity_width", "performance_profile",
]
