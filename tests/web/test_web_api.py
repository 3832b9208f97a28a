"""The playground's JSON API, through an HTTP client: catalog, grid, runs, formulas, limits, errors.

References are independent of the web layer: ``descentlab.lab.run`` and the surfaces called
directly, a hand-computed gradient-descent path, ``Runs.to_csv``, ``minibatch_grads``.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from descentlab import lab, optim, surfaces
from descentlab.web._models import LIMITS

STATIC = Path(__file__).resolve().parents[2] / "src" / "descentlab" / "web" / "static"


def arr(x):
    """JSON numbers as a float array; null (a non-finite number) becomes NaN."""
    return np.array(x, dtype=np.float64)


def lab_run_for(body: dict):
    """What the API must compute for ``body``, called on the library directly."""
    spec = body["surface"]
    if "expression" in spec:
        s = surfaces.from_expression(spec["expression"])
    else:
        s = surfaces.get(spec["name"], **spec.get("data", {}))
    specs = [(o["name"], o.get("hyperparameters", {})) for o in body["optimizers"]]
    return lab.run(s, specs, np.array(body["starts"], dtype=float), steps=body.get("steps", 200),
                   seed=body.get("seed", 0), batch_size=body.get("batch_size"),
                   record_state=True)


def assert_same_as_lab(answer: dict, runs) -> None:
    np.testing.assert_array_equal(arr(answer["trajectories"]), runs.trajectories)
    np.testing.assert_array_equal(arr(answer["losses"]), runs.losses)
    assert answer["diverged_at"] == runs.diverged_at.tolist()
    expected = runs.metrics(answer["metric_settings"]["tolerance"], columns=True)
    assert set(answer["metrics"]) == set(expected)
    for key, values in expected.items():
        np.testing.assert_array_equal(arr(answer["metrics"][key]), values.astype(float), key)
    assert set(answer["states"]) == set(runs.states)
    for key, values in runs.states.items():
        np.testing.assert_array_equal(arr(answer["states"][key]), values, key)
    for i, run in enumerate(answer["runs"]):
        assert run["optimizer"] == runs.meta[i]["optimizer"]
        assert run["hyperparameters"] == runs.meta[i]["hyperparameters"]
        assert run["label"] == runs.label(i)


# --------------------------------------------------------------------------- catalog
def test_optimizers_list_schemas_from_the_library(client):
    answer = client.get("/api/optimizers").json()
    assert [o["name"] for o in answer] == optim.names()
    for o in answer:
        specs = {h.name: h for h in optim.lookup(o["name"]).hyperparameter_specs()}
        assert [h["name"] for h in o["hyperparameters"]] == list(specs)
        for h in o["hyperparameters"]:
            spec = specs[h["name"]]
            assert h["default"] == spec.default
            if spec.interval is None:
                assert h["kind"] == "choice" and h["choices"] == list(spec.choices)
                continue
            iv = h["interval"]
            assert (iv["low"], iv["high"], iv["low_closed"], iv["high_closed"]) == (
                spec.interval.low, spec.interval.high, spec.interval.low_closed,
                spec.interval.high_closed)
            # the slider's ends are values the library accepts
            ends = np.array([h["slider"]["min"], h["slider"]["max"]])
            assert spec.interval.contains(ends).all(), (o["name"], h)
            assert h["slider"]["min"] < h["slider"]["max"]
    adam = next(o for o in answer if o["name"] == "Adam")
    assert adam["state"] == ["m", "v"]
    beta1 = next(h for h in adam["hyperparameters"] if h["name"] == "beta1")
    assert beta1["interval"]["text"] == "[0.0, 1.0)"


def test_surfaces_list_the_catalog(client):
    answer = client.get("/api/surfaces").json()
    names = [s["name"] for s in answer["surfaces"]]
    assert names == surfaces.names()
    for info in answer["surfaces"]:
        s = surfaces.get(info["name"])
        np.testing.assert_array_equal(arr(info["minima"]).reshape(-1, 2), s.minima)
        assert info["bounds"] == [list(b) for b in s.bounds]
        assert info["start"] == s.start.tolist()
    kinds = {s["name"]: s for s in answer["surfaces"]}
    assert kinds["linear_fit"]["kind"] == "data" and kinds["linear_fit"]["data"]["options"]
    assert kinds["lecture_lr"]["kind"] == "data" and not kinds["lecture_lr"]["data"]["options"]
    assert kinds["rosenbrock"]["kind"] == "analytic"
    assert [x["name"] for x in answer["losses"]] == list(surfaces.REGRESSION_LOSSES)


def test_limits_are_published(client):
    assert client.get("/api/limits").json() == LIMITS.model_dump()


# --------------------------------------------------------------------------- grid
def test_grid_values_are_the_surface_values(client):
    answer = client.post("/api/grid", json={"surface": {"name": "himmelblau"},
                                            "resolution": 33}).json()
    s = surfaces.get("himmelblau")
    x, y, z = arr(answer["x"]), arr(answer["y"]), arr(answer["z"])
    assert z.shape == (33, 33)
    np.testing.assert_array_equal(x, np.linspace(-5, 5, 33))
    X, Y = np.meshgrid(x, y)
    np.testing.assert_allclose(z, s.value(np.stack((X, Y), -1)), rtol=0, atol=0)
    # a few points by hand: J(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2
    for j, i in ((0, 0), (16, 16), (5, 30)):
        xx, yy = x[i], y[j]
        assert z[j, i] == pytest.approx((xx**2 + yy - 11) ** 2 + (xx + yy**2 - 7) ** 2)
    np.testing.assert_array_equal(arr(answer["minima"]), s.minima)
    assert answer["zmin"] == pytest.approx(z.min())


def test_grid_custom_bounds_and_data_surface(client):
    body = {"surface": {"name": "linear_fit", "data": {"loss": "mae", "outliers": 5}},
            "resolution": 12, "bounds": [[0, 4], [-1, 3]]}
    answer = client.post("/api/grid", json=body).json()
    s = surfaces.linear_fit("mae", outliers=5)
    assert answer["bounds"] == [[0, 4], [-1, 3]] and answer["axes"] == ["w", "b"]
    X, Y = np.meshgrid(np.linspace(0, 4, 12), np.linspace(-1, 3, 12))
    np.testing.assert_allclose(arr(answer["z"]), s.value(np.stack((X, Y), -1)), rtol=1e-15)
    np.testing.assert_allclose(arr(answer["minima"]), s.minima)
    # the loss switch changes the surface: MSE and MAE differ at the same points
    mse = client.post("/api/grid", json={**body, "surface": {"name": "linear_fit",
                                         "data": {"loss": "mse", "outliers": 5}}}).json()
    assert not np.allclose(arr(mse["z"]), arr(answer["z"]))


def test_grid_of_a_formula_with_poles_sends_null(client):
    answer = client.post("/api/grid", json={"surface": {"expression": "log(x)"},
                                            "resolution": 9}).json()
    z = arr(answer["z"])
    assert np.isnan(z[:, :4]).all() and np.isfinite(z[:, 5:]).all()  # x <= 0: log undefined


# --------------------------------------------------------------------------- runs
def test_run_equals_lab_run(client):
    body = {"surface": {"name": "rosenbrock"}, "starts": [[-1.2, 1.0], [0.5, 2.5]], "steps": 150,
            "optimizers": [{"name": "GD", "hyperparameters": {"lr": 0.001}},
                           {"name": "nag", "hyperparameters": {"lr": 0.001, "gamma": 0.9}},
                           {"name": "Adam", "hyperparameters": {"lr": 0.05}},
                           {"name": "Nadam", "hyperparameters": {"variant": "torch"}}]}
    answer = client.post("/api/run", json=body).json()
    runs = lab_run_for(body)
    assert_same_as_lab(answer, runs)
    assert [(r["optimizer_index"], r["start_index"]) for r in answer["runs"]] == [
        (i, k) for i in range(4) for k in range(2)]
    assert answer["runs"][2]["optimizer"] == "NAG"
    assert answer["runs"][7]["hyperparameters"]["variant"] == "torch"


def test_run_equals_lab_run_on_a_minibatch_data_surface(client):
    body = {"surface": {"name": "linear_fit", "data": {"loss": "huber", "outliers": 4}},
            "starts": [[0.0, 3.0]], "steps": 80, "seed": 7, "batch_size": 8,
            "optimizers": [{"name": "SGD", "hyperparameters": {"lr": 0.1}},
                           {"name": "Momentum", "hyperparameters": {"lr": 0.05}}]}
    answer = client.post("/api/run", json=body).json()
    assert_same_as_lab(answer, lab_run_for(body))
    # a different seed draws other minibatches: another path
    other = client.post("/api/run", json={**body, "seed": 8}).json()
    assert not np.array_equal(arr(other["trajectories"]), arr(answer["trajectories"]))


def test_run_gd_on_the_bowl_by_hand(client):
    # J = x^2 + y^2, g = 2 theta: theta_t = (1 - 2 lr)^t theta_0
    body = {"surface": {"name": "bowl"}, "starts": [[1.0, -2.0]], "steps": 10,
            "optimizers": [{"name": "gd", "hyperparameters": {"lr": 0.1}}]}
    answer = client.post("/api/run", json=body).json()
    t = np.arange(11)[:, None]
    expected = 0.8**t * np.array([1.0, -2.0])
    np.testing.assert_allclose(arr(answer["trajectories"])[:, 0], expected, rtol=1e-14)
    np.testing.assert_allclose(arr(answer["losses"])[:, 0], (expected**2).sum(1), rtol=1e-13)
    np.testing.assert_allclose(arr(answer["states"]["grad"])[:10, 0], 2 * expected[:10])
    np.testing.assert_allclose(arr(answer["states"]["step_size"])[:10, 0], 0.1, rtol=1e-12)


def test_a_diverging_run_is_an_answer_not_an_error(client):
    body = {"surface": {"name": "bowl"}, "starts": [[1.0, 1.0]], "steps": 50,
            "optimizers": [{"name": "gd", "hyperparameters": {"lr": 2.0}},
                           {"name": "gd", "hyperparameters": {"lr": 0.1}}]}
    r = client.post("/api/run", json=body)
    assert r.status_code == 200
    answer = r.json()
    # |1 - 2 lr| = 3: the run leaves the bounds (10 x their half-width 3 = 30) at step 4 (3^4 = 81)
    assert answer["runs"][0]["diverged_at"] == 4 and answer["runs"][1]["diverged_at"] is None
    assert answer["trajectories"][-1][0] == [None, None]
    assert answer["metrics"]["diverged_at"] == [4, -1]


# --------------------------------------------------------------------------- formulas
def test_expression_check_accepts_a_formula(client):
    answer = client.post("/api/expression", json={"text": "x**2 + 10*y**2"}).json()
    assert answer["valid"] and answer["gradient"] == ["2*x", "20*y"]
    body = {"surface": {"expression": "x**2 + 10*y**2"}, "starts": [[1.0, 1.0]], "steps": 20,
            "optimizers": [{"name": "momentum", "hyperparameters": {"lr": 0.02}}]}
    assert_same_as_lab(client.post("/api/run", json=body).json(), lab_run_for(body))


MALICIOUS = [
    "__import__('os').system('touch /tmp/descentlab-pwned')",
    "open('/tmp/descentlab-pwned', 'w')",
    "x.__class__.__mro__",
    "().__class__.__bases__[0].__subclasses__()",
    "eval('x')",
    "exec('import os')",
    "lambda: x",
    "[x for x in (1, 2)]",
    "x if y else 1",
    "x**10**10",
    "z + 1",
    "'a' * 3",
    "sin(x, y=1)",
    "x; import os",
    "x\nimport os",
    "globals()",
    "x[0]",
    "x == y",
    "",
    "sin(" * 35 + "x" + ")" * 35,
    "x/0",  # sympy folds these to zoo / nan: refused with a message, not a 500
    "0*x/0",
]


@pytest.mark.parametrize("text", MALICIOUS)
def test_expression_refuses_everything_but_arithmetic(client, text):
    r = client.post("/api/expression", json={"text": text})
    assert r.status_code == 200
    answer = r.json()
    assert answer["valid"] is False and answer["message"]
    body = {"surface": {"expression": text}, "starts": [[0.0, 0.0]],
            "optimizers": [{"name": "gd"}], "steps": 2}
    r = client.post("/api/run", json=body)
    assert r.status_code == 422 and isinstance(r.json()["detail"], str)
    assert not Path("/tmp/descentlab-pwned").exists()


def test_expression_longer_than_the_cap_is_refused(client):
    r = client.post("/api/expression", json={"text": "x+" * 150 + "y"})
    assert r.status_code == 422 and "200 characters" in r.json()["detail"]


# --------------------------------------------------------------------------- limits and errors
@pytest.mark.parametrize("change, words", [
    ({"steps": LIMITS.max_steps + 1}, "less than or equal to 5000"),
    ({"optimizers": [{"name": "gd"}] * 12, "starts": [[0, 0]] * 6}, "limit is 64 runs"),
    ({"optimizers": [{"name": "gd"}] * 10, "steps": 5000}, "run-steps"),
    ({"starts": [[0, 0]] * (LIMITS.max_starts + 1)}, "at most 16"),
])
def test_oversized_run_requests_get_422_naming_the_cap(client, change, words):
    body = {"surface": {"name": "bowl"}, "starts": [[1, 1]], "optimizers": [{"name": "gd"}],
            **change}
    r = client.post("/api/run", json=body)
    assert r.status_code == 422
    assert words in r.json()["detail"]


@pytest.mark.parametrize("path, body", [
    ("/api/grid", {"surface": {"name": "bowl"}, "resolution": LIMITS.max_grid + 1}),
    ("/api/cloud", {"surface": {"name": "linear_fit"}, "point": [0, 0], "batch_size": 4,
                    "count": LIMITS.max_cloud + 1}),
    ("/api/export/gif", {"run": {"surface": {"name": "bowl"}, "starts": [[1, 1]], "steps": 5000,
                                 "optimizers": [{"name": "gd"}] * 3}}),
    ("/api/export/gif", {"run": {"surface": {"name": "bowl"}, "starts": [[1, 1]],
                                 "optimizers": [{"name": "gd"}]}, "frames": 10_000}),
])
def test_oversized_other_requests_get_422(client, path, body):
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


def test_bad_optimizer_name_lists_the_choices(client):
    body = {"surface": {"name": "bowl"}, "starts": [[1, 1]], "optimizers": [{"name": "adamw"}]}
    r = client.post("/api/run", json=body)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "'adamw'" in detail and all(name in detail for name in optim.names())


BAD = [
    ({"surface": {"name": "nope"}}, "Valid choices: bowl"),
    ({"surface": {"name": "bowl", "expression": "x"}}, "exactly one"),
    ({"surface": {}}, "exactly one"),
    ({"surface": {"name": "linear_fit", "data": {"loss": "cross_entropy"}}}, "must be one of"),
    ({"surface": {"name": "bowl", "data": {"loss": "mae"}}}, "takes no options"),
    ({"optimizers": [{"name": "adam", "hyperparameters": {"lr": -1}}]},
     "The 'lr' parameter of Adam must be a float in the range [0.0, inf). Got -1.0 instead."),
    ({"optimizers": [{"name": "adam", "hyperparameters": {"beta1": 1.0}}]}, "[0.0, 1.0)"),
    ({"optimizers": [{"name": "adam", "hyperparameters": {"momentum": 0.9}}]},
     "Adam has no hyperparameter 'momentum'. Valid names: lr, beta1, beta2, eps."),
    ({"optimizers": [{"name": "nadam", "hyperparameters": {"variant": "keras"}}]},
     "must be one of ['ruder', 'torch', 'optax']"),
    ({"optimizers": [{"name": "adam", "hyperparameters": {"lr": "fast"}}]}, "lr"),
    ({"optimizers": []}, "at least 1"),
    ({"starts": [[1, 2, 3]]}, "starts"),
    ({"starts": []}, "at least 1"),
    ({"steps": "many"}, "steps"),
    ({"steps": 0}, "greater than or equal to 1"),
    ({"seed": -1}, "seed"),
    ({"batch_size": 8}, "data surfaces only"),
    ({"surface": {"name": "linear_fit"}, "batch_size": 1000}, "[1, 100]"),
    ({"unknown_field": 1}, "Extra inputs are not permitted"),
    ({"tolerance": 0}, "greater than 0"),
]


@pytest.mark.parametrize("change, words", BAD)
def test_bad_run_requests_get_a_clear_422(client, change, words):
    body = {"surface": {"name": "bowl"}, "starts": [[1.0, 1.0]], "steps": 5,
            "optimizers": [{"name": "gd"}], **change}
    r = client.post("/api/run", json=body)
    assert r.status_code == 422, r.text
    assert words in r.json()["detail"], r.json()["detail"]


@pytest.mark.parametrize("raw", [
    b"not json", b"[]", b"null", b'{"surface": {"name": "bowl"}}',
    b'{"surface": {"name": "bowl"}, "optimizers": [{"name": "gd"}], "starts": [[NaN, 1]]}',
    b'{"surface": {"name": "bowl"}, "optimizers": [{"name": "gd"}], "starts": [[Infinity, 1]]}',
    b'{"surface": {"name": "bowl"}, "optimizers": [{"name": "gd", "hyperparameters": '
    b'{"lr": NaN}}], "starts": [[0, 1]]}',
    b'{"surface": {"name": "bowl"}, "optimizers": [{"name": "gd"}], "starts": [[1e400, 1]]}',
])
def test_malformed_bodies_get_422_not_500(client, raw):
    r = client.post("/api/run", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert isinstance(r.json()["detail"], str)


def test_huge_bodies_are_refused_before_parsing(client):
    big = b'{"text": "' + b"x" * (LIMITS.max_body_bytes + 10) + b'"}'
    r = client.post("/api/expression", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "bytes" in r.json()["detail"]

    def chunks():  # no Content-Length: counted while receiving
        yield b'{"text": "'
        for _ in range(LIMITS.max_body_bytes // 1024 + 2):
            yield b"x" * 1024
        yield b'"}'

    r = client.post("/api/expression", content=chunks(),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_unknown_paths_and_methods(client):
    assert client.get("/api/nothing").status_code == 404
    assert client.get("/api/run").status_code == 405
    assert client.get("/static/../pyproject.toml").status_code == 404
    assert client.get("/static/%2e%2e/_server.py").status_code == 404


# --------------------------------------------------------------------------- exports and extras
def test_csv_export_is_runs_to_csv(client, tmp_path):
    body = {"surface": {"name": "ravine"}, "starts": [[-8.0, 2.0]], "steps": 30,
            "optimizers": [{"name": "sgd", "hyperparameters": {"lr": 0.19}},
                           {"name": "momentum", "hyperparameters": {"lr": 0.05}}]}
    r = client.post("/api/export/csv", json=body)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lab_run_for(body).to_csv(tmp_path / "runs.csv")
    assert r.text == (tmp_path / "runs.csv").read_text()
    assert len(r.text.strip().splitlines()) == 1 + 2 * 31


def test_gif_export_renders_the_frames(client):
    from PIL import Image

    from descentlab.web._gif import frame_steps

    body = {"run": {"surface": {"name": "ravine"}, "starts": [[-8.0, 2.0]], "steps": 40,
                    "optimizers": [{"name": "gd", "hyperparameters": {"lr": 0.15}}]},
            "frames": 12, "fps": 10}
    r = client.post("/api/export/gif", json=body)
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
    im = Image.open(io.BytesIO(r.content))
    assert im.format == "GIF" and im.n_frames == len(frame_steps(40, 12)) == 12
    assert frame_steps(40, 12)[[0, -1]].tolist() == [0, 40]


def test_cloud_is_the_surface_minibatch_gradients(client):
    body = {"surface": {"name": "linear_fit", "data": {"loss": "mse"}}, "point": [0.5, -1.0],
            "batch_size": 5, "count": 40, "seed": 3}
    answer = client.post("/api/cloud", json=body).json()
    s = surfaces.linear_fit("mse")
    point = np.array([0.5, -1.0])
    expected = s.minibatch_grads(point, 5, 40, np.random.default_rng(3))
    np.testing.assert_array_equal(arr(answer["grads"]), expected)
    np.testing.assert_allclose(arr(answer["full"]), s.grad(point))
    # MSE gradient by hand: mean(2 (w x + b - y) x), mean(2 (w x + b - y))
    r = 0.5 * s.x - 1.0 - s.y
    np.testing.assert_allclose(arr(answer["full"]), [np.mean(2 * r * s.x), np.mean(2 * r)])
    bad = client.post("/api/cloud", json={**body, "surface": {"name": "bowl"}})
    assert bad.status_code == 422 and "data surfaces" in bad.json()["detail"]


def test_openapi_schema_documents_the_api(client):
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "descentlab playground"
    for path in ("/api/surfaces", "/api/optimizers", "/api/grid", "/api/run", "/api/expression",
                 "/api/cloud", "/api/export/csv", "/api/export/gif", "/api/limits"):
        assert path in schema["paths"], path
    comps = schema["components"]["schemas"]
    for name in ("RunRequest", "RunAnswer", "GridRequest", "OptimizerInfo", "SurfaceCatalog"):
        assert name in comps, name
    assert comps["RunRequest"]["properties"]["steps"]["maximum"] == LIMITS.max_steps
    # Swagger UI and ReDoc load assets from a CDN: they are switched off
    assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404


def test_page_and_assets_ship_in_the_package_and_load_nothing_external(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    for asset in ("/static/style.css", "/static/js/app.js", "/static/js/plot.js",
                  "/static/js/chart.js", "/static/js/inspector.js", "/static/js/urlstate.js",
                  "/static/js/api.js", "/static/favicon.svg"):
        assert client.get(asset).status_code == 200, asset
    for f in STATIC.rglob("*"):
        if f.is_file():
            text = f.read_text().replace("http://www.w3.org/2000/svg", "")  # a namespace name
            assert "http://" not in text and "https://" not in text, f
            assert "@import" not in text and "url(" not in text, f


def test_trusted_hosts_refuse_other_host_names():
    from fastapi.testclient import TestClient

    from descentlab.web import create_app

    with TestClient(create_app(trusted_hosts=["127.0.0.1", "localhost"]),
                    base_url="http://127.0.0.1") as c:
        assert c.get("/api/limits").status_code == 200
        assert c.get("/api/limits", headers={"Host": "evil.example"}).status_code == 400


def test_serve_command_defaults_to_loopback_and_imports_lazily():
    from descentlab.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.open) == ("127.0.0.1", 8000, False)
    args = build_parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "9000", "--open"])
    assert (args.host, args.port, args.open) == ("0.0.0.0", 9000, True)
    code = ("import sys, descentlab.cli as c; c.build_parser(); "
            "print(json.dumps([m in sys.modules for m in ('fastapi', 'uvicorn', 'matplotlib')]))")
    out = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True,
                         text=True, check=True).stdout
    assert json.loads(out) == [False, False, False]


def test_json_never_carries_nan():
    from descentlab.web._service import to_json

    assert to_json(np.array([[1.0, math.inf], [-math.inf, math.nan]])) == [[1.0, None],
                                                                           [None, None]]
    assert to_json(np.array([1, 2])) == [1, 2]


@pytest.mark.parametrize(("hyperparameters", "words"), [
    # the library's own words, element by element, for values of the right kind
    ({"lr": math.nan}, "The 'lr' parameter of GD must be a float in the range [0.0, inf). "
                       "Got nan instead."),
    ({"lr": -1}, "The 'lr' parameter of GD must be a float in the range [0.0, inf). Got -1.0"),
    ({"lr": "0.1"}, "The 'lr' parameter of GD must be a float or an array of floats"),
    # one plain sentence, not pydantic's union listing, for values of the wrong kind
    ({"lr": [0.1]}, "a hyperparameter value is a number, or a keyword of at most 32 characters"),
    ({"lr": True}, "got bool"),
])
def test_hyperparameter_errors_read_like_the_library(client, hyperparameters, words):
    body = {"surface": {"name": "bowl"}, "starts": [[0.0, 1.0]], "steps": 2,
            "optimizers": [{"name": "gd", "hyperparameters": hyperparameters}]}
    r = client.post("/api/run", content=json.dumps(body),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert words in r.json()["detail"]
    assert "constrained-str" not in r.json()["detail"]


@pytest.mark.parametrize("path", ["/api/grid", "/api/export/gif"])
@pytest.mark.parametrize("bounds, words", [
    ([[1, 0], [0, 1]], "bounds on x must satisfy min < max; got (1.0, 0.0)"),
    ([[0, 1], [2, 2]], "bounds on y must satisfy min < max; got (2.0, 2.0)"),
    # each bound is finite and min < max holds, but the view cannot be drawn
    ([[-1e308, 1e308], [0, 1]], "bounds on x must lie in [-1e+100, 1e+100] (figures need room "
                                "to compute ticks); got (-1e+308, 1e+308)"),
    ([[0, 1], [-1.7e308, 1.7e308]], "bounds on y must lie in [-1e+100, 1e+100]"),
    ([[0, 1.7e308], [0, 1]], "bounds on x must lie in"),  # matplotlib's ticks overflowed here
    ([[0, 1], [-2e100, 0]], "bounds on y must lie in"),
])
def test_bounds_must_be_ordered_and_drawable(client, path, bounds, words):
    run = {"surface": {"expression": "x**2"}, "starts": [[0.5, 0.5]], "steps": 3,
           "optimizers": [{"name": "gd"}]}
    body = ({"surface": run["surface"], "resolution": 8} if path == "/api/grid"
            else {"run": run, "frames": 2})
    r = client.post(path, json={**body, "bounds": bounds})
    assert r.status_code == 422, r.text
    assert words in r.json()["detail"], r.json()["detail"]
    # the widest view allowed is drawn, without a warning (the suite turns warnings into errors)
    r = client.post(path, json={**body, "bounds": [[-1e100, 1e100], [0, 1]]})
    assert r.status_code == 200, r.text
