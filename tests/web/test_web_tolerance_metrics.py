"""The run API sends both tolerance steps, and its OpenAPI schema documents both.

``first_within_tol`` (the first step within the tolerance) and ``steps_to_tol`` (the step from
which the run stays within it) are checked against a hand computation on the answer's own losses,
for a momentum run on the bowl that dips into the tolerance, bounces out, and settles later.
"""

from __future__ import annotations

import numpy as np

from descentlab import surfaces
from descentlab.lab._metrics import METRICS
from descentlab.web import _models as m

BODY = {"surface": {"name": "bowl"},
        "optimizers": [{"name": "momentum", "hyperparameters": {"lr": 0.05, "gamma": 0.95}},
                       {"name": "gd", "hyperparameters": {"lr": 0.05}}],
        "starts": [[1.0, -0.5]], "steps": 150, "tolerance": 1e-3}


def by_hand(losses: np.ndarray, f_star: float, tol: float):
    """(first step with gap <= tol, first step from which every later gap <= tol), -1: never."""
    first, settled = [], []
    for run in losses.T:
        ok = [g <= tol for g in run - f_star]
        first.append(ok.index(True) if True in ok else -1)
        settled.append(next((t for t in range(len(ok)) if all(ok[t:])), -1))
    return first, settled


def test_run_answer_has_both_tolerance_steps_as_computed_by_hand(client):
    answer = client.post("/api/run", json=BODY).json()
    # the answer matches its documented model, metric for metric (no missing, no extra key)
    m.RunAnswer.model_validate(answer)
    assert set(answer["metrics"]) == set(m.RunMetrics.model_fields) == set(METRICS)
    s = surfaces.get("bowl")
    f_star = float(s(np.array(s.minima[0], dtype=float)))
    first, settled = by_hand(np.array(answer["losses"], dtype=float), f_star, BODY["tolerance"])
    assert answer["metrics"]["first_within_tol"] == first
    assert answer["metrics"]["steps_to_tol"] == settled
    # the momentum run touches the tolerance and leaves it again: the two numbers differ
    assert 0 <= first[0] < settled[0]


def test_openapi_schema_documents_both_tolerance_steps(client):
    comps = client.get("/openapi.json").json()["components"]["schemas"]
    metrics = comps["RunAnswer"]["properties"]["metrics"]
    assert "first_within_tol" in metrics.get("description", "")
    assert "steps_to_tol" in metrics.get("description", "")
    props = comps["RunMetrics"]["properties"]
    assert "first step" in props["first_within_tol"]["description"]
    assert "stays within" in props["steps_to_tol"]["description"]
    assert set(props) == set(METRICS)
    assert "first_within_tol" in comps["RunRequest"]["properties"]["tolerance"]["description"]
