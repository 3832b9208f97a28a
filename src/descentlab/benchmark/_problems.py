"""The benchmark's NumPy problems: losses and gradients written out, batched over independent runs.

Every problem works on a batch of R independent runs at once: parameters are one flat vector per
run, ``theta`` of shape (R, P), and the optimizers of ``descentlab.optim`` take hyperparameters of
shape (R, 1), so several seeds (or learning rates) advance in one call. A run's numbers never
depend on which other runs share its batch (every product is one matrix product per run, never
one product over the stacked runs; ``tests/benchmark`` checks this bit for bit), which is what lets
a resumed benchmark recompute any subset of trials and get the same results.

``loss_grad(theta, idx)`` returns the minibatch loss and its gradient: ``idx`` (R, B) holds each
run's minibatch rows of the training set, or is None for the full training set.
``evaluate(theta, split)`` returns the loss and the test metric on a whole split. Every test metric
is "lower is better": the classification error (1 - accuracy), the regression loss, the KL
divergence, or the quadratic's suboptimality f(theta) - f*.

Backpropagation (lecture, section 1) is written out: each layer's forward rule is followed, in
reverse order, by its local gradient; ``tests/benchmark`` compares every gradient with torch
autograd. The losses are written inline (not through ``descentlab.losses``) because they must work
on (runs, batch, ...) arrays and keep going, without raising, when a run diverges to inf or NaN;
the tests check them against ``descentlab.losses``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from descentlab.benchmark import _data

__all__ = ["Problem", "NUMPY_PROBLEMS", "make_numpy_problem"]


@dataclass(frozen=True)
class Layout:
    """Named blocks of the flat parameter vector."""

    shapes: tuple[tuple[str, tuple[int, ...]], ...]

    @property
    def size(self) -> int:
        return sum(int(np.prod(s)) for _, s in self.shapes)

    def views(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Views of ``theta`` (R, P) as blocks of shape (R, *shape)."""
        out, start = {}, 0
        for name, shape in self.shapes:
            n = int(np.prod(shape))
            out[name] = theta[:, start:start + n].reshape(theta.shape[0], *shape)
            start += n
        return out


class Problem(_data.OnDataset):
    """A training problem: data, a model with a flat parameter vector, a loss and a test metric."""

    name: str = ""
    backend: str = "numpy"
    dataset: str = ""
    description: str = ""
    metric: str = ""  # second value of ``evaluate``: error, mse, mae, kl or suboptimality
    loss: str = ""
    convex: bool = True
    full_batch: bool = False  # every optimizer steps on the full training set, once per epoch
    batch_size: int = 32
    epochs: int = 30
    quick_epochs: int = 10
    layout: Layout

    @property
    def n_params(self) -> int:
        return self.layout.size

    def init_params(self, seeds) -> np.ndarray:
        """(R, P) initial parameters; run r's come from ``default_rng([seeds[r], 0])`` only."""
        return np.stack([self._init_one(np.random.default_rng([int(s), 0])) for s in seeds])

    def _init_one(self, rng) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def loss_grad(self, theta, idx):  # pragma: no cover - abstract
        raise NotImplementedError

    def evaluate(self, theta, split: str):  # pragma: no cover - abstract
        raise NotImplementedError

    def _batch(self, idx):
        tr = self.data.train
        if idx is None:
            return tr.X[None], tr.y[None]
        return tr.X[idx], tr.y[idx]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


# ------------------------------------------------------------------------------------ heads
def _log_softmax(z):
    zmax = np.max(z, axis=-1, keepdims=True)
    shifted = z - zmax
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _onehot(y, k):
    return (y[..., None] == np.arange(k)).astype(np.float64)


def _cross_entropy_head(z, y, k, *, soft=False):
    """Mean softmax cross-entropy over the batch and dLoss/dz = (softmax(z) - onehot(y)) / B.

    ``y`` holds integer labels, or (``soft=True``) probabilities over the last axis: then this is
    the soft-target cross-entropy, whose gradient is also the KL divergence's.
    """
    logq = _log_softmax(z)
    p = np.broadcast_to(y, z.shape) if soft else _onehot(y, k)
    B = z.shape[-2]
    loss = -np.sum(p * logq, axis=(-1, -2)) / B
    dz = (np.exp(logq) - p) / B
    return loss, dz


