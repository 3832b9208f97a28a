"""Shared set-up of the descentlab.optax tests: float64 on demand, and their place in the run.

Each test module skips itself without the `jax` extra (``pytest.importorskip`` there: a skip
raised here would end the whole session).
"""

from pathlib import Path

import pytest


@pytest.fixture
def x64():
    """JAX in float64 for one test (other tests keep JAX's default float32)."""
    import jax

    with jax.enable_x64(True):
        yield


def pytest_collection_modifyitems(session, config, items):
    """Run these tests after all others. JAX starts threads once it computes, and a test that
    later forks a child running Python code (tests/web's ``preexec_fn``) would meet JAX's warning
    that fork and threads do not mix. (src/'s doctests, JAX's included, already come last.)"""
    here = Path(__file__).parent
    mine = [item for item in items if here in Path(str(item.path)).parents]
    if mine:
        ids = {id(item) for item in mine}
        items[:] = [item for item in items if id(item) not in ids] + mine
