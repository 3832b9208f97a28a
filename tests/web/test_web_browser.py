"""End-to-end: the real page in headless Chromium (Debian's package, driven by Playwright).

The page keeps its strict Content-Security-Policy during the test (no script evaluation from
strings), so waiting is done by polling DOM attributes from Python. The numbers the page shows are
compared with ``descentlab.lab.run`` called directly with the settings the page sent.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pytest

from descentlab import lab, surfaces

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.browser


def wait_until(predicate, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def results(page) -> dict:
    """The page's state and its latest results (data attributes), read in one go."""
    return page.locator("#results").evaluate(
        "el => Object.assign({state: document.body.dataset.state}, el.dataset)")


def settled(page, count_above=0):
    """Wait for a finished run newer than ``count_above``; return the page's results."""
    def done():
        r = results(page)
        return r if r["state"] == "ready" and int(r.get("count") or 0) > count_above else None
    return wait_until(done, what="a finished run")


def click_world(page, x, y, *, shift=False):
    canvas = page.locator("#plot")
    box = json.loads(canvas.get_attribute("data-box"))
    (x0, x1), (y0, y1) = json.loads(canvas.get_attribute("data-bounds"))
    origin = canvas.bounding_box()
    px = origin["x"] + box["x"] + (x - x0) / (x1 - x0) * box["w"]
    py = origin["y"] + box["y"] + (1 - (y - y0) / (y1 - y0)) * box["h"]
    if shift:
        page.keyboard.down("Shift")
    page.mouse.click(px, py)
    if shift:
        page.keyboard.up("Shift")


def lab_run_for(request: dict):
    spec = request["surface"]
    if "expression" in spec:
        s = surfaces.from_expression(spec["expression"])
    else:
        s = surfaces.get(spec["name"], **spec.get("data", {}))
    specs = [(o["name"], o["hyperparameters"]) for o in request["optimizers"]]
    return lab.run(s, specs, np.array(request["starts"], dtype=float), steps=request["steps"],
                   seed=request["seed"], batch_size=request["batch_size"], record_state=True)


def assert_page_matches_lab(page, r: dict):
    request = json.loads(r["request"])
    runs = lab_run_for(request)
    np.testing.assert_array_equal(np.array(json.loads(r["trajectories"]), dtype=float),
                                  runs.trajectories)
    np.testing.assert_array_equal(np.array(json.loads(r["losses"]), dtype=float), runs.losses)
    shown = json.loads(r["metrics"])
    expected = runs.metrics(request["tolerance"], columns=True)
    for key in ("final_loss", "first_within_tol", "steps_to_tol", "oscillation", "diverged_at",
                "distance"):
        np.testing.assert_array_equal(np.array(shown[key], dtype=float),
                                      expected[key].astype(float), key)
    # the metrics table shows the same numbers (rounded to 4 significant digits)
    rows = page.locator("#metrics tbody tr")
    assert rows.count() == len(runs)
    for k in range(len(runs)):
        row = rows.nth(k)
        final = row.locator("td[data-metric='final_loss']").inner_text()
        assert float(final) == pytest.approx(expected["final_loss"][k], rel=6e-3)
        tol = row.locator("td[data-metric='steps_to_tol']").inner_text()
        steps_to_tol = int(expected["steps_to_tol"][k])
        assert tol == ("never" if steps_to_tol < 0 else str(steps_to_tol))
        zigzag = row.locator("td[data-metric='oscillation']").inner_text()
        assert float(zigzag) == pytest.approx(expected["oscillation"][k], rel=6e-3, abs=1e-12)
    return request, runs


