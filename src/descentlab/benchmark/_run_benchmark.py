"""``run_benchmark``: run (or resume) a benchmark into a folder and write its outputs.

One writer per folder: ``run_benchmark`` holds an OS file lock on ``OUT/bench.lock`` (``filelock``:
``flock`` on Unix, released by the OS when the process dies, even by ``kill -9``) for the whole
run, and records its PID in ``OUT/bench.pid``. A second run on the same folder is refused at once
with :class:`OutputInUseError`, naming the first run's PID.

The benchmark writes only its own files. ``OUT/bench.json`` (the manifest, written before
anything else) lists every file a run may write there (:data:`BENCH_FILES`); a rerun (a resume)
replaces exactly those. A folder from before the manifest existed is recognised by its
``results.sqlite`` holding the benchmark's ``trials`` table. Any other folder that is not empty
(a user's ``summary.csv`` and ``report.html``, notes, another program's SQLite file) is refused
before any work with a ValueError naming what was found; nothing there is created, replaced or
deleted (the tour's rule, shared through :func:`descentlab._files.check_output_folder`).
"""

from __future__ import annotations

import json
import os
import socket
import warnings
from pathlib import Path

from descentlab._files import atomic_write_text, check_output_folder
from descentlab.benchmark._analysis import Analysis, analyse, write_summary
from descentlab.benchmark._protocol import make_settings
from descentlab.benchmark._report import save_performance, saved_performance
from descentlab.benchmark._runner import execute
from descentlab.benchmark._store import Store

__all__ = ["run_benchmark", "OutputInUseError", "OversubscribedWarning", "workers_warning"]

LOCK_FILE = "bench.lock"
PID_FILE = "bench.pid"
PERFORMANCE_FILE = "performance.json"
MANIFEST = "bench.json"
FORMAT = "descentlab.bench/1"
STORE_FILE = "results.sqlite"
#: every file a benchmark run may write into its folder (the SQLite journal exists while a
#: transaction is open, and after a kill until the next open rolls it back)
BENCH_FILES = frozenset({MANIFEST, LOCK_FILE, PID_FILE, STORE_FILE, STORE_FILE + "-journal",
                         "summary.csv", "timing.csv", "run.json", "report.html",
                         PERFORMANCE_FILE})


class OutputInUseError(ValueError):
    """Another benchmark run is writing to the same folder."""


class OversubscribedWarning(UserWarning):
    """More worker processes than CPU cores."""


def workers_warning(workers: int) -> str | None:
    """The warning for ``workers`` above this machine's CPU count (None when it fits).

    >>> workers_warning(1) is None
    True
    """
    cores = os.cpu_count() or 1
    if workers <= cores:
        return None
    return (f"--workers {workers} is more than the {cores} CPU core{'s' if cores > 1 else ''} "
            f"here: the {workers} processes (each with its own copy of the data, a few hundred "
            f"MB) share {cores} core{'s' if cores > 1 else ''} and the run is not faster. "
            f"Use --workers {cores} or fewer.")


def _is_store(path: Path) -> bool:
    """Whether ``path`` is a results store of the benchmark: an SQLite file with the ``trials``
    table and its columns. Opened read-only: nothing is created or changed."""
    import sqlite3

    from descentlab.benchmark._store import _COLUMNS

    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except (sqlite3.Error, OSError, ValueError):
        return False
    try:
        columns = {r[1] for r in db.execute("PRAGMA table_info(trials)")}
    except sqlite3.Error:
        return False
    finally:
        db.close()
    return set(_COLUMNS) | {"created"} <= columns


def _written_before(out: Path) -> set[str] | None:
    """The files a previous run wrote into ``out``: those its manifest lists (always
    :data:`BENCH_FILES` for this version), or BENCH_FILES for a folder of an earlier version
    recognised by its store; None for neither."""
    try:
        doc = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        doc = None
    if isinstance(doc, dict) and doc.get("format") == FORMAT and isinstance(doc.get("files"),
                                                                            list):
        return {f for f in doc["files"] if isinstance(f, str) and "/" not in f} | {MANIFEST}
    if (out / STORE_FILE).is_file() and _is_store(out / STORE_FILE):
        return set(BENCH_FILES)
    return None


def check_out(out) -> set[str]:
    """The files of a previous benchmark in folder ``out`` that a run may replace (empty for a
    new or empty folder); a ValueError naming the entries that the benchmark did not write."""
    return check_output_folder(
        Path(out), command="bench", manifest=MANIFEST, ours=_written_before,
        not_ours_why=f"it has no {MANIFEST} and no {STORE_FILE} of a benchmark, so it is not a "
                     "previous bench folder")


def _claim(out: Path):
    """Check ``out`` (:func:`check_out`), create it, record the manifest and take the lock
    (:func:`_lock`); returns the lock. Nothing is written into a refused folder."""
    check_out(out)
    out.mkdir(parents=True, exist_ok=True)
    doc = {"format": FORMAT, "files": sorted(BENCH_FILES)}
    try:
        current = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = None
    if current != doc:
        atomic_write_text(out / MANIFEST, json.dumps(doc, indent=1) + "\n")
    return _lock(out)


