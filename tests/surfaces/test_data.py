"""Data surfaces: the loss of a line fit over (w, b), full-batch and minibatch gradients, minima."""

import numpy as np
import pytest

from descentlab import surfaces

LOSSES = [("mse", {}), ("mae", {}), ("huber", {"delta": 1.0}), ("huber", {"delta": 0.3}),
          ("log_cosh", {}), ("quantile", {"q": 0.5}), ("quantile", {"q": 0.8})]


def reference(loss, r, **kw):
    """Element-wise loss of the residual r = y - y_pred and dL/dy_pred, written out by hand."""
    if loss == "mse":
        return r**2, -2 * r
    if loss == "mae":
        return np.abs(r), -np.sign(r)
    if loss == "huber":
        d = kw["delta"]
        small = np.abs(r) <= d
        return (np.where(small, 0.5 * r**2, d * (np.abs(r) - 0.5 * d)),
                np.where(small, -r, -d * np.sign(r)))
    if loss == "log_cosh":
        return np.log(np.cosh(r)), -np.tanh(r)
    q = kw["q"]
    return np.maximum(q * r, (q - 1) * r), np.where(r > 0, -q, 1 - q)


def reference_value_grad(s, loss, kw, wb, idx=None):
    x = s.x if idx is None else s.x[idx]
    y = s.y if idx is None else s.y[idx]
    r = y - (wb[..., 0, None] * x + wb[..., 1, None])
    L, d = reference(loss, r, **kw)
    return L.mean(-1), np.stack([(d * x).mean(-1), d.mean(-1)], axis=-1)


def points(s, k=50, seed=0):
    (x0, x1), (y0, y1) = s.bounds
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(x0, x1, k), rng.uniform(y0, y1, k)], axis=1)


