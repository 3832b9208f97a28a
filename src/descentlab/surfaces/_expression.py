"""``from_expression``: a surface from a formula in x and y, parsed safely, differentiated by sympy.

The text is never evaluated as Python. It is parsed with ``ast.parse(text, mode="eval")`` (which
only builds a syntax tree), every node is checked against a whitelist, and the sympy expression is
built from the checked tree node by node. The gradient is sympy's symbolic derivative; both are
evaluated by walking the sympy tree with the array's own functions (NumPy or torch), so no code is
generated or executed either.

Accepted: numbers, the names ``x``, ``y``, ``pi``, ``e``, the operators ``+ - * / **`` and unary
``+ -``, parentheses, and calls (positional arguments only) of: sin cos tan asin acos atan atan2
sinh cosh tanh asinh acosh atanh exp log sqrt abs. Refused with ValueError, saying what was refused:
everything else (attribute access, subscripts, calls of other names, keyword arguments, lambdas,
comprehensions, conditionals, comparisons, strings, ...), constant exponents with absolute value
above 100, constant subexpressions that overflow a float, more than 500 characters, more than 200
syntax nodes or nesting deeper than 30 (a long sum or product such as a + b + c + ... counts as
one level, not as one per term).
"""

from __future__ import annotations

import ast
import math

import numpy as np

from descentlab.surfaces._base import Surface

__all__ = ["from_expression", "check_defined_at", "MAX_CHARS", "MAX_NODES", "MAX_DEPTH",
           "MAX_EXPONENT"]

MAX_CHARS = 500
MAX_NODES = 200
MAX_DEPTH = 30
MAX_EXPONENT = 100

# name -> (number of arguments, sympy function name, math function for constant folding)
_FUNCTIONS = {
    "sin": (1, "sin", math.sin), "cos": (1, "cos", math.cos), "tan": (1, "tan", math.tan),
    "asin": (1, "asin", math.asin), "acos": (1, "acos", math.acos),
    "atan": (1, "atan", math.atan), "atan2": (2, "atan2", math.atan2),
    "sinh": (1, "sinh", math.sinh), "cosh": (1, "cosh", math.cosh),
    "tanh": (1, "tanh", math.tanh), "asinh": (1, "asinh", math.asinh),
    "acosh": (1, "acosh", math.acosh), "atanh": (1, "atanh", math.atanh),
    "exp": (1, "exp", math.exp), "log": (1, "log", math.log), "sqrt": (1, "sqrt", math.sqrt),
    "abs": (1, "Abs", abs),
}
_CONSTANTS = {"pi": math.pi, "e": math.e}
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_CHAINS = {ast.Add: "sum", ast.Sub: "sum", ast.Mult: "product", ast.Div: "product"}


def _refuse(text: str, why: str):
    raise ValueError(f"Refused expression {text!r}: {why}. Allowed: numbers, x, y, pi, e, "
                     f"+ - * / **, and the functions {', '.join(_FUNCTIONS)}.")


