"""A refused grid is described in the user's terms: the values of the grid as written, and why.

``sweep --optimizer adadelta --grid lr=-1:1:5`` used to say "Got -1.0 at index (0, 0) (4 of 10
elements invalid)": an index and a count of the runs' internal array (5 values x 2 start points),
not of the 5 values the user gave. ``--grid lr=0.001:1:0`` only repeated the syntax.
"""

from __future__ import annotations

import pytest
from cli_helpers import exit_code

from descentlab import lab
from descentlab.lab._specs import UsageError, parse_grid


@pytest.mark.parametrize("argv, needle", [
    (["--optimizer", "adadelta", "--grid", "lr=-1:1:5"],
     "lr=-1:1:5 gives -1.0 and -0.5, outside [0.0, inf)"),
    (["--optimizer", "adam", "--grid", "lr=0.1,1", "--grid", "beta1=0.5,0.9,1.5,2"],
     "beta1=0.5,0.9,1.5,2 gives 1.5 and 2.0, outside [0.0, 1.0)"),
    (["--optimizer", "adadelta", "--grid", "lr=0.001:1:0"], "must be at least 1; got 0"),
    (["--optimizer", "adadelta", "--grid", "lr=0.001:1:2.5"],
     "is a whole number of at least 1; got '2.5'"),
])
def test_a_refused_grid_names_its_values_as_given(argv, needle, tmp_path, capsys):
    out = tmp_path / "x.png"
    assert exit_code(["sweep", *argv, "--steps", "1", "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert "index" not in err and "elements invalid" not in err
    assert not out.exists()


def test_lab_run_names_the_listed_values_that_are_out_of_range():
    # the library's message counts the values given, not the runs (3 values x 2 starts)
    with pytest.raises(ValueError, match=r"'lr' parameter of Adam must be a float in the range "
                                         r"\[0\.0, inf\)\. Got -2\.0 and -1\.0 in the 3 values"):
        lab.run("rosenbrock", ("adam", {"lr": [0.1, -2, -1]}), [[0, 0], [1, 1]], steps=1)
    name, values = parse_grid("lr=-1:1:5")
    with pytest.raises(ValueError, match=r"^lr=-1:1:5 gives -1\.0 and -0\.5, outside"):
        lab.run("rosenbrock", ("adam", {name: values}), steps=1)


def test_a_grid_count_below_one_says_so():
    with pytest.raises(UsageError, match="must be at least 1; got -3"):
        parse_grid("lr=0.001:1:-3")
