"""The lab's figures show themselves in a notebook and leave the notebook's own pyplot alone.

Each check runs in a fresh interpreter (a backend, once chosen, stays chosen for the process).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import descentlab

SRC = str(Path(descentlab.__file__).resolve().parents[1])


def run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"}, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_importing_the_figures_keeps_the_pyplot_backend_a_notebook_chose():
    # a notebook's kernel picks the inline backend; "svg" stands for it (no IPython needed)
    assert run("""
        import matplotlib
        matplotlib.use("svg")
        import matplotlib.pyplot as plt
        from descentlab import lab
        lab.plot_family_tree()
        print(matplotlib.get_backend())
    """) == "svg"


def test_a_figure_displays_as_png_in_ipython_without_pyplot():
    pytest.importorskip("IPython")
    assert run("""
        import sys
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        from descentlab import lab
        fig = lab.plot_family_tree()
        data, _ = shell.display_formatter.format(fig)
        print(sorted(data), "matplotlib.pyplot" in sys.modules)
        print(data["image/png"][:4] == b"\\x89PNG")
    """).splitlines() == ["['image/png', 'text/plain'] False", "True"]
