"""A tiny benchmark shared by the end-to-end tests: run once per session on two workers."""

import pytest

TINY = dict(problems="digits-softmax,quadratic-k100,diabetes-mae", optimizers="SGD,Momentum,Adam",
            seeds=3, tune_seeds=1, quick=True, epochs=2, progress=False)
TINY_ARGS = ["--problems", TINY["problems"], "--optimizers", TINY["optimizers"], "--seeds", "3",
             "--tune-seeds", "1", "--quick", "--epochs", "2"]


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
