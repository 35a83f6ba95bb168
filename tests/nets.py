"""Small models shared by the transform tests, written once for torch and torchjax (``lib``)."""

from __future__ import annotations

import numpy as np


def running_norm(lib):
    """BatchNorm1d's training-mode math with running statistics, written with each library's ops."""
    nn = lib.nn

    class RunningNorm(nn.Module):
        def __init__(self, features):
            super().__init__()
            self.weight = nn.Parameter(lib.tensor(np.linspace(0.5, 1.5, features)))
            self.bias = nn.Parameter(lib.tensor(np.linspace(-0.1, 0.1, features)))
            self.register_buffer("running_mean", lib.zeros(features))
            self.register_buffer("num_batches_tracked", lib.tensor(0, dtype=np.int32))

        def forward(self, x):
            mean = x.mean(0)
            centered = x - mean
            var = (centered * centered).mean(0)
            if self.training:
                self.running_mean = 0.9 * self.running_mean + 0.1 * mean
                self.num_batches_tracked = self.num_batches_tracked + 1
            return centered / (var + 1e-5) ** 0.5 * self.weight + self.bias

    return RunningNorm


def network(lib):
    """Shared block used twice, a tied output layer, a frozen layer and running statistics."""
    nn = lib.nn
    lib.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(4, 6)
            self.block = nn.Linear(6, 6)
            self.norm = running_norm(lib)(6)
            self.frozen = nn.Linear(6, 6)
            self.frozen.requires_grad_(False)
            self.out = nn.Linear(6, 6)
            self.out.weight = self.block.weight  # tied

        def forward(self, x):
            h = lib.tanh(self.inp(x))
            h = lib.tanh(self.block(h))
            h = lib.tanh(self.block(h))  # shared module used twice
            h = self.norm(h)
            h = lib.tanh(self.frozen(h))
            return self.out(h)

    return Net()
