"""Two torch.distributed (gloo) processes train with descentlab.torch.Adam under DDP."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("descentlab.torch")
dist = pytest.importorskip("torch.distributed")


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                    reason="torch.distributed with the gloo backend is not available")
def test_ddp_ranks_agree_with_each_other_and_with_one_process(tmp_path):
    import torch.multiprocessing as mp

    from descentlab.benchmark._distributed import make_problem, train, train_single

    # a file store, not a TCP port picked in advance: no race with other processes for the port
    init = f"file://{tmp_path / 'rendezvous'}"
    mp.start_processes(train, args=(2, init, str(tmp_path)), nprocs=2, join=True,
                       start_method="spawn")
    p0 = torch.load(tmp_path / "rank0.pt")
    p1 = torch.load(tmp_path / "rank1.pt")
    single = train_single()
    for a, b, ref in zip(p0, p1, single, strict=True):
        assert torch.equal(a, b)  # the ranks are identical, bit for bit
        # the all-reduced mean of the two shard gradients equals the full-batch gradient up to
        # rounding, so after 20 Adam steps the parameters agree to round-off
        torch.testing.assert_close(a, ref, rtol=1e-10, atol=1e-12)
    initial = [p.detach() for p in make_problem()[2].parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(p0, initial, strict=True))  # it trained


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