def _error(z, y):
    """Classification error; a run whose logits are not finite gets every example wrong."""
    wrong = np.argmax(z, axis=-1) != y
    wrong |= ~np.all(np.isfinite(z), axis=-1)
    return np.mean(wrong, axis=-1)


def _bcast(X, R):
    return np.broadcast_to(X, (R,) + X.shape[1:])


# ------------------------------------------------------------------------------------ problems
class Quadratic(Problem):
    """An ill-conditioned quadratic f(theta) = 1/2 (theta - theta*)^T A (theta - theta*), f* = 0.

    A = Q diag(lambda) Q^T in d = 50 dimensions, eigenvalues log-spaced from 1 down to 1/kappa (so
    L = 1, mu = 1/kappa), Q a random rotation (frozen), so that the per-coordinate optimizers
    cannot read the eigenbasis off the axes. theta* is frozen too; a trial's seed draws the start
    theta_0 = theta* + N(0, I).

    Decision: the gradient is exact (full batch) for every optimizer, one step per "epoch". The
    quadratic is where the published step counts hold (heavy ball needs O(sqrt(kappa)) steps, GD
    O(kappa)), and those are statements about exact gradients; a noise floor would hide them. On
    this problem GD and SGD are therefore the same method. Train, validation and test loss are f.
    """

    metric = "suboptimality"
    loss = "quadratic"
    full_batch = True
    epochs = 300
    quick_epochs = 150
    d = 50

    def __init__(self, kappa: float):
        self.kappa = float(kappa)
        self.name = f"quadratic-k{int(kappa)}"
        self.description = (f"ill-conditioned quadratic, d={self.d}, kappa={int(kappa)}, "
                            "exact gradients")
        rng = np.random.default_rng([_data.SPLIT_SEED, int(kappa)])
        Q, _ = np.linalg.qr(rng.normal(size=(self.d, self.d)))
        lam = np.logspace(0.0, -np.log10(self.kappa), self.d)
        A = (Q * lam) @ Q.T
        self.A = 0.5 * (A + A.T)
        self.theta_star = rng.normal(size=self.d)
        self.layout = Layout((("theta", (self.d,)),))

    @property
    def n_train(self) -> int:
        return 1

    def _init_one(self, rng):
        return self.theta_star + rng.normal(size=self.d)

    def _f(self, theta):
        diff = theta - self.theta_star
        Ad = np.matmul(diff[:, None, :], self.A)[:, 0, :]  # one product per run
        return 0.5 * np.sum(diff * Ad, axis=1), Ad

    def loss_grad(self, theta, idx):
        return self._f(theta)  # f and grad f = A (theta - theta*)

    def evaluate(self, theta, split):
        f = self._f(theta)[0]
        return f, f


class SoftmaxRegression(Problem):
    """Multinomial logistic regression on the 8x8 digits: z = x W + b, softmax cross-entropy.

    With ``soft=True`` the targets are the kNN soft labels of ``_data`` and the loss is the KL
    divergence KL(p || softmax(z)) = sum p log p - sum p log softmax(z) (lecture, section 2); its
    gradient with respect to z is the cross-entropy's, softmax(z) - p.
    """

    convex = True
    batch_size = 32
    epochs = 30
    quick_epochs = 10

    def __init__(self, *, soft: bool = False):
        self.soft = soft
        self.dataset = "digits_soft" if soft else "digits"
        self.name = "digits-kl" if soft else "digits-softmax"
        self.metric = "kl" if soft else "error"
        self.loss = "kl_div" if soft else "cross_entropy"
        self.description = ("softmax regression on digits toward kNN soft targets, KL divergence"
                            if soft else "softmax regression on digits, cross-entropy")
        self.d, self.k = 64, 10
        self.layout = Layout((("W", (self.d, self.k)), ("b", (self.k,))))

    def _init_one(self, rng):
        theta = np.zeros(self.layout.size)
        theta[: self.d * self.k] = rng.normal(scale=1.0 / np.sqrt(self.d), size=self.d * self.k)
        return theta

    def _logits(self, theta, X):
        p = self.layout.views(theta)
        return np.matmul(X, p["W"]) + p["b"][:, None, :]

    @staticmethod
    def _neg_entropy(p):
        """sum over batch and classes of p log p, with 0 log 0 = 0."""
        safe = np.where(p > 0, p, 1.0)
        return np.sum(p * np.log(safe), axis=(-1, -2))

    def loss_grad(self, theta, idx):
        X, y = self._batch(idx)
        z = self._logits(theta, X)  # forward: z = x W + b
        loss, dz = _cross_entropy_head(z, y, self.k, soft=self.soft)
        if self.soft:  # KL = cross-entropy - entropy(p)
            loss = loss + self._neg_entropy(np.broadcast_to(y, z.shape)) / z.shape[-2]
        grad = np.empty_like(theta)
        g = self.layout.views(grad)
        g["W"][...] = np.matmul(np.swapaxes(_bcast(X, len(theta)), 1, 2), dz)  # dW = x^T dz
        g["b"][...] = np.sum(dz, axis=1)  # db = sum over the batch of dz
        return loss, grad

    def evaluate(self, theta, split):
        s = self.data.split(split)
        z = self._logits(theta, s.X)
        loss, _ = _cross_entropy_head(z, s.y, self.k, soft=self.soft)
        if self.soft:
            loss = loss + self._neg_entropy(s.y[None]) / len(s.y)
            return loss, loss
        return loss, _error(z, s.y)


