"""``run_benchmark``: run (or resume) a benchmark into a folder and write its outputs.

One writer per folder: ``run_benchmark`` holds an OS file lock on ``OUT/bench.lock`` (``filelock``:
``flock`` on Unix, released by the OS when the process dies, even by ``kill -9``) for the whole
run, and records its PID in ``OUT/bench.pid``. A second run on the same folder is refused at once
with :class:`OutputInUseError`, naming the first run's PID.
"""

from __future__ import annotations

import json
import os
import socket
import warnings
from pathlib import Path

from descentlab._files import atomic_write_text
from descentlab.benchmark._analysis import Analysis, analyse, write_summary
from descentlab.benchmark._protocol import make_settings
from descentlab.benchmark._report import save_performance, saved_performance
from descentlab.benchmark._runner import execute
from descentlab.benchmark._store import Store

__all__ = ["run_benchmark", "OutputInUseError", "OversubscribedWarning", "workers_warning"]

LOCK_FILE = "bench.lock"
PID_FILE = "bench.pid"
PERFORMANCE_FILE = "performance.json"


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
      out: output folder (created; an existing file there is a ValueError; a folder that cannot
        be created or written is the OSError that says why). Trials already in its
        ``results.sqlite`` are not redone, so repeating the same call after an interruption
        resumes it.
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
    per minute") and ``report.html``; while it runs, ``bench.lock`` and ``bench.pid`` (the
    one-writer lock and its holder).

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
    out.mkdir(parents=True, exist_ok=True)
    lock = _lock(out)
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
