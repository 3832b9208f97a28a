"""Large NumPy steps on torch's OpenMP threads (``descentlab.optim._omp``): once torch is imported,
the steps open a parallel region of its GNU OpenMP runtime. Every result is compared bit for bit
with the whole-array NumPy path, which test_rules checks against the lecture's formulas, and a spy
on ``GOMP_parallel`` checks that the team really ran them.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings

import numpy as np
import pytest
from optim_cases import CASES, IDS, grad_fn, run

from descentlab import optim
from descentlab.optim import _base, _omp

torch = pytest.importorskip("torch")

if optim.get_accelerator() != "numba":
    pytest.skip("the team runs numba's compiled bodies: needs the fast extra",
                allow_module_level=True)
if sys.platform != "linux":
    pytest.skip("torch runs on GNU OpenMP in its Linux wheels only", allow_module_level=True)


def whole_array(opt, theta0, steps):
    """The reference: whole-array NumPy calls, no blocks, no threads, no numba."""
    threads = _base.get_num_threads()
    _base.set_num_threads(0)
    _base.set_accelerator("numpy")
    try:
        return run(opt, theta0, steps)
    finally:
        _base.set_num_threads(threads)
        _base.set_accelerator("numba")


@pytest.fixture
def team(monkeypatch):
    """Small pieces and parts (the real ones are 1 << 16 and 1 << 18 elements), 2 threads, and a
    record of each ``GOMP_parallel`` call: (body, team size)."""
    rt = _omp.runtime()
    assert rt is not None, "torch is imported: its libgomp must be found"
    launches: list[tuple] = []
    parallel = rt.parallel

    def spy(body, header, n_threads, flags):
        launches.append((body, n_threads))
        parallel(body, header, n_threads, flags)

    monkeypatch.setattr(rt, "parallel", spy)
    monkeypatch.setattr(_omp, "_PIECE", 300)
    monkeypatch.setattr(_base, "_MIN_PART", 1000)
    monkeypatch.setattr(_omp, "enabled", True)
    _base.set_num_threads(2)
    torch_threads = torch.get_num_threads()  # (an earlier test may have pinned OpenMP to 1)
    torch.set_num_threads(2)
    yield launches
    torch.set_num_threads(torch_threads)
    _base.set_num_threads(_base._num_threads_default)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_team_steps_are_bit_for_bit_the_whole_array_path(case, dtype, team):
    theta0 = np.random.default_rng(5).standard_normal(10_050).astype(dtype)
    expected = whole_array(case.make(), theta0, 4)
    team.clear()
    got = run(case.make(), theta0, 4)
    for name in ("theta", *case.buffers):
        a, b = (got[0], expected[0]) if name == "theta" else (got[1][name], expected[1][name])
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert len(team) == 4 and all(n == 2 for _, n in team)  # one region per step, two threads


@pytest.mark.parametrize("name", ["Momentum", "Adagrad", "Adam", "Nadam"])
def test_step_many_puts_every_array_on_the_team_once(name, team):
    """Arrays of both dtypes, of 0 to 4001 elements, at different step counts: one region per
    dtype, every element stepped exactly once (any miss or repeat changes the bits)."""
    rng = np.random.default_rng(6)
    sizes = [0, 1, 299, 300, 301, 2500, 4001, 7, 1200]
    dtypes = [np.float32, np.float64] * 5
    arrays = [rng.standard_normal(n).astype(d) for n, d in zip(sizes, dtypes, strict=False)]
    opt = optim.get(name, lr=0.01)
    states = [opt.init(a) for a in arrays]
    reference = [whole_array(optim.get(name, lr=0.01), a, 1 + (i % 3))
                 for i, a in enumerate(arrays)]
    for i, (a, s) in enumerate(zip(arrays, states, strict=True)):  # steps 0, 1, 2 done apart
        for _ in range(i % 3):
            opt.step(a, grad_fn(a), s)
    team.clear()
    opt.step_many(arrays, [grad_fn(a) for a in arrays], states)
    assert sorted(team) == sorted([(_omp.runtime().bodies[np.dtype(d)], 2)
                                   for d in (np.float32, np.float64)])
    for (want, want_state), a, s in zip(reference, arrays, states, strict=True):
        np.testing.assert_array_equal(a, want)
        assert s["t"] == want_state["t"]
        for buffer in opt._buffers:
            np.testing.assert_array_equal(s[buffer], want_state[buffer])


def test_the_team_respects_both_thread_settings(team):
    theta0 = np.linspace(-1, 1, 10_000)
    expected = whole_array(optim.Adam(), theta0, 2)
    torch.set_num_threads(1)  # omp_get_max_threads() is now 1: no more (the fixture restores)
    got = run(optim.Adam(), theta0, 2)
    np.testing.assert_array_equal(got[0], expected[0])
    assert [n for _, n in team] == [1, 1]
    team.clear()
    _base.set_num_threads(1)  # descentlab's own setting: the calling thread only, no region
    np.testing.assert_array_equal(run(optim.Adam(), theta0, 2)[0], expected[0])
    assert team == []


def test_torch_thread_setting_holds_in_a_thread_that_never_ran_torch(team):
    """torch.set_num_threads reaches another thread's OpenMP only once torch runs there; a step
    from a fresh thread still takes no more threads than torch's setting."""
    torch.set_num_threads(1)  # (the fixture restores it)
    theta0 = np.linspace(-1, 1, 10_000)
    expected = whole_array(optim.Adam(), theta0, 1)
    team.clear()
    got = []
    worker = threading.Thread(target=lambda: got.append(run(optim.Adam(), theta0, 1)[0]))
    worker.start()
    worker.join(timeout=60)
    np.testing.assert_array_equal(got[0], expected[0])
    assert [n for _, n in team] == [1]


