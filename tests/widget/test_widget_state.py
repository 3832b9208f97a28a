"""descentlab.widget.Playground's kernel side: settings in, validated runs out, both ways.

The runs the widget publishes are compared with ``descentlab.lab.run`` called directly with the
same settings; refusals with the messages of the playground's web API for the same request.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

pytest.importorskip("anywidget")
pytest.importorskip("pydantic")

from descentlab import lab, surfaces  # noqa: E402
from descentlab.widget import (
    Playground,  # noqa: E402
    _bundle,  # noqa: E402
)
from descentlab.widget._playground import normalize_optimizers  # noqa: E402


def direct(surface, specs, start, steps):
    return lab.run(surface, specs, np.array([start], dtype=float), steps=steps, record_state=True)


def test_constructor_takes_cli_specs_and_runs_what_lab_run_runs():
    w = Playground(surface="rosenbrock", optimizers=["adam", "momentum:lr=0.001"])
    assert [o["name"] for o in w.optimizers] == ["Adam", "Momentum"]
    assert w.optimizers[1]["hyperparameters"] == {"lr": 0.001, "gamma": 0.9}  # defaults filled in
    assert w.start == tuple(surfaces.get("rosenbrock").start)
    ref = direct("rosenbrock", [("Adam", {}), ("Momentum", {"lr": 0.001})], w.start, 300)
    np.testing.assert_array_equal(w.runs.trajectories, ref.trajectories)
    # what the front end draws is the same numbers, as JSON
    np.testing.assert_allclose(np.array(w._result["trajectories"], dtype=float),
                               ref.trajectories)
    assert w._grid["bounds"] == [[-2.0, 2.0], [-1.0, 3.0]]
    assert w.error == ""
    json.dumps(w._result), json.dumps(w._grid), json.dumps(w._catalog)  # all JSON-ready


def test_a_bar_list_in_a_spec_gives_one_optimizer_per_value():
    opts = normalize_optimizers(["adam:lr=0.01|0.1", ("nag", {"gamma": 0.5})])
    assert [(o["name"], o["hyperparameters"].get("lr"), o["hyperparameters"].get("gamma"))
            for o in opts] == [("Adam", 0.01, None), ("Adam", 0.1, None), ("NAG", 0.01, 0.5)]


def test_setting_start_optimizers_steps_from_python_recomputes():
    w = Playground(surface="ravine", optimizers=["gd:lr=0.05"], steps=50)
    before = w._computed
    w.start = (3.0, -1.0)
    assert w._computed == before + 1
    assert w._result["trajectories"][0][0] == [3.0, -1.0]
    w.optimizers = ["momentum:lr=0.02,gamma=0.9"]
    w.steps = 80
    ref = direct("ravine", [("Momentum", {"lr": 0.02, "gamma": 0.9})], (3.0, -1.0), 80)
    np.testing.assert_array_equal(w.runs.trajectories, ref.trajectories)
    assert w._result["runs"][0]["optimizer"] == "Momentum"


def test_setting_the_surface_moves_the_start_and_redraws_the_grid():
    w = Playground(surface="rosenbrock", optimizers=["adam:lr=0.05"], steps=20)
    w.surface = "himmelblau"
    s = surfaces.get("himmelblau")
    assert w.start == tuple(s.start)
    assert w._grid["bounds"] == [list(b) for b in s.bounds]
    w.surface = "x**2 + 10*y**2"  # a formula, parsed by the lab's safe parser
    assert w.error == "" and w._result["surface"]["formula"]
    assert w.runs.surface.formula == w._result["surface"]["formula"]


@pytest.fixture(scope="module")
def client():
    import warnings

    from descentlab.web import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's deprecation note about httpx
        from fastapi.testclient import TestClient
    with TestClient(create_app()) as c:
        yield c


def test_refused_settings_show_the_web_apis_message_and_keep_the_picture(client):
    w = Playground(surface="rosenbrock", optimizers=["adam:lr=0.05"], steps=100)
    shown = w._result
    runs = w.runs
    w.optimizers = ["adam:lr=-1"]
    api = client.post("/api/run", json={"surface": {"name": "rosenbrock"},
                                        "optimizers": [{"name": "adam",
                                                        "hyperparameters": {"lr": -1}}],
                                        "starts": [[-1.2, 1.0]], "steps": 100})
    assert api.status_code == 422
    assert w.error == api.json()["detail"]
    assert w._result is shown and w.runs is runs  # the last good picture stays
    w.optimizers = ["adam:lr=0.05"]
    assert w.error == ""


def test_cost_bounds_are_the_web_apis():
    w = Playground(surface="bowl", optimizers=["gd"], steps=10)
    w.optimizers = ["gd:lr=0.01|0.02|0.03|0.04|0.05|0.06|0.07|0.08|0.09"]
    w.steps = 5000  # 9 runs x 5000 steps = 45,000 run-steps > 40,000
    assert "45,000 run-steps" in w.error and "40,000" in w.error
    w.steps = 6000
    assert "steps" in w.error and "5000" in w.error


def test_bad_input_from_python_raises_with_the_culprit():
    with pytest.raises(ValueError, match="unknown optimizer 'adamw'"):
        Playground(optimizers=["adamw"])
    with pytest.raises(ValueError, match="Momentum has no hyperparameter 'beta'"):
        Playground(optimizers=[("momentum", {"beta": 1})])
    with pytest.raises(ValueError, match="lr"):
        Playground(optimizers=["adam:lr=-1"])
    w = Playground(surface="bowl", optimizers=["gd"], steps=10)
    w.surface = "import os"  # refused by the safe parser: shown, nothing run
    assert w.error and "import" in w.error


def test_the_inspectors_cloud_request_is_answered_by_the_kernel():
    w = Playground(surface="lecture_lr", optimizers=["sgd:lr=0.01"], steps=10, batch_size=4)
    sent = []
    w.send = sent.append
    body = {"surface": {"name": "lecture_lr"}, "point": [0.5, 0.5], "batch_size": 4, "count": 8,
            "seed": 0}
    w._on_message(w, {"type": "api", "id": 7, "path": "/api/cloud", "body": body}, [])
    assert sent[0]["id"] == 7 and len(sent[0]["answer"]["grads"]) == 8
    s = surfaces.get("lecture_lr")
    np.testing.assert_allclose(sent[0]["answer"]["full"], s.grad(np.array([0.5, 0.5])))
    too_many = {**body, "count": 10**6}
    w._on_message(w, {"type": "api", "id": 8, "path": "/api/cloud", "body": too_many}, [])
    assert "count" in sent[1]["error"] and "answer" not in sent[1]


# ---------------------------------------------------------------------- the front end's bundle
def test_bundle_inlines_the_pages_modules_not_a_copy():
    js = _bundle.esm()
    for name in _bundle.SHARED_MODULES:
        page = (_bundle.WEB_JS / name).read_text()
        body = [line.removeprefix("export ") for line in page.splitlines()
                if not line.startswith("import ")]
        assert "\n".join(body) in js, name  # the page's whole module, verbatim but for `export`
    assert "\nimport " not in js and "export default { render };" in js


def test_bundle_refuses_what_it_cannot_inline():
    with pytest.raises(RuntimeError, match="b.js imports getJSON from ./api.js"):
        _bundle.inline({"b.js": 'import { getJSON } from "./api.js";\n'})
    with pytest.raises(RuntimeError, match="b.js declares 'f', which a.js declares too"):
        _bundle.inline({"a.js": "function f() {}\n", "b.js": "const f = 1;\n"})
    with pytest.raises(RuntimeError, match="c.js has an import"):
        _bundle.inline({"c.js": 'import * as x from "./a.js";\n'})


@pytest.mark.skipif(shutil.which("node") is None, reason="node is absent")
def test_bundle_is_valid_javascript(tmp_path):
    path = tmp_path / "widget.mjs"
    path.write_text(_bundle.esm())
    out = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
