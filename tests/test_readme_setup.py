"""The README's set-up is what CI does: the same pip installs, in the same order, with the same
extras, and it names what comes from the system (Chromium, ffmpeg)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pip_installs(text: str) -> list[str]:
    """Every ``pip install ...`` command, without -q and comments, spaces normalised."""
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        m = re.search(r"pip install (.+)", line)
        if m:
            out.append(" ".join(a for a in m.group(1).split() if a != "-q"))
    return out


def test_readme_installs_exactly_what_ci_installs():
    ci = _pip_installs((ROOT / ".ci" / "run").read_text())
    ci = [c for c in ci if not c.startswith("--upgrade pip")]
    readme = (ROOT / "README.md").read_text()
    setup = readme.split("## Two commands", 1)[1].split("## Use it", 1)[0]
    assert _pip_installs(setup)[:len(ci)] == ci
    assert "Chromium" in setup and "ffmpeg" in setup and "apt-get install chromium ffmpeg" in setup