class MLP(Problem):
    """A one-hidden-layer network on the digits: h = relu(x W1 + b1), z = h W2 + b2, cross-entropy.

    64 inputs, 32 hidden units, 10 outputs (2410 parameters); He-normal weights, zero biases.
    """

    name = "digits-mlp"
    description = "MLP 64-32-10 (ReLU) on digits, cross-entropy"
    dataset = "digits"
    metric = "error"
    loss = "cross_entropy"
    convex = False
    batch_size = 32
    epochs = 30
    quick_epochs = 10

    def __init__(self, hidden: int = 32):
        self.d, self.h, self.k = 64, hidden, 10
        self.layout = Layout((("W1", (self.d, self.h)), ("b1", (self.h,)),
                              ("W2", (self.h, self.k)), ("b2", (self.k,))))

    def _init_one(self, rng):
        theta = np.zeros((1, self.layout.size))
        p = self.layout.views(theta)
        p["W1"][0] = rng.normal(scale=np.sqrt(2.0 / self.d), size=(self.d, self.h))
        p["W2"][0] = rng.normal(scale=np.sqrt(2.0 / self.h), size=(self.h, self.k))
        return theta[0]

    def _forward(self, theta, X):
        p = self.layout.views(theta)
        a = np.matmul(X, p["W1"]) + p["b1"][:, None, :]  # pre-activation
        h = np.maximum(a, 0.0)  # relu
        z = np.matmul(h, p["W2"]) + p["b2"][:, None, :]
        return p, a, h, z

    def loss_grad(self, theta, idx):
        X, y = self._batch(idx)
        p, a, h, z = self._forward(theta, X)
        loss, dz = _cross_entropy_head(z, y, self.k)
        grad = np.empty_like(theta)
        g = self.layout.views(grad)
        g["W2"][...] = np.matmul(np.swapaxes(h, 1, 2), dz)  # dW2 = h^T dz
        g["b2"][...] = np.sum(dz, axis=1)  # db2 = sum over the batch of dz
        dh = np.matmul(dz, np.swapaxes(p["W2"], 1, 2))  # dh = dz W2^T
        da = dh * (a > 0.0)  # relu'(a) = [a > 0]
        g["W1"][...] = np.matmul(np.swapaxes(_bcast(X, len(theta)), 1, 2), da)  # dW1 = x^T da
        g["b1"][...] = np.sum(da, axis=1)  # db1 = sum over the batch of da
        return loss, grad

    def evaluate(self, theta, split):
        s = self.data.split(split)
        z = self._forward(theta, s.X)[3]
        loss, _ = _cross_entropy_head(z, s.y, self.k)
        return loss, _error(z, s.y)


