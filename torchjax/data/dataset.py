"""Datasets: torch.utils.data's ``Dataset`` family over Tensors, NumPy and JAX arrays.

torchjax extension: a map-style dataset may define ``__getbatch__(indices)``, which takes an int64
NumPy index array and returns the whole batch already collated (what ``default_collate`` would
build from ``[self[i] for i in indices]``). ``DataLoader`` calls it instead of ``__getitem__``
when ``collate_fn`` is the default, so an array dataset costs one gather per array per batch.
:class:`TensorDataset` and :class:`Subset` define it.
"""

from __future__ import annotations

import bisect
import itertools
import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import jax
import numpy as np

from .._random import Generator
from .._tensor import Tensor, unwrap, wrap
from .sampler import _numpy_rng

T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """A map-style dataset: ``dataset[i]`` for ``0 <= i < len(dataset)``.

    Subclasses implement ``__getitem__`` and, for the default samplers, ``__len__``. They may also
    implement ``__getitems__(indices) -> list of samples`` (torch's batched fetch) or
    ``__getbatch__(indices) -> collated batch`` (torchjax's array fast path, see the module doc).
    """

    def __getitem__(self, index) -> T_co:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: Dataset[T_co]) -> ConcatDataset[T_co]:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co]):
    """A dataset that is a stream of samples: subclasses implement ``__iter__``.

    ``DataLoader`` reads it in order from one background thread (never replicated per worker,
    unlike torch's worker processes), batching consecutive samples.
    """

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")


def _as_data(data: Any) -> np.ndarray | Tensor:
    # Tensors are kept and JAX arrays become Tensors (gathers then run on the device they live on);
    # NumPy arrays stay on the host; anything else array-like (lists, torch tensors) becomes NumPy once.
    if isinstance(data, Tensor | np.ndarray):
        return data
    return wrap(data) if isinstance(data, jax.Array) else np.asarray(data)


class TensorDataset(Dataset[tuple]):
    """Dataset wrapping tensors; sample ``i`` is ``tuple(tensor[i] for tensor in tensors)``.

    Arguments:
        *tensors: Tensors, JAX arrays (kept as Tensors) or NumPy arrays (kept on the host; anything else
            array-like is converted to NumPy) that share the size of their first dimension.

    A sample's entries are Tensors, or NumPy rows for NumPy data (host data stays on the host until
    ``default_collate`` moves the batch to the device, as Tensors).
    """

    def __init__(self, *tensors: Any) -> None:
        tensors = tuple(_as_data(tensor) for tensor in tensors)
        if any(tensors[0].shape[0] != tensor.shape[0] for tensor in tensors):
            raise AssertionError("Size mismatch between tensors")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(wrap(unwrap(tensor)[index]) for tensor in self.tensors)

    def __getbatch__(self, indices: np.ndarray) -> list:
        # default_collate turns the sample tuples into a list of stacked arrays; one gather each.
        return [unwrap(tensor)[indices] for tensor in self.tensors]

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class ConcatDataset(Dataset[T_co]):
    """The concatenation of several map-style datasets.

    Arguments:
        datasets: the datasets to chain, in order.
    """

    @staticmethod
    def cumsum(sequence: Iterable[Dataset]) -> list[int]:
        return list(itertools.accumulate(len(dataset) for dataset in sequence))

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if len(self.datasets) == 0:
            raise AssertionError("datasets should not be an empty iterable")
        for dataset in self.datasets:
            if isinstance(dataset, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        dataset_idx = bisect.bisect_right(self.cumulative_sizes, idx)
        sample_idx = idx if dataset_idx == 0 else idx - self.cumulative_sizes[dataset_idx - 1]
        return self.datasets[dataset_idx][sample_idx]


class Subset(Dataset[T_co]):
    """The samples of ``dataset`` at ``indices``, in that order.

    Arguments:
        dataset: the whole dataset.
        indices: positions in ``dataset`` that make up the subset.
    """

    def __init__(self, dataset: Dataset[T_co], indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[int]) -> list:
        getitems = getattr(self.dataset, "__getitems__", None)
        if callable(getitems):
            return getitems([self.indices[idx] for idx in indices])
        return [self.dataset[self.indices[idx]] for idx in indices]

    def __getbatch__(self, indices: np.ndarray):
        return self.dataset.__getbatch__(np.asarray(self.indices, dtype=np.int64)[indices])

    def __len__(self) -> int:
        return len(self.indices)


def _defining_class(cls: type, name: str) -> type | None:
    return next((klass for klass in cls.__mro__ if name in klass.__dict__), None)


def _batch_reader(dataset: Any) -> Callable[[np.ndarray], Any] | None:
    """``dataset``'s ``__getbatch__`` when it may stand in for ``__getitem__`` + default_collate.

    It may not when a subclass overrides ``__getitem__`` below the class that defines
    ``__getbatch__`` (the batch would skip the override), nor for a Subset of a dataset without it.
    """
    cls = type(dataset)
    getbatch_owner = _defining_class(cls, "__getbatch__")
    if getbatch_owner is None or not issubclass(getbatch_owner, _defining_class(cls, "__getitem__")):
        return None
    if getbatch_owner is Subset:
        inner = _batch_reader(dataset.dataset)
        if inner is None:
            return None
        positions = np.asarray(dataset.indices, dtype=np.int64)  # once per epoch, not per batch
        return lambda indices: inner(positions[indices])
    return dataset.__getbatch__


def random_split(
    dataset: Dataset[T_co], lengths: Sequence[int | float], generator: Generator | None = None
) -> list[Subset[T_co]]:
    """Split ``dataset`` at random into non-overlapping subsets of the given lengths.

    Fractions that sum to 1 become ``floor(fraction * len(dataset))`` items each, the remainder
    handed out one at a time round-robin from the first split, as torch does.

    Arguments:
        dataset: the dataset to split.
        lengths: the sizes of the splits, or fractions of ``len(dataset)``.
        generator: draws the permutation; the default generator when None (reproducible after
            ``torchjax.manual_seed``). The permutation itself differs from torch's.
    """
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        subset_lengths = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            subset_lengths.append(math.floor(len(dataset) * frac))
        for i in range(len(dataset) - sum(subset_lengths)):
            subset_lengths[i % len(subset_lengths)] += 1
        lengths = subset_lengths
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.", stacklevel=2
                )
    if sum(lengths) != len(dataset):
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    indices = _numpy_rng(generator).permutation(sum(lengths)).tolist()
    return [
        Subset(dataset, indices[offset - length : offset])
        for offset, length in zip(itertools.accumulate(lengths), lengths, strict=True)
    ]
