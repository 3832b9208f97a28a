"""The real server (uvicorn on 127.0.0.1) keeps answering a bounded burst of parallel requests."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np

RUN = {"surface": {"name": "rosenbrock"}, "starts": [[-1.2, 1.0]], "steps": 300,
       "optimizers": [{"name": "gd", "hyperparameters": {"lr": 0.001}},
                      {"name": "momentum", "hyperparameters": {"lr": 0.001}},
                      {"name": "adam", "hyperparameters": {"lr": 0.05}}]}
DATA = {"surface": {"name": "linear_fit", "data": {"loss": "mae", "outliers": 5}},
        "starts": [[0.0, 3.0]], "steps": 200, "batch_size": 8, "seed": 1,
        "optimizers": [{"name": "sgd", "hyperparameters": {"lr": 0.05}}]}


def test_burst_of_parallel_requests_all_succeed(live_server):
    """40 requests, 8 at a time, each with a timeout: all answer 200 with the same numbers."""
    jobs = []
    for i in range(40):
        kind = i % 5
        if kind in (0, 1):
            jobs.append(("POST", "/api/run", RUN))
        elif kind == 2:
            jobs.append(("POST", "/api/run", DATA))
        elif kind == 3:
            jobs.append(("POST", "/api/grid", {"surface": {"name": "himmelblau"},
                                               "resolution": 120}))
        else:
            jobs.append(("GET", "/api/optimizers", None))

    with httpx.Client(base_url=live_server.url, timeout=30.0) as http:
        def send(job):
            method, path, body = job
            r = http.request(method, path, json=body)
            return path, body, r.status_code, r.json()

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(send, jobs))
        reference = {
            "run": http.post("/api/run", json=RUN).json(),
            "data": http.post("/api/run", json=DATA).json(),
        }
    assert [a[2] for a in answers] == [200] * 40
    for path, body, _, answer in answers:
        if path == "/api/run":
            ref = reference["run" if body is RUN else "data"]
            np.testing.assert_array_equal(np.array(answer["trajectories"], dtype=float),
                                          np.array(ref["trajectories"], dtype=float))


def test_refused_and_oversized_requests_under_load_stay_4xx(live_server):
    bad = [{"surface": {"expression": "__import__('os')"}, "starts": [[0, 0]],
            "optimizers": [{"name": "gd"}]},
           {"surface": {"name": "bowl"}, "starts": [[0, 0]] * 16, "steps": 5000,
            "optimizers": [{"name": "gd"}] * 4}]
    with httpx.Client(base_url=live_server.url, timeout=30.0) as http:
        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(lambda b: http.post("/api/run", json=b).status_code, bad * 8))
    assert codes == [422] * 16
