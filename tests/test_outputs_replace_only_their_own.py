"""A named output file replaces only a file that descentlab wrote (the guide's rule).

Every output carries descentlab's signature (PNG: the ``Software`` text chunk; SVG/PDF: the
creator; GIF: a comment extension; MP4: the ``comment`` tag; JSON: its ``format`` key or known
structure; CSV: the exact header line descentlab writes). Rerunning a command into the same
paths replaces them; an existing file without the signature is refused (exit 2, naming it)
before any work; an empty file has nothing to lose and is replaced.
"""

import json
import shutil

import pytest

from descentlab._files import ForeignFileError, check_replaceable, is_descentlab_file
from descentlab.cli import main

pytest.importorskip("matplotlib")

RACE = ["race", "--steps", "3", "--no-progress"]


def _files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_race_csv_over_a_users_file_is_refused(tmp_path, monkeypatch, capsys):
    """The reviewer's repro: ``race --csv notes.txt`` replaced the user's notes."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("my notes\n")
    assert main([*RACE, "--out", "r.png", "--csv", "notes.txt"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("descentlab race: error: notes.txt exists and descentlab did not "
                          "write it")
    assert "a new path" in err and "delete it yourself" in err and len(err.splitlines()) == 1
    assert _files(tmp_path) == {"notes.txt": b"my notes\n"}  # refused before any work


@pytest.mark.parametrize("option,name", [("--out", "r.png"), ("--out", "r.svg"),
                                         ("--out", "r.gif"), ("--json", "r.json"),
                                         ("--metrics", "m.csv"), ("--metrics", "m.json"),
                                         ("--save-config", "c.json")])
def test_a_same_named_file_without_the_signature_is_refused(tmp_path, monkeypatch, capsys,
                                                            option, name):
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_bytes(b"the user's own content\n")
    argv = [*RACE, *([] if option == "--out" else ["--out", "x.png"]), option, name]
    assert main(argv) == 2
    assert f"{name} exists and descentlab did not write it" in capsys.readouterr().err
    assert _files(tmp_path) == {name: b"the user's own content\n"}


def test_rerunning_race_into_the_same_paths_replaces_what_it_wrote(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    outs = ["--out", "r.png", "--csv", "r.csv", "--json", "r.json", "--metrics", "m.csv",
            "--save-config", "c.json"]
    assert main([*RACE, *outs]) == 0
    first = _files(tmp_path)
    assert all(is_descentlab_file(tmp_path / n) for n in first)
    assert main(["race", "--steps", "4", "--no-progress", *outs]) == 0
    second = _files(tmp_path)
    assert set(second) == set(first)
    assert all(second[n] != first[n] for n in first)  # each replaced (4 steps, not 3)
    assert main(["race", "--steps", "4", "--no-progress", "--out", "r.gif", "--frames", "3",
                 "--metrics", "m.json"]) == 0
    assert main(["race", "--steps", "3", "--no-progress", "--out", "r.gif", "--frames", "3",
                 "--metrics", "m.json"]) == 0
    assert is_descentlab_file(tmp_path / "r.gif") and is_descentlab_file(tmp_path / "m.json")


def test_rerunning_sweep_and_basins_replaces_their_figures(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    sweep = ["sweep", "--steps", "5", "--grid", "lr=0.01:0.1:2", "--grid", "gamma=0.5:0.9:2",
             "--out", "s.pdf"]
    basins = ["basins", "--grid", "4", "--steps", "5", "--out", "b.png"]
    for argv in (sweep, sweep, basins, basins):
        assert main(argv) == 0
    shutil.copy(tmp_path / "b.png", tmp_path / "copy.png")
    (tmp_path / "b.png").write_bytes(_unsigned_png())
    assert main(basins) == 2
    assert "b.png exists and descentlab did not write it" in capsys.readouterr().err


def _unsigned_png() -> bytes:
    import io

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def test_files_of_other_programs_are_not_taken_for_descentlabs(tmp_path):
    from PIL import Image

    png = tmp_path / "plot.png"
    png.write_bytes(_unsigned_png())  # matplotlib's own PNG, not descentlab's
    gif = tmp_path / "a.gif"
    Image.new("RGB", (4, 4)).save(gif, format="GIF", comment=b"made by someone")
    data = tmp_path / "data.csv"
    data.write_text("run,step,x,y\n0,0,1,2\n")  # a prefix of the runs header is not the header
    js = tmp_path / "doc.json"
    js.write_text(json.dumps({"format": "geojson", "runs": []}))
    for p in (png, gif, data, js):
        assert not is_descentlab_file(p), p
        with pytest.raises(ForeignFileError, match=f"{p.name} exists and descentlab did not"):
            check_replaceable(p)


def test_an_empty_file_is_replaced(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.csv").touch()  # e.g. made by mktemp or touch: nothing to lose
    assert main([*RACE, "--out", "r.png", "--csv", "r.csv"]) == 0
    assert (tmp_path / "r.csv").read_text().startswith("run,step,x,y,loss,")


def test_the_library_refuses_too(tmp_path):
    from descentlab.lab import run

    runs = run("himmelblau", [("GD", {"lr": 0.01})], steps=2)
    (tmp_path / "mine.csv").write_text("a,b\n")
    with pytest.raises(ForeignFileError):
        runs.to_csv(tmp_path / "mine.csv")
    assert (tmp_path / "mine.csv").read_text() == "a,b\n"
    runs.to_csv(tmp_path / "runs.csv")
    runs.to_csv(tmp_path / "runs.csv")  # its own file: replaced


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_an_mp4_it_wrote_is_replaced_and_another_is_not(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["race", "--steps", "3", "--no-progress", "--out", "r.mp4", "--frames", "3"]
    assert main(argv) == 0 and main(argv) == 0
    assert is_descentlab_file(tmp_path / "r.mp4")
    import subprocess

    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=red:s=32x32:d=0.2",
                    "-y", "other.mp4"], check=True)
    shutil.copy(tmp_path / "other.mp4", tmp_path / "r.mp4")
    assert main(argv) == 2
    assert "r.mp4 exists and descentlab did not write it" in capsys.readouterr().err