class _Checker:
    """Walks the syntax tree once: checks every node and folds constant subexpressions to floats."""

    def __init__(self, text: str):
        self.text = text
        self.nodes = 0

    def check(self, node, depth=0):
        """Return the node's float value if it is constant (no x or y), else None."""
        self.nodes += 1
        if self.nodes > MAX_NODES:
            _refuse(self.text, f"more than {MAX_NODES} syntax nodes")
        if depth > MAX_DEPTH:
            _refuse(self.text, f"nesting deeper than {MAX_DEPTH}")
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                _refuse(self.text, f"the literal {v!r} is not a real number")
            return self._finite(lambda: float(v), f"the number {v!r}")
        if isinstance(node, ast.Name):
            if node.id in ("x", "y"):
                return None
            if node.id in _CONSTANTS:
                return _CONSTANTS[node.id]
            _refuse(self.text, f"the name {node.id!r} (only x, y, pi and e are known)")
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.UAdd, ast.USub)):
                _refuse(self.text, f"the operator {type(node.op).__name__}")
            v = self.check(node.operand, depth + 1)
            return None if v is None else (-v if isinstance(node.op, ast.USub) else v)
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                hint = " (write powers as x**2)" if isinstance(node.op, ast.BitXor) else ""
                _refuse(self.text, f"the operator {type(node.op).__name__}{hint}")
            # a chain of sums or products (a + b + c ...) is long, not deep: its left spine
            # does not count as nesting
            chain = (isinstance(node.left, ast.BinOp)
                     and _CHAINS.get(type(node.left.op)) == _CHAINS.get(type(node.op)) is not None)
            a = self.check(node.left, depth if chain else depth + 1)
            b = self.check(node.right, depth + 1)
            if isinstance(node.op, ast.Pow) and b is not None and abs(b) > MAX_EXPONENT:
                _refuse(self.text, f"the exponent {b:g} (at most {MAX_EXPONENT} in absolute value)")
            if a is None or b is None:
                return None
            op = {ast.Add: float.__add__, ast.Sub: float.__sub__, ast.Mult: float.__mul__,
                  ast.Div: float.__truediv__, ast.Pow: float.__pow__}[type(node.op)]
            return self._finite(lambda: op(a, b), "a constant subexpression")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                _refuse(self.text, "calling anything but a whitelisted function by name (here: "
                        f"{_describe(node.func)})")
            name = node.func.id
            if name not in _FUNCTIONS:
                _refuse(self.text, f"the function {name!r}")
            if node.keywords:
                _refuse(self.text, f"keyword arguments in the call of {name!r}")
            arity = _FUNCTIONS[name][0]
            if len(node.args) != arity:
                _refuse(self.text, f"{name!r} takes {arity} argument(s), got {len(node.args)}")
            values = []
            for arg in node.args:
                if isinstance(arg, ast.Starred):
                    _refuse(self.text, "starred arguments")
                values.append(self.check(arg, depth + 1))
            if any(v is None for v in values):
                return None
            return self._finite(lambda: float(_FUNCTIONS[name][2](*values)), f"{name}(...)")
        _refuse(self.text, f"{_describe(node)}")

    def _finite(self, compute, what):
        try:
            v = compute()
        except (OverflowError, ValueError, ZeroDivisionError, TypeError) as err:
            _refuse(self.text, f"{what} cannot be evaluated as a finite float ({err})")
        if isinstance(v, complex) or not math.isfinite(v):
            _refuse(self.text, f"{what} is not a finite real number")
        return v


def _describe(node) -> str:
    names = {
        ast.Attribute: "attribute access", ast.Subscript: "subscripts", ast.Lambda: "lambdas",
        ast.ListComp: "comprehensions", ast.SetComp: "comprehensions",
        ast.DictComp: "comprehensions", ast.GeneratorExp: "comprehensions",
        ast.IfExp: "conditional expressions", ast.Compare: "comparisons",
        ast.BoolOp: "boolean operators", ast.List: "lists", ast.Tuple: "tuples", ast.Set: "sets",
        ast.Dict: "dicts", ast.JoinedStr: "f-strings", ast.NamedExpr: "assignments",
        ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield", ast.Starred: "starred",
    }
    return names.get(type(node), f"the syntax {type(node).__name__}")


def _to_sympy(node, sp, symbols):
    """Build the sympy expression from an already-checked syntax tree."""
    if isinstance(node, ast.Constant):
        v = node.value
        return sp.Integer(v) if isinstance(v, int) else sp.Float(repr(float(v)))
    if isinstance(node, ast.Name):
        if node.id in symbols:
            return symbols[node.id]
        return sp.pi if node.id == "pi" else sp.E
    if isinstance(node, ast.UnaryOp):
        operand = _to_sympy(node.operand, sp, symbols)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        a, b = _to_sympy(node.left, sp, symbols), _to_sympy(node.right, sp, symbols)
        op = type(node.op)
        if op is ast.Add:
            return a + b
        if op is ast.Sub:
            return a - b
        if op is ast.Mult:
            return a * b
        if op is ast.Div:
            return a / b
        return a**b
    fn = getattr(sp, _FUNCTIONS[node.func.id][1])
    return fn(*(_to_sympy(arg, sp, symbols) for arg in node.args))


# ------------------------------------------------------------------------------- evaluation
_NUMERIC = {  # sympy function class name -> NumPy/torch function name (both define these)
    "sin": "sin", "cos": "cos", "tan": "tan", "asin": "arcsin", "acos": "arccos",
    "atan": "arctan", "atan2": "arctan2", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh",
    "asinh": "arcsinh", "acosh": "arccosh", "atanh": "arctanh", "exp": "exp", "log": "log",
    "Abs": "abs", "sign": "sign",
}


def _real_constant(e, refuse) -> float:
    """The value of the constant sympy expression ``e`` as a finite float, else ``refuse(why)``.

    sympy keeps some constants unevaluated that are not real numbers: ``acos(2)``,
    ``atanh(2)``, ``(-8)**(1/3)`` (its principal cube root is complex) are complex, ``log(0)``
    is infinite. Such a formula has no real value anywhere it uses that constant.
    """
    try:
        v = complex(e.evalf())
    except (TypeError, ValueError, OverflowError, ZeroDivisionError):
        refuse(f"its constant part {e} has no numeric value")
    if not (math.isfinite(v.real) and math.isfinite(v.imag)):
        refuse(f"its constant part {e} is not finite")
    if v.imag != 0:
        refuse(f"its constant part {e} is complex ({v.real:.6g}{v.imag:+.6g}i), not a real "
               "number (e.g. acos or atanh of a number outside their domain, or a fractional "
               "power of a negative number)")
    return v.real


