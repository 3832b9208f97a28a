"""Latency of the playground's API on loopback: p50 / p99 of a typical run request.

A real uvicorn server (the one ``descentlab serve`` starts) listens on 127.0.0.1 on a free port in
this process; an httpx client sends

* the page's typical request: Rosenbrock, GD + Momentum + Adam from one start, 300 steps, with the
  recorded state (what moving a slider sends), one at a time, then 8 at a time;
* a contour grid request (160 x 160, what choosing a surface sends);

and prints percentiles. As a baseline measured in the same run, the bare library call
(``descentlab.lab.run`` + metrics) for the same settings: the difference is the web layer's cost
(validation, JSON, HTTP). Bounded: a fixed number of requests, each with a timeout.

Then cheap requests under load (issue 12): ``--heavy`` clients (default 16) each keep one heavy
request in flight (8 optimizers x 2,000 steps on Rosenbrock, about 1 s of computing, under the
cost cap) while one client times cheap requests (the page, a static file, /api/limits,
/api/expression). The goal: p90 of the cheap requests under 1 s on 2 cores. The same cheap
requests without load, measured first in the same run, are the baseline.

    python benchmarks/web_latency.py [--requests 200] [--heavy 16] [--cheap 200]
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
from descentlab.web.cli import server_config

RUN = {"surface": {"name": "rosenbrock"}, "starts": [[-1.2, 1.0]], "steps": 300,
       "optimizers": [{"name": "GD", "hyperparameters": {"lr": 0.001}},
                      {"name": "Momentum", "hyperparameters": {"lr": 0.001, "gamma": 0.9}},
                      {"name": "Adam", "hyperparameters": {"lr": 0.05}}],
       "seed": 0, "record_state": True}
GRID = {"surface": {"name": "rosenbrock"}, "resolution": 160}


HEAVY = {"surface": {"name": "rosenbrock"}, "starts": [[-1.2, 1.0]], "steps": 2000,
         "optimizers": [{"name": n} for n in ("GD", "Momentum", "NAG", "Adagrad", "RMSProp",
                                              "AdaDelta", "Adam", "Nadam")],
         "record_state": True}
CHEAP = [("GET", "/", None), ("GET", "/static/js/app.js", None), ("GET", "/api/limits", None),
         ("POST", "/api/expression", {"text": "x**2 + 10*y**2"})]


def percentiles(ms):
    a = np.asarray(ms)
    return {"p50": float(np.percentile(a, 50)), "p90": float(np.percentile(a, 90)),
            "p99": float(np.percentile(a, 99)), "max": float(a.max()),
            "mean": statistics.fmean(a), "n": len(a)}


def cheap_under_load(url: str, heavy: int, n: int) -> None:
    """Time ``n`` cheap requests without load, then with ``heavy`` heavy requests in flight."""

    def cheap_round(http):
        ms = []
        for i in range(n):
            method, path, body = CHEAP[i % len(CHEAP)]
            t0 = time.perf_counter()
            r = http.request(method, path, json=body)
            ms.append((time.perf_counter() - t0) * 1e3)
            r.raise_for_status()
        return ms

    stop = threading.Event()
    answered = {"ok": 0, "busy": 0}

    def hammer():
        with httpx.Client(base_url=url, timeout=120.0) as h:
            while not stop.is_set():
                r = h.post("/api/run", json=HEAVY)
                answered["ok" if r.status_code == 200 else "busy"] += 1

    with httpx.Client(base_url=url, timeout=120.0) as http:
        http.post("/api/run", json=HEAVY).raise_for_status()  # warm-up, and under the cap
        idle = cheap_round(http)
        threads = [threading.Thread(target=hammer, daemon=True) for _ in range(heavy)]
        for t in threads:
            t.start()
        time.sleep(2.0)  # every heavy client has a request in flight
        loaded = cheap_round(http)
        stop.set()
        for t in threads:
            t.join(timeout=180)
    a, b = percentiles(idle), percentiles(loaded)
    print(f"\ncheap requests (page, static file, /api/limits, /api/expression), {n} each round")
    show("no load (baseline)", a)
    show(f"{heavy} heavy /api/run in flight", b)
    print(f"  p90 under load {b['p90']:.0f} ms = {b['p90'] / a['p90']:.1f}x the baseline's; "
          f"goal < 1000 ms: {'met' if b['p90'] < 1000 else 'NOT met'}; heavy requests "
          f"answered {answered['ok']}, refused busy {answered['busy']}")


def show(name, stats):
    print(f"  {name:<44} p50 {stats['p50']:7.2f} ms   p90 {stats['p90']:7.2f} ms   "
          f"p99 {stats['p99']:7.2f} ms   max {stats['max']:7.2f} ms   (n={stats['n']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per measurement")
    parser.add_argument("--heavy", type=int, default=16,
                        help="heavy requests in flight for the cheap-request latency (16)")
    parser.add_argument("--cheap", type=int, default=200, help="cheap requests timed (200)")
    args = parser.parse_args()
    n = max(10, min(args.requests, 5000))

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = server_config(create_app(), log_level="warning")  # what descentlab serve runs
    config.host, config.port = "127.0.0.1", port
    server = uvicorn.Server(config)
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
        print("descentlab playground API latency, loopback (127.0.0.1), uvicorn in-process")
        print(f"typical run request: rosenbrock, GD + Momentum + Adam, 1 start, 300 steps, with "
              f"state; answer {size / 1024:.0f} KiB of JSON")
        b, q = percentiles(base), percentiles(seq)
        show("lab.run + metrics alone (baseline)", b)
        show("POST /api/run, one client", q)
        show("POST /api/run, 8 clients in parallel", percentiles(par))
        show("POST /api/grid 160x160, one client", percentiles(grid))
        print(f"  web layer cost at p50: {q['p50'] - b['p50']:.2f} ms "
              f"({q['p50'] / b['p50']:.1f}x the bare library call)", flush=True)
        cheap_under_load(f"http://127.0.0.1:{port}", max(1, args.heavy), max(10, args.cheap))
    finally:
        server.should_exit = True
        thread.join(timeout=10)


if __name__ == "__main__":
    main()
