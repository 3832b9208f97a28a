"""The analytic surfaces of the catalog: formula, analytic gradient, bounds and minima.

Each surface is two small functions of ``(x, y, xp)`` (``xp`` is numpy or torch) that mirror the
formula; the gradient is written out by hand and checked against finite differences in the tests.
"""

from __future__ import annotations

import math

from descentlab.surfaces._base import Surface

__all__ = ["bowl", "ravine", "rosenbrock", "beale", "himmelblau", "saddle", "rastrigin"]


def bowl() -> Surface:
    """A round bowl: J = x^2 + y^2 (Hessian 2 I; GD is stable for lr < 1)."""

    def value(x, y, xp):
        return x * x + y * y

    def grad(x, y, xp):
        return 2 * x, 2 * y

    return Surface(
        "bowl", value, grad, bounds=((-3, 3), (-3, 3)), minima=[(0, 0)], start=(-2.5, 2.0),
        formula="x**2 + y**2", curvatures=(2.0, 2.0),
        description="A round bowl: every direction has the same curvature (2), so the gradient "
        "points straight at the minimum at the origin and every optimizer walks a straight line. "
        "GD is stable for lr < 2/2 = 1.",
    )


def ravine() -> Surface:
    """An ill-conditioned quadratic: J = 0.05 x^2 + 5 y^2 (curvatures 0.1 and 10, condition 100).

    GD/SGD is stable only for lr < 2 / 10 = 0.2 (the steep y axis), and at such a rate the shallow
    x axis contracts by only 1 - 0.1 lr >= 0.98 per step: near the limit it zig-zags across the
    ravine while crawling along it. Momentum (heavy ball) is stable for lr < 2 (1 + gamma) / 10 and
    at lr = 0.05, gamma = 0.9 contracts both axes by about sqrt(gamma) = 0.95 per step.
    """

    def value(x, y, xp):
        return 0.05 * x * x + 5.0 * y * y

    def grad(x, y, xp):
        return 0.1 * x, 10.0 * y

    return Surface(
        "ravine", value, grad, bounds=((-10, 10), (-3, 3)), minima=[(0, 0)], start=(-8.0, 2.0),
        formula="0.05*x**2 + 5*y**2", curvatures=(0.1, 10.0),
        description="An ill-conditioned quadratic (curvatures 0.1 along x and 10 along y, "
        "condition number 100). GD and SGD are stable only for lr < 2/10 = 0.2; near that limit "
        "they zig-zag across the steep y axis while crawling along the flat x axis (contraction "
        "1 - 0.1 lr per step). Momentum damps the zig-zag and speeds up the crawl: heavy ball is "
        "stable for lr < 2 (1 + gamma) / 10.",
    )


def rosenbrock() -> Surface:
    """Rosenbrock's banana valley: J = (1 - x)^2 + 100 (y - x^2)^2, minimum at (1, 1)."""

    def value(x, y, xp):
        a, b = 1 - x, y - x * x
        return a * a + 100 * (b * b)

    def grad(x, y, xp):
        a, b = 1 - x, y - x * x
        return -2 * a - 400 * (x * b), 200 * b

    def value_and_grad(x, y, xp):
        # the same arithmetic as value and grad, bit for bit (IEEE negation and commutativity),
        # with c = x^2 - y = -b and in-place updates so that a sweep allocates fewer temporaries
        a = 1 - x
        c = x * x
        c -= y
        v = a * a
        cc = c * c
        cc *= 100
        v += cc  # (1 - x)^2 + 100 (y - x^2)^2
        gx = x * c
        gx *= 400
        a *= 2
        gx -= a  # -2 (1 - x) - 400 x (y - x^2)
        c *= -200  # 200 (y - x^2)
        return v, gx, c

    return Surface(
        "rosenbrock", value, grad, value_and_grad=value_and_grad,
        bounds=((-2, 2), (-1, 3)), minima=[(1, 1)], start=(-1.2, 1.0),
        formula="(1 - x)**2 + 100*(y - x**2)**2",
        description="Rosenbrock (1960): a curved, flat-bottomed valley. Finding the valley is "
        "easy, following it to the minimum at (1, 1) is hard: the floor bends, and across it the "
        "curvature is about 200 times the curvature along it. Start (-1.2, 1) is the classic one.",
    )


