"""No input gives a 5xx (issue 12, item 3): a hypothesis property over the playground's API.

Bodies are drawn near the valid ones (catalog and formula surfaces, optimizers with hyperparameter
values of every JSON kind, huge integers, NaN, infinities, odd strings, tricky formulas) and far
from them (any JSON value); every answer must be 2xx or 4xx. 503 ("busy") would be a 5xx too:
the requests here come one at a time, so the heavy pool is never full.
"""

from __future__ import annotations

import json
import warnings

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sympy")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FORMULAS = ["x**2 + y**2", "log(x)+y**2", "acos(2+0*x)", "atanh(2+0*x)", "(x-x-8)**(1/3)",
            "sqrt(x**2+y**2)", "1/x", "x/0", "tan(pi/2)+x", "exp(exp(exp(x)))", "x**100*y",
            "abs(x)**0.5 + y", "atan2(y, x)", "0*x", "(-1)**x", "x**-1.5", "acosh(x)+y",
            "__import__('os')", "x^2", "", "e**x*pi", "sin(" * 20 + "x" + ")" * 20]

big_int = st.integers(min_value=-10**400, max_value=10**400)
leaf = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), big_int,
                 st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
any_json = st.recursive(leaf, lambda c: st.lists(c, max_size=3)
                        | st.dictionaries(st.text(max_size=8), c, max_size=3), max_leaves=8)
number = st.one_of(st.floats(-4, 4), st.integers(-3, 3), st.floats(allow_nan=True,
                                                                   allow_infinity=True), big_int)
formula = st.one_of(st.sampled_from(FORMULAS),
                    st.text(alphabet="xy0123456789+-*/(). ,epiaslogcntqrbh", max_size=40))
data = st.fixed_dictionaries({}, optional={
    "loss": st.sampled_from(["mse", "mae", "huber", "log_cosh", "quantile", "nope"]),
    "n": st.one_of(st.integers(-2, 300), big_int), "outliers": st.integers(-1, 50),
    "seed": st.one_of(st.integers(-1, 5), big_int), "delta": number, "q": number})
surface = st.one_of(
    st.fixed_dictionaries({"name": st.sampled_from(
        ["bowl", "ravine", "rosenbrock", "beale", "himmelblau", "saddle", "rastrigin",
         "lecture_lr", "linear_fit", "LINEAR_FIT", "nope", ""])}, optional={"data": data}),
    st.fixed_dictionaries({"expression": formula}),
    any_json)
hyper = st.dictionaries(st.sampled_from(["lr", "gamma", "beta1", "beta2", "eps", "rho",
                                         "variant", "nesterov", "bogus"]),
                        st.one_of(number, st.text(max_size=40), any_json), max_size=4)
optimizer = st.one_of(
    st.fixed_dictionaries({"name": st.sampled_from(
        ["GD", "SGD", "Momentum", "NAG", "Adagrad", "RMSProp", "AdaDelta", "Adam", "Nadam",
         "adam", "nope"])}, optional={"hyperparameters": hyper}),
    any_json)
point = st.one_of(st.tuples(number, number), any_json)
run_body = st.fixed_dictionaries(
    {"surface": surface, "optimizers": st.lists(optimizer, max_size=4),
     "starts": st.lists(point, max_size=3)},
    optional={"steps": st.one_of(st.integers(-2, 60), big_int),
              "seed": st.one_of(st.integers(-1, 3), big_int),
              "batch_size": st.one_of(st.none(), st.integers(-1, 40), big_int),
              "tolerance": number, "record_state": st.one_of(st.booleans(), any_json)})
bounds = st.one_of(st.none(), st.tuples(st.tuples(number, number), st.tuples(number, number)),
                   any_json)
grid_body = st.fixed_dictionaries({"surface": surface}, optional={
    "resolution": st.one_of(st.integers(-1, 64), big_int), "bounds": bounds})
cloud_body = st.fixed_dictionaries({"surface": surface, "point": point}, optional={
    "batch_size": st.one_of(st.integers(-1, 64), big_int),
    "count": st.one_of(st.integers(-1, 64), big_int), "seed": st.integers(-1, 3)})
expression_body = st.one_of(st.fixed_dictionaries({"text": formula}), any_json)
gif_body = st.fixed_dictionaries({"run": run_body}, optional={
    "frames": st.integers(0, 6), "fps": st.one_of(st.integers(0, 60), big_int),
    "bounds": bounds})

BODIES = {"/api/run": run_body, "/api/grid": grid_body, "/api/cloud": cloud_body,
          "/api/expression": expression_body, "/api/export/csv": run_body}


@pytest.fixture(scope="module")
def fuzz_client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from descentlab.web import create_app

    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


def _post(client, path, body):
    text = json.dumps(body, allow_nan=True)  # NaN / Infinity as Python's parser reads them
    return client.post(path, content=text, headers={"content-type": "application/json"})


FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("path", list(BODIES))
@FUZZ
@given(data=st.data())
def test_no_request_body_gives_a_5xx(fuzz_client, path, data):
    body = data.draw(st.one_of(BODIES[path], any_json), label="body")
    r = _post(fuzz_client, path, body)
    assert r.status_code < 500, (path, body, r.status_code, r.text[:500])


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=gif_body)
def test_no_gif_request_gives_a_5xx(fuzz_client, body):
    r = _post(fuzz_client, "/api/export/gif", body)
    assert r.status_code < 500, (body, r.status_code, r.text[:500])
