"""The analytic catalog: gradients against finite differences, minima, shapes, backends, errors."""

import numpy as np
import pytest

from descentlab import surfaces

ANALYTIC = ["bowl", "ravine", "rosenbrock", "beale", "himmelblau", "saddle", "rastrigin"]


def finite_difference(surface, xy, h=1e-6):
    """Central differences of surface.value, (k, 2) -> (k, 2)."""
    out = np.empty_like(xy)
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        out[:, i] = (surface.value(xy + e) - surface.value(xy - e)) / (2 * h)
    return out


def random_points(surface, k=200, seed=0):
    (x0, x1), (y0, y1) = surface.bounds
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(x0, x1, k), rng.uniform(y0, y1, k)], axis=1)


@pytest.mark.parametrize("name", surfaces.names())
def test_gradient_matches_finite_differences(name):
    s = surfaces.get(name)
    xy = random_points(s)
    g = s.grad(xy)
    fd = finite_difference(s, xy)
    scale = np.maximum(1.0, np.abs(g))
    assert np.max(np.abs(g - fd) / scale) < 1e-5


@pytest.mark.parametrize("name", surfaces.names())
def test_value_and_grad_is_value_and_grad_exactly(name):
    s = surfaces.get(name)
    xy = random_points(s, seed=1)
    v, g = s.value_and_grad(xy)
    assert np.array_equal(v, s.value(xy))
    assert np.array_equal(g, s.grad(xy))


@pytest.mark.parametrize("name", surfaces.names())
def test_minima_are_stationary_and_lowest_nearby(name):
    s = surfaces.get(name)
    assert s.minima.ndim == 2 and s.minima.shape[1] == 2 and len(s.minima) >= 1
    g = s.grad(s.minima)
    assert np.max(np.abs(g)) < 1e-8
    # a minimum, not a saddle: every nearby point is higher
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    ring = 1e-3 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    for m in s.minima:
        assert np.all(s.value(m + ring) > s.value(m))
    assert s.minimum_value == pytest.approx(float(np.min(s.value(s.minima))))


def test_known_minimum_values():
    assert surfaces.get("rosenbrock").value(np.array([1.0, 1.0])) == 0.0
    assert surfaces.get("beale").value(np.array([3.0, 0.5])) == 0.0
    h = surfaces.get("himmelblau")
    assert len(h.minima) == 4 and np.max(np.abs(h.value(h.minima))) < 1e-20
    assert surfaces.get("saddle").minimum_value == -0.25
    assert surfaces.get("rastrigin").value(np.zeros(2)) == 0.0
    # the saddle's origin is stationary but not a minimum
    s = surfaces.get("saddle")
    assert np.array_equal(s.grad(np.zeros(2)), np.zeros(2))
    assert s.value(np.array([0.0, 0.1])) < s.value(np.zeros(2)) < s.value(np.array([0.1, 0.0]))


def test_rosenbrock_is_the_standard_formula():
    s = surfaces.get("rosenbrock")
    xy = random_points(s, seed=3)
    x, y = xy[:, 0], xy[:, 1]
    np.testing.assert_allclose(s.value(xy), (1 - x) ** 2 + 100 * (y - x**2) ** 2, rtol=1e-14)


@pytest.mark.parametrize("name", ["bowl", "ravine", "lecture_lr"])
def test_quadratic_curvatures_match_the_hessian(name):
    s = surfaces.get(name)
    H = s.hessian(random_points(s, k=5))
    for h in H:
        np.testing.assert_allclose(np.linalg.eigvalsh(h), s.curvatures, rtol=1e-6)


def test_ravine_is_ill_conditioned():
    mu, L = surfaces.get("ravine").curvatures
    assert L / mu == pytest.approx(100.0)


@pytest.mark.parametrize("name", ANALYTIC)
def test_shapes_and_torch(name):
    torch = pytest.importorskip("torch")
    s = surfaces.get(name)
    xy = random_points(s, k=12, seed=4).reshape(3, 4, 2)
    assert s.value(xy).shape == (3, 4)
    assert s.grad(xy).shape == (3, 4, 2)
    assert s.value(xy[0, 0]).shape == ()
    t = torch.tensor(xy)
    vt, gt = s.value(t), s.grad(t)
    assert isinstance(vt, torch.Tensor) and vt.dtype == torch.float64
    np.testing.assert_allclose(vt.numpy(), s.value(xy), rtol=1e-12)
    np.testing.assert_allclose(gt.numpy(), s.grad(xy), rtol=1e-12, atol=1e-12)
    g32 = s.grad(t.float())
    assert g32.dtype == torch.float32


def test_lists_are_accepted_and_bad_shapes_refused():
    s = surfaces.get("bowl")
    assert s.value([1.0, 2.0]) == 5.0
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        s.value(np.zeros(3))
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        s.grad(np.zeros((4, 3)))


def test_get_errors_list_the_choices():
    with pytest.raises(ValueError, match="Unknown surface 'nope'. Valid choices: bowl, ravine"):
        surfaces.get("nope")
    with pytest.raises(ValueError, match="takes no options"):
        surfaces.get("bowl", loss="mae")
    assert surfaces.get("Rosenbrock").name == "rosenbrock"


@pytest.mark.parametrize("name", surfaces.names())
def test_every_surface_has_metadata_and_rebuilds_from_its_spec(name):
    s = surfaces.get(name)
    assert s.name == name and s.description and s.formula
    (x0, x1), (y0, y1) = s.bounds
    assert x0 < s.start[0] < x1 and y0 < s.start[1] < y1
    for m in s.minima:
        assert x0 < m[0] < x1 and y0 < m[1] < y1
    t = surfaces.from_spec(s.spec)
    xy = random_points(s, k=5)
    assert np.array_equal(t.value(xy), s.value(xy))


def test_grid_for_contours():
    X, Y, Z = surfaces.get("himmelblau").grid(50)
    assert X.shape == Y.shape == Z.shape == (50, 50)
    assert Z.min() >= 0


@pytest.mark.parametrize("bounds", [((-1e308, 1e308), (0, 1)), ((0, 1.7e308), (0, 1)),
                                    ((0, 1), (-1.0000001e100, 0))])
def test_bounds_beyond_what_figures_can_draw_are_refused(bounds):
    with pytest.raises(ValueError, match=r"bounds must lie in \[-1e\+100, 1e\+100\]"):
        surfaces.from_expression("x**2 + y**2", bounds=bounds)


def test_the_widest_bounds_allowed_are_kept():
    s = surfaces.from_expression("x**2 + y**2", bounds=((-1e100, 1e100), (0, 1)))
    assert s.bounds == ((-1e100, 1e100), (0.0, 1.0))
