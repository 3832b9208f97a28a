"""The README's JAX examples run as written (the digits MLP next to optax.nadam, and the sweep)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("optax", reason="descentlab.optax needs the jax extra: pip install -e '.[jax]'")
pytest.importorskip("sklearn", reason="the digits example needs scikit-learn: the bench extra")

README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks():
    text = README.read_text()
    section = text[text.index("### In JAX, as optax transformations"):text.index("## See it")]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_jax_section_has_its_two_examples():
    blocks = _blocks()
    assert len(blocks) == 2
    assert "descentlab.optax" in blocks[0] and "optax.nadam" in blocks[0]
    assert "load_digits" in blocks[0] and "jax.vmap" in blocks[1]


def test_digits_mlp_with_descentlab_nadam_next_to_optax_nadam(capsys):
    exec(compile(_blocks()[0], "README.md (digits)", "exec"), {})
    out = capsys.readouterr().out
    accuracies = [float(x) for x in re.findall(r"test accuracy ([0-9.]+)", out)]
    assert len(accuracies) == 2, out  # descentlab.optax.nadam, then optax.nadam
    assert all(a > 0.9 for a in accuracies), out  # chance is 0.1


def test_vmap_over_learning_rates_equals_the_batched_run(capsys):
    exec(compile(_blocks()[1], "README.md (vmap)", "exec"), {})
    lines = capsys.readouterr().out.strip().splitlines()
    vmapped, batched = (np.array(line.strip("[]").split(), dtype=float) for line in lines[:2])
    np.testing.assert_allclose(vmapped, batched, rtol=1e-6)
    np.testing.assert_allclose(vmapped, [6.1374084e01, 2.7272362e01, 8.9376968e-01,
                                         3.8180643e-04], rtol=1e-4)  # as the README says
