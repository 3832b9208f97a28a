"""The lab's commands refuse impossible or oversized settings up front, with messages that name
the option, and handle formulas (constant, with known minima) and exports like the rest."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest
from cli_helpers import exit_code

from descentlab import surfaces
from descentlab.cli import main
from descentlab.lab import METRICS
from descentlab.lab._runs import run


# Each command below ran (or crashed, or hung) before; every one must now exit 2 before any
# work, even with --dry-run (which stops right after the settings would be printed).
@pytest.mark.parametrize("argv, needle", [
    (["race", "--fps", "0", "--out", "a.gif"],
     "The '--fps' parameter of descentlab race must be an integer in the range [1, 50]. Got 0"),
    (["race", "--fps", "1000000", "--out", "a.gif"], "range [1, 50]. Got 1000000 instead."),
    (["race", "--frames", "1000000", "--out", "a.gif"],
     "The '--frames' parameter of descentlab race must be an integer in the range [2, 120]"),
    (["race", "--frames", "1", "--out", "a.gif"], "range [2, 120]. Got 1 instead."),
    (["race", "--steps", "200000000"], "40.2 GiB of memory (3 runs"),
    (["race", "--steps", "200000000"], "the lab's cap is 2 GiB. Lower --steps"),
    (["sweep", "--grid", "lr=0.1:1:100000", "--grid", "gamma=0:0.9:100000"],
     "10,000,000,000 runs (grid cells"),
    (["sweep", "--grid", "lr=0.1:1:100000000"], "a grid axis has at most 1,000,000 values"),
    (["basins", "--grid", "100000"],
     "100,000 x 100,000 starts (--grid 100000) x (64 + 3 optimizer settings x 64) bytes"),
    (["race", "--dpi", "100000"],
     "The '--dpi' parameter of descentlab race must be an integer in the range [10, 600]. Got "
     "100000"),
    (["race", "--dpi", "0"], "The '--dpi' parameter of descentlab race must be an integer in "
                             "the range [10, 600]. Got 0"),
    (["race", "--dpi", "-5"], "The '--dpi' parameter of descentlab race must be an integer in "
                              "the range [10, 600]. Got -5"),
    (["sweep", "--dpi", "0"], "The '--dpi' parameter of descentlab sweep"),
    (["race", "--out", "a.gif", "--dpi", "600"], "for --dpi or --frames (the GIF's 60 frames"),
    (["sweep", "--grid", "lr=0.1:1:5", "--grid", "lr=0.1:1:5"],
     "the two --grid axes sweep the same hyperparameter 'lr'"),
    (["basins", "--radius", "-1"], "The '--radius' parameter of descentlab basins must be a "
                                   "float in the range (0.0, inf). Got -1.0 instead."),
    (["basins", "--radius", "nan"], "range (0.0, inf). Got nan instead."),
    (["basins", "--radius", "inf"], "range (0.0, inf). Got inf instead."),
    (["race", "--expr", ""], "the formula is empty"),
    (["race", "--bounds", "0,inf,0,1"], "--bounds needs four finite numbers"),
    (["race", "--bounds=-1e308,1e308,0,1"], "--bounds must lie in [-1e+100, 1e+100] (figures "
                                            "need room to compute ticks)"),
    (["race", "--bounds=0,1.7e308,0,1"], "--bounds must lie in"),  # was matplotlib's traceback
    (["race", "--start", "nan,1"], "a start point X,Y must be two finite numbers"),
    (["sweep", "--start=-inf,0"], "a start point X,Y must be two finite numbers"),
    (["race", "--expr", "x**2", "--bounds=-inf,1,0,1"], "--bounds needs four finite numbers"),
    (["race", "--tol", "-1"], "The '--tol' parameter of descentlab race must be a float in "
                              "the range (0.0, inf). Got -1.0 instead."),
    (["race", "--minimum", "0,0"], "--minimum gives the minima of an --expr formula"),
    (["race", "--expr", "x**2", "--minimum", "0,nan"], "--minimum X,Y must be two finite numbers"),
])
def test_refused_up_front(argv, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert exit_code([*argv, "--dry-run", "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert needle in captured.err
    assert "Traceback" not in captured.err
    assert "settings:" not in captured.out  # refused before the settings were announced
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", [5, None, "", [1]])
def test_config_out_is_validated(value, tmp_path, capsys):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"command": "race", "settings": {"out": value}}))
    assert main(["race", "--config", str(cfg), "--no-progress"]) == 2
    assert "the setting 'out' (--out) must be a string (non-empty)" in capsys.readouterr().err


def test_config_other_keys_are_type_checked(tmp_path, capsys):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"command": "race", "settings": {"csv": 3}}))
    assert main(["race", "--config", str(cfg), "--no-progress"]) == 2
    assert "'csv' (--csv) must be a string or null, got 3" in capsys.readouterr().err


def test_animate_runs_guards_fps_and_frames(tmp_path):
    from descentlab.lab._animate import animate_runs

    runs = run("bowl", ("gd", {"lr": 0.1}), steps=3)
    for kw, needle in [({"fps": 0}, "'fps' parameter of animate_runs must be an integer in "
                                     "the range [1, 50]. Got 0"),
                       ({"fps": 51}, "Got 51"), ({"fps": 2.5}, "Got 2.5"),
                       ({"frames": 121}, "'frames' parameter of animate_runs must be an "
                                         "integer in the range [2, 120]. Got 121"),
                       ({"frames": 1}, "Got 1 instead")]:
        with pytest.raises(ValueError) as e:
            animate_runs(runs, tmp_path / "a.gif", **kw)
        assert needle in str(e.value)
    assert list(tmp_path.iterdir()) == []


def test_animation_frames_are_capped_at_steps_plus_one(tmp_path, monkeypatch, capsys):
    from PIL import Image

    from descentlab.lab._animate import animate_runs

    rendered = []
    frombuffer = Image.frombuffer
    monkeypatch.setattr(Image, "frombuffer", lambda *a, **k: rendered.append(1) or
                        frombuffer(*a, **k))
    runs = run("bowl", ("gd", {"lr": 0.1}), steps=2)
    animate_runs(runs, tmp_path / "a.gif", frames=120, fps=50, dpi=20)
    assert len(rendered) == 3  # steps 0, 1, 2; the held end reuses the last image
    with Image.open(tmp_path / "a.gif") as im:
        assert im.n_frames == 3
    rendered.clear()
    assert main(["race", "--steps", "4", "--frames", "100", "--fps", "2", "--optimizer",
                 "gd:lr=0.001", "--dpi", "20", "--out", str(tmp_path / "b.gif"),
                 "--no-progress"]) == 0
    assert len(rendered) == 5
    assert "--frames 100 is capped to that" in capsys.readouterr().out


def test_exports_follow_the_umask(tmp_path):
    runs = run("bowl", ("gd", {"lr": 0.1}), steps=2)
    old = os.umask(0o022)
    try:
        runs.to_csv(tmp_path / "r.csv")
        runs.to_json(tmp_path / "r.json")
        assert main(["race", "--steps", "2", "--optimizer", "gd:lr=0.001", "--dpi", "20",
                     "--out", str(tmp_path / "r.png"), "--csv", str(tmp_path / "c.csv"),
                     "--json", str(tmp_path / "c.json"), "--no-progress"]) == 0
        os.umask(0o077)
        runs.to_csv(tmp_path / "private.csv")
    finally:
        os.umask(old)
    for name in ("r.csv", "r.json", "c.csv", "c.json", "r.png"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name
    assert stat.S_IMODE((tmp_path / "private.csv").stat().st_mode) == 0o600


def test_basin_classes_refuses_a_bad_radius():
    from descentlab.lab._figures_maps import basin_classes

    runs = run("himmelblau", ("gd", {"lr": 0.01}), [[0.0, 0.0]], steps=5)
    for radius in (-1.0, 0.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"The 'radius' parameter of basin_classes must be "
                           r"a float in the range \(0\.0, inf\)"):
            basin_classes(runs, radius=radius)


def test_expr_minimum_reaches_the_metrics(capsys, tmp_path):
    argv = ["race", "--expr", "x**2+10*y**2", "--optimizer", "gd:lr=0.05", "--start", "2,1",
            "--steps", "100", "--dpi", "20", "--out", str(tmp_path / "e.png"), "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "give them with --minimum X,Y" in out
    row = next(ln for ln in out.splitlines() if ln.startswith("GD(lr=0.05)"))
    assert row.split()[2:4] == ["nan", "-1"]
    assert main([*argv, "--minimum", "0,0"]) == 0
    out = capsys.readouterr().out
    assert "--minimum X,Y" not in out
    # by hand: GD on x^2 + 10 y^2 with lr 0.05 scales x by 0.9 and y by 0 each step, so
    # J_t = 4 * 0.81^t from t = 1; the first t with J_t <= 1e-3 is ceil(log(2.5e-4)/log(0.81))
    expected = int(np.ceil(np.log(1e-3 / 4) / np.log(0.81)))
    row = next(ln for ln in out.splitlines() if ln.startswith("GD(lr=0.05)"))
    assert int(row.split()[3]) == expected
    settings = json.loads(next(ln for ln in out.splitlines() if "settings:" in ln)
                          .split("settings:", 1)[1])
    assert settings["minimum"] == ["0,0"]


def test_expr_minimum_in_sweep_and_basins(capsys, tmp_path):
    assert main(["basins", "--expr", "(x-1)**2 + (y+1)**2", "--minimum", "1,-1", "--grid", "4",
                 "--steps", "100", "--optimizer", "gd:lr=0.1", "--dpi", "20",
                 "--out", str(tmp_path / "b.png"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "GD(lr=0.1): diverged 0.0%, elsewhere 0.0%, minimum 0 100.0%" in out
    assert main(["sweep", "--expr", "x**2 + y**2", "--minimum", "0,0", "--grid", "lr=0.1,0.2",
                 "--optimizer", "gd", "--start", "1,1", "--steps", "50", "--dpi", "20",
                 "--out", str(tmp_path / "s.png"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "never within tol 0%" in out and "--minimum X,Y" not in out
    for cmd in ("race", "sweep", "basins"):
        with pytest.raises(SystemExit):
            main([cmd, "--help"])
        assert "--minimum X,Y" in capsys.readouterr().out


@pytest.mark.parametrize("suffix", [".png", ".gif"])
def test_a_constant_formula_draws(suffix, tmp_path, capsys):
    out = tmp_path / f"r{suffix}"
    assert main(["race", "--expr", "3", "--steps", "5", "--frames", "3", "--dpi", "20",
                 "--out", str(out), "--no-progress"]) == 0
    assert out.stat().st_size > 0
    # every point minimizes a constant; basins needs a known minimum to colour by
    assert main(["basins", "--expr", "3", "--minimum", "0,0", "--grid", "3", "--steps", "5",
                 "--dpi", "20", "--out", str(tmp_path / "b.png"), "--no-progress"]) == 0


def test_flat_surface_contours_are_one_colour():
    from descentlab.lab._figures_common import draw_contours, new_axes

    fig, ax = new_axes()
    cs = draw_contours(ax, surfaces.from_expression("3"))
    assert list(cs.levels) == [1.5, 4.5]  # one band around 3 (half-width max(1, |3|) / 2)
    fig, ax = new_axes()
    assert draw_contours(ax, surfaces.from_expression("3"), filled=False) is None
    fig.canvas.draw()


def test_basins_memory_is_the_grid_not_the_trajectories(capsys):
    """basins keeps only where each run ended: a 1500 x 1500 grid of 200-step runs (44 GiB of
    trajectories at once) is accepted, a start whose runs alone exceed the cap is not."""
    assert main(["basins", "--grid", "1500", "--dry-run"]) == 0
    capsys.readouterr()
    assert main(["basins", "--grid", "2", "--steps", "20000000", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "for the runs of a single start (3 optimizer settings x 20,000,001 points" in err
    assert err.rstrip().endswith("Lower --steps or the number of optimizer settings.")
    # one setting: the grid's own arrays count per start, whatever the number of settings
    assert main(["basins", "--grid", "5400", "--steps", "2", "--optimizer", "gd:lr=0.01",
                 "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "(64 + 1 optimizer settings x 64) bytes" in err and "Lower --grid" in err
    assert "--steps" not in err.split("cap is")[1]  # lowering --steps cannot help here


def test_basins_caption_keeps_small_fractions_visible():
    from descentlab.lab._figures_maps import plot_basins

    fig = plot_basins("himmelblau", [("momentum", {"lr": 0.01, "gamma": 0.9})], grid=15,
                      steps=200)
    frac = next(iter(fig.measured["fractions"].values()))
    assert frac["diverged"] == pytest.approx(1 / 225)  # one start of the 15 x 15 grid
    assert "diverged 0.4%" in fig.axes[0].get_title()


def test_sweep_help_and_error_list_the_same_metrics(capsys):
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"metric to colour by: {', '.join(METRICS)}" in text
    assert main(["sweep", "--metric", "speed", "--dry-run"]) == 2
    assert f"Valid choices: {', '.join(METRICS)}." in capsys.readouterr().err


def test_negative_coordinates_need_no_equals_sign(capsys):
    """argparse alone reads ``--start -1,0`` as an option named -1,0 (a value missing)."""
    assert main(["race", "--start", "-1,0", "--start", "-.5,2", "--dry-run"]) == 0
    assert '"start": ["-1,0", "-.5,2"]' in capsys.readouterr().out
    assert main(["basins", "--expr", "(x+1)**2+y**2", "--minimum", "-1,0", "--bounds",
                 "-3,1,-2,2", "--grid", "3", "--steps", "2", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert '"minimum": ["-1,0"]' in out and '"bounds": "-3,1,-2,2"' in out
