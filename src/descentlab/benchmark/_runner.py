"""Scheduling: pipelines ask for trials, executors run them as tasks, the store commits each task.

Executors: this process (``workers=1``), local worker processes (``ProcessPoolExecutor``, "spawn"
start method, BLAS / OpenMP / torch pinned to one thread per worker so that two workers never
fight over the cores; on Linux each worker dies with the scheduling process, even after a
``kill -9`` of it), or Ray tasks (``ray_address``; "local" starts a Ray instance on this
machine with ``workers`` CPUs). Ray runs plain tasks, not Ray Tune: no early-stopping scheduler
decides anything, every trial runs its whole budget. Whatever the executor, only this process
writes the store, one transaction per finished task.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import sys
import time
from collections import defaultdict

from descentlab.benchmark._protocol import Settings, pipelines, plan
from descentlab.benchmark._trial import get_problem, run_task

__all__ = ["execute"]

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
_MAX_RUNS = 64  # NumPy runs advanced together in one task


def _pin_threads() -> None:
    """One BLAS / OpenMP / torch thread in this process."""
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _die_with_parent(parent: int) -> None:
    """Make the kernel kill this worker when the process that started it dies.

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (through ctypes; no new dependency). Without it,
    a ``kill -9`` of ``descentlab bench`` (an OOM kill, a CI timeout) left its spawned workers
    (hundreds of MB each) waiting on their task queue for ever: the queue's other end is held
    by the sibling workers too, so they never see it close. If the parent died before the call
    (a race), the worker exits now. Elsewhere this does nothing (the executor's own management
    still stops workers on every orderly exit).
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: nothing more to do
        return
    if os.getppid() != parent:  # the parent is already gone
        os._exit(1)


def _worker_init(parent: int) -> None:
    """Each local worker process: die with the parent, then one thread per library."""
    _die_with_parent(parent)
    _pin_threads()


def _pinned_task(task: dict) -> dict:
    _pin_threads()
    return run_task(task)


class _Inline:
    """Runs each task in this process when it is waited for."""

    def __init__(self):
        self.workers = 1
        self.name = "this process"
        self._queue: dict[int, dict] = {}
        self._n = 0

    def submit(self, task):
        self._n += 1
        self._queue[self._n] = task
        return self._n

    def wait(self, handles):
        h = min(handles)
        return [(h, _pinned_task(self._queue.pop(h)))]

    def close(self, cancel=False):
        self._queue.clear()


class _Local:
    def __init__(self, workers: int):
        import multiprocessing

        self.workers = workers
        self.name = f"{workers} local worker processes"
        self._pool = cf.ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init, initargs=(os.getpid(),),
        )

    def submit(self, task):
        return self._pool.submit(run_task, task)

    def wait(self, handles):
        done, _ = cf.wait(handles, return_when=cf.FIRST_COMPLETED)
        return [(h, h.result()) for h in done]

    def close(self, cancel=False):
        if not cancel:
            self._pool.shutdown(wait=True)
            return
        # Ctrl-C: a worker that caught the KeyboardInterrupt in its task reports it and goes on
        # with the task groups already queued to it, so stop the workers themselves (finished
        # trials are stored by this process only; a trial cut short is simply not stored).
        terminate = getattr(self._pool, "terminate_workers", None)  # Python >= 3.14
        if terminate is not None:
            terminate()
            return
        workers = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in workers:
            process.terminate()
        for process in workers:
            process.join(timeout=10)


class _Ray:
    def __init__(self, address: str, workers: int):
        try:
            import ray
        except ImportError as exc:
            raise ValueError("--ray needs Ray, which is not installed: "
                             "pip install 'descentlab[ray]'.") from exc
        self._ray = ray
        self._started = not ray.is_initialized()
        if self._started:
            kw = dict(include_dashboard=False, log_to_driver=False,
                      runtime_env={"env_vars": {v: "1" for v in _THREAD_VARS}})
            if address == "local":
                ray.init(num_cpus=workers, **kw)
            else:
                ray.init(address=address, **kw)
        self.workers = int(ray.cluster_resources().get("CPU", workers))
        self.name = f"Ray ({address}, {self.workers} CPUs)"
        self._remote = ray.remote(num_cpus=1, max_retries=2)(_pinned_task)
        self._handles: list = []

    def submit(self, task):
        h = self._remote.remote(task)
        self._handles.append(h)
        return h

    def wait(self, handles):
        ready, _ = self._ray.wait(list(handles), num_returns=1)
        return [(h, self._ray.get(h)) for h in ready]

    def close(self, cancel=False):
        if cancel:
            for h in self._handles:
                self._ray.cancel(h, force=True)
        if self._started:
            self._ray.shutdown()


def _tasks(specs) -> list[dict]:
    """Group trials of one problem and optimizer (and keyword choices) into tasks."""
    groups = defaultdict(list)
    for s in sorted(specs, key=lambda s: (s.kind, s.problem, s.optimizer, s.config, s.seed)):
        words = tuple((k, v) for k, v in s.config if isinstance(v, str))
        groups[(s.kind, s.problem, s.optimizer, s.budget, words)].append(s)
    tasks = []
    for (kind, problem, optimizer, budget, _), group in groups.items():
        size = _MAX_RUNS if get_problem(problem).backend == "numpy" else 1
        for i in range(0, len(group), size):
            chunk = group[i:i + size]
            tasks.append({"kind": kind, "problem": problem, "optimizer": optimizer,
                          "budget": budget, "runs": [[dict(s.config), s.seed] for s in chunk],
                          "ids": [s.id for s in chunk]})
    return tasks


