"""``torchjax.data``: torch.utils.data's datasets, samplers and ``DataLoader`` for JAX arrays.

Port ``from torch.utils.data import DataLoader, TensorDataset`` to
``from torchjax.data import DataLoader, TensorDataset``. Batches are Tensors prepared in
background threads; shuffling draws from a :class:`torchjax.Generator`.
"""

from .collate import default_collate, default_convert
from .dataloader import DataLoader
from .dataset import ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset", "RandomSampler", "Sampler",
    "SequentialSampler", "Subset", "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler",
    "default_collate", "default_convert", "random_split",
]
