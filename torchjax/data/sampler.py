"""Samplers: the order in which ``DataLoader`` visits a map-style dataset (torch.utils.data's).

Random samplers draw **one key per pass** from a :class:`torchjax.Generator` (the default one
when ``generator=None``) when iteration starts, and expand it with NumPy on the host: an epoch's
order is fixed by the generator state at ``iter()`` time, so saving ``generator.get_state()``
before an epoch and restoring it later replays that epoch's order exactly. The orders are not
torch's (a different random stream); their distribution is.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sized
from typing import Generic, TypeVar

import numpy as np

from .._random import Generator, next_key

T_co = TypeVar("T_co", covariant=True)


def _numpy_rng(generator: Generator | None) -> np.random.Generator:
    # One draw from the torchjax stream seeds a host-side NumPy generator: permuting a million
    # indices takes ~30 ms there against ~600 ms for jax.random.permutation on a 2-core CPU, and
    # the indices are needed on the host anyway.
    return np.random.default_rng(np.asarray(next_key(generator)))


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Sampler(Generic[T_co]):
    """Base class: subclasses implement ``__iter__`` (and ``__len__`` where it is known)."""

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError


class _ArraySampler(Sampler[int]):
    """A sampler whose whole pass is one NumPy index array, drawn when iteration starts."""

    def _index_array(self) -> np.ndarray:
        raise NotImplementedError

    def __iter__(self) -> Iterator[int]:
        # Not a generator function: the random draw happens at iter() time, in the caller's thread.
        return iter(self._index_array().tolist())


def _index_array(sampler) -> np.ndarray | None:
    """The pass of ``sampler`` as one array, unless a subclass replaced how it iterates."""
    if isinstance(sampler, _ArraySampler) and type(sampler).__iter__ is _ArraySampler.__iter__:
        return sampler._index_array()
    return None


class SequentialSampler(_ArraySampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def _index_array(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(_ArraySampler):
    """A random permutation per pass, or ``num_samples`` draws with replacement.

    Arguments:
        data_source: the dataset (only its length is used).
        replacement: draw with replacement.
        num_samples: how many indices per pass (default ``len(data_source)``); without replacement
            a larger number concatenates independent permutations, as torch does.
        generator: the :class:`torchjax.Generator` to draw from; the default generator when None.
    """

    def __init__(
        self, data_source: Sized, replacement: bool = False, num_samples: int | None = None, generator=None
    ) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={self.replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _index_array(self) -> np.ndarray:
        n, rng = len(self.data_source), _numpy_rng(self.generator)
        if self.replacement:
            return rng.integers(0, n, size=self.num_samples, dtype=np.int64)
        permutations = [rng.permutation(n) for _ in range(-(-self.num_samples // n))]
        return np.concatenate(permutations)[: self.num_samples]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(_ArraySampler):
    """The given ``indices`` in a random order, drawn afresh each pass.

    Arguments:
        indices: the dataset positions to sample from.
        generator: the :class:`torchjax.Generator` to draw from; the default generator when None.
    """

    def __init__(self, indices, generator=None) -> None:
        self.indices = indices
        self.generator = generator

    def _index_array(self) -> np.ndarray:
        return np.asarray(self.indices, dtype=np.int64)[_numpy_rng(self.generator).permutation(len(self.indices))]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(_ArraySampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``.

    Arguments:
        weights: one non-negative weight per index (need not sum to one).
        num_samples: how many indices per pass.
        replacement: draw with replacement; without it an index appears at most once.
        generator: the :class:`torchjax.Generator` to draw from; the default generator when None.
    """

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None) -> None:
        if not _is_int(num_samples) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        weights = np.asarray(weights, dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(weights.shape)}")
        self.weights = weights
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def _index_array(self) -> np.ndarray:
        nonzero = np.count_nonzero(self.weights)
        if not self.replacement and self.num_samples > nonzero:
            raise RuntimeError(
                f"WeightedRandomSampler: cannot draw {self.num_samples} samples without replacement "
                f"from {nonzero} non-zero weights"
            )
        probabilities = self.weights / self.weights.sum()
        rng = _numpy_rng(self.generator)
        return rng.choice(len(self.weights), size=self.num_samples, replace=self.replacement, p=probabilities)

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list[int]]):
    """Groups the indices of ``sampler`` into lists of ``batch_size``.

    Arguments:
        sampler: any iterable of indices.
        batch_size: indices per batch.
        drop_last: drop the last batch when it is shorter than ``batch_size``.
    """

    def __init__(self, sampler: Sampler[int] | Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not _is_int(batch_size) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def _array_batches(self) -> Iterator[np.ndarray] | None:
        """The batches as slices of one index array, when the sampler has one (DataLoader's path)."""
        indices = _index_array(self.sampler)
        if indices is None:
            return None
        stop = len(indices) - len(indices) % self.batch_size if self.drop_last else len(indices)
        return (indices[start : start + self.batch_size] for start in range(0, stop, self.batch_size))

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._array_batches()
        if batches is not None:
            return (batch.tolist() for batch in batches)
        return self._iter_sampler(iter(self.sampler))

    def _iter_sampler(self, sampler_iter: Iterator[int]) -> Iterator[list[int]]:
        while batch := list(itertools.islice(sampler_iter, self.batch_size)):
            if self.drop_last and len(batch) < self.batch_size:
                return
            yield batch

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size
