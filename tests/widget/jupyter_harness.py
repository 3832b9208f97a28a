"""A throw-away JupyterLab on loopback, for the widget's end-to-end test and the README's picture.

``JupyterLab(root)`` starts ``sys.executable -m jupyterlab`` on 127.0.0.1 (a free port, a random
token) in its own process group, with every Jupyter directory (config, data, runtime, settings,
workspaces, IPython) in a temporary folder, so nothing of the user's setup is read or written. The
kernel it offers, ``descentlab-test``, is a kernelspec in that folder whose argv is this very
``sys.executable`` and whose environment puts this checkout's ``src`` first on ``PYTHONPATH``: the
notebook runs the code under test with the test's own Python, and CI needs no registration step.
Leaving the ``with`` block stops the server and its kernels (SIGTERM to the group, SIGKILL after a
grace period) and removes the folder.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import descentlab

KERNEL = "descentlab-test"
SRC = Path(descentlab.__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def notebook(cells: list[str]) -> dict:
    """An nbformat-4 notebook of code cells, bound to the test's kernelspec."""
    return {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": KERNEL, "display_name": "descentlab (test)",
                                    "language": "python"},
                     "language_info": {"name": "python"}},
        "cells": [{"cell_type": "code", "id": f"cell-{k}", "metadata": {}, "execution_count": None,
                   "outputs": [], "source": src} for k, src in enumerate(cells)],
    }


class JupyterLab:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self._tmp = tempfile.TemporaryDirectory(prefix="descentlab-jupyter-")
        self.home = Path(self._tmp.name)
        self.log_path = self.home / "jupyterlab.log"
        self.proc = None

    def _environment(self) -> dict:
        dirs = {name: self.home / name for name in
                ("config", "data", "runtime", "settings", "workspaces", "ipython")}
        for d in dirs.values():
            d.mkdir()
        # no "get Jupyter news?" pop-up over the page (the server has no internet anyway)
        note = dirs["settings"] / "@jupyterlab" / "apputils-extension"
        note.mkdir(parents=True)
        (note / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        spec = dirs["data"] / "kernels" / KERNEL
        spec.mkdir(parents=True)
        env = dict(os.environ)
        path = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "descentlab (test)", "language": "python",
            "env": {"PYTHONPATH": path, "MPLBACKEND": "module://matplotlib_inline.backend_inline"},
        }))
        env.update(JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_DATA_DIR=str(dirs["data"]),
                   JUPYTER_RUNTIME_DIR=str(dirs["runtime"]), IPYTHONDIR=str(dirs["ipython"]),
                   JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
                   JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]), PYTHONPATH=path,
                   JUPYTER_PLATFORM_DIRS="1")
        return env

    def __enter__(self):
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
               f"--port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
               "--LabApp.news_url=", "--LabApp.collaborative=False",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--LabApp.extension_manager=readonly", "--ServerApp.terminals_enabled=False",
               f"--KernelSpecManager.allowed_kernelspecs={KERNEL}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
            cmd.append("--allow-root")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in __exit__)
        self.proc = subprocess.Popen(cmd, env=self._environment(), stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_ready(timeout=90)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with status {self.proc.returncode}:\n"
                                   + self.log())
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}",
                                            timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError("JupyterLab did not answer within "
                           f"{timeout:.0f} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def lab_url(self, path: str) -> str:
        return f"{self.url}/lab/tree/{path}?token={self.token}&reset"

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # the server and the kernels it started
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            # kernels outliving the server in the same group (none expected): stop them too
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if getattr(self, "_log", None):
            self._log.close()
        self._tmp.cleanup()
