"""The tour: a self-contained report whose captions carry the measured numbers."""

from __future__ import annotations

import base64
import html
import json
import re

import numpy as np
import pytest

from descentlab.lab._figures_common import fmt
from descentlab.lab._figures_lecture import outlier_data
from descentlab.lab._tour import TourSettings, sections, tour


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("tour") / "report"
    summary = tour(out, TourSettings(quick=True, dpi=40))
    return out, summary


def test_index_references_existing_images_and_nothing_online(report):
    out, summary = report
    page = (out / "index.html").read_text(encoding="utf-8")
    images = re.findall(r'<img src="data:image/(png|gif);base64,([^"]+)" data-file="([^"]+)"',
                        page)
    assert len(images) == len(sections()) == len(summary["sections"])
    srcs = [file for _, _, file in images]
    for kind, data, file in images:  # inlined, byte for byte the file saved next to the page
        assert file.endswith("." + kind) and not file.startswith(("/", "http"))
        assert base64.b64decode(data) == (out / file).read_bytes()
        assert (out / file).stat().st_size > 1000
    assert not re.search(r"https?://", page)
    assert "<script" not in page and "<link" not in page
    assert any(s.endswith(".gif") for s in srcs)
    # nothing but the report itself: no temp files, no leftovers next to it
    assert sorted(p.name for p in out.iterdir()) == sorted(srcs + ["index.html", "tour.json"])
    assert [p.name for p in out.parent.iterdir()] == ["report"]


def test_every_section_has_a_caption_with_measured_numbers(report):
    out, _ = report
    page = (out / "index.html").read_text(encoding="utf-8")
    data = json.loads((out / "tour.json").read_text(encoding="utf-8"))
    assert data["settings"] == {"seed": 0, "quick": True, "animation": True, "dpi": 40}
    for sec in data["sections"]:
        assert re.search(r"\d", sec["measured"]), sec["key"]
        assert html.escape(sec["measured"]) in page
    assert page.count('class="look"') == page.count('class="measured"') == len(data["sections"])


def test_captions_are_computed_not_typed(report):
    out, _ = report
    page = (out / "index.html").read_text(encoding="utf-8")
    # the outlier caption's MSE slope is the least-squares slope of the same data, independently
    x, y, _ = outlier_data(seed=0)
    assert f"MSE {fmt(np.polyfit(x, y, 1)[0])}" in page
    # the lecture's worked example
    assert "cross_entropy([0,1], [0,1]) = 0, cross_entropy([0,1], [1,0]) = inf" in page
    # the family tree caption lists the metadata's edges
    assert "Adam -&gt; Nadam" in page and "NAG -&gt; Nadam" in page


def test_rerun_replaces_the_tour_and_refuses_foreign_directories(report, tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="did not write: notes.txt"):
        tour(foreign, TourSettings(quick=True))
    assert (foreign / "notes.txt").read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]  # no temp dir left behind


def test_the_manifest_lists_every_file_the_tour_wrote(report):
    out, _ = report
    manifest = json.loads((out / "tour.json").read_text(encoding="utf-8"))
    assert sorted(manifest["files"]) == sorted(p.name for p in out.iterdir())


def _two_sections(monkeypatch, keys=("family_tree", "animation")):
    from descentlab.lab import _tour

    few = [s for s in sections() if s.key in keys]
    monkeypatch.setattr(_tour, "sections", lambda: few)


def test_tour_replaces_only_the_files_of_its_previous_report(tmp_path, monkeypatch):
    out = tmp_path / "t"
    _two_sections(monkeypatch, ("family_tree", "cross_entropy"))
    tour(out, TourSettings(quick=True, animation=False, dpi=30))
    assert {p.name for p in out.iterdir()} == {"index.html", "tour.json", "family_tree.png",
                                                "cross_entropy.png"}
    (out / "index.html").write_text("old")
    _two_sections(monkeypatch)  # the next tour no longer draws cross_entropy.png: it is removed
    tour(out, TourSettings(quick=True, animation=False, dpi=30))
    assert {p.name for p in out.iterdir()} == {"index.html", "tour.json", "family_tree.png"}
    assert (out / "index.html").read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]


def test_a_file_added_to_a_previous_tour_is_kept_and_named(tmp_path, monkeypatch):
    out = tmp_path / "t"
    _two_sections(monkeypatch)
    tour(out, TourSettings(quick=True, animation=False, dpi=30))
    (out / "my-notes.md").write_text("mine")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(ValueError, match=r"my-notes\.md \(its tour.json does not list them\)"):
        tour(out, TourSettings(quick=True, animation=False, dpi=30))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_web_project_with_an_index_html_is_refused_not_wiped(tmp_path, capsys):
    """The issue's repro: ``descentlab tour --out site`` deleted thesis.tex and sub/."""
    from descentlab.cli import main

    site = tmp_path / "site"
    (site / "sub").mkdir(parents=True)
    (site / "index.html").write_text("<html>")
    (site / "thesis.tex").write_text("precious")
    assert main(["tour", "--quick", "--no-progress", "--out", str(site)]) == 2
    err = capsys.readouterr().err
    assert "index.html, sub/, thesis.tex" in err and "did not write" in err
    assert (site / "thesis.tex").read_text() == "precious" and (site / "sub").is_dir()
    assert (site / "index.html").read_text() == "<html>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_a_killed_tours_temporary_folder_is_removed_by_the_next_tour(tmp_path, monkeypatch):
    import subprocess
    import sys

    from descentlab._files import temporary_name

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / temporary_name("t", ".tmp").replace(f"-{__import__('os').getpid()}-",
                                                           f"-{dead.pid}-")
    stale.mkdir()
    (stale / "family_tree.png").write_bytes(b"half")
    _two_sections(monkeypatch)
    tour(tmp_path / "t", TourSettings(quick=True, animation=False, dpi=30))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]


def test_rebounds_name_where_a_loss_curve_climbs_back():
    from types import SimpleNamespace

    import numpy as np

    from descentlab.lab._tour import _rebounds

    steps = np.arange(40.0)
    smooth = 10.0 * 0.8**steps  # monotone: never reported
    spike = smooth.copy()
    spike[30] = 5.0  # from its best 10 * 0.8**29 back up to 5
    class FakeRuns(SimpleNamespace):
        def __len__(self):
            return 2

    fake = FakeRuns(losses=np.stack([smooth, spike], axis=1),
                    surface=SimpleNamespace(minimum_value=0.0),
                    label=lambda i: ["smooth", "spiky"][i])
    (r,) = _rebounds(fake)
    assert r["run"] == "spiky" and r["step"] == 30 and r["to"] == 5.0
    assert r["best"] == pytest.approx(10.0 * 0.8**29)
