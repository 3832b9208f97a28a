"""``bench --out DIR`` writes only into a new, empty or previous bench folder (the tour's rule).

A folder holding files the benchmark did not write is refused before any work, naming them, and
nothing there is created, replaced or deleted; a rerun into the bench's own folder (a resume)
still works, also for a folder written before the manifest ``bench.json`` existed (recognised by
its ``results.sqlite``)."""

import json
import sqlite3

import pytest

from descentlab.cli import main

pytest.importorskip("filelock")
pytest.importorskip("sklearn")

SMALL = ["bench", "--quick", "--problems", "quadratic-k100", "--optimizers", "gd",
         "--ruleset", "defaults", "--seeds", "2", "--workers", "1", "--no-progress"]


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_a_folder_with_the_users_summary_and_report_is_refused(tmp_path, capsys):
    """The reviewer's repro: the user's own summary.csv and report.html were replaced."""
    out = tmp_path / "foreign2"
    out.mkdir()
    (out / "summary.csv").write_text("my,own\n1,2\n")
    (out / "report.html").write_text("<p>my report</p>")
    before = _snapshot(out)
    assert main([*SMALL, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"descentlab bench: error: {out} holds files that descentlab bench ")
    assert "did not write: report.html, summary.csv" in err and "refusing" in err
    assert _snapshot(out) == before  # nothing replaced, nothing added (no lock, no store)


def test_a_folder_with_notes_is_refused_before_any_file_is_made(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("notes")
    (tmp_path / "data.csv").write_text("a,b\n")
    assert main([*SMALL, "--no-report", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "data.csv, notes.txt" in err and "no bench.json" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "notes.txt"]


def test_a_rerun_into_its_own_folder_resumes(tmp_path, capsys):
    out = tmp_path / "b"
    assert main([*SMALL, "--no-report", "--out", str(out)]) == 0
    manifest = json.loads((out / "bench.json").read_text())
    assert {p.name for p in out.iterdir()} <= set(manifest["files"])
    capsys.readouterr()
    assert main([*SMALL, "--no-report", "--out", str(out)]) == 0
    assert "Nothing left to run: all 2 trials were already in" in capsys.readouterr().out


def test_a_users_file_in_a_bench_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "b"
    assert main([*SMALL, "--no-report", "--out", str(out)]) == 0
    (out / "my-notes.md").write_text("mine")
    before = _snapshot(out)
    assert main([*SMALL, "--no-report", "--out", str(out)]) == 2
    assert "my-notes.md (its bench.json does not list them)" in capsys.readouterr().err
    assert _snapshot(out) == before


def test_a_folder_of_an_earlier_version_is_recognised_by_its_store(tmp_path, capsys):
    """Before bench.json, a bench folder had results.sqlite (the trials table) and its outputs."""
    out = tmp_path / "b"
    assert main([*SMALL, "--no-report", "--out", str(out)]) == 0
    (out / "bench.json").unlink()
    capsys.readouterr()
    assert main([*SMALL, "--no-report", "--out", str(out)]) == 0
    assert "Nothing left to run: all 2 trials were already in" in capsys.readouterr().out
    assert (out / "bench.json").exists()


def test_another_programs_sqlite_file_is_not_a_bench_store(tmp_path, capsys):
    db = sqlite3.connect(tmp_path / "results.sqlite")
    db.execute("CREATE TABLE measurements (t REAL, value REAL)")
    db.commit()
    db.close()
    before = _snapshot(tmp_path)
    assert main([*SMALL, "--no-report", "--out", str(tmp_path)]) == 2
    assert "results.sqlite" in capsys.readouterr().err
    assert _snapshot(tmp_path) == before
