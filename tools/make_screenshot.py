"""Write the README's picture of the playground.

    python tools/make_screenshot.py docs/playground.png

Starts the server on a free loopback port, opens a view (SGD near its stability limit, Momentum,
NAG and Adam in the ravine, NAG inspected at step 9) in headless Chromium and saves a screenshot,
written to a temporary file first and then renamed.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

# the browser tests' live server and Chromium settings (tests/web/conftest.py)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "web"))

from conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer  # noqa: E402

VIEW = ("#s=ravine&p=-8,2&o=SGD(lr=0.19);Momentum(lr=0.05,gamma=0.9);NAG(lr=0.05,gamma=0.9);"
        "Adam(lr=0.5)&n=150&seed=0&t=9&sel=2")


def main(out: str) -> None:
    from playwright.sync_api import sync_playwright

    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with LiveServer() as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900}, device_scale_factor=1)
        page.goto(server.url + "/" + VIEW)
        page.wait_for_selector("body[data-state='ready']", timeout=20000)
        time.sleep(0.5)
        fd, tmp = tempfile.mkstemp(suffix=".png", dir=out_path.parent)
        os.close(fd)
        page.screenshot(path=tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out_path)
        browser.close()
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/playground.png")
