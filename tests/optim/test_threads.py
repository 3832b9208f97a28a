"""descentlab's own threads for a large NumPy step: chunks shared out to persistent workers, fork,
concurrency (test_team tests the steps on torch's OpenMP threads).

Every result is compared bit for bit with the plain whole-array NumPy path (``set_num_threads(0)``,
``set_accelerator("numpy")``), which test_rules checks against the lecture's formulas.
"""

from __future__ import annotations

import os
import sys
import threading

import numpy as np
import pytest
from optim_cases import CASES, IDS, run

from descentlab import optim
from descentlab.optim import _base, _omp

HAS_NUMBA = optim.get_accelerator() == "numba"
ACCELERATORS = ["numpy", *(["numba"] if HAS_NUMBA else [])]


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 1000 elements (the real minimum is 1 << 18) so small arrays use the workers,
    descentlab's own threads even where torch's OpenMP team is loaded (test_team tests that)."""
    monkeypatch.setattr(_base, "_BLOCK", 400)
    monkeypatch.setattr(_base, "_MIN_PART", 1000)
    monkeypatch.setattr(_omp, "enabled", False)
    yield
    _base.set_num_threads(_base._num_threads_default)
    _base.set_accelerator("numba")


def whole_array(case_or_opt, theta0, steps, grad=None):
    """The reference: whole-array NumPy calls, no blocks, no threads, no numba."""
    _base.set_num_threads(0)
    _base.set_accelerator("numpy")
    try:
        make = getattr(case_or_opt, "make", None)
        opt = make() if make else case_or_opt
        return run(opt, theta0, steps) if grad is None else run(opt, theta0, steps, grad=grad)
    finally:
        _base.set_num_threads(_base._num_threads_default)
        _base.set_accelerator("numba")


def assert_same(a, b, buffers):
    (theta_a, state_a), (theta_b, state_b) = a, b
    np.testing.assert_array_equal(theta_a, theta_b)
    for name in buffers:
        np.testing.assert_array_equal(state_a[name], state_b[name])


def test_chunks_cover_the_array_once(small_chunks):
    seen = np.zeros(10_050, dtype=int)
    lock = threading.Lock()
    threads = set()

    def mark(a, b):
        with lock:
            seen[a:b] += 1
            threads.add(threading.get_ident())

    _base.set_num_threads(3)
    _base._run_split(mark, seen.size)
    np.testing.assert_array_equal(seen, 1)
    assert len(threads) <= 3
    _base.set_num_threads(1)
    threads.clear()
    _base._run_split(mark, seen.size)
    assert threads == {threading.get_ident()}  # 1: no extra thread
    np.testing.assert_array_equal(seen, 2)


@pytest.mark.parametrize("accelerator", ACCELERATORS)
@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_chunked_steps_are_bit_for_bit_the_whole_array_path(case, threads, accelerator,
                                                            small_chunks):
    theta0 = np.random.default_rng(3).standard_normal(10_050).astype(np.float32)
    expected = whole_array(case, theta0, 4)
    _base.set_num_threads(threads)
    _base.set_accelerator(accelerator)
    assert_same(run(case.make(), theta0, 4), expected, case.buffers)


@pytest.mark.parametrize("accelerator", ACCELERATORS)
@pytest.mark.parametrize("shared", [True, False], ids=["one optimizer", "one each"])
def test_concurrent_steps_from_python_threads_equal_serial_steps(accelerator, shared,
                                                                 small_chunks):
    """Eight threads step eight arrays at once (one Adam object or one each): same bits.

    Two arrays are too small for chunks: their whole-array steps use per-thread scratch too.
    """
    rng = np.random.default_rng(4)
    starts = [rng.standard_normal(7_000 + 1_000 * k) for k in range(6)]
    starts += [rng.standard_normal(300), rng.standard_normal(300)]  # whole-array steps, too
    expected = [whole_array(optim.Adam(lr=0.01), theta0, 6) for theta0 in starts]

    _base.set_num_threads(2)
    _base.set_accelerator(accelerator)
    common = optim.Adam(lr=0.01)
    results: list = [None] * len(starts)
    barrier = threading.Barrier(len(starts))

    def work(k):
        opt = common if shared else optim.Adam(lr=0.01)
        theta = starts[k].copy()
        state = opt.init(theta)
        barrier.wait()
        for _ in range(6):
            opt.step(theta, theta**3 + 2 * theta + 0.3, state)
        results[k] = (theta, state)

    pool = [threading.Thread(target=work, args=(k,)) for k in range(len(starts))]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads between any two NumPy calls
    try:
        for t in pool:
            t.start()
        for t in pool:
            t.join(timeout=120)
    finally:
        sys.setswitchinterval(interval)
    for got, want in zip(results, expected, strict=True):
        assert got is not None
        assert_same(got, want, ("m", "v"))


def test_an_error_in_a_chunk_reaches_the_caller_and_the_workers_carry_on(small_chunks):
    _base.set_num_threads(2)
    calls = []

    def fail_in_the_middle(a, b):
        calls.append(a)
        if a == 5000:
            raise FloatingPointError("chunk 5000")

    with pytest.raises(FloatingPointError, match="chunk 5000"):
        _base._run_split(fail_in_the_middle, 10_000)
    assert sorted(calls) == list(range(0, 10_000, 1000))  # every other chunk still ran
    theta0 = np.linspace(-1, 1, 10_000)
    assert_same(run(optim.Momentum(), theta0, 3), whole_array(optim.Momentum(), theta0, 3),
                ("v",))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.parametrize("accelerator", ACCELERATORS)
def test_steps_in_a_forked_child_use_fresh_workers(accelerator, small_chunks):
    """The parent's workers (and their locks) do not exist in a forked child; it starts its own."""
    import multiprocessing

    theta0 = np.linspace(-1, 1, 10_000)
    expected = whole_array(optim.Nadam(), theta0, 3)
    _base.set_num_threads(2)
    _base.set_accelerator(accelerator)
    run(optim.Nadam(), theta0, 2)  # the parent's workers exist now
    assert _base._workers
    with multiprocessing.get_context("fork").Pool(1) as pool:
        child = pool.apply_async(_steps_in_child, (theta0, accelerator)).get(timeout=60)
    np.testing.assert_array_equal(child[0], expected[0])
    assert child[1] >= 1  # the child ran with a worker thread of its own
    assert_same(run(optim.Nadam(), theta0, 3), expected, ("m", "v"))  # the parent still works


def _steps_in_child(theta0, accelerator):
    _base._BLOCK, _base._MIN_PART = 400, 1000
    _base.set_num_threads(2)
    _base.set_accelerator(accelerator)
    assert _base._workers == []  # forgotten at fork
    theta, _ = run(optim.Nadam(), theta0, 3)
    return theta, len(_base._workers)
