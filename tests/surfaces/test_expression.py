"""from_expression: symbolic gradients, and a table of inputs that must be refused."""

import math
import os

import numpy as np
import pytest

from descentlab import surfaces
from descentlab.surfaces import from_expression


@pytest.mark.parametrize("text,value,grad", [
    ("x**2 + 10*y**2", lambda x, y: x**2 + 10 * y**2, lambda x, y: (2 * x, 20 * y)),
    ("sin(x) * cos(y)", lambda x, y: np.sin(x) * np.cos(y),
     lambda x, y: (np.cos(x) * np.cos(y), -np.sin(x) * np.sin(y))),
    ("exp(-(x**2 + y**2)/2) - pi*e", lambda x, y: np.exp(-(x**2 + y**2) / 2) - np.pi * np.e,
     lambda x, y: (-x * np.exp(-(x**2 + y**2) / 2), -y * np.exp(-(x**2 + y**2) / 2))),
    ("sqrt(x**2 + y**2 + 1)", lambda x, y: np.sqrt(x**2 + y**2 + 1),
     lambda x, y: (x / np.sqrt(x**2 + y**2 + 1), y / np.sqrt(x**2 + y**2 + 1))),
    ("abs(x) + tanh(y)", lambda x, y: np.abs(x) + np.tanh(y),
     lambda x, y: (np.sign(x), 1 - np.tanh(y) ** 2)),
    ("log(1 + x**2) + atan(y) + -y/2", lambda x, y: np.log(1 + x**2) + np.arctan(y) - y / 2,
     lambda x, y: (2 * x / (1 + x**2), 1 / (1 + y**2) - 0.5)),
    ("atan2(y, 2 + x**2)", lambda x, y: np.arctan2(y, 2 + x**2),
     lambda x, y: (-y * 2 * x / ((2 + x**2) ** 2 + y**2), (2 + x**2) / ((2 + x**2) ** 2 + y**2))),
    ("x**y", lambda x, y: x**y, lambda x, y: (y * x ** (y - 1), x**y * np.log(x))),
    ("(1 - x)**2 + 100*(y - x**2)**2", None, None),
    ("3", lambda x, y: 3 + 0 * x, lambda x, y: (0 * x, 0 * y)),
])
def test_values_and_symbolic_gradients(text, value, grad):
    s = from_expression(text, bounds=((0.5, 2.0), (-1.5, 1.5)))
    rng = np.random.default_rng(0)
    xy = np.stack([rng.uniform(0.5, 2, 40), rng.uniform(-1.5, 1.5, 40)], axis=1)
    x, y = xy[:, 0], xy[:, 1]
    if value is None:  # compare with the catalog instead
        ref = surfaces.get("rosenbrock")
        np.testing.assert_allclose(s.value(xy), ref.value(xy), rtol=1e-13)
        np.testing.assert_allclose(s.grad(xy), ref.grad(xy), rtol=1e-13)
        return
    np.testing.assert_allclose(s.value(xy), value(x, y), rtol=1e-12)
    np.testing.assert_allclose(s.grad(xy), np.stack(grad(x, y), axis=-1), rtol=1e-10, atol=1e-14)
    h = 1e-6
    fd = np.stack([(s.value(xy + e) - s.value(xy - e)) / (2 * h) for e in np.eye(2) * h], -1)
    np.testing.assert_allclose(s.grad(xy), fd, rtol=1e-5, atol=1e-7)


def test_defaults_and_metadata():
    s = from_expression("x**2 + 10*y**2")
    assert s.bounds == ((-3.0, 3.0), (-3.0, 3.0))
    assert s.minima.shape == (0, 2) and math.isnan(s.minimum_value)
    assert s.gradient_formula == ("2*x", "20*y")
    assert s.value(np.zeros((2, 3, 2))).shape == (2, 3)
    t = from_expression("x**2", minima=[[0, 0]], bounds=((-1, 1), (-2, 2)))
    assert t.minima.tolist() == [[0.0, 0.0]]
    u = surfaces.from_spec(t.spec)
    assert u.bounds == t.bounds and u.minima.tolist() == [[0.0, 0.0]]


