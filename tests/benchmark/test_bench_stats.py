"""Statistics against independent references: scipy's bootstrap, normal theory, hand examples."""

import math

import numpy as np
import pytest

from descentlab.benchmark import (
    bootstrap_ci,
    epochs_to_target,
    lr_sensitivity_width,
    overlapping,
    performance_profile,
)


def test_bootstrap_matches_scipy_percentile_bootstrap():
    stats = pytest.importorskip("scipy.stats")
    x = np.random.default_rng(1).exponential(size=30)
    mean, lo, hi = bootstrap_ci(x, n_resamples=20000)
    ref = stats.bootstrap((x,), np.mean, method="percentile", n_resamples=20000,
                          random_state=np.random.default_rng(2)).confidence_interval
    assert mean == pytest.approx(x.mean())
    assert lo == pytest.approx(ref.low, abs=0.02)
    assert hi == pytest.approx(ref.high, abs=0.02)


def test_bootstrap_on_known_normal_data_covers_like_theory():
    x = np.random.default_rng(0).normal(5.0, 2.0, size=400)
    mean, lo, hi = bootstrap_ci(x, n_resamples=5000)
    half = 1.96 * x.std(ddof=1) / math.sqrt(len(x))  # normal theory: mean +- 1.96 s / sqrt(n)
    assert lo == pytest.approx(mean - half, rel=0.01)
    assert hi == pytest.approx(mean + half, rel=0.01)


def test_bootstrap_constant_single_and_failed_values():
    assert bootstrap_ci([0.25] * 7) == (0.25, 0.25, 0.25)
    assert bootstrap_ci([3.0]) == (3.0, 3.0, 3.0)
    mean, lo, hi = bootstrap_ci([1.0] * 9 + [math.inf])
    assert mean == math.inf and hi == math.inf and lo == 1.0  # 35% of resamples miss the inf
    assert bootstrap_ci([1.0, 2.0, 5.0]) == bootstrap_ci([1.0, 2.0, 5.0])  # seeded


@pytest.mark.parametrize("kwargs, match", [
    ({"values": []}, "at least one value"),
    ({"values": [1.0, float("nan")]}, "must not be NaN"),
    ({"values": [1.0], "confidence": 1.0}, r"'confidence' parameter of bootstrap_ci"),
    ({"values": [1.0], "n_resamples": 0}, r"'n_resamples' parameter of bootstrap_ci"),
])
def test_bootstrap_rejects_bad_input(kwargs, match):
    values = kwargs.pop("values")
    with pytest.raises(ValueError, match=match):
        bootstrap_ci(values, **kwargs)


def test_ties_are_overlapping_intervals_with_the_best():
    assert overlapping([(0.5, 0.4, 0.6), (0.3, 0.25, 0.45), (0.9, 0.8, 1.0)]) == [
        True, True, False]
    assert overlapping([(math.inf, 1.0, math.inf), (1.0, 1.0, 1.0)]) == [True, True]
    assert overlapping([]) == []


def test_performance_profile_hand_example():
    # ratios to the best per problem (by hand):
    #   p1: a 1, b 2, c 4     p2: a 3, b 1, c inf (failed)     p3: a 1, b 1, c 1.5
    costs = {"p1": {"a": 10, "b": 20, "c": 40},
             "p2": {"a": 6, "b": 2, "c": math.inf},
             "p3": {"a": 4, "b": 4, "c": 6}}
    taus, rho = performance_profile(costs)
    assert taus.tolist() == [1.0, 1.5, 2.0, 3.0, 4.0]
    assert rho["a"].tolist() == pytest.approx([2 / 3, 2 / 3, 2 / 3, 1, 1])
    assert rho["b"].tolist() == pytest.approx([2 / 3, 2 / 3, 1, 1, 1])
    assert rho["c"].tolist() == pytest.approx([0, 1 / 3, 1 / 3, 1 / 3, 2 / 3])
    # a problem nobody solves counts as failed for everyone
    _, rho = performance_profile({"p": {"a": None, "b": math.inf}, "q": {"a": 1, "b": 2}},
                                 taus=[1, 10])
    assert rho["a"].tolist() == [0.5, 0.5] and rho["b"].tolist() == [0.0, 0.5]
    with pytest.raises(ValueError, match="positive"):
        performance_profile({"p": {"a": 0, "b": 1}})


def test_epochs_to_target_uses_the_median_curve_and_nan_as_failure():
    x = [0, 5, 10]
    curves = [[1.0, 0.5, 0.1], [1.0, 0.4, 0.2], [1.0, float("nan"), float("nan")]]
    assert epochs_to_target(x, curves, 0.45) == 10  # median at 5: 0.5; at 10: 0.2
    assert epochs_to_target(x, curves, 0.05) is None
    assert epochs_to_target(x, curves, 1.0) == 0


def test_lr_sensitivity_width_counts_the_contiguous_band():
    lrs = [1e-3, 1e-2, 1e-1, 1.0, 10.0]
    assert lr_sensitivity_width(lrs, [0.9, 0.11, 0.10, 0.5, 0.1]) == pytest.approx(1.0)
    assert lr_sensitivity_width(lrs, [0.9, 0.5, 0.10, 0.5, 0.9]) == 0.0
    assert lr_sensitivity_width(lrs[::-1], [0.9, 0.5, 0.10, 0.5, 0.9][::-1]) == 0.0
    assert math.isnan(lr_sensitivity_width(lrs, [math.inf] * 5))
