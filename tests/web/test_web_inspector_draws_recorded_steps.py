"""The inspector's arrows are the server's recorded numbers, not a second copy of the optimizer.

Every arrow the contour plot draws for the inspected run must join points the server recorded for
that step (theta_t, the look-ahead point where the gradient was taken, theta_{t+1}), all magnified
by the one factor the legend shows, about theta_t. The old inspector recomputed Adam's bias
correction in JavaScript (``1 - beta1**t``: wrong for Nadam ``variant="optax"``, which uses t+1) to
draw a "-lr m-hat" arrow, and drew a "-lr g" arrow for adaptive optimizers, whose step is not
-lr g: both fail here.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_web_browser import results, settled, wait_until

from descentlab import lab, surfaces

pytestmark = pytest.mark.browser

CASES = {
    "nadam-optax": "Nadam(lr=0.05,beta1=0.9,beta2=0.999,eps=1e-8,variant=optax)",
    "adam": "Adam(lr=0.05,beta1=0.9,beta2=0.999,eps=1e-8)",
    "nag": "NAG(lr=0.001,gamma=0.9)",
    "rmsprop": "RMSprop(lr=0.01,gamma=0.9,eps=1e-8)",
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_arrow_joins_recorded_points(page, live_server, case):
    t = 5
    page.goto(live_server.url + f"/#s=rosenbrock&p=-1.2,1&o={CASES[case]}&n=20&seed=0&t={t}")
    r = settled(page)
    wait_until(lambda: page.locator("#inspector").get_attribute("data-step") == str(t),
               what=f"the inspector at step {t}")
    request = json.loads(r["request"])
    (name, hp), = [(o["name"], o["hyperparameters"]) for o in request["optimizers"]]
    runs = lab.run(surfaces.get("rosenbrock"), [(name, hp)], np.array(request["starts"], float),
                   steps=request["steps"], record_state=True)
    theta, after = runs.trajectories[t, 0], runs.trajectories[t + 1, 0]
    look = runs.states["lookahead"][t, 0]
    recorded = [theta, look, after]

    arrows = json.loads(page.locator("#plot").get_attribute("data-arrows"))
    assert arrows, "the step taken is drawn"
    step = after - theta
    k = None
    for a in arrows:
        start, end = np.array(a["from"], float), np.array(a["to"], float)
        if k is None:  # the magnification, from the arrow that is the step taken
            d = end - start
            cross = d[0] * step[1] - d[1] * step[0]
            if np.allclose(start, theta) and abs(cross) <= 1e-9 * np.hypot(*d) * np.hypot(*step):
                k = float(np.dot(d, step) / np.dot(step, step))
    assert k is not None and k > 0, f"no arrow is the recorded step {step}: {arrows}"
    magnified = [theta + k * (p - theta) for p in recorded]
    for a in arrows:
        for end in (a["from"], a["to"]):
            assert any(np.allclose(end, p, rtol=1e-9, atol=1e-12 * k) for p in magnified), (
                f"{case}: an arrow ends at {end}, which is no recorded point of step {t} "
                f"(theta_t, look-ahead, theta_t+1 at x{k:g}: {[list(p) for p in magnified]})")
    if case == "nag":  # the look-ahead is drawn: theta_t -> look-ahead -> theta_t+1
        assert len(arrows) == 3
    else:  # no look-ahead: the step is the only arrow
        assert len(arrows) == 1
    # the table shows recorded numbers only: no bias-corrected moment recomputed in the page
    assert "corrected" not in page.locator("#inspector").inner_text()
    assert results(page)["state"] == "ready"
    assert page.errors == []