def test_a_kernel_the_team_does_not_know_runs_on_descentlabs_threads(team):
    seen = np.zeros(5000, dtype=int)

    def kernel(x, a, b):  # a Python function: not one of the team's compiled bodies
        x[a:b] += 1

    _base._run_kernels([(kernel, (seen,), ())])
    np.testing.assert_array_equal(seen, 1)
    assert team == []


def test_concurrent_steps_from_python_threads_each_open_a_region(team):
    rng = np.random.default_rng(7)
    starts = [rng.standard_normal(5000 + 500 * k) for k in range(6)]  # >= _FUSE: kernels
    expected = [whole_array(optim.RMSProp(lr=0.01), theta0, 5) for theta0 in starts]
    team.clear()
    results: list = [None] * len(starts)
    barrier = threading.Barrier(len(starts))

    def work(k):
        opt, theta = optim.RMSProp(lr=0.01), starts[k].copy()
        state = opt.init(theta)
        barrier.wait()
        for _ in range(5):
            opt.step(theta, grad_fn(theta), state)
        results[k] = theta

    pool = [threading.Thread(target=work, args=(k,)) for k in range(len(starts))]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=120)
    for got, (want, _) in zip(results, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert len(team) == 5 * len(starts)


def test_the_torch_adapter_steps_on_the_team(team):
    """A model whose weights are large enough: the adapter's steps open regions, and its
    parameters match torch.optim.SGD's (the lecture's Momentum, v = lr * momentum_buffer)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.Tanh(), torch.nn.Linear(64, 8))
    twin = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.Tanh(), torch.nn.Linear(64, 8))
    twin.load_state_dict(model.state_dict())
    for m in (model, twin):
        m.double()
    from descentlab import torch as dtorch

    ours = dtorch.Momentum(model.parameters(), lr=0.05, gamma=0.9)
    theirs = torch.optim.SGD(twin.parameters(), lr=0.05, momentum=0.9)
    x = torch.randn(16, 64, dtype=torch.float64)
    team.clear()
    for _ in range(20):
        for m, opt in ((model, ours), (twin, theirs)):
            opt.zero_grad()
            m(x).square().mean().backward()
            opt.step()
    assert len(team) == 20
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-14)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_steps_on_descentlabs_threads(team):
    """GNU OpenMP does not survive a fork: a child never opens a region, and still steps right."""
    import multiprocessing

    theta0 = np.linspace(-1, 1, 10_000)
    expected = whole_array(optim.Nadam(), theta0, 3)
    run(optim.Nadam(), theta0, 1)
    assert team  # the parent used the team
    with multiprocessing.get_context("fork").Pool(1) as pool:
        child = pool.apply_async(_steps_in_child, (theta0,)).get(timeout=60)
    np.testing.assert_array_equal(child[0], expected[0])
    assert child[1] is False and child[2] >= 1  # no runtime; descentlab's own worker ran


def _steps_in_child(theta0):
    _base._MIN_PART = 1000
    _base.set_num_threads(2)
    theta, _ = run(optim.Nadam(), theta0, 3)
    return theta, _omp._runtime, len(_base._workers)


def test_bodies_that_fail_to_build_leave_descentlabs_threads_with_a_warning(monkeypatch):
    def fail(self, lib):
        raise RuntimeError("no LLVM today")

    theta0 = np.linspace(-1, 1, 10_000)
    expected = whole_array(optim.Adam(), theta0, 2)
    monkeypatch.setattr(_omp, "_runtime", None)  # look again (restored after the test)
    monkeypatch.setattr(_omp._Runtime, "__init__", fail)
    monkeypatch.setattr(_base, "_MIN_PART", 1000)
    monkeypatch.setattr(_omp, "enabled", True)
    _base.set_num_threads(2)
    try:
        with pytest.warns(RuntimeWarning, match="own threads.*no LLVM today"):
            got = run(optim.Adam(), theta0, 2)
        np.testing.assert_array_equal(got[0], expected[0])
        assert _omp._runtime is False
        # warnings as errors: the step that raises it has written nothing, the next one steps
        monkeypatch.setattr(_omp, "_runtime", None)
        opt, theta = optim.Adam(), theta0.copy()
        state = opt.init(theta)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(RuntimeWarning, match="no LLVM today"):
                opt.step(theta, grad_fn(theta), state)
            assert state["t"] == 0 and (state["m"] == 0).all()
            np.testing.assert_array_equal(theta, theta0)
            opt.step(theta, grad_fn(theta), state)
            opt.step(theta, grad_fn(theta), state)
        np.testing.assert_array_equal(theta, expected[0])
    finally:
        _base.set_num_threads(_base._num_threads_default)


def test_steps_work_where_numba_has_nowhere_to_cache(tmp_path):
    """A read-only install and no writable home: numba refuses ``cache=True``; the kernels and
    the team's bodies are then compiled in the process, and the steps are the same."""
    import subprocess

    script = """
import numba.core.caching
numba.core.caching.CacheImpl._locator_classes = []  # no place to cache, as on a read-only disk
import numpy as np, torch
from descentlab import optim
from descentlab.optim import _omp
x = np.linspace(-1, 1, 1 << 20); g = np.cos(x); y = x.copy()
opt = optim.Adam(lr=0.01); s = opt.init(x); opt.step(x, g, s)
optim.set_accelerator("numpy"); optim.set_num_threads(0)
ref = optim.Adam(lr=0.01); r = ref.init(y); ref.step(y, g, r)
assert np.array_equal(x, y) and np.array_equal(s["v"], r["v"])
assert _omp._runtime not in (None, False), "the team's bodies were built"
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"


def test_a_model_of_thousands_of_small_arrays(team):
    """Each thread finds the row of its next piece from where its last one was (its claims only
    grow): 3000 arrays, empty ones among them, each stepped once."""
    rng = np.random.default_rng(8)
    arrays = [rng.standard_normal(int(n)) for n in rng.integers(0, 12, size=3000)]
    opt = optim.RMSProp(lr=0.01)
    states = [opt.init(a) for a in arrays]
    reference = [whole_array(optim.RMSProp(lr=0.01), a, 1)[0] for a in arrays]
    team.clear()
    opt.step_many(arrays, [grad_fn(a) for a in arrays], states)
    assert len(team) == 1
    for a, want in zip(arrays, reference, strict=True):
        np.testing.assert_array_equal(a, want)


def test_a_multiprocessing_worker_that_imports_descentlab_late_does_not_hang(tmp_path):
    """The parent ran torch (its OpenMP threads exist) and had not imported descentlab when it
    forked the worker, so no fork hook of descentlab ran; the worker must not open a region
    (GNU OpenMP would wait forever for the parent's threads) and steps right."""
    import subprocess

    script = """
import multiprocessing as mp, sys
import torch
torch.ones(1 << 22).sum()  # torch's OpenMP threads exist in this (parent) process
assert "descentlab" not in sys.modules

def work(n):
    import numpy as np
    from descentlab import optim
    from descentlab.optim import _omp
    x = np.linspace(-1, 1, n); opt = optim.Adam(); s = opt.init(x); opt.step(x, np.cos(x), s)
    return float(x.sum()), _omp._runtime

if __name__ == "__main__":
    with mp.get_context("fork").Pool(1) as pool:
        total, runtime = pool.apply_async(work, (1 << 20,)).get(timeout=60)
    print(runtime, round(total, 6))
"""
    path = tmp_path / "late.py"
    path.write_text(script)
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[0] == "False"  # own threads in the worker


def test_a_refused_lookup_leaves_the_nag_adapters_parameters_untouched(monkeypatch):
    """The torch adapter's NAG moves its parameters to theta before the rule's step; the
    runtime is looked up in the checks, before that, so a warning raised as an error changes
    nothing."""
    from descentlab import torch as dtorch

    def fail(self, lib):
        raise RuntimeError("no LLVM today")

    torch.manual_seed(0)
    model = torch.nn.Linear(8, 4)
    opt = dtorch.NAG(model.parameters(), lr=0.1, gamma=0.9)
    model(torch.randn(3, 8)).square().mean().backward()
    opt.step()  # a velocity, so that the move to theta would show
    model(torch.randn(3, 8)).square().mean().backward()
    before = [p.detach().clone() for p in model.parameters()]
    monkeypatch.setattr(_omp, "_runtime", None)
    monkeypatch.setattr(_omp._Runtime, "__init__", fail)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeWarning, match="no LLVM today"):
            opt.step()
    for p, q in zip(model.parameters(), before, strict=True):
        assert torch.equal(p, q)
    assert all(s["t"] == 1 for s in opt.state.values())
