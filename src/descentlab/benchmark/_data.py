"""Frozen data: scikit-learn's bundled data sets, split once, standardized with training statistics.

Decisions (the issue leaves them open):

* Splits are 60 / 20 / 20 (train / validation / test), stratified for classification, drawn with
  ``sklearn.model_selection.train_test_split`` under the fixed seed ``SPLIT_SEED``. The split never
  depends on a trial's seed: every trial of every optimizer sees the same three sets.
* Features are standardized with the training set's mean and standard deviation (a constant
  feature, such as a digits corner pixel, gets a standard deviation of 1). The diabetes target is
  standardized the same way, so its MSE / MAE are in units of the training target's deviation.
* Soft targets for the KL problem come from the data itself: the label histogram of the 10 nearest
  training images (Euclidean, after standardization; a training image is not its own neighbour),
  mixed 90 / 10 with the uniform distribution so that no class has probability 0.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

__all__ = ["Split", "Dataset", "load", "DATASETS", "SPLIT_SEED", "OnDataset"]

SPLIT_SEED = 20240521
DATASETS = ("digits", "diabetes", "breast_cancer", "digits_soft")


@dataclass(frozen=True)
class Split:
    X: np.ndarray
    y: np.ndarray  # int labels, float targets or (n, k) probabilities
    index: np.ndarray  # rows of the original data set, for checking that splits are frozen


@dataclass(frozen=True)
class Dataset:
    name: str
    train: Split
    val: Split
    test: Split
    n_classes: int  # 0 for regression

    def split(self, name: str) -> Split:
        return {"train": self.train, "val": self.val, "test": self.test}[name]


def _three_way(n: int, stratify):
    from sklearn.model_selection import train_test_split

    idx = np.arange(n)
    train, rest = train_test_split(idx, test_size=0.4, random_state=SPLIT_SEED, stratify=stratify)
    strat_rest = None if stratify is None else stratify[rest]
    val, test = train_test_split(rest, test_size=0.5, random_state=SPLIT_SEED, stratify=strat_rest)
    return np.sort(train), np.sort(val), np.sort(test)


def _standardize(train: np.ndarray, *others: np.ndarray):
    mu = train.mean(axis=0)
    sd = train.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return tuple((a - mu) / sd for a in (train, *others))


def _soft_targets(X_train, y_train, X_query, n_classes, *, k=10, same=False):
    """Label histogram of the k nearest training points, mixed 90/10 with the uniform one."""
    d2 = (
        np.sum(X_query**2, axis=1)[:, None]
        - 2.0 * X_query @ X_train.T
        + np.sum(X_train**2, axis=1)[None, :]
    )
    if same:
        np.fill_diagonal(d2, np.inf)  # a training image is not its own neighbour
    nearest = np.argsort(d2, axis=1, kind="stable")[:, :k]
    counts = np.zeros((len(X_query), n_classes))
    np.add.at(counts, (np.arange(len(X_query))[:, None], y_train[nearest]), 1.0)
    return 0.9 * counts / k + 0.1 / n_classes


@functools.cache
def load(name: str) -> Dataset:
    """The frozen, standardized train / validation / test splits of a bundled data set (cached)."""
    from sklearn import datasets

    if name in ("digits", "digits_soft"):
        X, y = datasets.load_digits(return_X_y=True)
        n_classes = 10
        tr, va, te = _three_way(len(y), y)
    elif name == "breast_cancer":
        X, y = datasets.load_breast_cancer(return_X_y=True)
        n_classes = 2
        tr, va, te = _three_way(len(y), y)
    elif name == "diabetes":
        X, y = datasets.load_diabetes(return_X_y=True)
        n_classes = 0
        tr, va, te = _three_way(len(y), None)
    else:
        raise ValueError(f"Unknown data set {name!r}. Valid choices: {', '.join(DATASETS)}.")
    X = np.asarray(X, dtype=np.float64)
    Xtr, Xva, Xte = _standardize(X[tr], X[va], X[te])
    if n_classes == 0:
        y = np.asarray(y, dtype=np.float64)
        ytr, yva, yte = _standardize(y[tr], y[va], y[te])
    else:
        ytr, yva, yte = (y[i].astype(np.int64) for i in (tr, va, te))
    if name == "digits_soft":
        ytr, yva, yte = (
            _soft_targets(Xtr, ytr, Xtr, n_classes, same=True),
            _soft_targets(Xtr, ytr, Xva, n_classes),
            _soft_targets(Xtr, ytr, Xte, n_classes),
        )
    splits = [Split(a, b, i) for a, b, i in ((Xtr, ytr, tr), (Xva, yva, va), (Xte, yte, te))]
    for s in splits:
        for arr in (s.X, s.y, s.index):
            arr.setflags(write=False)
    return Dataset(name, *splits, n_classes=n_classes)


class OnDataset:
    """A problem trained on one of the frozen data sets (``dataset`` names it), loaded once."""

    dataset: str = ""

    @functools.cached_property
    def data(self) -> Dataset:
        return load(self.dataset)

    @property
    def n_train(self) -> int:
        return len(self.data.train.X)
