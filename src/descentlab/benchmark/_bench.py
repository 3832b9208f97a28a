"""``run_benchmark``: run (or resume) a benchmark into a folder and write its outputs."""

from __future__ import annotations

import json
import os
from pathlib import Path

from descentlab._files import atomic_write_text
from descentlab.benchmark._analysis import Analysis, analyse, write_summary
from descentlab.benchmark._protocol import make_settings
from descentlab.benchmark._runner import execute
from descentlab.benchmark._store import Store

__all__ = ["run_benchmark"]


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

    Returns ``(analysis, run_stats)``. Files: ``results.sqlite``, ``summary.csv``,
    ``timing.csv``, ``run.json`` (this invocation's throughput) and ``report.html``.
    """
    import importlib.util

    needed = ("sklearn", "tqdm", "threadpoolctl") + (("matplotlib",) if report else ())
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
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out must be a directory ({out} is a file)")
    out.mkdir(parents=True, exist_ok=True)
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
    if report:
        from descentlab.benchmark._report import write_report

        write_report(A, stats, out / "report.html")
    return A, stats
