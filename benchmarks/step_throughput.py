"""Time per optimizer step: descentlab on NumPy and in PyTorch against torch.optim and a plain copy.

    python benchmarks/step_throughput.py [--sizes 1M 16M] [--repeats 50] [--rounds 60]
                                         [--threads N] [--accelerator numba|numpy]

For Adam, RMSProp and Momentum on float32 parameters of each size it times, in one run:

* ``numpy``    descentlab.optim on NumPy arrays (``opt.step(theta, g, state)``)
* ``foreach``  torch.optim with ``foreach=True``
* ``fused``    torch.optim with ``fused=True``, where torch has a fused CPU kernel for it
* ``default``  torch.optim with its default implementation, on a model (a stack of Linear layers
               holding the same number of parameters)
* ``adapter``  descentlab.torch on that same model
* ``copy``     ``np.copyto`` of the parameters' bytes: a memory-bandwidth reference

and prints the fastest time per step with the ratios the issue sets goals for: numpy / foreach
(goal <= 1.0), numpy / fused (goal <= 2.0), adapter / default (goal <= 1.25). Nothing is hidden:
the same hyperparameters (torch's forms of the lecture's) and the same gradients for all.

It times every function in two ways, one table each, because they disagree:

* ``alone``: each function called many times in a row, as ``timeit`` does. Its arrays stay in
  the caches and torch's OpenMP threads are still awake (they spin for a while after each
  parallel torch call) when its next call comes.
* ``mixed``: the functions take turns, one call each per round, in a new random order each round
  (seeded). Each call finds its arrays evicted by the others, and a call right after a torch call
  finds torch's OpenMP threads spinning on the other core (descentlab's steps run on those same
  threads here, as torch is imported: see ``descentlab/optim/_omp.py``). Earlier versions used a
  fixed order, in which the NumPy column always ran right after the copy: it flattered the NumPy
  column.

A third table (``loop``) times the adapter against torch.optim's default where a user meets it: in a
training loop, each step right after its own model's forward and backward pass, on the models
above and on an MLP of many small tensors (20 Linear(256, 256) layers with biases: 40 tensors,
1.3M parameters), where the cost per tensor counts. It prints median milliseconds and the median
of the paired ratios adapter / default (the two steps of a round run back to back, in random
order).
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import statistics
import time

import numpy as np
import torch

from descentlab import optim
from descentlab import torch as dtorch

SIZES = {"1M": 1 << 20, "4M": 1 << 22, "16M": 1 << 24}

# name: (descentlab hyperparameters, torch.optim class, its keyword arguments for the same rule)
RULES = {
    "Adam": (dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8), torch.optim.Adam,
             dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8)),
    "RMSProp": (dict(lr=1e-3, gamma=0.9, eps=1e-8), torch.optim.RMSprop,
                dict(lr=1e-3, alpha=0.9, eps=1e-8)),
    "Momentum": (dict(lr=1e-3, gamma=0.9), torch.optim.SGD, dict(lr=1e-3, momentum=0.9)),
}


def timed(fns: dict, repeats: int, mixed: bool, seed: int = 0) -> dict[str, float]:
    """Fastest seconds per call of each function, after warm-up calls (first touches, lazy state).

    ``mixed=False``: each function ``repeats`` times in a row. ``mixed=True``: one call each per
    round, in a new random order each round. The minimum (as ``timeit`` advises) is the run least
    disturbed by other processes, which on a shared 2-core machine hit the multi-threaded
    (OpenMP) torch kernels hardest.
    """
    for fn in fns.values():
        for _ in range(3):
            fn()
    times: dict[str, list[float]] = {key: [] for key in fns}
    rng = random.Random(seed)
    keys = list(fns)
    rounds = [rng.sample(keys, len(keys)) for _ in range(repeats)] if mixed else \
        [[key] * repeats for key in keys]
    for order in rounds:
        for key in order:
            t0 = time.perf_counter()
            fns[key]()
            times[key].append(time.perf_counter() - t0)
    return {key: min(ts) for key, ts in times.items()}


def mlp() -> torch.nn.Module:
    """20 Linear(256, 256) layers with biases and tanh: 40 tensors, 1.3M parameters."""
    layers = []
    for _ in range(20):
        layers += [torch.nn.Linear(256, 256), torch.nn.Tanh()]
    return torch.nn.Sequential(*layers)


def in_training_loop(name: str, make_model, rounds: int, seed: int = 0) -> tuple:
    """Median seconds of torch.optim's default step and of the adapter's, each taken right after
    its own model's forward and backward pass, and the median of the paired ratios."""
    hp, torch_cls, torch_hp = RULES[name]
    torch.manual_seed(seed)
    model_a = make_model()
    model_b = copy.deepcopy(model_a)
    width = next(model_a.parameters()).shape[1]
    x = torch.randn(32, width)
    runs = {"default": (model_a, torch_cls(model_a.parameters(), **torch_hp)),
            "adapter": (model_b, getattr(dtorch, name)(model_b.parameters(), **hp))}
    rng = random.Random(seed)
    keys = list(runs)
    times: dict[str, list[float]] = {key: [] for key in runs}
    for k in range(rounds + 3):
        rng.shuffle(keys)
        for key in keys:
            model, opt = runs[key]
            opt.zero_grad()
            model(x).square().mean().backward()
            t0 = time.perf_counter()
            opt.step()
            if k >= 3:  # warm-up: lazy state, first touches
                times[key].append(time.perf_counter() - t0)
    ratios = [a / d for a, d in zip(times["adapter"], times["default"], strict=True)]
    return statistics.median(times["default"]), statistics.median(times["adapter"]), \
        statistics.median(ratios)


