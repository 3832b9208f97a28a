"""Every request is bounded and answered 4xx when refused, never 5xx (issue 12, items 3 and 4;
issue 14, item 2): numbers past the float range, complex formulas, undefined starts, the real cost
of a request, slow and vanished clients, and heavy requests that must not hold up cheap ones."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sympy")

from tests.web.conftest import LiveServer  # noqa: E402

BIG = "1" + "0" * 400  # a JSON integer with 401 digits


def _post_raw(client, path, text):
    return client.post(path, content=text, headers={"content-type": "application/json"})


@pytest.mark.parametrize("body, field", [
    ('{"surface":{"name":"bowl"},"optimizers":[{"name":"Adam","hyperparameters":{"lr":BIG}}],'
     '"starts":[[1,1]]}'.replace("BIG", BIG), "optimizers.0.hyperparameters.lr"),
    ('{"surface":{"name":"bowl"},"optimizers":[{"name":"Adam"}],'
     '"starts":[[BIG,1]]}'.replace("BIG", BIG), "starts.0.0"),
    ('{"surface":{"name":"bowl"},"optimizers":[{"name":"Adam"}],"starts":[[1,1]],'
     '"tolerance":-BIG}'.replace("BIG", BIG), "tolerance"),
])
def test_a_number_past_the_float_range_is_422_naming_the_field(client, body, field):
    r = _post_raw(client, "/api/run", body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail.startswith(field + ":") and "past the float range" in detail
    assert "401 digits" in detail


@pytest.mark.parametrize("text", ["acos(2+0*x)", "atanh(2+0*x)", "(x-x-8)**(1/3)"])
@pytest.mark.parametrize("path", ["/api/run", "/api/grid", "/api/export/csv"])
def test_a_complex_formula_is_422_on_every_endpoint(client, text, path):
    body = {"surface": {"expression": text}}
    if path != "/api/grid":
        body |= {"optimizers": [{"name": "Adam"}], "starts": [[1, 1]], "steps": 5}
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    assert "complex" in r.json()["detail"]
    answer = client.post("/api/expression", json={"text": text}).json()
    assert answer["valid"] is False and "complex" in answer["message"]


def test_a_start_where_the_formula_is_undefined_is_422_naming_it(client):
    """Issue 14 item 2: the playground said "ok" and drew an empty chart."""
    r = client.post("/api/run", json={"surface": {"expression": "log(x)+y**2"},
                                      "optimizers": [{"name": "Adam"}],
                                      "starts": [[1, 1], [-2.4, 2.4]], "steps": 5})
    assert r.status_code == 422, r.text
    assert "undefined at the start -2.4,2.4 (start 2 of 2): J = nan" in r.json()["detail"]


def test_a_grid_over_the_cost_cap_is_422_naming_the_levers(client):
    """The issue's repro: 13-20 s and 5.6 GB, and MemoryError 500s when four came at once."""
    r = client.post("/api/grid", json={
        "surface": {"name": "linear_fit", "data": {"loss": "log_cosh", "n": 2000}},
        "resolution": 240})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "2,000 data points with the log_cosh loss x a 240 x 240 grid" in detail
    assert "resolution to at most" in detail and "the data set's n to at most" in detail
    # each suggested lever, applied alone, is accepted
    low_res = int(detail.split("resolution to at most ")[1].split(",")[0])
    r = client.post("/api/grid", json={
        "surface": {"name": "linear_fit", "data": {"loss": "log_cosh", "n": 2000}},
        "resolution": low_res})
    assert r.status_code == 200, r.text


LONG_FORMULA = ("exp(sin(x*y)/(1+x**2))*log(2+cos(x-y)**2)*tanh(x+y*exp(-x**2))"
                "+atan2(sinh(x/3),cosh(y/3))*sqrt(1+x**2*y**2)/(2+sin(exp(x/4)*y))"
                "+cosh(tanh(x)*y)**3")


