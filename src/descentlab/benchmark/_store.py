"""The results store: one SQLite row per finished trial (standard library ``sqlite3``).

Only the process that schedules the benchmark writes, so there is never a second writer: worker
processes (or Ray tasks) return their records and the scheduler commits each task's records in ONE
transaction. A task interrupted by Ctrl-C or a kill is therefore either entirely in the store or not
at all (SQLite's journal rolls a half-written transaction back when the file is next opened), and a
rerun skips exactly the trials whose ids are present.

Columns: ``id`` (``_trial.trial_id``), ``kind``, ``problem``, ``optimizer``, ``config`` (JSON),
``seed``, ``budget``, ``result`` (JSON: evaluation epochs, five curves, final values, divergence),
``timing`` (JSON: wall-clock seconds; never part of the reported numbers' identity) and ``created``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

__all__ = ["Store"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS trials (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    problem TEXT NOT NULL,
    optimizer TEXT NOT NULL,
    config TEXT NOT NULL,
    seed INTEGER NOT NULL,
    budget INTEGER NOT NULL,
    result TEXT NOT NULL,
    timing TEXT NOT NULL,
    created REAL NOT NULL
);
"""


class Store:
    """Trial records by id, backed by ``path`` (created if missing) and cached in memory."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # SQLite says only "unable to open database file": opening the file for appending first
        # raises the OSError that names the file and the reason (read-only, no permission, ...).
        # An empty file is what SQLite creates anyway.
        with open(self.path, "ab"):
            pass
        try:
            self._db = sqlite3.connect(self.path)
            self._db.execute("PRAGMA journal_mode=DELETE")
            self._db.execute("PRAGMA synchronous=FULL")
            with self._db:
                self._db.executescript(_SCHEMA)
        except sqlite3.OperationalError as exc:  # e.g. no room for the journal next to it
            raise _os_error(exc, self.path) from exc
        self._cache: dict[str, dict] = {}
        for row in self._db.execute(
            "SELECT id, kind, problem, optimizer, config, seed, budget, result, timing FROM trials"
        ):
            self._cache[row[0]] = _row(row)

    def __contains__(self, trial_id: str) -> bool:
        return trial_id in self._cache

    def __len__(self) -> int:
        return len(self._cache)

    def get(self, trial_id: str) -> dict:
        return self._cache[trial_id]

    def records(self):
        return list(self._cache.values())

    def put_task(self, records: list[dict]) -> None:
        """Commit one task's records in a single transaction (all or nothing)."""
        now = time.time()
        rows = [
            (r["id"], r["kind"], r["problem"], r["optimizer"],
             json.dumps(r["config"], sort_keys=True), r["seed"], r["budget"],
             json.dumps(r["result"]), json.dumps(r["timing"]), now)
            for r in records
        ]
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR IGNORE INTO trials (id, kind, problem, optimizer, config, seed, "
                    "budget, result, timing, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
        except sqlite3.OperationalError as exc:  # disk full, file made read-only meanwhile, ...
            raise _os_error(exc, self.path) from exc
        for row in rows:
            self._cache.setdefault(row[0], _row(row[:9]))

    def close(self) -> None:
        self._db.close()


def _os_error(exc: sqlite3.OperationalError, path: Path) -> OSError:
    """SQLite's error as the OSError that the ``descentlab`` command reports in one line."""
    return OSError(getattr(exc, "sqlite_errorcode", None), f"{exc} (SQLite)", str(path))


def _row(row) -> dict:
    return {
        "id": row[0], "kind": row[1], "problem": row[2], "optimizer": row[3],
        "config": json.loads(row[4]), "seed": row[5], "budget": row[6],
        "result": json.loads(row[7]), "timing": json.loads(row[8]),
    }