def model_of(n: int) -> torch.nn.Module:
    """Square Linear layers (no bias) totalling n parameters: 1M = one 1024x1024 layer."""
    width = 1024 if n <= 1 << 20 else 2048
    layers = max(1, n // (width * width))
    model = torch.nn.Sequential(*(torch.nn.Linear(width, width, bias=False) for _ in range(layers)))
    for p in model.parameters():
        p.grad = torch.randn_like(p)
    return model


def bench(name: str, n: int, repeats: int, mixed: bool) -> dict[str, float | None]:
    hp, torch_cls, torch_hp = RULES[name]
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(n, dtype=np.float32)
    g = rng.standard_normal(n, dtype=np.float32) * 1e-3

    fns = {}
    opt = optim.get(name, **hp)
    state = opt.init(theta)
    fns["numpy"] = lambda: opt.step(theta, g, state)

    keep = []
    for flag in ("foreach", "fused"):
        p = torch.nn.Parameter(torch.from_numpy(theta.copy()))
        p.grad = torch.from_numpy(g.copy())
        try:
            topt = torch_cls([p], **torch_hp, **{flag: True})
            topt.step()
        except (RuntimeError, ValueError, TypeError):
            continue  # no such kernel for this optimizer on the CPU
        keep.append(p)
        fns[flag] = topt.step

    model_a, model_b = model_of(n), model_of(n)
    fns["default"] = torch_cls(model_a.parameters(), **torch_hp).step
    fns["adapter"] = getattr(dtorch, name)(model_b.parameters(), **hp).step

    dst = np.empty_like(theta)
    fns["copy"] = lambda: np.copyto(dst, theta)
    out: dict[str, float | None] = {"fused": None, **timed(fns, repeats, mixed)}
    return out


def _ms(seconds) -> str:
    return f"{seconds * 1e3:9.2f}" if seconds is not None else f"{'n/a':>9s}"


def _ratio(r, a, b, width) -> str:
    return f"{r[a] / r[b]:{width}.2f}" if r[a] and r[b] else f"{'n/a':>{width}s}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1M", "16M"], choices=list(SIZES))
    parser.add_argument("--rules", nargs="+", default=list(RULES), choices=list(RULES))
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=60,
                        help="rounds of the training-loop table (0: skip it)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for torch and for descentlab (default: each library's own)")
    parser.add_argument("--accelerator", choices=["numba", "numpy"], default="numba",
                        help="descentlab's NumPy path: numba kernels where installed, or NumPy")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
        optim.set_num_threads(args.threads)
    optim.set_accelerator(args.accelerator)

    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), numpy {np.__version__}, "
          f"descentlab threads {optim.get_num_threads()} ({optim.get_accelerator()}), "
          f"{os.cpu_count()} cores; float32, "
          f"fastest of {args.repeats} steps, milliseconds per step; load average before the run "
          f"{os.getloadavg()[0]:.2f} (other work on the machine skews torch's threads most)")
    cols = ["numpy", "foreach", "fused", "default", "adapter", "copy"]
    head = f"{'rule':9s}{'size':>5s} " + "".join(f"{c:>9s}" for c in cols)
    head += f"  {'np/foreach':>10s} {'np/fused':>8s} {'adapt/def':>9s} {'np/copy':>7s}"
    for mixed in (False, True):
        print("\n" + ("mixed: the functions interleaved in a random order" if mixed else
                      "alone: each function called repeatedly"))
        print(head)
        for size in args.sizes:
            for name in args.rules:
                r = bench(name, SIZES[size], args.repeats, mixed)
                print(f"{name:9s}{size:>5s} " + "".join(_ms(r[c]) for c in cols)
                      + f"  {_ratio(r, 'numpy', 'foreach', 10)} {_ratio(r, 'numpy', 'fused', 8)} "
                      f"{_ratio(r, 'adapter', 'default', 9)} {_ratio(r, 'numpy', 'copy', 7)}",
                      flush=True)
    print("goals: np/foreach <= 1.00, np/fused <= 2.00, adapt/def <= 1.25")
    if args.rounds:
        print(f"\nloop: each step right after its model's forward and backward "
              f"pass; median ms per step over {args.rounds} rounds, median of the paired ratios")
        print(f"{'rule':9s}{'model':>7s} {'default':>9s}{'adapter':>9s}  {'adapt/def':>9s}")
        models = [(size, lambda size=size: model_of(SIZES[size])) for size in args.sizes]
        for label, make in [*models, ("mlp40", mlp)]:
            for name in args.rules:
                default, adapter, ratio = in_training_loop(name, make, args.rounds)
                print(f"{name:9s}{label:>7s} {_ms(default)}{_ms(adapter)}  {ratio:9.2f}",
                      flush=True)
        print("goal: adapt/def <= 1.25")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
