"""Runs display themselves in a notebook: ``Runs._repr_html_`` is a table of the measured metrics.

The numbers are checked against hand computations: GD on the bowl x^2 + y^2 multiplies the point
by (1 - 2 lr) per step, so from (1, 1) the loss after k steps is 2 (1 - 2 lr)^(2k).
"""

from __future__ import annotations

import math
import re

from descentlab import lab


def cells(page: str) -> list[list[str]]:
    return [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)
            for row in re.findall(r"<tr>(.*?)</tr>", page)]


def test_runs_show_a_metrics_table_with_hand_computed_numbers():
    r = lab.run("bowl", [("gd", {"lr": [0.1, 1.2]})], [[1.0, 1.0]], steps=50)
    page = r._repr_html_()
    table = cells(page)
    assert table[0] == ["run", "final loss", "J − f*", "dist. to min", "steps to tol.",
                        "zig-zag", "diverged at"]
    label, final, gap, dist, steps, zigzag, diverged = table[1]
    assert label == "GD(lr=0.1)"
    assert float(final) == float(f"{2 * 0.64 ** 50:.4g}")
    assert float(dist) == float(f"{math.sqrt(2) * 0.8 ** 50:.4g}")
    # first k with 2 * 0.64^k <= 1e-3
    assert int(steps) == math.ceil(math.log(5e-4) / math.log(0.64))
    assert float(zigzag) == 0 and diverged == "–"
    # lr = 1.2: the factor is -1.4, the run zig-zags outwards and leaves the window
    label, *_, steps, zigzag, diverged = table[2]
    assert label == "GD(lr=1.2)" and steps == "never"
    assert diverged == str(int(r.diverged_at[1])) and int(diverged) > 0
    assert "50 steps on bowl, from (1, 1)" in page


def test_many_runs_are_cut_in_the_middle_and_starts_get_a_column():
    starts = [[x, 1.0] for x in range(-20, 20)]
    r = lab.run("bowl", [("gd", {"lr": 0.1})], starts, steps=5)
    table = cells(r._repr_html_())
    assert table[0][:2] == ["run", "start"]
    assert len(table) == 1 + 30 + 1  # heading, 15 + 15 runs, the "more runs" row
    assert "10 more runs" in table[16][0]
    assert table[-1][1] == "(19, 1)"
