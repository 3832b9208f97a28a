"""The end-to-end harness (jupyter_harness.py) leaves no Jupyter process behind.

jupyter_client starts each kernel in a session of its own, out of reach of a signal to the
server's process group; the harness must stop kernels by itself when the server does not.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import pytest

psutil = pytest.importorskip("psutil")  # ipykernel's dependency: the notebook extra

from jupyter_harness import FRONT_ENDS, KERNEL, JupyterServer  # noqa: E402


def test_a_process_of_the_server_left_running_is_reported_and_stopped(tmp_path):
    server = JupyterServer(tmp_path)  # not entered: no Jupyter, only its temporary folder
    # a stand-in for a kernel the server failed to stop: its own session, the folder in its argv
    stray = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)",
                              str(server.home / "runtime" / "kernel-1.json")],
                             start_new_session=True)
    try:
        assert [line.split(":")[0] for line in server.leftover_processes()] == [str(stray.pid)]
        server.__exit__(None, None, None)
        assert stray.poll() is not None  # stopped (and reaped) by the harness, not 120 s later
        assert server.leftover_processes() == []
        assert not server.home.exists()
    finally:
        if stray.poll() is None:
            stray.kill()
            stray.wait()


@pytest.mark.slow
@pytest.mark.parametrize("front_end", list(FRONT_ENDS))
def test_leaving_the_block_stops_the_server_and_its_kernels(tmp_path, front_end):
    pytest.importorskip(FRONT_ENDS[front_end].module)
    with JupyterServer(tmp_path, front_end) as server:
        request = urllib.request.Request(f"{server.url}/api/kernels?token={server.token}",
                                         data=json.dumps({"name": KERNEL}).encode(),
                                         method="POST")
        with urllib.request.urlopen(request, timeout=30) as r:
            assert r.status == 201
        processes = psutil.Process(server.proc.pid).children(recursive=True)
        kernels = [p for p in processes if "ipykernel_launcher" in " ".join(p.cmdline())]
        assert len(kernels) == 1
        assert kernels[0].pid != server.proc.pid
        assert len(server.leftover_processes()) >= 2  # the server and its kernel, while running
    assert server.proc.poll() is not None
    assert not kernels[0].is_running() or kernels[0].status() == psutil.STATUS_ZOMBIE
    assert server.leftover_processes() == []
