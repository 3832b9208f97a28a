"""The benchmark report: an honest heat map (ratio to the best on one fixed scale, tied cells as
the best), curve colours that can be told apart, and a performance line that survives a re-run."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from descentlab.benchmark import _report  # noqa: E402


class FakeAnalysis:
    """Just what heat_ratios reads: settings.problems / optimizers and row()."""

    def __init__(self, table):
        self.table = table
        probs = list(dict.fromkeys(p for p, _ in table))
        opts = list(dict.fromkeys(o for _, o in table))
        self.settings = SimpleNamespace(problems=probs, optimizers=opts)

    def row(self, problem, ruleset, optimizer):
        cell = self.table.get((problem, optimizer))
        if cell is None:
            return None
        mean, tied = cell
        return {"test_metric": mean, "tied_best": tied}


def test_heat_map_colours_by_ratio_to_the_best_and_draws_ties_as_best():
    A = FakeAnalysis({
        ("p", "SGD"): (0.10, True),       # the best
        ("p", "Adagrad"): (0.30, True),   # tied with it (overlapping intervals): drawn as best
        ("p", "Adam"): (0.15, False),     # 1.5x the best
        ("q", "SGD"): (2.0, False),       # 2x the best of q
        ("q", "Adagrad"): (1.0, True),
        ("q", "Adam"): (math.nan, False),  # no finite mean: no colour
    })
    probs, opts, ratio, text = _report.heat_ratios(A, "defaults")
    assert probs == ["p", "q"] and opts == ["SGD", "Adagrad", "Adam"]
    np.testing.assert_allclose(ratio[0], [1.0, 1.0, 1.5])
    assert ratio[1, 0] == pytest.approx(2.0) and ratio[1, 1] == 1.0 and math.isnan(ratio[1, 2])
    # the same ratio is the same colour in every problem: a fixed scale, not min-max per row
    # (min-max drew Adagrad's tied cell in p as the worst, darkest one)
    assert text[0][1] == "0.3 ★" and text[0][2] == "0.15"


def test_a_zero_best_makes_other_cells_the_end_of_the_scale():
    A = FakeAnalysis({("p", "SGD"): (0.0, True), ("p", "Adam"): (0.2, False)})
    _, _, ratio, _ = _report.heat_ratios(A, "defaults")
    assert ratio[0, 0] == 1.0 and ratio[0, 1] == math.inf


def test_curve_styles_can_be_told_apart():
    names = ["GD", "SGD", "Momentum", "NAG", "Adagrad", "RMSProp", "AdaDelta", "Adam", "Nadam",
             "torch:SGD", "torch:Momentum", "torch:NAG", "torch:Adagrad", "torch:RMSprop",
             "torch:Adadelta", "torch:Adam", "torch:NAdam"]
    st = _report._styles(names)
    ours = [st[n]["color"] for n in names[:9]]
    assert len(set(ours)) == 9  # one hue per descentlab optimizer (tab20 paired light/dark)
    for n in names[9:]:
        base = {"RMSprop": "RMSProp", "Adadelta": "AdaDelta", "NAdam": "Nadam"}.get(
            n.split(":")[1], n.split(":")[1])
        assert st[n] == {"color": st[base]["color"], "ls": "--"}  # torch's: same hue, dashed


def test_a_rerun_keeps_the_performance_line(tmp_path):
    keep = tmp_path / "performance.json"
    first = {"trials_run": 120, "tasks_run": 40, "executor": "2 local worker processes",
             "wall_s": 60.0, "trials_per_minute": 120.0, "utilisation": 0.9,
             "in_store_at_start": 0}
    line = _report._performance_line(first, keep)
    assert "ran 120 trials" in line and "120 trials per minute" in line
    assert json.loads(keep.read_text())["trials_per_minute"] == 120.0
    rerun = {"trials_run": 0, "tasks_run": 0, "executor": "2 local worker processes",
             "wall_s": 1.0, "trials_per_minute": 0.0, "utilisation": 0.0,
             "in_store_at_start": 120}
    line = _report._performance_line(rerun, keep)
    assert " 0 trials per minute" not in line
    assert "found all 120 trials in the store and ran none" in line
    assert "120 trials per minute" in line  # the run that computed them
    assert "not recorded" in _report._performance_line(rerun, tmp_path / "absent.json")


def test_wide_tables_scroll_inside_their_box():
    html = _report._table([{"a": 1.0, "b": "x"}], ["a", "b"])
    assert html.startswith("<div class=scroll><table>")
    assert ".scroll{overflow-x:auto" in _report._CSS


@pytest.mark.browser
def test_the_report_fits_a_1280_px_window(reference):
    """The report was 1477 px wide in a 1280 px window (the summary table); now nothing scrolls
    sideways and the heat map's cell text is at least 9 px tall as shown."""
    import os

    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("/usr/bin/chromium is absent (Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    out, _, _ = reference
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto((out / "report.html").as_uri())
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280
            img = page.locator("img[alt^='Problem x optimizer heat map']").first
            natural = img.evaluate("el => el.naturalWidth")
            shown = img.bounding_box()["width"]
        finally:
            browser.close()
    # cell text is 9 pt at the report's 80 dpi (10 px) in the PNG; scaled by the page
    assert 10 * shown / natural >= 9
