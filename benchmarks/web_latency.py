"""Latency of the playground's API on loopback: p50 / p99 of a typical run request.

A real uvicorn server (the one ``descentlab serve`` starts) listens on 127.0.0.1 on a free port in
this process; an httpx client sends

* the page's typical request: Rosenbrock, GD + Momentum + Adam from one start, 300 steps, with the
  recorded state (what moving a slider sends), one at a time, then 8 at a time;
* a contour grid request (160 x 160, what choosing a surface sends);

and prints percentiles. As a baseline measured in the same run, the bare library call
(``descentlab.lab.run`` + metrics) for the same settings: the difference is the web layer's cost
(validation, JSON, HTTP). Bounded: a fixed number of requests, each with a timeout.

    python benchmarks/web_latency.py [--requests 200]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import uvicorn

from descentlab import lab, surfaces
from descentlab.web import create_app

RUN = {"surface": {"name": "rosenbrock"}, "starts": [[-1.2, 1.0]], "steps": 300,
       "optimizers": [{"name": "GD", "hyperparameters": {"lr": 0.001}},
                      {"name": "Momentum", "hyperparameters": {"lr": 0.001, "gamma": 0.9}},
                      {"name": "Adam", "hyperparameters": {"lr": 0.05}}],
       "seed": 0, "record_state": True}
GRID = {"surface": {"name": "rosenbrock"}, "resolution": 160}


def percentiles(ms):
    a = np.asarray(ms)
    return {"p50": float(np.percentile(a, 50)), "p99": float(np.percentile(a, 99)),
            "mean": statistics.fmean(a), "n": len(a)}


def show(name, stats):
    print(f"  {name:<44} p50 {stats['p50']:7.2f} ms   p99 {stats['p99']:7.2f} ms   "
          f"mean {stats['mean']:7.2f} ms   (n={stats['n']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per measurement")
    args = parser.parse_args()
    n = max(10, min(args.requests, 5000))

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("uvicorn did not start")
        time.sleep(0.02)

    # baseline: the library alone, same settings, alternated with the API calls below so that
    # both see the same machine load
    s = surfaces.get("rosenbrock")
    specs = [(o["name"], o["hyperparameters"]) for o in RUN["optimizers"]]

    def library():
        t0 = time.perf_counter()
        r = lab.run(s, specs, np.array(RUN["starts"]), steps=300, seed=0, record_state=True)
        r.metrics(columns=True)
        return (time.perf_counter() - t0) * 1e3

    base, seq = [], []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30.0) as http:
            size = len(http.post("/api/run", json=RUN).content)
            for _ in range(5):  # warm-up
                http.post("/api/run", json=RUN).raise_for_status()
                http.post("/api/grid", json=GRID).raise_for_status()

            def timed(path, body):
                t0 = time.perf_counter()
                http.post(path, json=body).raise_for_status()
                return (time.perf_counter() - t0) * 1e3

            for _ in range(n):
                base.append(library())
                seq.append(timed("/api/run", RUN))
            grid = [timed("/api/grid", GRID) for _ in range(n)]
            with ThreadPoolExecutor(max_workers=8) as pool:
                par = list(pool.map(lambda _: timed("/api/run", RUN), range(n)))
    finally:
        server.should_exit = True
        thread.join(timeout=10)

    print("descentlab playground API latency, loopback (127.0.0.1), uvicorn in-process")
    print(f"typical run request: rosenbrock, GD + Momentum + Adam, 1 start, 300 steps, with "
          f"state; answer {size / 1024:.0f} KiB of JSON")
    b, q = percentiles(base), percentiles(seq)
    show("lab.run + metrics alone (baseline)", b)
    show("POST /api/run, one client", q)
    show("POST /api/run, 8 clients in parallel", percentiles(par))
    show("POST /api/grid 160x160, one client", percentiles(grid))
    print(f"  web layer cost at p50: {q['p50'] - b['p50']:.2f} ms "
          f"({q['p50'] / b['p50']:.1f}x the bare library call)")


if __name__ == "__main__":
    main()
