"""A throw-away Jupyter server on loopback, for the widget's end-to-end test and README picture.

``JupyterServer(root, "jupyterlab")`` starts ``sys.executable -m jupyterlab``, and
``JupyterServer(root, "notebook7")`` starts ``sys.executable -m notebook`` (Jupyter Notebook 7, the
`notebook` package, built from JupyterLab's components), on 127.0.0.1 (a free port, a random token)
in its own process group, with every Jupyter directory (config, data, runtime, settings,
workspaces, IPython) in a temporary folder, so nothing of the user's setup is read or written.
``server.page_url("x.ipynb")`` is where that front end opens a notebook (``/lab/tree/x.ipynb`` and
``/notebooks/x.ipynb``). The kernel it offers, ``descentlab-test``, is a kernelspec in that
folder whose argv is this very ``sys.executable`` and whose environment puts this checkout's
``src`` first on ``PYTHONPATH``: the notebook runs the code under test with the test's own Python,
and CI needs no registration step.

Leaving the ``with`` block stops the server and its kernels and removes the folder. jupyter_client
starts each kernel in a session (and process group) of its own, so signalling the server's group
does not reach them: the harness first notes every process of this server (the server's
descendants, and any process whose command line names the temporary folder, where a kernel's
connection file lives), sends SIGTERM to the server (it shuts its kernels down), and after a grace
period SIGKILLs whatever of them is still alive. ``leftover_processes()`` lists any that survived
(the end-to-end test asserts it is empty).
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
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import psutil  # an ipykernel dependency, so there wherever the kernel is

import descentlab

KERNEL = "descentlab-test"
SRC = Path(descentlab.__file__).resolve().parents[1]


@dataclass(frozen=True)
class FrontEnd:
    """How to start one Jupyter front end and where it opens a notebook."""

    title: str  # as a user names it
    module: str  # ``python -m <module>`` starts the server with this front end
    notebook_path: str  # the page of notebook ``{path}``, relative to the server's root
    kernel_status: str  # the elements whose text (textContent) holds the kernel's state ...
    idle: str  # ... and what it says once the kernel is up and waiting


FRONT_ENDS = {
    # JupyterLab's status bar: "descentlab (test) | Idle"
    "jupyterlab": FrontEnd("JupyterLab", "jupyterlab", "/lab/tree/{path}", ".jp-StatusBar-Widget",
                           "| Idle"),
    # Notebook 7 has no status bar; its toolbar's kernel indicator says "Kernel status: Idle"
    "notebook7": FrontEnd("Notebook 7", "notebook", "/notebooks/{path}",
                          ".jp-Notebook-ExecutionIndicator", "Kernel status: Idle"),
}


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


class JupyterServer:
    def __init__(self, root: Path, front_end: str = "jupyterlab"):
        if front_end not in FRONT_ENDS:
            raise ValueError(f"front_end must be one of {', '.join(FRONT_ENDS)}, not {front_end!r}")
        self.name, self.front_end = front_end, FRONT_ENDS[front_end]
        self.root = Path(root)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self._tmp = tempfile.TemporaryDirectory(prefix="descentlab-jupyter-")
        self.home = Path(self._tmp.name)
        self.log_path = self.home / "server.log"
        self.proc = None
        self._seen: dict[int, psutil.Process] = {}

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
        # the LabApp settings also hold under Notebook 7, which loads JupyterLab's server extension
        cmd = [sys.executable, "-m", self.front_end.module, "--no-browser", "--ip=127.0.0.1",
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
                raise RuntimeError(f"{self.front_end.title} exited with status "
                                   f"{self.proc.returncode}:\n"
                                   + self.log())
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}",
                                            timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.front_end.title} did not answer within "
                           f"{timeout:.0f} s:\n{self.log()}")

    def kernel_connected(self) -> bool:
        """Whether a kernel of this server is idle with a browser connected to it (its websocket
        open), as the server sees it. A front end's own indicator is not enough: Notebook 7's says
        "Idle" for a moment before the kernel has even started. False, not an error, while the
        server answers 500, as it does while a kernel starts: jupyter_client registers the kernel
        before jupyter_server (2.21) gives it a ``last_activity``, and listing it in between
        raises an AttributeError (seen here once in a dozen runs)."""
        try:
            with urllib.request.urlopen(f"{self.url}/api/kernels?token={self.token}",
                                        timeout=5) as r:
                kernels = json.load(r)
        except urllib.error.HTTPError as err:
            if err.code >= 500:
                return False
            raise
        return any(k.get("connections", 0) > 0 and k.get("execution_state") == "idle"
                   for k in kernels)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def page_url(self, path: str) -> str:
        """The page of notebook ``path`` in this front end (``reset``: JupyterLab opens no saved
        workspace; Notebook 7 ignores it)."""
        page = self.front_end.notebook_path.format(path=path)
        return f"{self.url}{page}?token={self.token}&reset"

    def _processes(self) -> dict[int, psutil.Process]:
        """This server's processes still running: the server, its descendants (kernels), and any
        process whose command line names the temporary folder (a kernel re-parented to init)."""
        found: dict[int, psutil.Process] = {}
        if self.proc is not None:
            with suppress(psutil.NoSuchProcess):
                server = psutil.Process(self.proc.pid)
                found[server.pid] = server
                found.update((c.pid, c) for c in server.children(recursive=True))
        for proc in psutil.process_iter(["cmdline"]):
            if any(str(self.home) in arg for arg in proc.info["cmdline"] or ()):
                found.setdefault(proc.pid, proc)
        return {pid: proc for pid, proc in found.items() if _alive(proc)}

    def leftover_processes(self) -> list[str]:
        """``"pid: command line"`` of each process of this server still running (after the
        ``with`` block: none)."""
        left = {**{pid: proc for pid, proc in self._seen.items() if _alive(proc)},
                **self._processes()}
        out = []
        for pid, proc in sorted(left.items()):
            with suppress(psutil.Error):
                out.append(f"{pid}: {' '.join(proc.cmdline())}")
        return out

    def __exit__(self, *exc):
        self._seen = self._processes()  # noted before the server, their parent, goes
        if self.proc is not None and self.proc.poll() is None:
            # SIGTERM: the server shuts its kernels down and exits
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=15)
        if self.proc is not None:
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # the server's group, if it hung
            self.proc.wait(timeout=10)
        # the server has had its grace period to stop its kernels: a short one for stragglers
        _, alive = psutil.wait_procs(list(self._seen.values()), timeout=2)
        for proc in alive:  # a kernel the server did not stop
            with suppress(psutil.NoSuchProcess):
                proc.kill()
        psutil.wait_procs(alive, timeout=10)
        if getattr(self, "_log", None):
            self._log.close()
        self._tmp.cleanup()


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
