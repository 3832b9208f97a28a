"""Ctrl-C on the benchmark's local worker pool stops the workers at once."""


def test_interrupted_local_pool_stops_its_workers_at_once():
    """Ctrl-C: the workers stop too, not after the task groups already queued to them."""
    import time

    from descentlab.benchmark._runner import _Local

    pool = _Local(2)
    futures = [pool._pool.submit(time.sleep, 60) for _ in range(4)]
    while not any(f.running() for f in futures):
        time.sleep(0.05)
    workers = list(pool._pool._processes.values())
    assert workers and all(w.is_alive() for w in workers)
    t0 = time.perf_counter()
    pool.close(cancel=True)
    while any(_running(w.pid) for w in workers) and time.perf_counter() - t0 < 10:
        time.sleep(0.05)
    assert not any(_running(w.pid) for w in workers)
    assert time.perf_counter() - t0 < 10


def _running(pid: int) -> bool:
    """Whether the OS still runs ``pid`` (dead or reaped: no). Asked of the OS, not of
    ``Process.is_alive``: when the executor's own thread reaps a worker first, the Process
    object's ``waitpid`` gets ECHILD and it reports the dead worker alive for ever."""
    import os

    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # Z: dead, not yet reaped
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask with signal 0
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