def _compile(expr, sp, refuse=None):
    """A function ``f(x, y, xp)`` evaluating the sympy tree ``expr`` element-wise.

    ``refuse(why)`` (raises) is called for a constant part that is not a finite real number."""
    x, y = sp.Symbol("x", real=True), sp.Symbol("y", real=True)
    if refuse is None:
        def refuse(why):
            raise ValueError(f"from_expression: cannot evaluate {expr}: {why}")

    def build(e):
        if e == x:
            return lambda X, Y, xp: X
        if e == y:
            return lambda X, Y, xp: Y
        if not e.free_symbols:
            c = _real_constant(e, refuse)
            return lambda X, Y, xp: c
        args = [build(a) for a in e.args]
        if e.is_Add:
            def add(X, Y, xp):
                total = args[0](X, Y, xp)
                for f in args[1:]:
                    total = total + f(X, Y, xp)
                return total
            return add
        if e.is_Mul:
            def mul(X, Y, xp):
                total = args[0](X, Y, xp)
                for f in args[1:]:
                    total = total * f(X, Y, xp)
                return total
            return mul
        if e.is_Pow:
            base, ex = args
            if e.exp == sp.Rational(1, 2):
                return lambda X, Y, xp: xp.sqrt(base(X, Y, xp))
            if e.exp.is_Integer:
                k = int(e.exp)
                return lambda X, Y, xp: base(X, Y, xp) ** k
            return lambda X, Y, xp: base(X, Y, xp) ** ex(X, Y, xp)
        name = _NUMERIC.get(type(e).__name__)
        if name is None:  # pragma: no cover - only derivatives of whitelisted functions reach here
            raise ValueError(f"from_expression: cannot evaluate {e} numerically")
        return lambda X, Y, xp: getattr(xp, name)(*(f(X, Y, xp) for f in args))

    f = build(expr)

    def evaluate(X, Y, xp):
        v = f(X, Y, xp)
        if isinstance(v, float):  # a constant: the shape of the input
            v = xp.zeros_like(X) + v
        return v

    return evaluate


def from_expression(text: str, *, bounds=((-3.0, 3.0), (-3.0, 3.0)), minima=(),
                    name: str | None = None) -> Surface:
    """A surface from a formula in x and y, with its symbolic gradient.

    The formula is parsed without ever evaluating it as Python (see the module's docstring for
    what is accepted); sympy differentiates it.

    Args:
      text: the formula, e.g. ``"x**2 + 10*y**2"``.
      bounds: the plotting window ``((xmin, xmax), (ymin, ymax))``. Default (-3, 3) x (-3, 3).
      minima: known minimizers, if you know them (shape (k, 2)). Default: none, because a formula's
        minima are not computed; metrics that need a minimum then report NaN.
      name: the surface's name. Default: the formula itself.

    Returns:
      A ``Surface``; ``formula`` holds sympy's form of the expression, ``gradient_formula`` the
      two partial derivatives.

    Raises:
      ValueError: for anything outside the whitelist, naming what was refused.

    Example:
      >>> import numpy as np
      >>> from descentlab.surfaces import from_expression
      >>> s = from_expression("x**2 + 10*y**2")
      >>> s.grad(np.array([1.0, 1.0]))
      array([ 2., 20.])
      >>> from_expression("__import__('os')")  # doctest: +ELLIPSIS
      Traceback (most recent call last):
      ...
      ValueError: Refused expression "__import__('os')": the function '__import__'. Allowed: ...
    """
    if not isinstance(text, str):
        raise ValueError("from_expression: the formula must be a string. "
                         f"Got {type(text).__name__}.")
    if len(text) > MAX_CHARS:
        _refuse(text[:40] + "...", f"longer than {MAX_CHARS} characters")
    if not text.strip():
        _refuse(text, "the formula is empty")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        _refuse(text, f"not a valid formula ({err.msg})")
    _Checker(text).check(tree.body)

    from descentlab._extras import require

    sp = require("sympy", extra="lab", feature="formula surfaces (from_expression)")
    x, y = sp.Symbol("x", real=True), sp.Symbol("y", real=True)
    expr = _to_sympy(tree.body, sp, {"x": x, "y": y})
    gx, gy = sp.diff(expr, x), sp.diff(expr, y)
    for part, what in ((expr, "the formula"), (gx, "dJ/dx"), (gy, "dJ/dy")):
        # sympy folds x/0 to zoo*x, 0*x/0 to nan, tan(pi/2) to zoo: nothing finite to evaluate
        if part.has(sp.zoo, sp.nan, sp.oo, sp.S.NegativeInfinity, sp.I):
            _refuse(text, f"{what} simplifies to {part}, which is not a finite real function")
    def refuse(why):
        _refuse(text, why)

    value = _compile(expr, sp, refuse)
    dx, dy = _compile(gx, sp, refuse), _compile(gy, sp, refuse)
    surface = Surface(
        name or text.strip(), value, lambda X, Y, xp: (dx(X, Y, xp), dy(X, Y, xp)),
        bounds=bounds, minima=minima, formula=str(expr),
        description=f"The formula {text.strip()!r}, differentiated symbolically: "
        f"dJ/dx = {gx}, dJ/dy = {gy}. Its minima are not computed.",
        spec={"expression": text.strip(), "bounds": [list(map(float, b)) for b in bounds],
              "minima": np.asarray(minima, dtype=float).reshape(-1, 2).tolist()},
    )
    if len(surface.minima):
        # a stated minimum must be a finite point where J is finite: J - f* with f* = inf or nan
        # would make every gap -inf / nan (--minimum 1e200,0 on x**2 gave J - f* = -inf)
        with np.errstate(all="ignore"):
            at = np.asarray(surface.value(surface.minima), dtype=np.float64).reshape(-1)
        bad = [k for k in range(len(surface.minima))
               if not (np.isfinite(surface.minima[k]).all() and np.isfinite(at[k]))]
        if bad:
            k = bad[0]
            raise ValueError(
                f"from_expression: the minimum {tuple(surface.minima[k].tolist())} of "
                f"{text.strip()!r} must be a finite point where the formula is finite; "
                f"J there is {float(at[k])}.")
    surface.gradient_formula = (str(gx), str(gy))
    surface.expression = expr
    # the formula's size: nodes of the trees evaluated at every step (the playground's cost
    # estimate; each node is one NumPy call per evaluation)
    surface.formula_nodes = sum(sum(1 for _ in sp.preorder_traversal(p)) for p in (expr, gx, gy))
    return surface


