"""A GIF over the run-step limit is refused with the way under it, and the numbers given fit.

3 runs x 5,000 steps = 15,000 run-steps over a 10,000 limit: the steps that fit with 3 runs are
10,000 // 3 = 3,333, the runs that fit with 5,000 steps are 10,000 // 5,000 = 2.
"""

from __future__ import annotations

import re

import pydantic
import pytest

from descentlab.web._models import LIMITS, GifRequest


def gif_body(runs: int, steps: int) -> dict:
    return {"run": {"surface": {"name": "bowl"}, "starts": [[1, 1]], "steps": steps,
                    "optimizers": [{"name": "gd"}] * runs}}


def test_the_servers_gif_refusal_names_the_steps_and_runs_that_fit(client):
    assert LIMITS.max_gif_run_steps == 10_000
    r = client.post("/api/export/gif", json=gif_body(3, 5000))
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "limited to 10,000 run-steps" in detail and "3 runs x 5,000 steps make 15,000" in detail
    assert "Lower the steps to 3,333 or fewer" in detail and "keep 2 runs" in detail
    steps = int(re.search(r"steps to ([\d,]+)", detail)[1].replace(",", ""))
    runs = int(re.search(r"keep (\d+) run", detail)[1])
    # the numbers it names fit, and one more does not (validation only: nothing is rendered)
    GifRequest.model_validate(gif_body(3, steps))
    GifRequest.model_validate(gif_body(runs, 5000))
    for over in (gif_body(3, steps + 1), gif_body(runs + 1, 5000)):
        with pytest.raises(pydantic.ValidationError, match="Lower the steps"):
            GifRequest.model_validate(over)
