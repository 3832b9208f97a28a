"""Helpers shared by the benchmark's process tests."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path


def wait_for_first_trial(proc, db: Path, timeout: float) -> int:
    """Wait until the running bench ``proc`` has stored a trial in ``db`` (its workers are then up
    and initialised), it exits, or ``timeout`` seconds pass; return how many trials are stored."""
    deadline = time.time() + timeout
    done = 0
    while time.time() < deadline and proc.poll() is None and done == 0:
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=0.1) as con:
                    done = con.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
            except sqlite3.OperationalError:
                pass
        time.sleep(0.05)
    return done
