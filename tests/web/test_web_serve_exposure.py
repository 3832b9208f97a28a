"""``serve --host`` other than loopback warns that the playground is reachable from the network
and unauthenticated (issue 12, item 5)."""

import signal
import subprocess
import sys

import pytest

pytest.importorskip("uvicorn")


def _serve_stderr(host: str) -> str:
    proc = subprocess.Popen(
        [sys.executable, "-m", "descentlab.cli", "serve", "--host", host, "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        banner = proc.stdout.readline()  # printed once the port is bound
        assert "playground on" in banner, proc.stderr.read()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return err


def test_serving_on_every_interface_warns():
    err = _serve_stderr("0.0.0.0")
    assert ("warning: listening on 0.0.0.0, not on loopback: the playground is now reachable "
            "from the network and unauthenticated") in err


def test_serving_on_loopback_does_not_warn():
    assert "warning" not in _serve_stderr("127.0.0.1")
