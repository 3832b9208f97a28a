"""`descentlab serve`'s own errors: one clear line, never a traceback or a misleading banner."""

import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from descentlab.cli import main


def test_port_out_of_range_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--port", "99999"])
    assert exc.value.code == 2
    assert "a port is in [0, 65535], got 99999" in capsys.readouterr().err


def test_taken_port_is_reported_before_any_banner(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 1
    out, err = capsys.readouterr()
    assert "playground on" not in out
    assert f"cannot listen on 127.0.0.1:{port}" in err


@pytest.mark.parametrize("sig, code, last", [(signal.SIGTERM, 143, "terminated"),
                                              (signal.SIGINT, 130, "interrupted")])
def test_serve_shuts_down_cleanly_on_sigterm_and_ctrl_c(sig, code, last):
    """uvicorn handles SIGINT / SIGTERM itself (graceful shutdown), then passes the signal on: the
    command ends with the CLI's status for that signal and no traceback."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "descentlab.cli", "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # SIGINT may be ignored in a background job; the child must see it as a terminal would
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        banner = proc.stdout.readline()
        url = re.search(r"http://\S+", banner).group(0)
        deadline = time.time() + 30
        while True:  # the banner comes once the port is bound, just before uvicorn listens
            try:
                with urllib.request.urlopen(url + "api/limits", timeout=10) as r:
                    assert r.status == 200
                break
            except urllib.error.URLError:
                assert time.time() < deadline and proc.poll() is None
                time.sleep(0.1)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == last
