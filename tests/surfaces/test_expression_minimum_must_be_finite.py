"""A formula's known minimum must be a point where the formula is finite."""

from __future__ import annotations

import numpy as np
import pytest

from descentlab import surfaces


@pytest.mark.parametrize("formula, minimum, value", [
    ("x**2 + y**2", (1e200, 0.0), "inf"), ("log(x) + y**2", (-1.0, 0.0), "nan")])
def test_from_expression_refuses_a_minimum_where_the_formula_is_not_finite(formula, minimum,
                                                                           value):
    with pytest.raises(ValueError, match=f"must be a finite point .* J there is {value}"):
        surfaces.from_expression(formula, minima=[minimum])
    s = surfaces.from_expression(formula, minima=[(1.0, 0.0)])
    assert s.minimum_value == pytest.approx(1.0 if formula.startswith("x") else 0.0)
    np.testing.assert_array_equal(s.minima, [[1.0, 0.0]])
