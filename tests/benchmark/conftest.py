"""A tiny benchmark shared by the end-to-end tests: run once per session on two workers.

It has a torch problem (with a torch.optim reference row) when torch is installed."""

import importlib.util

import pytest

TINY_PROBLEMS = "digits-softmax,quadratic-k100,diabetes-mae"
TINY_OPTIMIZERS = "SGD,Momentum,Adam"
if importlib.util.find_spec("torch") is not None:  # torch is an extra
    TINY_PROBLEMS += ",torch-mlp"
    TINY_OPTIMIZERS += ",torch:Adam"

TINY = dict(problems=TINY_PROBLEMS, optimizers=TINY_OPTIMIZERS, seeds=3, tune_seeds=1,
            quick=True, epochs=2, per_decade=1, progress=False)
TINY_ARGS = ["--problems", TINY["problems"], "--optimizers", TINY["optimizers"], "--seeds", "3",
             "--tune-seeds", "1", "--quick", "--epochs", "2", "--per-decade", "1"]


@pytest.fixture(scope="session")
def tiny():
    return dict(TINY), list(TINY_ARGS)


@pytest.fixture(scope="session")
def reference(tmp_path_factory):
    """An uninterrupted run of the tiny benchmark on two local worker processes."""
    from descentlab.benchmark import run_benchmark

    out = tmp_path_factory.mktemp("reference")
    A, stats = run_benchmark(out, workers=2, **TINY)
    return out, A, stats
