"""Refusals a first-time user ran into: each used to run and print something misleading."""

from __future__ import annotations

import pytest
from cli_helpers import exit_code

from descentlab.cli import main


@pytest.mark.parametrize("argv, needle", [
    # an all-grey map with exit 0: a formula's minima are unknown, so nothing can be coloured
    (["basins", "--expr", "x**2+y**2", "--grid", "3", "--steps", "1"], "--minimum X,Y"),
    # the fixed gamma=0.5 was silently replaced by the grid's values
    (["sweep", "--optimizer", "momentum:gamma=0.5", "--grid", "gamma=0:0.9:3", "--steps", "1"],
     "fixes 'gamma', which --grid also sweeps"),
    # lr=0.1 was silently dropped for the last value
    (["race", "--optimizer", "adam:lr=0.1,lr=0.2", "--steps", "1"], "gives 'lr' twice"),
    # 'diverged at step 0' for every run, none of which took a step
    (["race", "--start", "100,100", "--steps", "1"], "--start 100,100 lies outside [-20, 20]"),
    (["sweep", "--start", "0,500", "--steps", "1"], "widen the view with --bounds"),
    # J - f* = -inf for every run
    (["race", "--expr", "x**2+y**2", "--minimum", "1e200,0", "--steps", "1"], "J there is inf"),
    # refused only after the settings were printed, as 'batch_size of lab.run'
    (["race", "--surface", "lecture_lr", "--batch-size", "0", "--steps", "1"],
     "The '--batch-size' parameter of descentlab race must be an integer in the range [1, inf)"),
])
def test_misleading_settings_are_refused(argv, needle, tmp_path, capsys):
    out = tmp_path / "x.png"
    assert exit_code([*argv, "--out", str(out), "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert needle in captured.err
    assert "settings:" not in captured.out  # refused up front, before any work
    assert not out.exists()


def test_a_start_inside_the_widened_view_runs(tmp_path, capsys):
    out = tmp_path / "x.png"
    argv = ["race", "--start", "100,100", "--bounds=-200,200,-200,200", "--steps", "2",
            "--optimizer", "gd:lr=1e-9", "--out", str(out), "--no-progress"]
    assert exit_code(argv) == 0
    assert out.exists()
    row = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("GD("))
    assert row.split()[-1] == "-1"  # not diverged


def test_seed_help_says_what_it_seeds(capsys):
    # race --seed 3 on linear_fit ran on the very data set of --seed 0; the help said otherwise
    for cmd in ("race", "sweep"):
        with pytest.raises(SystemExit):
            main([cmd, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "--surface-option seed=N" in text and "data sets" not in text


@pytest.mark.parametrize("formula, minimum, gradient", [
    ("x**2+y**2", "1,1", "the gradient there is (2, 2)"),  # a slope
    ("x**2-y**2", "0,0", "the gradient there is (0, 0)"),  # a saddle
    ("4-x**2-y**2", "0,0", "the gradient there is (0, 0)"),  # a maximum
])
def test_a_minimum_that_is_not_a_minimum_is_refused(formula, minimum, gradient, tmp_path,
                                                     capsys):
    for command in ("race", "sweep"):
        out = tmp_path / "x.png"
        argv = [command, "--expr", formula, "--minimum", minimum, "--steps", "2",
                "--out", str(out), "--no-progress"]
        assert exit_code(argv) == 2
        err = capsys.readouterr().err
        assert f"--minimum {minimum} is not a minimum of '{formula}'" in err
        assert gradient in err
        assert not out.exists()


def test_a_minimum_given_to_two_decimals_is_accepted(tmp_path, capsys):
    # Himmelblau's minimum at (3.584428, -1.848126), rounded
    argv = ["race", "--expr", "(x**2+y-11)**2+(x+y**2-7)**2", "--minimum", "3.58,-1.85",
            "--minimum", "3,2", "--dry-run"]
    assert exit_code(argv) == 0
