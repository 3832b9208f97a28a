"""Throughput of a learning-rate sweep: Adam over a 100,000-run grid on Rosenbrock.

Prints run-steps per second for ``descentlab.lab.run`` and, measured in the same process, the
ratios against

  (a) the way peer visualizers work: one ``torch.optim.Adam`` loop per run on a 2-element tensor
      with autograd (a few hundred runs are timed and the rate per run-step is extrapolated,
      since a 100,000-run loop would take about an hour), and
  (b) hand-written vectorized NumPy Adam for the same update on the same (runs, 2) array, in two
      forms: the bare update, and the update that also stores every position (what a sweep
      needs to draw or measure the paths).

``lab.run`` does more per step than either baseline: it also records J at every point, checks
every run for divergence at every step, and validates its inputs. It advances the runs in
cache-sized chunks with batched hyperparameters: one NumPy computation, no threads.
Goals (issues 3 and 11): >= 1,000x the per-run loop, and >= 0.9x hand-written NumPy timed from
a cold start. The trajectories of (b) are checked to equal ``lab.run``'s exactly, so the
comparison is of the same computation.

Two timings of each NumPy contender: ``cold``, its first call in a fresh Python process that has
imported torch and descentlab (what a user's first sweep pays: allocations, lazy imports,
caches), the fastest of ``--repeats`` such processes; and ``warm``, the fastest of ``--repeats``
further calls in this process, taken in turns.

Usage: python benchmarks/sweep_throughput.py [--runs 100000] [--steps 100] [--loop-runs 200]
                                            [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

START = (-1.2, 1.0)
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8


def lr_grid(runs: int) -> np.ndarray:
    return np.geomspace(1e-4, 1.0, runs)


def best_times(repeats, contenders):
    """Fastest of ``repeats`` timed calls of each contender, taken in turns (round robin).

    Round robin keeps the contenders under the same conditions when the machine's load changes.
    Each contender is called once untimed first, and every result is released before the next
    timed call, so every call finds the memory the previous one freed (the allocator keeps it):
    what a session running sweep after sweep sees. (Without the warm-up, the first touch of
    ~250 MB of fresh pages costs about as much as the computation itself, for every contender.)
    """
    last = {}
    for fn in contenders.values():
        fn()
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(repeats):
        for name, fn in contenders.items():
            last.pop(name, None)  # release the previous result before timing the next call
            t0 = time.perf_counter()
            out = fn()
            best[name] = min(best[name], time.perf_counter() - t0)
            last[name] = out
            out = None
    return best, last


def bench_lab(runs, steps):
    from descentlab import lab

    return lab.run("rosenbrock", ("adam", {"lr": lr_grid(runs)}), np.array([START]),
                   steps=steps, progress=False)


def numpy_adam(runs, steps, *, record):
    """Hand-written vectorized Adam on Rosenbrock: the lecture's update, in place, on (runs, 2),
    with preallocated scratch arrays (the fastest plain NumPy form we know)."""
    lr = np.repeat(lr_grid(runs)[:, None], 2, axis=1)  # as lab.run lays out a grid
    theta = np.empty((runs, 2))
    theta[:] = START
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    g, w, u = np.empty_like(theta), np.empty_like(theta), np.empty_like(theta)
    traj = np.empty((steps + 1, runs, 2)) if record else None
    if record:
        traj[0] = theta
    x, y = theta[:, 0], theta[:, 1]  # views
    for t in range(1, steps + 1):
        b = y - x * x
        g[:, 0] = -2 * (1 - x) - 400 * (x * b)  # dJ/dx of (1 - x)^2 + 100 (y - x^2)^2
        g[:, 1] = 200 * b
        m *= BETA1
        m += np.multiply(1 - BETA1, g, out=w)  # m = beta1 m + (1 - beta1) g
        v *= BETA2
        np.multiply(1 - BETA2, g, out=w)
        v += np.multiply(w, g, out=w)  # v = beta2 v + (1 - beta2) g^2
        np.divide(v, 1 - BETA2**t, out=w)  # vhat
        np.sqrt(w, out=w)
        w += EPS  # sqrt(vhat) + eps
        np.divide(m, 1 - BETA1**t, out=u)  # mhat
        np.multiply(lr, u, out=u)
        theta -= np.divide(u, w, out=u)  # theta -= lr mhat / (sqrt(vhat) + eps)
        if record:
            traj[t] = theta
    return traj if record else theta


def cold_seconds(name: str, runs: int, steps: int) -> float:
    """Seconds of the first call of contender ``name`` in a fresh process (imports not timed)."""
    code = (f"import sys, time, json; sys.path.insert(0, {str(__file__.rsplit('/', 1)[0])!r})\n"
            "import torch, descentlab.lab, sweep_throughput as b\n"
            f"fn = {{'lab': lambda: b.bench_lab({runs}, {steps}),"
            f" 'numpy': lambda: b.numpy_adam({runs}, {steps}, record=False),"
            f" 'numpy+paths': lambda: b.numpy_adam({runs}, {steps}, record=True)}}[{name!r}]\n"
            "t0 = time.perf_counter(); fn(); print(json.dumps(time.perf_counter() - t0))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def torch_loop_rate(n_runs, steps, total_runs):
    """Run-steps per second of one torch.optim.Adam loop per run (autograd on a 2-tensor)."""
    import torch

    lrs = lr_grid(total_runs)[np.linspace(0, total_runs - 1, n_runs).astype(int)]
    finals = []
    t0 = time.perf_counter()
    for lr in lrs:
        p = torch.tensor(START, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([p], lr=float(lr), betas=(BETA1, BETA2), eps=EPS)
        for _ in range(steps):
            opt.zero_grad()
            loss = (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2
            loss.backward()
            opt.step()
        finals.append(p.detach().numpy().copy())
    elapsed = time.perf_counter() - t0
    return n_runs * steps / elapsed, np.array(finals), lrs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100_000, help="runs in the lr grid (100000)")
    ap.add_argument("--steps", type=int, default=100, help="steps per run (100)")
    ap.add_argument("--loop-runs", type=int, default=200,
                    help="runs timed in the per-run torch loop (200), extrapolated per run-step")
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats, best kept (3)")
    args = ap.parse_args(argv)
    runs, steps = args.runs, args.steps
    work = runs * steps
    print(f"Adam on Rosenbrock from {START}, {runs:,} learning rates in [1e-4, 1] (log grid), "
          f"{steps} steps = {work:,} run-steps; best of {args.repeats}")

    cold = {name: min(cold_seconds(name, runs, steps) for _ in range(args.repeats))
            for name in ("lab", "numpy+paths", "numpy")}
    best, last = best_times(args.repeats, {
        "lab": lambda: bench_lab(runs, steps),
        "numpy": lambda: numpy_adam(runs, steps, record=False),
        "numpy+paths": lambda: numpy_adam(runs, steps, record=True),
    })
    t_lab, t_np, t_np_rec = best["lab"], best["numpy"], best["numpy+paths"]
    res, traj = last["lab"], last["numpy+paths"]
    same = np.array_equal(traj, res.trajectories, equal_nan=True)
    loop_rate, finals, lrs = torch_loop_rate(args.loop_runs, steps, runs)
    # the torch loop's results agree with lab.run's (same lecture update as torch.optim.Adam)
    pick = np.searchsorted(lr_grid(runs), lrs)
    agree = np.allclose(finals, res.trajectories[-1, pick], rtol=1e-9, atol=1e-9,
                        equal_nan=True)

    rate_lab = work / t_lab
    print(f"  {'':<31}{'warm':>14}{'cold':>12}")
    print(f"  descentlab.lab.run             {rate_lab:>14,.0f}{work / cold['lab']:>12,.0f} "
          f"run-steps/s  (warm {t_lab:.2f} s, cold {cold['lab']:.2f} s; records positions, J "
          f"and divergence; {int((res.diverged_at >= 0).sum())} runs diverged)")
    print(f"  hand-written NumPy + positions {work / t_np_rec:>14,.0f}"
          f"{work / cold['numpy+paths']:>12,.0f} run-steps/s  (positions equal lab.run's "
          f"exactly: {same})")
    print(f"  hand-written NumPy, bare       {work / t_np:>14,.0f}{work / cold['numpy']:>12,.0f} "
          "run-steps/s")
    print(f"  torch.optim.Adam, loop per run {loop_rate:>14,.0f} run-steps/s  (timed on "
          f"{args.loop_runs} runs x {steps} steps, extrapolated per run-step; final points "
          f"agree with lab.run to 1e-9: {agree})")
    print(f"ratio vs per-run torch loop:          {rate_lab / loop_rate:8.0f}x   (goal >= 1000x)")
    for name in ("numpy+paths", "numpy"):
        print(f"ratio vs hand-written {name + ',':<13}   cold {cold[name] / cold['lab']:5.2f}x, "
              f"warm {best[name] / t_lab:5.2f}x   (goal, cold: >= 0.9x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