@pytest.mark.parametrize("loss,kw", LOSSES)
def test_value_and_gradient_match_hand_written_formulas(loss, kw):
    s = surfaces.linear_fit(loss, n=60, outliers=4, seed=1, **kw)
    wb = points(s)
    v_ref, g_ref = reference_value_grad(s, loss, kw, wb)
    np.testing.assert_allclose(s.value(wb), v_ref, rtol=1e-12)
    np.testing.assert_allclose(s.grad(wb), g_ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("loss,kw", [lk for lk in LOSSES if lk[0] in ("mse", "huber", "log_cosh")])
def test_smooth_gradients_match_finite_differences(loss, kw):
    s = surfaces.linear_fit(loss, n=40, seed=2, **kw)
    wb = points(s, k=20)
    h = 1e-6
    fd = np.stack([(s.value(wb + e) - s.value(wb - e)) / (2 * h) for e in np.eye(2) * h], -1)
    np.testing.assert_allclose(s.grad(wb), fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("loss,kw", LOSSES)
def test_minimum_is_the_exact_full_batch_minimizer(loss, kw):
    s = surfaces.linear_fit(loss, n=50, outliers=5, seed=3, **kw)
    m = s.minima[0]
    f = s.value(m)
    # no point nearby is lower (convexity: local = global)
    for r in (1e-6, 1e-4, 1e-2):
        ang = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        ring = m + r * np.stack([np.cos(ang), np.sin(ang)], axis=1)
        assert np.all(s.value(ring) >= f - 1e-12)
    if loss == "mse":
        np.testing.assert_allclose(m, np.polyfit(s.x, s.y, 1), rtol=1e-10)
    if loss in ("mae", "quantile"):
        # an independent reference: the linear program of least absolute (quantile) deviations
        scipy_optimize = pytest.importorskip("scipy.optimize")
        over, under = (1.0, 1.0) if loss == "mae" else (kw["q"], 1 - kw["q"])
        n = s.n
        # variables w, b, u+ (n), u- (n): y - (w x + b) = u+ - u-; MAE costs u+ + u-, the
        # quantile loss q u+ + (1 - q) u-
        c = np.concatenate([[0, 0], np.full(n, over), np.full(n, under)]) / n
        A = np.hstack([s.x[:, None], np.ones((n, 1)), np.eye(n), -np.eye(n)])
        res = scipy_optimize.linprog(c, A_eq=A, b_eq=s.y,
                                     bounds=[(None, None)] * 2 + [(0, None)] * (2 * n))
        assert res.status == 0
        assert f == pytest.approx(res.fun, rel=1e-9, abs=1e-12)


def test_mae_resists_outliers_and_mse_does_not():
    clean = surfaces.linear_fit("mse", n=100, seed=0)
    mse = surfaces.linear_fit("mse", n=100, outliers=10, seed=0)
    mae = surfaces.linear_fit("mae", n=100, outliers=10, seed=0)
    assert np.sum(np.abs(mse.y - clean.y) > 5) == 10  # exactly ten outliers, seeded
    assert abs(mae.minima[0, 1] - 1.0) < 0.3  # intercept near the true 1.0
    assert mse.minima[0, 1] - 1.0 > 0.7  # pulled up by 10 outliers x 10 / 100 points


def test_minibatch_gradients():
    s = surfaces.linear_fit("huber", n=30, seed=4, delta=0.5)
    wb = points(s, k=7)
    idx = np.array([3, 17, 4, 29])
    _, g_ref = reference_value_grad(s, "huber", {"delta": 0.5}, wb, idx=idx)
    np.testing.assert_allclose(s.grad(wb, indices=idx), g_ref, rtol=1e-12)
    # one minibatch per point
    per = np.random.default_rng(0).integers(0, 30, size=(7, 5))
    g = s.grad(wb, indices=per)
    for i in range(7):
        np.testing.assert_allclose(g[i], s.grad(wb[i], indices=per[i]), rtol=1e-15)
    # seeded draws, distinct points; the full "minibatch" is the full gradient
    assert np.array_equal(s.grad(wb, batch_size=5, rng=1), s.grad(wb, batch_size=5, rng=1))
    assert not np.array_equal(s.grad(wb, batch_size=5, rng=1), s.grad(wb, batch_size=5, rng=2))
    assert len(set(s.draw(30, 0).tolist())) == 30
    np.testing.assert_allclose(s.grad(wb, batch_size=30, rng=0), s.grad(wb), rtol=1e-12)


def test_minibatch_cloud_is_centred_on_the_full_gradient():
    s = surfaces.linear_fit("mse", n=40, seed=5)
    wb = np.array([[0.0, 0.0], [3.0, -1.0]])
    cloud = s.minibatch_grads(wb, batch_size=8, count=4000, rng=7)
    assert cloud.shape == (4000, 2, 2)
    full = s.grad(wb)
    sd = cloud.std(axis=0)
    assert np.all(np.abs(cloud.mean(axis=0) - full) < 5 * sd / np.sqrt(4000))
    assert np.array_equal(cloud, s.minibatch_grads(wb, batch_size=8, count=4000, rng=7))
    # each cloud member is an ordinary minibatch gradient at both points
    rng = np.random.default_rng(7)
    first = rng.choice(40, size=8, replace=False)
    np.testing.assert_allclose(cloud[0], s.grad(wb, indices=first), rtol=1e-15)


def test_torch_points():
    torch = pytest.importorskip("torch")
    s = surfaces.linear_fit("log_cosh", n=20, seed=6)
    wb = points(s, k=4)
    t = torch.tensor(wb)
    assert isinstance(s.grad(t), torch.Tensor)
    np.testing.assert_allclose(s.grad(t).numpy(), s.grad(wb), rtol=1e-15)
    np.testing.assert_allclose(s.value(t).numpy(), s.value(wb), rtol=1e-15)


def test_lecture_lr_design():
    s = surfaces.get("lecture_lr")
    assert np.isclose(s.x.mean(), 0, atol=1e-12) and np.isclose(np.mean(s.x**2), 8.0)
    mu, L = s.curvatures
    assert mu == pytest.approx(2.0) and L == pytest.approx(16.0)
    assert 0.03 < 1 / L < 2 / L < 0.13  # 0.03 never overshoots, 0.13 exceeds the stability limit
    np.testing.assert_allclose(s.start - s.minima[0], [-1.5, -2.5])


@pytest.mark.parametrize("kwargs,match", [
    ({"loss": "hinge"}, "'loss' parameter of linear_fit must be one of"),
    ({"loss": "huber", "q": 0.3}, "huber loss has no option 'q'"),
    ({"loss": "huber", "delta": -1.0}, "delta"),
    ({"n": 1}, "'n' parameter of linear_fit"),
    ({"outliers": 200}, "'outliers' parameter"),
    ({"noise": -1.0}, "'noise' parameter of linear_fit"),
    ({"x": [1.0, 2.0]}, "give both x and y"),
])
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        surfaces.linear_fit(**kwargs)


def test_minibatch_errors():
    s = surfaces.linear_fit(n=10)
    with pytest.raises(ValueError, match=r"'batch_size' parameter must be an integer in the range "
                                         r"\[1, 10\]"):
        s.grad(np.zeros(2), batch_size=11, rng=0)
    with pytest.raises(ValueError, match="needs rng"):
        s.grad(np.zeros(2), batch_size=2)
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 9\]"):
        s.grad(np.zeros(2), indices=np.array([10]))


def test_own_data_and_spec_round_trip():
    s = surfaces.linear_fit("quantile", x=[0.0, 1.0, 2.0, 3.0], y=[1.0, 3.0, 5.0, 7.5], q=0.3)
    assert s.n == 4
    t = surfaces.from_spec(s.spec)
    assert np.array_equal(t.minima, s.minima) and t.loss_options == {"q": 0.3}