def test_a_long_formula_with_many_steps_is_422_naming_the_steps(client):
    assert len(LONG_FORMULA) < 200
    names = ["GD", "SGD", "Momentum", "NAG", "Adagrad", "RMSProp", "AdaDelta", "Adam"]
    r = client.post("/api/run", json={"surface": {"expression": LONG_FORMULA},
                                      "optimizers": [{"name": n} for n in names],
                                      "starts": [[0.5, 0.5]], "steps": 5000})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "a formula of" in detail and "8 optimizers x 1 start x 5,000 steps" in detail
    steps = int(detail.split("steps to at most ")[1].split(",")[0].replace(",", ""))
    assert 1 <= steps < 5000
    r = client.post("/api/run", json={"surface": {"expression": LONG_FORMULA},
                                      "optimizers": [{"name": n} for n in names],
                                      "starts": [[0.5, 0.5]], "steps": steps})
    assert r.status_code == 200, r.text[:300]


def test_check_cost_is_the_same_bound_for_other_front_ends():
    from descentlab import surfaces
    from descentlab.web._service import RequestError, check_cost, estimate_cost

    s = surfaces.get("linear_fit", loss="log_cosh", n=2000)
    small = estimate_cost(s, resolution=60)["seconds"]
    # the grid's cost grows with its points and the data's size
    assert estimate_cost(s, resolution=120)["seconds"] == pytest.approx(4 * small)
    s2 = surfaces.get("linear_fit", loss="log_cosh", n=1000)
    assert estimate_cost(s2, resolution=60)["seconds"] == pytest.approx(small / 2)
    with pytest.raises(RequestError, match="the limit is 0.01 s"):
        check_cost(s, resolution=60, limit=0.01)


# --------------------------------------------------------------------------- live server
@pytest.fixture
def no_cost_cap(monkeypatch):
    """Long requests for the tests below (the cap would refuse them)."""
    from descentlab.web import _models, _service

    monkeypatch.setattr(_service, "LIMITS", _models.Limits(max_cost_seconds=1e9))


SLOW_RUN = {"surface": {"expression": LONG_FORMULA}, "starts": [[0.5, 0.5]], "steps": 5000,
            "optimizers": [{"name": n} for n in ("GD", "Momentum", "NAG", "Adagrad", "RMSProp",
                                                  "AdaDelta", "Adam", "Nadam")]}


def _send(port: int, path: str, body: bytes, *, declared: int | None = None) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body) if declared is None else declared}\r\n\r\n")
    s.sendall(head.encode() + body)
    return s


def _json_body(obj) -> bytes:
    import json

    return json.dumps(obj).encode()


def _wait(predicate, seconds=30.0):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_client_that_goes_away_cancels_its_work_with_one_log_line(no_cost_cap, caplog,
                                                                      monkeypatch):
    from descentlab.web import _service, create_app

    outcome = []
    real_run = _service.run

    def run(req, cancel=None):
        try:
            return real_run(req, cancel)
        except BaseException as exc:
            outcome.append(type(exc).__name__)
            raise

    monkeypatch.setattr(_service, "run", run)
    app = create_app(heavy_workers=1, heavy_queue=0)
    heavy = app.state.heavy
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record)

    logger = logging.getLogger("descentlab.web")
    monkeypatch.setattr(logger, "handlers", [Collect()])
    monkeypatch.setattr(logger, "propagate", False)
    monkeypatch.setattr(logger, "level", logging.WARNING)
    caplog.set_level(logging.WARNING)  # anything else logged (a traceback) is seen too
    with LiveServer(app=app) as server:
        sock = _send(server.port, "/api/run", _json_body(SLOW_RUN))
        assert _wait(lambda: heavy._slots._value == 0)  # the run computes
        sock.close()
        # cancelled at its next step: the heavy thread is free again long before the run
        # (8 optimizers x 5 starts x 5000 steps) could have finished
        assert _wait(lambda: heavy._slots._value == 1, 20)
        assert outcome == ["Cancelled"]  # stopped, not finished
        r = __import__("httpx").post(server.url + "/api/run", json=dict(SLOW_RUN, steps=5))
        assert r.status_code == 200
    assert len(records) == 1
    assert "client went away: POST /api/run cancelled" in records[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info]  # no traceback anywhere