def check_defined_at(surface: Surface, points, *, what: str = "the start") -> None:
    """Refuse points where the surface or its gradient is not a finite real number.

    A run from such a point cannot take one step: ``log(x) + y**2`` at x < 0 is NaN, ``1/x`` at
    x = 0 infinite, ``sqrt(x**2 + y**2)`` has no gradient at the origin. ``lab.run`` would report
    every run "diverged at step 0" and draw no loss curve; the command line (exit status 2) and
    the playground (HTTP 422) say why instead.

    Args:
      surface: any surface (a formula's, the catalog's).
      points: start points, shape ``(k, 2)`` (or one point).
      what: how the message names the points (``"--start"``, ``"starts"``).

    Raises:
      ValueError: naming the first such point, J and the gradient there.

    Example:
      >>> s = from_expression("log(x) + y**2")
      >>> check_defined_at(s, [[1.0, 0.0]])
      >>> check_defined_at(s, [[1.0, 0.0], [-2.4, 2.4]], what="--start")  # doctest: +ELLIPSIS
      Traceback (most recent call last):
      ...
      ValueError: the formula 'log(x) + y**2' is undefined at --start -2.4,2.4 ...
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    with np.errstate(all="ignore"):
        J = np.asarray(surface.value(pts), dtype=np.float64).reshape(-1)
        g = np.asarray(surface.grad(pts), dtype=np.float64).reshape(-1, 2)
    bad = ~(np.isfinite(J) & np.isfinite(g).all(axis=1))
    if not bad.any():
        return
    k = int(np.flatnonzero(bad)[0])
    x, y = (float(v) for v in pts[k])
    where = f"{what} {x:g},{y:g}" + (f" (start {k + 1} of {len(pts)})" if len(pts) > 1 else "")
    spec = surface.spec if isinstance(surface.spec, dict) else {}
    owner = (f"the formula {spec['expression']!r}" if "expression" in spec
             else f"the surface {surface.name!r}")
    if not np.isfinite(J[k]):
        part = f"J = {J[k]:g} there"
    else:
        part = f"J = {J[k]:g} but its gradient is ({g[k, 0]:g}, {g[k, 1]:g}) there"
    raise ValueError(
        f"{owner} is undefined at {where}: {part} (e.g. a log or sqrt of a negative number, a "
        "division by zero, or a kink without a gradient), so no step can be taken from it. "
        "Choose a start where the formula and its gradient are finite.")