def test_steer_an_optimizer_by_hand(page, live_server):
    page.goto(live_server.url + "/")
    r = settled(page)

    # choose a surface
    page.select_option("#surface-select", "himmelblau")
    r = wait_until(lambda: (x := settled(page, int(r["count"])))
                   and json.loads(x["request"])["surface"] == {"name": "himmelblau"} and x,
                   what="a run on himmelblau")
    # click a start point
    click_world(page, -1.0, 1.0)
    r = wait_until(lambda: (x := settled(page, int(r["count"])))
                   and json.loads(x["request"])["starts"] != [[0.0, 0.0]] and x,
                   what="a run from the clicked start")
    request = json.loads(r["request"])
    assert len(request["starts"]) == 1
    assert request["starts"][0] == pytest.approx([-1.0, 1.0], abs=0.05)

    # move the first optimizer's learning-rate slider with the keyboard
    slider = page.locator("input[type=range][data-opt='0'][data-hp='lr']")
    number = page.locator("input[type=number][data-opt='0'][data-hp='lr']")
    before = float(number.input_value())
    slider.focus()
    for _ in range(15):
        page.keyboard.press("ArrowRight")
    lr = float(number.input_value())
    assert lr > before
    r = wait_until(lambda: (x := settled(page, int(r["count"])))
                   and json.loads(x["request"])["optimizers"][0]["hyperparameters"]["lr"] == lr
                   and x, what="a run with the new learning rate")

    # play to the end at the fastest speed
    page.select_option("#speed", "300")
    page.locator("#to-start").click()
    wait_until(lambda: results(page)["step"] == "0", what="step 0")
    page.locator("#play").click()
    steps = json.loads(r["request"])["steps"]
    wait_until(lambda: (x := results(page))["playing"] == "0" and x["step"] == str(steps),
               timeout=20, what="the player to reach the last step")
    r = results(page)
    request, runs = assert_page_matches_lab(page, r)
    assert request["optimizers"][0]["hyperparameters"]["lr"] == lr

    # inspector one step before the end: the gradient shown is the recorded one
    page.locator("#step-back").click()
    wait_until(lambda: page.locator("#inspector").get_attribute("data-step") == str(steps - 1))
    k = int(page.locator("#inspector").get_attribute("data-run"))
    grad_row = page.locator("#inspector tr", has_text="gradient")
    cells = grad_row.first.locator("td.num").all_inner_texts()
    np.testing.assert_allclose([float(c) for c in cells], runs.states["grad"][steps - 1, k],
                               rtol=6e-3)

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playground-e2e.png"), full_page=True)

    # the URL holds the whole state: a fresh page at that URL shows the same runs
    url = page.url
    assert "s=himmelblau" in url and f"lr={lr}" in url
    other = page.context.new_page()
    other.goto(url)
    r2 = settled(other)
    assert json.loads(r2["request"]) == request
    assert r2["trajectories"] == r["trajectories"]
    other.close()

    # exports: PNG from the canvas, CSV from the server
    with page.expect_download() as dl:
        page.locator("#export-png").click()
    assert open(dl.value.path(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    with page.expect_download() as dl:
        page.locator("#export-csv").click()
    csv = open(dl.value.path()).read().splitlines()
    assert csv[0].startswith("run,step,x,y,loss") and len(csv) == 1 + len(runs) * (steps + 1)
    with page.expect_download() as dl:
        page.locator("#export-gif").click()
    assert open(dl.value.path(), "rb").read(6) == b"GIF89a"

    assert page.errors == []
    assert page.external_requests == []


def test_formula_errors_inline_and_data_surface_minibatches(page, live_server):
    page.goto(live_server.url + "/#s=bowl&p=-2,2&o=GD(lr=0.1);AdamW(lr=1)&n=50&seed=0&t=50"
              "&tol=0.01")
    r = settled(page)
    # a link naming an unknown optimizer: said on the page, the rest is shown
    assert "AdamW" in page.locator("#message").inner_text()
    request = json.loads(r["request"])
    assert [o["name"] for o in request["optimizers"]] == ["GD"]
    assert request["tolerance"] == 0.01 and request["starts"] == [[-2, 2]]

    # a bad formula: an inline message, no server error, the runs stay
    page.select_option("#surface-select", "__formula__")
    page.fill("#formula", "x**2 + y.real")
    error = page.locator("#formula-error")
    wait_until(lambda: "Refused" in (error.inner_text() if error.is_visible() else ""),
               what="the inline error")
    page.locator("#formula-apply").click()
    time.sleep(0.3)
    assert json.loads(results(page)["request"])["surface"] == {"name": "bowl"}
    # a good one is plotted and run
    page.fill("#formula", "x**2 + 3*y**2")
    page.keyboard.press("Enter")
    r = wait_until(lambda: (x := settled(page, int(r["count"])))
                   and "expression" in json.loads(x["request"])["surface"] and x,
                   what="a run on the formula")
    assert json.loads(r["request"])["surface"] == {"expression": "x**2 + 3*y**2"}
    assert_page_matches_lab(page, r)

    # a data surface: switch the loss, then minibatch SGD with a batch-size control
    page.select_option("#surface-select", "linear_fit")
    r = wait_until(lambda: (x := settled(page, int(r["count"])))
                   and json.loads(x["request"])["surface"].get("name") == "linear_fit" and x,
                   what="a run on linear_fit")
    page.select_option("#loss-select", "mae")
    page.locator("input[name=batch-mode][value=mini]").check()
    page.fill("#batch-size", "5")
    page.locator("#batch-size").dispatch_event("change")
    r = wait_until(lambda: (x := settled(page, int(r["count"])))
                   and json.loads(x["request"])["batch_size"] == 5
                   and json.loads(x["request"])["surface"]["data"]["loss"] == "mae" and x,
                   what="a minibatch run with the MAE loss")
    request, _ = assert_page_matches_lab(page, r)
    assert request["surface"] == {"name": "linear_fit", "data": {"loss": "mae", "outliers": 0}}
    # the cloud of minibatch gradients at the current point
    page.locator("#to-start").click()
    wait_until(lambda: "minibatches of 5" in page.locator("#inspector").inner_text(),
               what="the minibatch cloud")
    assert re.search(r"bs=5", page.url) and "loss=mae" in page.url
    assert page.errors == []
    assert page.external_requests == []


@pytest.mark.parametrize("field, value, needle", [
    ("#seed", "-5", "seed must be an integer in [0, 4294967295]; got -5"),
    ("#seed", "1.5", "seed must be an integer in [0, 4294967295]; got 1.5"),
    ("#batch-size", "0", "batch size must be an integer in [1, 100]"),
])
def test_a_refused_field_is_named_not_silently_kept(page, live_server, field, value, needle):
    # seed -5 used to be ignored (the old seed ran while the field showed -5) and 1.5 rounded
    page.goto(live_server.url + "/#s=lecture_lr&bs=8&p=0,0&o=SGD(lr=0.03)&n=20&seed=3&t=20")
    r = settled(page)
    page.fill(field, value)
    page.locator(field).dispatch_event("change")
    message = page.locator("#message")
    wait_until(lambda: message.is_visible() and needle in message.inner_text(),
               what="the refusal on the page")
    assert "invalid" in (page.locator(field).get_attribute("class") or "")
    time.sleep(0.3)
    request = json.loads(results(page)["request"])
    assert request["seed"] == 3 and request["batch_size"] == 8  # nothing ran with a guess
    assert int(results(page)["count"]) == int(r["count"])
