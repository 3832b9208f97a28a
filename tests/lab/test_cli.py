"""The lab's commands: tour, race, sweep, basins (through ``descentlab.cli.main``)."""

from __future__ import annotations

import json

import pytest
from cli_helpers import exit_code

from descentlab import optim, surfaces
from descentlab.cli import build_parser, main


def _settings(stdout: str, command: str) -> dict:
    head = f"descentlab {command} settings:"
    line = next(ln for ln in stdout.splitlines() if ln.startswith(head))
    return json.loads(line.split("settings:", 1)[1])


def test_commands_are_registered_and_help_is_complete(capsys):
    parser = build_parser()
    names = set(parser._subparsers._group_actions[0].choices)
    assert {"tour", "race", "sweep", "basins", "list"} <= names
    for cmd in ("tour", "race", "sweep", "basins"):
        with pytest.raises(SystemExit) as e:
            main([cmd, "--help"])
        assert e.value.code == 0
        text = capsys.readouterr().out
        assert "--config" in text and "--save-config" in text and "--dry-run" in text
        assert ("--seed" in text) == (cmd != "basins")  # basins is deterministic
        if cmd != "tour":
            for name in surfaces.names():
                assert name in text
            for name in optim.names():
                assert name in text


@pytest.mark.parametrize("argv, needle", [
    (["race", "--surface", "nowhere"], "invalid choice: 'nowhere' (choose from 'bowl'"),
    (["basins", "--surface", "nowhere"], "'himmelblau'"),
    (["race", "--optimizer", "adamw:lr=0.1"], "Valid choices: GD, SGD, Momentum, NAG, Adagrad, "
                                             "RMSProp, AdaDelta, Adam, Nadam"),
    (["sweep", "--optimizer", "rprop"], "Valid choices: GD, SGD"),
    (["race", "--optimizer", "adam:momentum=0.9"], "Valid names: lr, beta1, beta2, eps"),
    (["race", "--optimizer", "adam:lr=-1", "--dry-run"], "must be a float in the range [0.0, inf)"),
    (["race", "--out", "race.txt"], "valid choices: .png, .svg, .pdf, .gif, .mp4"),
    (["sweep", "--grid", "beta1=0:1:3", "--dry-run"], "Valid names: lr, gamma"),
    (["sweep", "--metric", "speed", "--dry-run"], "Valid choices: final_loss"),
    (["race", "--expr", "__import__('os').system('true')"], "Refused expression"),
    (["race", "--expr", "x**2", "--surface", "bowl"], "not both"),
    (["race", "--start", "1;2"], "a start point is X,Y"),
    (["race", "--bounds", "1,0,0,1"], "XMIN < XMAX and YMIN < YMAX"),
    (["race", "--expr", "x/0"], "not a finite real function"),
])
def test_bad_input_exits_2_listing_choices(argv, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert exit_code(argv) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_config_round_trip(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    argv = ["race", "--optimizer", "adam:lr=0.1", "--optimizer", "nag:lr=0.01,gamma=0.9",
            "--surface", "himmelblau", "--start", "0,0", "--steps", "7", "--seed", "3",
            "--out", str(tmp_path / "x.gif"), "--save-config", str(a), "--dry-run"]
    assert main(argv) == 0
    first = _settings(capsys.readouterr().out, "race")
    assert first["optimizer"] == ["adam:lr=0.1", "nag:lr=0.01,gamma=0.9"]
    assert first["seed"] == 3 and first["steps"] == 7 and first["start"] == ["0,0"]
    assert main(["race", "--config", str(a), "--save-config", str(b), "--dry-run"]) == 0
    second = _settings(capsys.readouterr().out, "race")
    assert second == first
    assert json.loads(a.read_text()) == json.loads(b.read_text()) == {
        "command": "race", "settings": first}
    # the command line wins over the file
    assert main(["race", "--config", str(a), "--steps", "9", "--dry-run"]) == 0
    third = _settings(capsys.readouterr().out, "race")
    assert third == {**first, "steps": 9}
    assert not (tmp_path / "x.gif").exists()  # --dry-run ran nothing


def test_config_errors(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"command": "race", "settings": {"stepz": 3}}))
    assert main(["race", "--config", str(bad)]) == 2
    assert "unknown setting(s) ['stepz']" in capsys.readouterr().err
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"command": "sweep", "settings": {}}))
    assert main(["race", "--config", str(other)]) == 2
    assert "settings for 'sweep'" in capsys.readouterr().err
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"command": "race", "settings": {"surface": "moon"}}))
    assert main(["race", "--config", str(wrong)]) == 2
    assert "Valid choices: bowl, ravine" in capsys.readouterr().err


def test_race_writes_png_and_prints_metrics(tmp_path, capsys):
    out = tmp_path / "race.png"
    csv = tmp_path / "runs.csv"
    code = main(["race", "--optimizer", "adam:lr=0.05|0.1", "--optimizer", "gd:lr=0.001",
                 "--steps", "40", "--out", str(out), "--dpi", "40", "--csv", str(csv),
                 "--no-progress"])
    assert code == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = capsys.readouterr().out
    assert "Adam(lr=0.05)" in text and "Adam(lr=0.1)" in text and "GD(lr=0.001)" in text
    assert csv.read_text().count("\n") == 1 + 3 * 41
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race.png", "runs.csv"]


def test_race_gif_on_an_expression(tmp_path, capsys):
    out = tmp_path / "r.gif"
    code = main(["race", "--expr", "x**2 + 10*y**2", "--bounds=-3,3,-2,2", "--optimizer",
                 "momentum:lr=0.02,gamma=0.8", "--start", "2,1", "--steps", "20", "--frames",
                 "4", "--dpi", "30", "--out", str(out), "--no-progress"])
    assert code == 0 and out.read_bytes()[:6] == b"GIF89a"
    s = _settings(capsys.readouterr().out, "race")
    assert s["expr"] == "x**2 + 10*y**2" and s["surface"] is None


def test_sweep_and_basins_write_figures(tmp_path, capsys):
    out = tmp_path / "s.png"
    assert main(["sweep", "--grid", "lr=0.05,0.2,0.5", "--grid", "gamma=0,0.5", "--steps", "100",
                 "--out", str(out), "--dpi", "40"]) == 0
    text = capsys.readouterr().out
    assert "6 runs" in text and "stability limit drawn for L=10" in text
    assert out.read_bytes()[:4] == b"\x89PNG"
    out = tmp_path / "b.png"
    assert main(["basins", "--grid", "5", "--steps", "20", "--optimizer", "gd:lr=0.01",
                 "--out", str(out), "--dpi", "40"]) == 0
    assert "GD(lr=0.01): diverged" in capsys.readouterr().out
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_tour_dry_run_prints_settings(tmp_path, capsys):
    assert main(["tour", "--out", str(tmp_path / "t"), "--quick", "--seed", "5",
                 "--dry-run"]) == 0
    s = _settings(capsys.readouterr().out, "tour")
    assert s == {"out": str(tmp_path / "t"), "seed": 5, "quick": True, "animation": True,
                 "dpi": 90}
    assert not (tmp_path / "t").exists()
