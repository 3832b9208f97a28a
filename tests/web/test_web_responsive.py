"""The playground fits a phone, a tablet and a laptop: no sideways scroll, every control inside
the window, and a tap on the plot sets the start (headless Chromium, touch emulated)."""

from __future__ import annotations

import json
import math

import pytest
from test_web_browser import ARTIFACTS, settled, wait_until

pytestmark = pytest.mark.browser

VIEWPORTS = [(390, 844, True), (768, 1024, True), (1280, 800, False)]

# what a user must be able to see and reach without scrolling sideways
CONTROLS = ["#plot", "#speed", "#scrub", "#play", "#surface-select", "#steps", "#seed",
            "#tolerance", "#add-optimizer", "#add-optimizer-button", "#loss-chart",
            ".metrics-area", ".table-scroll", "#export-csv", "#share"]


@pytest.fixture(params=VIEWPORTS, ids=[f"{w}x{h}" for w, h, _ in VIEWPORTS])
def sized_page(request, browser):
    width, height, touch = request.param
    context = browser.new_context(viewport={"width": width, "height": height},
                                  has_touch=touch, is_mobile=touch,
                                  device_scale_factor=2 if touch else 1)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.errors = errors
    pg.size = (width, height, touch)
    yield pg
    context.close()


def tap_world(page, x, y):
    canvas = page.locator("#plot")
    canvas.scroll_into_view_if_needed()
    box = json.loads(canvas.get_attribute("data-box"))
    (x0, x1), (y0, y1) = json.loads(canvas.get_attribute("data-bounds"))
    origin = canvas.bounding_box()
    px = origin["x"] + box["x"] + (x - x0) / (x1 - x0) * box["w"]
    py = origin["y"] + box["y"] + (1 - (y - y0) / (y1 - y0)) * box["h"]
    if page.size[2]:
        page.touchscreen.tap(px, py)
    else:
        page.mouse.click(px, py)


def test_the_page_fits_and_a_tap_sets_the_start(sized_page, live_server):
    page = sized_page
    width, height, touch = page.size
    page.goto(live_server.url + "/")
    r = settled(page)

    # no sideways scroll: the document is no wider than the window
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page is {scroll_width} px wide in a {width} px window"

    # every control lies inside the window, and nothing inside a panel overflows it
    for selector in CONTROLS:
        box = page.locator(selector).first.bounding_box()
        assert box is not None, selector
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, \
            f"{selector} spans x = {box['x']:.0f}..{box['x'] + box['width']:.0f} in {width} px"
    # the plot is large enough to aim at with a finger (at least 300 CSS px on a phone)
    plot = page.locator("#plot").bounding_box()
    assert plot["width"] >= min(300, width - 40), plot
    # the metrics table scrolls inside its panel, never the page: its panel fits
    panel = page.locator(".metrics-area").bounding_box()
    assert panel["x"] + panel["width"] <= width + 0.5

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"playground-{width}x{height}.png"), full_page=True)

    # a tap (a click on a laptop) on the plot moves the start there
    (x0, x1), (y0, y1) = json.loads(page.locator("#plot").get_attribute("data-bounds"))
    target = (x0 + 0.3 * (x1 - x0), y0 + 0.7 * (y1 - y0))
    before = json.loads(r["request"])["starts"]
    tap_world(page, *target)
    r = wait_until(lambda: (x := settled(page, int(r["count"])))
                   and json.loads(x["request"])["starts"] != before and x,
                   what="a run from the tapped start")
    starts = json.loads(r["request"])["starts"]
    assert len(starts) == 1
    assert starts[0][0] == pytest.approx(target[0], abs=0.01 * (x1 - x0))
    assert starts[0][1] == pytest.approx(target[1], abs=0.01 * (y1 - y0))
    assert page.errors == []


def test_a_diverging_run_does_not_flatten_the_loss_chart(page, live_server):
    """GD at lr 0.01 diverges on Rosenbrock (its loss reaches ~1e7 before the run is stopped);
    the chart's axis ends one decade above the largest starting loss and marks the run."""
    page.goto(live_server.url + "/#s=rosenbrock&p=-1.2,1&o=GD(lr=0.01);Adam(lr=0.05)&n=200")
    r = settled(page)
    runs = json.loads(r["metrics"])
    assert runs["diverged_at"][0] >= 0 and runs["diverged_at"][1] < 0
    losses = json.loads(r["losses"])
    finite = [v for row in losses for v in row if v is not None]
    start = max(losses[0])
    chart = page.locator("#loss-chart")
    low, high = json.loads(chart.get_attribute("data-yrange"))
    assert max(finite) > 1e3 * start  # the divergence would have set the scale
    assert high <= 10 ** (math.ceil(math.log10(10 * start)))
    assert chart.get_attribute("data-clipped") == "1"
    ARTIFACTS.mkdir(exist_ok=True)
    chart.screenshot(path=str(ARTIFACTS / "loss-chart-diverging.png"))


def test_a_gif_over_the_limit_says_how_to_get_under_it(page, live_server):
    """3 runs x 5000 steps = 15,000 run-steps, over the GIF's 10,000: the page names the limit,
    the steps that fit (3,333) and the number of runs that fit (2), and sends nothing."""
    page.goto(live_server.url + "/#s=ravine&o=GD(lr=0.01);Momentum(lr=0.01,gamma=0.9);"
              "Adam(lr=0.1)&n=5000")
    settled(page)
    limit = json.loads(page.evaluate("() => fetch('/api/limits').then(r => r.text())"))[
        "max_gif_run_steps"]
    assert limit == 10_000
    gif_requests = []
    page.on("request", lambda r: gif_requests.append(r.url) if "/export/gif" in r.url else None)
    page.locator("#export-gif").click()
    text = page.locator("#message").inner_text()
    assert "limited to 10,000 run-steps" in text and "3 runs x 5,000 steps make 15,000" in text
    assert "Lower the steps to 3,333 or fewer" in text and "keep 2 runs" in text
    # word for word what the server answers to the same request
    from descentlab.web._models import gif_limit_message

    assert gif_limit_message(3, 5000) in text
    assert gif_requests == []
