"""Shared by the lab's command-line tests."""

from __future__ import annotations

from descentlab.cli import main


def exit_code(argv) -> int:
    """``descentlab ARGV``'s exit status, argparse's usage errors (SystemExit) included."""
    try:
        return main(argv)
    except SystemExit as e:
        return e.code