def test_torch():
    torch = pytest.importorskip("torch")
    s = from_expression("sin(x)*y**3 + abs(y)")
    xy = np.array([[0.3, -0.7], [1.2, 2.0]])
    np.testing.assert_allclose(s.grad(torch.tensor(xy)).numpy(), s.grad(xy), rtol=1e-15)


MALICIOUS = [
    ("__import__('os')", "the function '__import__'"),
    ("__import__('os').system('touch /tmp/descentlab_pwned')", "attribute access"),
    ("x.__class__", "attribute access"),
    ("x.__class__.__bases__[0].__subclasses__()", "attribute access"),
    ("[x for x in y]", "comprehensions"),
    ("(x for x in y)", "comprehensions"),
    ("lambda: 1", "lambdas"),
    ("x**10**10", "exponent 1e\\+10"),
    ("x**-101", "exponent -101"),
    ("10**10**10", "exponent"),
    ("9.9e307*10 + x", "not a finite real number"),
    ("1" * 400 + " + x", "cannot be evaluated as a finite float"),
    ("open('f')", "the function 'open'"),
    ("eval('1')", "the function 'eval'"),
    ("exec('1')", "the function 'exec'"),
    ("getattr(x, 'real')", "the function 'getattr'"),
    ("y if x else 1", "conditional expressions"),
    ("x < y", "comparisons"),
    ("x and y", "boolean operators"),
    ("'x'", "not a real number"),
    ("x[0]", "subscripts"),
    ("z + x", "the name 'z'"),
    ("__builtins__", "the name '__builtins__'"),
    ("sin(x, y)", "takes 1 argument"),
    ("sin(x=y)", "keyword arguments"),
    ("sin(*x)", "starred"),
    ("(x := 3)", "assignments"),
    ("f'{x}'", "f-strings"),
    ("x @ y", "the operator MatMult"),
    ("x // y", "the operator FloorDiv"),
    ("x % y", "the operator Mod"),
    ("~x", "the operator Invert"),
    ("x^2", r"the operator BitXor \(write powers as x\*\*2\)"),
    ("{1: x}", "dicts"),
    ("(x, y)", "tuples"),
    ("1j * x", "not a real number"),
    ("True + x", "not a real number"),
    ("import os", "not a valid formula"),
    ("x; y", "not a valid formula"),
    ("", "empty"),
    ("x + " * 150 + "x", "longer than 500 characters"),
    ("-" * 100 + "x", "more than|nesting deeper"),
    ("sin(" * 40 + "x" + ")" * 40, "nesting deeper than 30"),
    ("log(-1) + x", "cannot be evaluated"),
    ("sqrt(-4) * x", "cannot be evaluated"),
    ("1/0 + x", "cannot be evaluated"),
    # constants that sympy only finds after folding: refused, never a TypeError or a NaN surface
    ("x/0", r"simplifies to zoo\*x, which is not a finite real function"),
    ("tan(pi/2)*x", "not a finite real function"),
    ("0*x/0", "simplifies to nan"),
    ("x**2*atan2(0,0)", "simplifies to nan"),
    ("(-8)**(1/3) + x", "not a finite real number"),
]


@pytest.mark.parametrize("text,match", MALICIOUS)
def test_refused(text, match):
    with pytest.raises(ValueError, match=f"Refused expression .*({match})"):
        from_expression(text)
    assert not os.path.exists("/tmp/descentlab_pwned")


def test_not_a_string():
    with pytest.raises(ValueError, match="must be a string"):
        from_expression(42)


def test_many_nodes_refused():
    text = "+".join(["x*y"] * 80)  # 160 names + 80 products + 79 sums > 200 nodes, < 500 chars
    with pytest.raises(ValueError, match="more than 200 syntax nodes"):
        from_expression(text)


def test_allowed_exponent_at_the_limit():
    s = from_expression("x**100 + y**-2")
    np.testing.assert_allclose(s.grad(np.array([1.0, 2.0])), [100.0, -2 * 2.0**-3])