def _lock(out: Path):
    """Hold ``out/bench.lock`` for this process or raise OutputInUseError naming its holder."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(out / LOCK_FILE), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        try:
            holder = (out / PID_FILE).read_text(encoding="utf-8").split()
        except OSError:
            holder = []
        who = f"PID {holder[0]}" + (f" on {holder[1]}" if len(holder) > 1 and holder[1] !=
                                    socket.gethostname() else "") if holder else "a process"
        raise OutputInUseError(
            f"another descentlab bench ({who}) is writing to {out}; one run per folder. Wait "
            f"for it to finish, stop it, or choose another --out.") from None
    try:
        atomic_write_text(out / PID_FILE, f"{os.getpid()} {socket.gethostname()}\n")
    except BaseException:
        lock.release()
        raise
    return lock


def _unlock(out: Path, lock) -> None:
    (out / PID_FILE).unlink(missing_ok=True)
    lock.release()


def run_benchmark(out, *, quick: bool = False, problems=None, optimizers=None, rulesets=None,
                  seeds: int | None = None, tune_seeds: int | None = None,
                  workers: int | None = None, ray: str | None = None, lr_grid=None,
                  per_decade: int = 3, epochs: int | dict | None = None, report: bool = True,
                  progress: bool = True) -> tuple[Analysis, dict]:
    """Run every missing trial into ``out/results.sqlite``, then write the summary and report.

    Args:
      out: output folder: new, empty, or a previous benchmark's (see the module's docstring);
        any other folder, or a file, is a ValueError naming what is there, raised before any
        work; a folder that cannot be created or written is the OSError that says why. Trials
        already in its ``results.sqlite`` are not redone, so repeating the same call after an
        interruption resumes it.
      quick: short budgets, 5 final seeds, 1 tuning seed, a narrower initial lr grid.
      problems, optimizers, rulesets: names (a list or a comma-separated string); None: every
        problem and optimizer, rulesets ``defaults`` and ``lr-grid``.
      seeds: number of final seeds, in [1, inf) (default 10; quick 5).
      tune_seeds: tuning seeds per setting, in [1, inf) (default 2; quick 1).
      workers: worker processes, in [1, inf) (default: all CPUs); 1 runs in this process.
      ray: a Ray address (``"local"`` starts a local instance): run the trials as Ray tasks.
      lr_grid: ``(low, high)``, an absolute lr range instead of the range around each
        optimizer's default lr. per_decade: grid points per decade, in [1, inf) (default 3).
      epochs: one budget for every problem, or ``{problem: epochs}``.
      report: write ``report.html`` (needs matplotlib). progress: show a tqdm progress bar.

    Returns ``(analysis, run_stats)``; when this invocation ran no trial (every one was already
    in the store), ``run_stats["last_performance"]`` is the saved performance of the last
    invocation that ran trials (None when none was saved). Files: ``results.sqlite``,
    ``summary.csv``, ``timing.csv``, ``run.json`` (this invocation's throughput),
    ``performance.json`` (the throughput of the last invocation that ran trials: a re-run that
    finds nothing left to run keeps it and repeats it, in the report too, rather than "0 trials
    per minute"), ``report.html`` and ``bench.json`` (the manifest: the files a run may write
    there); while it runs, ``bench.lock`` and ``bench.pid`` (the one-writer lock and its holder).

    Raises OutputInUseError (a ValueError) when another run holds ``out``, CorruptStoreError
    (a ValueError) for a damaged ``results.sqlite``; warns (OversubscribedWarning) for more
    workers than CPU cores.
    """
    import importlib.util

    needed = ("sklearn", "tqdm", "threadpoolctl", "filelock") + (
        ("matplotlib",) if report else ())
    missing = [m for m in needed if importlib.util.find_spec(m) is None]
    if missing:
        raise ImportError(f"the benchmark needs {', '.join(missing)}: "
                          "pip install 'descentlab[bench]'")
    if isinstance(epochs, int):
        names = make_settings(problems=problems, optimizers=optimizers, quick=quick).problems
        epochs = {p: epochs for p in names}
    settings = make_settings(problems=problems, optimizers=optimizers, rulesets=rulesets,
                             seeds=seeds, tune_seeds=tune_seeds, quick=quick, lr_grid=lr_grid,
                             per_decade=per_decade, epochs=epochs)
    if workers is None:
        workers = os.cpu_count() or 1
    if int(workers) < 1:
        raise ValueError(f"The number of workers must be at least 1. Got {workers} instead.")
    if not ray and (message := workers_warning(int(workers))):
        warnings.warn(message, OversubscribedWarning, stacklevel=2)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out must be a directory ({out} is a file)")
    lock = _claim(out)
    try:
        store = Store(out / "results.sqlite")
        try:
            stats = execute(settings, store, workers=int(workers), ray_address=ray,
                            progress=progress)
            A = analyse(settings, store)
        finally:
            store.close()
        write_summary(A, out / "summary.csv")
        lines = ["problem,optimizer,step_s,relative_to_sgd"] + [
            f"{t['problem']},{t['optimizer']},{t['step_s']!r},{t['relative_to_sgd']!r}"
            for t in A.timing]
        atomic_write_text(out / "timing.csv", "\n".join(lines) + "\n")
        atomic_write_text(out / "run.json", json.dumps(stats, indent=2) + "\n")
        if not save_performance(stats, out / PERFORMANCE_FILE):
            stats["last_performance"] = saved_performance(out / PERFORMANCE_FILE)
        if report:
            from descentlab.benchmark._report import write_report

            write_report(A, stats, out / "report.html")
    finally:
        _unlock(out, lock)
    return A, stats