def beale() -> Surface:
    """Beale's function: sharp ridges and flat plateaus, minimum J(3, 0.5) = 0.

    J = (1.5 - x + x y)^2 + (2.25 - x + x y^2)^2 + (2.625 - x + x y^3)^2
    """

    def terms(x, y):
        y2 = y * y
        y3 = y2 * y
        return 1.5 - x + x * y, 2.25 - x + x * y2, 2.625 - x + x * y3, y2, y3

    def value(x, y, xp):
        t1, t2, t3, _, _ = terms(x, y)
        return t1 * t1 + t2 * t2 + t3 * t3

    def grad(x, y, xp):
        t1, t2, t3, y2, y3 = terms(x, y)
        gx = 2 * (t1 * (y - 1) + t2 * (y2 - 1) + t3 * (y3 - 1))
        gy = 2 * x * (t1 + 2 * (t2 * y) + 3 * (t3 * y2))
        return gx, gy

    return Surface(
        "beale", value, grad, bounds=((-4.5, 4.5), (-4.5, 4.5)), minima=[(3, 0.5)],
        start=(1.0, 1.5), formula="(1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + "
        "(2.625 - x + x*y**3)**2",
        description="Beale's function: flat plateaus next to steep ridges (the gradient spans "
        "many orders of magnitude), minimum 0 at (3, 0.5). Adaptive step sizes shine here.",
    )


def himmelblau() -> Surface:
    """Himmelblau's function: J = (x^2 + y - 11)^2 + (x + y^2 - 7)^2, four minima with J = 0."""

    def value(x, y, xp):
        a, b = x * x + y - 11, x + y * y - 7
        return a * a + b * b

    def grad(x, y, xp):
        a, b = x * x + y - 11, x + y * y - 7
        return 4 * (x * a) + 2 * b, 2 * a + 4 * (y * b)

    # (3, 2) is exact; the other three are the real roots of the gradient, to double precision
    minima = [
        (3.0, 2.0),
        (-2.805118086952745, 3.131312518250573),
        (-3.779310253377747, -3.283185991286170),
        (3.584428340330492, -1.848126526964404),
    ]
    return Surface(
        "himmelblau", value, grad, bounds=((-5, 5), (-5, 5)), minima=minima, start=(0.0, 0.0),
        formula="(x**2 + y - 11)**2 + (x + y**2 - 7)**2",
        description="Himmelblau (1972): four minima, all with J = 0, separated by ridges and a "
        "local maximum near (-0.27, -0.92). Which minimum a run ends in depends on the start "
        "point and on the optimizer: the basin map colours the plane by it.",
    )


def saddle() -> Surface:
    """A saddle between two valleys: J = x^2 + y^4 / 4 - y^2 / 2.

    The origin is a saddle point (curvature +2 along x, -1 along y); the minima are (0, +-1) with
    J = -1/4. Unlike x^2 - y^2 the surface is bounded below, so runs that escape the saddle arrive
    somewhere and can be measured.
    """

    def value(x, y, xp):
        y2 = y * y
        return x * x + 0.25 * (y2 * y2) - 0.5 * y2

    def grad(x, y, xp):
        return 2 * x, y * y * y - y

    return Surface(
        "saddle", value, grad, bounds=((-2, 2), (-2, 2)), minima=[(0, 1), (0, -1)],
        start=(-1.8, 0.01), formula="x**2 + y**4/4 - y**2/2",
        description="A saddle point at the origin (curvature +2 along x, -1 along y) between two "
        "minima at (0, 1) and (0, -1) with J = -0.25. Starting almost on the ridge y = 0, "
        "plain GD lingers near the saddle (the escape direction's gradient is tiny) while "
        "momentum and adaptive methods get away faster. Exactly on y = 0, GD never leaves it.",
    )


def rastrigin() -> Surface:
    """Rastrigin's function: J = 20 + sum over x, y of (u^2 - 10 cos(2 pi u)); global minimum 0."""
    two_pi = 2 * math.pi

    def value(x, y, xp):
        return 20 + x * x - 10 * xp.cos(two_pi * x) + y * y - 10 * xp.cos(two_pi * y)

    def grad(x, y, xp):
        return 2 * x + 10 * two_pi * xp.sin(two_pi * x), 2 * y + 10 * two_pi * xp.sin(two_pi * y)

    return Surface(
        "rastrigin", value, grad, bounds=((-5.12, 5.12), (-5.12, 5.12)), minima=[(0, 0)],
        start=(-4.2, 3.7), formula="20 + x**2 - 10*cos(2*pi*x) + y**2 - 10*cos(2*pi*y)",
        description="Rastrigin (1974): a bowl covered in ripples, with a local minimum near every "
        "integer point and the global minimum 0 at the origin. Only the global minimum is listed "
        "in `minima`; gradient methods usually stop in the first ripple they fall into.",
    )
