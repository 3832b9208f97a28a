"""Write the README's picture of the notebook widget in JupyterLab.

    python tests/widget/make_widget_screenshot.py docs/widget.png

Starts JupyterLab on a free loopback port (jupyter_harness.py: temporary root and Jupyter
folders), opens a notebook that creates ``descentlab.widget.Playground`` (SGD near its stability
limit, Momentum, NAG and Adam in the ravine), runs the cell, scrubs to step 9, inspects NAG, and
saves a screenshot of the JupyterLab window, written to a temporary file first and then renamed.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from jupyter_harness import FRONT_ENDS, JupyterServer, notebook  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
CELL = """\
from descentlab.widget import Playground

w = Playground(surface="ravine", steps=150, optimizers=[
    "sgd:lr=0.19", "momentum:lr=0.05,gamma=0.9", "nag:lr=0.05,gamma=0.9", "adam:lr=0.5"])
w"""


def wait(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError("timed out")


def main(out: str) -> None:
    from playwright.sync_api import sync_playwright

    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as root:
        Path(root, "playground.ipynb").write_text(json.dumps(notebook([CELL])))
        with JupyterServer(Path(root), "jupyterlab") as lab, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1060})
            page.goto(lab.page_url("playground.ipynb"))
            page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
            lab_ui = FRONT_ENDS["jupyterlab"]
            wait(lambda: lab_ui.idle in str(page.locator(lab_ui.kernel_status).all_text_contents()))
            page.keyboard.press("Control+b")  # hide the file browser: more room for the cell
            page.locator(".jp-Notebook .jp-Cell .jp-InputPrompt").first.click()
            page.keyboard.press("Shift+Enter")
            root_el = page.locator(".dl-widget")
            root_el.wait_for(timeout=60_000)
            wait(lambda: root_el.get_attribute("data-state") == "ready")
            root_el.locator(".dl-scrub").fill("9")
            root_el.locator(".dl-scrub").blur()
            root_el.locator(".dl-inspector select").select_option("2")
            time.sleep(0.5)
            page.locator(".jp-Notebook").evaluate("el => el.scrollTo(0, 0)")
            fd, tmp = tempfile.mkstemp(suffix=".png", dir=out_path.parent)
            os.close(fd)
            try:
                page.screenshot(path=tmp)
                os.replace(tmp, out_path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            browser.close()
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/widget.png")
