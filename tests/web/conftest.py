"""Fixtures for the playground's tests: an in-process client, a real uvicorn server, a browser."""

from __future__ import annotations

import os
import socket
import threading
import time
import warnings
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def app():
    from descentlab.web import create_app

    return create_app()


@pytest.fixture(scope="session")
def client(app):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's deprecation note about httpx
        from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving the playground on 127.0.0.1 in a background thread."""

    def __init__(self, *, trusted_hosts=None, app=None, config=None):
        """``app``: an app to serve (default ``create_app(trusted_hosts=...)``); ``config``: a
        whole ``uvicorn.Config`` (its host and port are set here)."""
        import uvicorn

        from descentlab.web import create_app

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if config is None:
            app = app if app is not None else create_app(trusted_hosts=trusted_hosts)
            config = uvicorn.Config(app, log_level="warning", lifespan="off")
        config.host, config.port = "127.0.0.1", self.port
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server():
    with LiveServer(trusted_hosts=["127.0.0.1", "localhost"]) as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is absent (Debian's chromium package; .ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    external: list[str] = []
    pg.on("request", lambda r: external.append(r.url)
          if not r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None)
    pg.errors = errors
    pg.external_requests = external
    yield pg
    context.close()
