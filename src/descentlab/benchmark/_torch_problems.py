"""Torch problems: ``nn.Module``s on the digits, trained through ``descentlab.torch``/torch.optim.

Both use the frozen, standardized digits splits of ``_data`` (float32), torch's cross-entropy, the
same seeded minibatch order as the NumPy problems, and a model initialised by
``torch.manual_seed(seed)``. Runs are not batched: one trial is one model.
"""

from __future__ import annotations

import functools

from descentlab.benchmark import _data

__all__ = ["TorchProblem", "TORCH_PROBLEMS", "make_torch_problem"]


class TorchProblem(_data.OnDataset):
    backend = "torch"
    dataset = "digits"
    metric = "error"
    loss = "cross_entropy"
    convex = False
    full_batch = False
    batch_size = 32

    def __init__(self, name, description, epochs, quick_epochs):
        self.name, self.description = name, description
        self.epochs, self.quick_epochs = epochs, quick_epochs
        self._tensors = {}

    def tensors(self, split: str):
        """(X, y) of a split as float32 / int64 tensors (copies of the read-only frozen arrays)."""
        if split not in self._tensors:
            import torch

            s = self.data.split(split)
            X = torch.tensor(s.X, dtype=torch.float32)
            if self.name == "torch-cnn":
                X = X.reshape(-1, 1, 8, 8)
            self._tensors[split] = (X, torch.tensor(s.y, dtype=torch.int64))
        return self._tensors[split]

    def build(self):
        """A fresh model, initialised from torch's global generator (seed it first)."""
        from torch import nn

        if self.name == "torch-mlp":
            return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
        return nn.Sequential(  # 1x8x8 -> 8x4x4 -> 16x2x2 -> 10 classes
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64, 10),
        )

    def __repr__(self) -> str:
        return f"<TorchProblem {self.name}>"


_FACTORIES = {
    "torch-mlp": lambda: TorchProblem(
        "torch-mlp", "nn.Module MLP 64-32-10 (ReLU) on digits, cross-entropy", 30, 5),
    "torch-cnn": lambda: TorchProblem(
        "torch-cnn", "nn.Module CNN conv8-conv16-linear on 8x8 digits, cross-entropy", 20, 3),
}
TORCH_PROBLEMS = tuple(_FACTORIES)


@functools.cache
def make_torch_problem(name: str) -> TorchProblem:
    return _FACTORIES[name]()