def test_cheap_requests_are_answered_while_the_heavy_pool_is_full(no_cost_cap):
    import httpx

    from descentlab.web import create_app

    app = create_app(heavy_workers=1, heavy_queue=1)
    heavy = app.state.heavy
    with LiveServer(app=app) as server:
        socks = [_send(server.port, "/api/run", _json_body(SLOW_RUN)) for _ in range(2)]
        try:
            assert _wait(lambda: heavy._slots._value == 0)  # one computes, one waits
            with httpx.Client(base_url=server.url, timeout=30) as http:
                for path in ("/", "/static/js/app.js", "/api/limits", "/api/surfaces"):
                    assert http.get(path).status_code == 200
                assert http.post("/api/expression", json={"text": "x**2"}).json()["valid"]
                busy = http.post("/api/run", json=dict(SLOW_RUN, steps=5))
                assert busy.status_code == 503 and "busy" in busy.json()["detail"]
            assert heavy._slots._value == 0  # the heavy ones were still running meanwhile
        finally:
            for s in socks:
                s.close()
        assert _wait(lambda: heavy._slots._value == 2, 20)


def _read_until_closed(sock: socket.socket) -> str:
    """The whole answer: every packet until the server closes (the 408 says Connection: close).

    uvicorn writes the status line and headers, then the body, as separate writes (separate TCP
    packets: asyncio sets TCP_NODELAY); one ``recv`` may return the headers alone. That is what
    made this test fail once on a loaded machine when it read a single ``recv(4096)``: the answer
    began "HTTP/1.1 408" without its body. The 408 has one source, ``BodyLimit`` (uvicorn 0.55
    has no request-body timeout of its own and never answers 408).
    """
    sock.settimeout(20)
    chunks = []
    while chunk := sock.recv(4096):
        chunks.append(chunk)
    sock.close()
    return b"".join(chunks).decode()


def _headers_then_body_later(app, pause: float = 0.3):
    """``app``, with a pause between each answer's headers and its body: the two packets of a
    loaded machine, every time."""
    async def wrapped(scope, receive, send):
        async def slow_send(message):
            await send(message)
            if message["type"] == "http.response.start":
                await asyncio.sleep(pause)
        await app(scope, receive, slow_send)
    return wrapped


@pytest.mark.parametrize("split", [False, True], ids=["one-go", "headers-then-body"])
def test_a_stalled_request_body_gets_408(split):
    from descentlab.web import create_app

    app = create_app(body_timeout=0.5)
    with LiveServer(app=_headers_then_body_later(app) if split else app) as server:
        answer = _read_until_closed(_send(server.port, "/api/run", b'{"surface"', declared=500))
    assert answer.startswith("HTTP/1.1 408") and "did not arrive within 0.5 s" in answer


@pytest.mark.parametrize("sent", [b"", b"GET / HTTP/1.1\r\nHost: 127"])
def test_serve_closes_a_connection_whose_request_head_never_completes(sent):
    """1,100 stalled connections never timed out: uvicorn only times out idle connections
    after an answer."""
    from descentlab.web import create_app
    from descentlab.web.cli import server_config

    with LiveServer(config=server_config(create_app(), head_timeout=0.5)) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
        sock.sendall(sent)
        t0 = time.monotonic()
        assert sock.recv(4096) == b""  # closed by the server, not by the 20 s socket timeout
        assert time.monotonic() - t0 < 15
        sock.close()
        # a client that does send its request is served, and its keep-alive connection too
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
        sock.sendall(b"GET /api/limits HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        sock.close()
