"""The results store: one SQLite row per finished trial (standard library ``sqlite3``).

Only the process that schedules the benchmark writes, so there is never a second writer: worker
processes (or Ray tasks) return their records and the scheduler commits each task's records in ONE
transaction. A task interrupted by Ctrl-C or a kill is therefore either entirely in the store or not
at all (SQLite's journal rolls a half-written transaction back when the file is next opened), and a
rerun skips exactly the trials whose ids are present.

Columns: ``id`` (``_trial.trial_id``), ``kind``, ``problem``, ``optimizer``, ``config`` (JSON),
``seed``, ``budget``, ``result`` (JSON: evaluation epochs, five curves, final values, divergence),
``timing`` (JSON: wall-clock seconds; never part of the reported numbers' identity), ``created``
and ``checksum``: the SHA-256 of the row's other columns but ``created`` (:func:`row_checksum`).

Integrity. A row whose checksum does not match its content (edited by hand, a disk that flipped
bits) is not used: the store warns (:class:`AlteredTrialsWarning`, naming the file, the number of
rows and the first id) and the benchmark runs those trials again, replacing the rows. A store
written before checksums existed gets its column added and filled on first open. A file that is
not an SQLite database, or is damaged, raises :class:`CorruptStoreError` (a ValueError) in one
line that names the file and says that deleting it restarts the run.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import warnings
from pathlib import Path

__all__ = ["Store", "CorruptStoreError", "AlteredTrialsWarning", "row_checksum"]

_COLUMNS = ("id", "kind", "problem", "optimizer", "config", "seed", "budget", "result", "timing")


class CorruptStoreError(ValueError):
    """The results file cannot be read as a store (not SQLite, or damaged)."""


class AlteredTrialsWarning(UserWarning):
    """Stored trials whose content no longer matches their checksum (they are run again)."""


def row_checksum(row) -> str:
    """SHA-256 of a row's columns ``id .. timing`` (in ``_COLUMNS`` order), as JSON.

    >>> row_checksum(("x", "train", "p", "o", "{}", 0, 1, "{}", "{}"))[:16]
    '5a38b3c9398561bd'
    """
    return hashlib.sha256(json.dumps(list(row[:9]), separators=(",", ":")).encode()).hexdigest()

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
    created REAL NOT NULL,
    checksum TEXT
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
        self._db = None
        try:
            self._db = sqlite3.connect(self.path)
            self._db.execute("PRAGMA journal_mode=DELETE")
            self._db.execute("PRAGMA synchronous=FULL")
            with self._db:
                self._db.executescript(_SCHEMA)
                columns = [r[1] for r in self._db.execute("PRAGMA table_info(trials)")]
                if "checksum" not in columns:  # a store from before checksums: trust it once
                    self._db.execute("ALTER TABLE trials ADD COLUMN checksum TEXT")
                    rows = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM trials")
                    self._db.executemany("UPDATE trials SET checksum = ? WHERE id = ?",
                                         [(row_checksum(r), r[0]) for r in rows.fetchall()])
            self._cache: dict[str, dict] = {}
            altered = []
            for row in self._db.execute(
                    f"SELECT {', '.join(_COLUMNS)}, checksum FROM trials ORDER BY id"):
                if row[9] != row_checksum(row):
                    altered.append(row[0])
                    continue
                try:
                    self._cache[row[0]] = _row(row)
                except (ValueError, TypeError):  # JSON that no longer parses
                    altered.append(row[0])
        except sqlite3.OperationalError as exc:  # e.g. no room for the journal next to it
            self._close_quietly()
            if "malformed" in str(exc) or "not a database" in str(exc):
                raise _corrupt(exc, self.path) from None
            raise _os_error(exc, self.path) from exc
        except sqlite3.DatabaseError as exc:  # "file is not a database", "disk image malformed"
            self._close_quietly()
            raise _corrupt(exc, self.path) from None
        self.altered = altered
        if altered:
            many = len(altered) > 1
            warnings.warn(
                f"{self.path}: {len(altered)} stored trial{'s' if many else ''} no longer "
                f"match{'' if many else 'es'} {'their' if many else 'its'} checksum (first: "
                f"{altered[0]}); the file was changed outside descentlab. "
                f"{'They are' if many else 'It is'} run again and replaced.",
                AlteredTrialsWarning, stacklevel=2)

    def _close_quietly(self):
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass

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
        rows = []
        for r in records:
            row = (r["id"], r["kind"], r["problem"], r["optimizer"],
                   json.dumps(r["config"], sort_keys=True), r["seed"], r["budget"],
                   json.dumps(r["result"]), json.dumps(r["timing"]))
            rows.append((*row, now, row_checksum(row)))
        try:
            with self._db:
                # (a row present here failed its checksum: it was run again and is replaced)
                self._db.executemany(
                    f"INSERT OR REPLACE INTO trials ({', '.join(_COLUMNS)}, created, checksum) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [r for r in rows if r[0] not in self._cache],
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


def _corrupt(exc, path: Path) -> CorruptStoreError:
    return CorruptStoreError(
        f"{path} is damaged or not a results store (SQLite: {exc}); delete it to restart the "
        "benchmark from scratch (its finished trials are lost).")


def _row(row) -> dict:
    return {
        "id": row[0], "kind": row[1], "problem": row[2], "optimizer": row[3],
        "config": json.loads(row[4]), "seed": row[5], "budget": row[6],
        "result": json.loads(row[7]), "timing": json.loads(row[8]),
    }