def _cost_rank(key) -> tuple:
    """Long pipelines first, so that the last tasks are short and the workers finish together."""
    ruleset, problem, _ = key
    order = {"torch-cnn": 0, "torch-mlp": 1, "digits-mlp": 2}
    return (order.get(problem, 3), 1 if ruleset == "defaults" else 0)


class _TimeLeft:
    """Time left for the trials planned so far, from each problem's measured seconds per task.

    tqdm's own estimate assumes every trial costs the same; here a torch trial costs tens of
    NumPy trials and the torch pipelines run first, so it read hours for a run of minutes. A
    task is one torch trial, or up to 64 NumPy trials advanced together, whose cost hardly
    depends on how many (a reviewer timed 5.2 ms for 3 quadratic trials and 5.8 ms for 7), so
    the unit here is the task: the estimate sums, over the problems, the tasks not yet finished
    times the mean busy seconds of that problem's finished tasks, divided by the workers, and
    counts the problems with tasks left that have not finished one yet (their time is not in the
    sum, so the sum is a lower bound). It covers the trials planned so far only: later stages (a
    grown lr grid, the final runs) add more.
    """

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self.left: dict[str, int] = defaultdict(int)
        self.busy: dict[str, float] = defaultdict(float)
        self.done: dict[str, int] = defaultdict(int)

    def planned(self, problem: str, n: int) -> None:
        self.left[problem] += n

    def finished(self, problem: str, n: int, busy_s: float) -> None:
        self.left[problem] -= n
        self.done[problem] += n
        self.busy[problem] += busy_s

    def seconds(self) -> tuple[float, int]:
        """Seconds left on the measured problems, and how many problems are not measured yet."""
        total, unmeasured = 0.0, 0
        for problem, n in self.left.items():
            if n <= 0:
                continue
            if self.done[problem]:
                total += n * self.busy[problem] / self.done[problem]
            else:
                unmeasured += 1
        return total / self.workers, unmeasured

    def describe(self, format_interval) -> str:
        seconds, unmeasured = self.seconds()
        if unmeasured and not any(self.done.values()):
            return "time left: measuring"
        if unmeasured:
            return (f"time left > {format_interval(seconds)} ({unmeasured} problem"
                    f"{'s' if unmeasured > 1 else ''} not measured yet)")
        return f"time left ~{format_interval(seconds)} for the trials planned so far"


def execute(settings: Settings, store, *, workers: int = 1, ray_address: str | None = None,
            progress: bool = True) -> dict:
    """Run every missing trial of ``settings``; finished ones are read from ``store``.

    Returns this invocation's statistics: trials and tasks run, busy seconds summed over workers,
    wall seconds, trials per minute and worker utilisation (busy / (wall * workers)).
    """
    from tqdm.auto import tqdm

    if ray_address:
        executor = _Ray(ray_address, workers)
    elif workers <= 1:
        executor = _Inline()
    else:
        executor = _Local(workers)
    keys = sorted(pipelines(settings), key=_cost_rank)
    awaiting: dict[tuple, set] = {}
    inflight: set[str] = set()
    handles: dict = {}
    stats = {"trials_run": 0, "tasks_run": 0, "busy_s": 0.0, "executor": executor.name,
             "workers": executor.workers, "in_store_at_start": len(store)}
    bar = tqdm(total=0, unit="trial", desc="bench", disable=not progress, dynamic_ncols=True,
               mininterval=0.5, postfix="time left: measuring",
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} trials "
                          "[{elapsed}, {rate_fmt}{postfix}]")
    time_left = _TimeLeft(executor.workers)

    def advance(key):
        p = plan(settings, key, store)
        if p.done:
            awaiting.pop(key, None)
            return
        awaiting[key] = {s.id for s in p.missing}
        new = [s for s in p.missing if s.id not in inflight]
        for task in _tasks(new):
            inflight.update(task["ids"])
            handles[executor.submit(task)] = task
            time_left.planned(task["problem"], 1)
        bar.total += len(new)

    t0 = time.perf_counter()
    try:
        for key in keys:
            advance(key)
        while handles:
            for h, out in executor.wait(list(handles)):
                task = handles.pop(h)
                store.put_task(out["records"])  # one transaction per task
                ids = set(task["ids"])
                inflight.difference_update(ids)
                stats["trials_run"] += len(ids)
                stats["tasks_run"] += 1
                stats["busy_s"] += out["busy_s"]
                time_left.finished(task["problem"], 1, out["busy_s"])
                for key in [k for k, need in awaiting.items() if need & ids]:
                    awaiting[key] -= ids
                    if not awaiting[key]:
                        advance(key)
                bar.set_postfix_str(time_left.describe(bar.format_interval), refresh=False)
                bar.update(len(ids))
    except BaseException:
        executor.close(cancel=True)
        bar.close()
        raise
    executor.close()
    bar.set_postfix_str(time_left.describe(bar.format_interval), refresh=False)  # (none left)
    bar.close()
    stats["wall_s"] = time.perf_counter() - t0
    minutes = stats["wall_s"] / 60
    stats["trials_per_minute"] = stats["trials_run"] / minutes if minutes > 0 else 0.0
    stats["utilisation"] = (stats["busy_s"] / (stats["wall_s"] * executor.workers)
                            if stats["wall_s"] > 0 else 0.0)
    return stats
