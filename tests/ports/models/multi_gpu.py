"""A model whose forward spreads its batch over GPUs with ``nn.parallel.data_parallel`` when on CUDA."""

import torch
import torch.nn as nn
import torch.nn.parallel


class Net(nn.Module):

    def __init__(self, ngpu: int, in_features: int = 16, hidden: int = 32, out_features: int = 4):
        super().__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            nn.Linear(in_features, hidden, bias=False),  # BatchNorm's shift makes a bias redundant
            nn.BatchNorm1d(hidden),
            nn.ReLU(True),
            nn.Linear(hidden, out_features),
        )

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if input.is_cuda and self.ngpu > 1:
            output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))
        else:
            output = self.main(input)
        return output
