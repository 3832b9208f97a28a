"""A formula evaluates to real floats or is refused, saying why (issue 12 item 3, issue 14 item 2).

sympy leaves some constants complex but unevaluated (``acos(2)``, ``atanh(2)``, the principal cube
root of -8); they raised ``TypeError: Cannot convert complex to float`` from every endpoint and
from ``race --expr``. A start where the formula is undefined ran silently, every run "diverged
at step 0".
"""

import math

import numpy as np
import pytest

pytest.importorskip("sympy")

from descentlab.surfaces import from_expression  # noqa: E402


def check_defined_at(*args, **kw):
    from descentlab.surfaces._expression import check_defined_at

    return check_defined_at(*args, **kw)


@pytest.mark.parametrize("text, shown", [
    ("acos(2+0*x)", "acos(2)"),
    ("atanh(2+0*x)", "atanh(2)"),
    ("(x-x-8)**(1/3)", "(-1)**(1/3)"),
    ("x + atanh(2 + 0*y)*y", "atanh(2)"),
])
def test_a_complex_constant_is_refused_saying_so(text, shown):
    with pytest.raises(ValueError, match="complex") as info:
        from_expression(text)
    assert shown in str(info.value) and text in str(info.value)


def test_a_real_constant_of_the_same_functions_still_works():
    s = from_expression("acos(0.5+0*x) + y**2")
    assert s.value(np.array([0.0, 1.0])) == pytest.approx(math.acos(0.5) + 1.0)


def test_undefined_at_a_start_names_the_start():
    s = from_expression("log(x)+y**2")
    check_defined_at(s, [[1.0, 2.0]])  # defined there: no error
    with pytest.raises(ValueError, match=r"undefined at --start -1,0 \(start 2 of 2\): J = nan"):
        check_defined_at(s, [[1.0, 2.0], [-1.0, 0.0]], what="--start")


def test_a_start_without_a_gradient_is_refused():
    s = from_expression("sqrt(x**2 + y**2)")
    with pytest.raises(ValueError, match=r"J = 0 but its gradient is \(nan, nan\)"):
        check_defined_at(s, [[0.0, 0.0]])


@pytest.mark.parametrize("argv, shown", [
    (["--expr", "log(x)+y**2"], "undefined at the default --start -2.4,2.4: J = nan"),
    (["--expr", "log(x)+y**2", "--start=-1,1"], "undefined at --start -1,1: J = nan"),
    (["--expr", "acos(2+0*x)"], "complex"),
    (["--expr", "(x-x-8)**(1/3)"], "complex"),
])
def test_race_exits_2_naming_the_problem(argv, shown, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from descentlab.cli import main

    out = tmp_path / "log.png"
    assert main(["race", *argv, "--out", str(out), "--steps", "5", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert shown in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
