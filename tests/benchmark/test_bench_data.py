"""Frozen splits: fixed rows (a fingerprint), disjoint, complete, standardized with train stats."""

import hashlib

import numpy as np
import pytest

from descentlab.benchmark import _data

# sha256 of the train / val / test row indices, recorded when the splits were frozen. If this
# changes (a new split seed, or scikit-learn shuffling differently), stored results are stale.
FINGERPRINTS = {
    "digits": "2f75d8b5e5cbedc8",
    "diabetes": "d312de2a0f84a17c",
    "breast_cancer": "977919f4dd18a96b",
}


def _fingerprint(ds):
    h = hashlib.sha256()
    for s in (ds.train, ds.val, ds.test):
        h.update(np.ascontiguousarray(s.index, dtype=np.int64).tobytes())
        h.update(b"|")
    return h.hexdigest()[:16]


@pytest.mark.parametrize("name", list(FINGERPRINTS))
def test_splits_are_frozen_disjoint_and_complete(name):
    ds = _data.load(name)
    assert _fingerprint(ds) == FINGERPRINTS[name]
    idx = np.concatenate([ds.train.index, ds.val.index, ds.test.index])
    assert len(np.unique(idx)) == len(idx)
    n = len(idx)
    assert sorted(idx.tolist()) == list(range(n))
    assert abs(len(ds.train.index) / n - 0.6) < 0.01
    assert not ds.train.X.flags.writeable


@pytest.mark.parametrize("name", list(FINGERPRINTS))
def test_features_standardized_with_training_statistics(name):
    from sklearn import datasets

    loader = {"digits": datasets.load_digits, "diabetes": datasets.load_diabetes,
              "breast_cancer": datasets.load_breast_cancer}[name]
    X, _ = loader(return_X_y=True)
    ds = _data.load(name)
    raw_tr = X[ds.train.index]
    mu, sd = raw_tr.mean(0), raw_tr.std(0)
    sd[sd == 0] = 1.0
    np.testing.assert_allclose(ds.test.X, (X[ds.test.index] - mu) / sd, atol=1e-12)
    np.testing.assert_allclose(ds.train.X.mean(0), 0, atol=1e-12)


def test_classification_splits_are_stratified():
    ds = _data.load("digits")
    for s in (ds.val, ds.test):
        tr = np.bincount(ds.train.y) / len(ds.train.y)
        np.testing.assert_allclose(np.bincount(s.y) / len(s.y), tr, atol=0.01)


def test_soft_targets_are_distributions_from_the_neighbours():
    ds = _data.load("digits_soft")
    hard = _data.load("digits")
    np.testing.assert_array_equal(ds.train.index, hard.train.index)
    for s in (ds.train, ds.val, ds.test):
        np.testing.assert_allclose(s.y.sum(1), 1.0)
        assert s.y.min() >= 0.01 - 1e-12  # the 10% uniform share: no zero probabilities
    # the neighbours mostly agree with the true label
    assert np.mean(ds.test.y.argmax(1) == hard.test.y) > 0.9


def test_unknown_data_set_lists_the_choices():
    with pytest.raises(ValueError, match="Valid choices: digits, diabetes"):
        _data.load("mnist")
