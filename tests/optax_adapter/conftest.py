"""Shared set-up of the descentlab.optax tests: skip without the `jax` extra, float64 on demand."""

import pytest

pytest.importorskip("optax", reason="descentlab.optax needs the jax extra: pip install -e '.[jax]'")

import jax  # noqa: E402


@pytest.fixture
def x64():
    """JAX in float64 for one test (other tests keep JAX's default float32)."""
    with jax.enable_x64(True):
        yield
