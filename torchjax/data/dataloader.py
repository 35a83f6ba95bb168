"""``DataLoader``: torch's batching API, with batches prepared in background threads.

How a batch is made:

- The index sampler is advanced in the consumer's thread (so random orders are drawn in program
  order and replay exactly from a seed), ``prefetch`` batches ahead of the one being consumed.
- Each batch's indices go to a thread pool that reads the samples, collates them and moves the
  result to the device with ``jax.device_put``, so the device never waits on NumPy. For array
  datasets (:class:`TensorDataset`, a :class:`Subset` of one, anything defining ``__getbatch__``)
  with the default ``collate_fn`` a batch is one fancy-indexing gather per array.
- Batches come back in sampler order. An exception raised while preparing a batch is re-raised
  by ``next()`` at that batch. Breaking out of the loop, or an exception in its body, drops the
  iterator, which cancels the queued batches and joins its threads.

Threads, not processes: JAX arrays cannot be made in forked workers safely, and NumPy gathers and
``device_put`` release the GIL. ``num_workers=0`` uses one thread; ``num_workers=k`` uses ``k``.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import Any

import jax
import numpy as np

from .._device import to_jax_device
from .._random import Generator
from .collate import _collate_host, _place, default_collate, default_convert
from .dataset import Dataset, IterableDataset, _batch_reader
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

_END = object()  # what an iterable dataset's fetch returns once the stream is exhausted

THREAD_NAME_PREFIX = "torchjax-data"


def _resolve_target(device) -> Any:
    if device is None or isinstance(device, (jax.Device, jax.sharding.Sharding)):
        return device
    return to_jax_device(device)


class DataLoader:
    """Iterate over a dataset in batches, like ``torch.utils.data.DataLoader``.

    Arguments:
        dataset: a map-style :class:`Dataset` (``__getitem__`` + ``__len__``) or an
            :class:`IterableDataset`.
        batch_size: samples per batch; None yields single samples (no collation).
        shuffle: a new random order every epoch, drawn from ``generator``.
        sampler: the order of the indices (any iterable of indices); excludes ``shuffle``.
        batch_sampler: yields whole lists of indices; excludes ``batch_size``, ``shuffle``,
            ``sampler`` and ``drop_last``.
        num_workers: threads preparing batches (0 means one background thread). Not processes.
        collate_fn: turns a list of samples into a batch; :func:`default_collate` when None.
        pin_memory: accepted for compatibility; ``jax.device_put`` handles host-to-device copies.
        drop_last: drop the last batch when it is shorter than ``batch_size``.
        timeout: seconds to wait for a batch before raising RuntimeError (0: forever).
        worker_init_fn: called once in each thread with its worker id, when ``num_workers > 0``.
        multiprocessing_context: accepted for compatibility and ignored (threads are used).
        generator: the :class:`torchjax.Generator` for ``shuffle``; the default generator when
            None. Each epoch draws one key from it when iteration starts, so restoring
            ``generator.get_state()`` saved before an epoch replays that epoch's order.
        prefetch_factor: batches in flight per worker when ``num_workers > 0`` (default 2).
        persistent_workers: accepted for compatibility (threads are cheap to start every epoch).
        pin_memory_device: accepted for compatibility and ignored.
        in_order: accepted for compatibility; batches always come in sampler order.
        prefetch: torchjax extension, the number of batches prepared ahead of the consumer.
            Default: ``prefetch_factor * num_workers`` with workers, else 2. ``0`` prepares each
            batch in the consumer's thread when asked for (torch's ``num_workers=0``), which is
            handy under a debugger.
        device: torchjax extension, where batches go: a device string (``'cuda:0'``), a
            ``jax.Device`` or a ``jax.sharding.Sharding`` (e.g. split along the batch axis over a
            mesh; every batch must then divide evenly, so use ``drop_last=True``). Default: JAX's
            default device. With a custom ``collate_fn`` its output is left as it is unless
            ``device`` is given.

    ``__getitem__`` and ``collate_fn`` run in background threads (unless ``prefetch=0``); a dataset
    that draws random numbers should use its own ``Generator`` so the draws do not interleave with
    the training loop's.

    Example (an exactly resumable shuffled epoch)::

        generator = torchjax.Generator().manual_seed(0)
        loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, generator=generator)
        for epoch in range(epochs):
            checkpoint["data_rng"] = generator.get_state()  # before iter(loader) draws the order
            for step, (xb, yb) in enumerate(loader):
                ...
        # resuming mid-epoch: generator.set_state(checkpoint["data_rng"]), then skip the
        # batches already done; the epoch's order is the same.
    """

    _IMMUTABLE = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Iterable | None = None,
        batch_sampler: Sampler | Iterable | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context=None,
        generator: Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
        prefetch: int | None = None,
        device=None,
    ) -> None:
        if num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; use num_workers=0 to disable multiprocessing."
            )
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing."
                "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if prefetch is None:
            prefetch = prefetch_factor * num_workers if num_workers > 0 else 2
        elif prefetch < 0:
            raise ValueError(f"prefetch should be non-negative, got prefetch={prefetch}")
        if prefetch == 0 and num_workers > 0:
            raise ValueError(
                "num_workers > 0 needs batches in flight (prefetch_factor > 0, prefetch > 0); "
                "prefetch=0 loads in the consumer's thread and needs num_workers=0"
            )

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.prefetch = prefetch
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order
        self.device = device
        self._target = _resolve_target(device)

        if isinstance(dataset, IterableDataset):
            self._iterable = True
            if shuffle not in {False, None}:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified sampler option, but got sampler={sampler}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified "
                    f"batch_sampler option, but got batch_sampler={batch_sampler}"
                )
        else:
            self._iterable = False
            shuffle = bool(shuffle)

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")

        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self._default_collate = collate_fn is None or collate_fn is default_collate
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._initialized = True

    def __setattr__(self, attr: str, value: Any) -> None:
        if attr in self._IMMUTABLE and self.__dict__.get("_initialized", False):
            raise ValueError(f"{attr} attribute should not be set after {self.__class__.__name__} is initialized")
        super().__setattr__(attr, value)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_size is not None if self._iterable else self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self) -> int:
        if self._iterable:
            length = len(self.dataset)
            if self.batch_size is not None:
                length = length // self.batch_size if self.drop_last else -(-length // self.batch_size)
            return length
        return len(self._index_sampler)

    def __iter__(self) -> _DataLoaderIter:
        return _DataLoaderIter(self)

    # -- what one task of the thread pool does -------------------------------------------------

    def _tasks_and_fetch(self) -> tuple[Iterator, Callable[[Any], Any]]:
        """The iterator of per-batch tasks (advanced by the consumer) and the function that turns a
        task into a batch (run in the pool). The function holds no reference to the iterator."""
        if self._iterable:
            return itertools.repeat(None), self._stream_fetch(iter(self.dataset))
        if not self._auto_collation:
            return iter(self.sampler), self._sample_fetch()
        reader = _batch_reader(self.dataset) if self._default_collate else None
        if isinstance(self.batch_sampler, BatchSampler) and type(self.batch_sampler).__iter__ is BatchSampler.__iter__:
            array_batches = self.batch_sampler._array_batches()
            if array_batches is not None:
                return array_batches, self._batch_fetch(reader)
        return iter(self.batch_sampler), self._batch_fetch(reader)

    def _finish(self, batch: Any, collated_by_default: bool) -> Any:
        if collated_by_default:
            return _place(batch, self._target)
        return batch if self._target is None else _place(batch, self._target)

    def _convert(self, sample: Any) -> Any:
        return _place(sample, self._target, tuple_as_list=True)

    def _batch_fetch(self, reader: Callable[[np.ndarray], Any] | None) -> Callable[[Any], Any]:
        dataset, collate_fn, default, finish = self.dataset, self.collate_fn, self._default_collate, self._finish
        getitems = getattr(dataset, "__getitems__", None)

        def fetch(indices) -> Any:
            if reader is not None:
                return finish(reader(np.asarray(indices, dtype=np.int64)), True)
            if isinstance(indices, np.ndarray):
                indices = indices.tolist()  # datasets get Python ints, as from torch's samplers
            samples = getitems(indices) if callable(getitems) else [dataset[i] for i in indices]
            return finish(_collate_host(samples), True) if default else finish(collate_fn(samples), False)

        return fetch

    def _sample_fetch(self) -> Callable[[Any], Any]:
        dataset, collate_fn, finish, convert = self.dataset, self.collate_fn, self._finish, self._convert
        if collate_fn is default_convert:
            return lambda index: convert(dataset[index])
        return lambda index: finish(collate_fn(dataset[index]), False)

    def _stream_fetch(self, stream: Iterator) -> Callable[[Any], Any]:
        batch_size, drop_last, finish, convert = self.batch_size, self.drop_last, self._finish, self._convert
        collate_fn, default = self.collate_fn, self._default_collate

        def fetch(_) -> Any:
            if batch_size is None:
                sample = next(stream, _END)
                if sample is _END:
                    return _END
                return convert(sample) if collate_fn is default_convert else finish(collate_fn(sample), False)
            samples = list(itertools.islice(stream, batch_size))
            if not samples or (drop_last and len(samples) < batch_size):
                return _END
            return finish(_collate_host(samples), True) if default else finish(collate_fn(samples), False)

        return fetch


class _DataLoaderIter:
    """One pass over a DataLoader: keeps ``prefetch`` batches in flight in a thread pool."""

    def __init__(self, loader: DataLoader) -> None:
        self._tasks, fetch = loader._tasks_and_fetch()
        self._fetch = _returning_errors(fetch)
        self._timeout = loader.timeout or None
        self._depth = loader.prefetch
        self._pending: deque[Future] = deque()
        self._executor: ThreadPoolExecutor | None = None
        if self._depth > 0:
            # An iterable dataset is one stream: a single thread reads it in order.
            workers = 1 if loader._iterable else max(1, loader.num_workers)
            initializer = None
            if loader.worker_init_fn is not None and loader.num_workers > 0:
                initializer = _numbered_initializer(loader.worker_init_fn)
            self._executor = ThreadPoolExecutor(workers, THREAD_NAME_PREFIX, initializer)
            self._fill()

    def _fill(self) -> None:
        while len(self._pending) < self._depth:
            task = next(self._tasks, _END)
            if task is _END:
                return
            self._pending.append(self._executor.submit(self._fetch, task))

    def __iter__(self) -> _DataLoaderIter:
        return self

    def __next__(self) -> Any:
        if self._executor is None:
            task = next(self._tasks, _END)
            batch = _END if task is _END else self._fetch(task)
        elif not self._pending:
            batch = _END
        else:
            future = self._pending.popleft()
            self._fill()  # keep the pool busy while the consumer waits for this batch
            try:
                batch = future.result(self._timeout)
            except FutureTimeoutError:
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds") from None
        if batch is _END:
            self.close()
            raise StopIteration
        if isinstance(batch, _Failure):
            error = batch.error
            # The traceback keeps this frame alive: it must not keep the iterator (and its threads) too,
            # so that leaving a loop on this error joins the threads.
            del self, batch
            raise error
        return batch

    def close(self) -> None:
        """Cancel the queued batches and join the threads (waits for batches being prepared)."""
        executor, self._executor = getattr(self, "_executor", None), None
        self._pending = deque()
        self._tasks = iter(())
        if executor is not None:
            # A pool thread must not join itself (possible if a garbage collection runs there).
            in_pool = threading.current_thread().name.startswith(THREAD_NAME_PREFIX)
            executor.shutdown(wait=not in_pool, cancel_futures=True)

    def __del__(self) -> None:
        self.close()


class _Failure:
    """An exception raised while preparing a batch, carried to the consumer as the batch."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _returning_errors(fetch: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def guarded(task: Any) -> Any:
        try:
            return fetch(task)
        except Exception as error:
            return _Failure(error)

    return guarded


def _numbered_initializer(worker_init_fn: Callable[[int], None]) -> Callable[[], None]:
    worker_ids = itertools.count()
    lock = threading.Lock()

    def initializer() -> None:
        with lock:
            worker_id = next(worker_ids)
        worker_init_fn(worker_id)

    return initializer