class LinearRegression(Problem):
    """Linear regression on diabetes (10 standardized features, standardized target): x w + b.

    ``loss="mse"``: mean (yp - y)^2, gradient 2 (yp - y) / B. ``loss="mae"``: mean |yp - y|,
    gradient sign(yp - y) / B (0 at 0, as torch's L1 loss). The test metric is the same loss.
    """

    dataset = "diabetes"
    convex = True
    batch_size = 16
    epochs = 40
    quick_epochs = 15

    def __init__(self, loss: str):
        self.loss = self.metric = loss
        self.name = f"diabetes-{loss}"
        self.description = f"linear regression on diabetes, {loss.upper()}"
        self.d = 10
        self.layout = Layout((("w", (self.d,)), ("b", (1,))))

    def _init_one(self, rng):
        theta = np.zeros(self.layout.size)
        theta[: self.d] = rng.normal(scale=1.0 / np.sqrt(self.d), size=self.d)
        return theta

    def _predict(self, theta, X):
        p = self.layout.views(theta)
        return np.matmul(X, p["w"][:, :, None])[..., 0] + p["b"]

    def _loss(self, r):
        return np.mean(r * r, axis=-1) if self.loss == "mse" else np.mean(np.abs(r), axis=-1)

    def loss_grad(self, theta, idx):
        X, y = self._batch(idx)
        r = self._predict(theta, X) - y  # residual yp - y
        B = r.shape[-1]
        dy = 2.0 * r / B if self.loss == "mse" else np.sign(r) / B
        grad = np.empty_like(theta)
        g = self.layout.views(grad)
        g["w"][...] = np.matmul(dy[:, None, :], _bcast(X, len(theta)))[:, 0, :]  # dw = dy^T x
        g["b"][...] = np.sum(dy, axis=1, keepdims=True)
        return self._loss(r), grad

    def evaluate(self, theta, split):
        s = self.data.split(split)
        loss = self._loss(self._predict(theta, s.X) - s.y)
        return loss, loss


class LogisticRegression(Problem):
    """Logistic regression on breast cancer (30 standardized features), binary cross-entropy.

    From the logit z = x w + b: BCE = mean softplus(z) - y z, gradient (sigmoid(z) - y) / B. The
    test metric is the classification error.
    """

    name = "cancer-logreg"
    description = "logistic regression on breast cancer, binary cross-entropy"
    dataset = "breast_cancer"
    metric = "error"
    loss = "binary_cross_entropy"
    convex = True
    batch_size = 32
    epochs = 30
    quick_epochs = 10

    def __init__(self):
        self.d = 30
        self.layout = Layout((("w", (self.d,)), ("b", (1,))))

    def _init_one(self, rng):
        theta = np.zeros(self.layout.size)
        theta[: self.d] = rng.normal(scale=1.0 / np.sqrt(self.d), size=self.d)
        return theta

    def _logit(self, theta, X):
        p = self.layout.views(theta)
        return np.matmul(X, p["w"][:, :, None])[..., 0] + p["b"]

    def loss_grad(self, theta, idx):
        X, y = self._batch(idx)
        z = self._logit(theta, X)
        B = z.shape[-1]
        loss = np.mean(np.logaddexp(0.0, z) - y * z, axis=-1)
        dz = (0.5 * (1.0 + np.tanh(0.5 * z)) - y) / B  # sigmoid(z) - y, overflow-free
        grad = np.empty_like(theta)
        g = self.layout.views(grad)
        g["w"][...] = np.matmul(dz[:, None, :], _bcast(X, len(theta)))[:, 0, :]
        g["b"][...] = np.sum(dz, axis=1, keepdims=True)
        return loss, grad

    def evaluate(self, theta, split):
        s = self.data.split(split)
        z = self._logit(theta, s.X)
        loss = np.mean(np.logaddexp(0.0, z) - s.y * z, axis=-1)
        wrong = ((z > 0) != (s.y == 1)) | ~np.isfinite(z)
        return loss, np.mean(wrong, axis=-1)


_FACTORIES = {
    "quadratic-k100": lambda: Quadratic(100),
    "quadratic-k1000": lambda: Quadratic(1000),
    "digits-softmax": lambda: SoftmaxRegression(),
    "digits-mlp": lambda: MLP(),
    "diabetes-mse": lambda: LinearRegression("mse"),
    "diabetes-mae": lambda: LinearRegression("mae"),
    "cancer-logreg": lambda: LogisticRegression(),
    "digits-kl": lambda: SoftmaxRegression(soft=True),
}
NUMPY_PROBLEMS = tuple(_FACTORIES)


@functools.cache
def make_numpy_problem(name: str) -> Problem:
    return _FACTORIES[name]()
