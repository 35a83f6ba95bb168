"""torchjax.data against torch.utils.data: batches, orders, collation, errors, and the prefetch threads."""

from __future__ import annotations

import collections
import threading
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import torchjax
import torchjax.data as jdata
from torchjax.data.dataloader import THREAD_NAME_PREFIX

N = 10
X = np.arange(N * 3, dtype=np.float32).reshape(N, 3)
Y = np.arange(N, dtype=np.int64) * 7


def to_numpy_tree(batch):
    """A torch or torchjax batch as nested Python containers of NumPy arrays, for comparison."""
    if isinstance(batch, (torch.Tensor, jax.Array, torchjax.Tensor)):
        return np.asarray(batch)
    if isinstance(batch, dict):
        return {key: to_numpy_tree(value) for key, value in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(to_numpy_tree(value) for value in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_numpy_tree(value) for value in batch)
    return batch


def assert_same_tree(ours, theirs):
    assert type(ours) is type(theirs), (type(ours), type(theirs))
    if isinstance(ours, dict):
        assert list(ours) == list(theirs)
        for key in ours:
            assert_same_tree(ours[key], theirs[key])
    elif isinstance(ours, (list, tuple)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            assert_same_tree(a, b)
    elif isinstance(ours, np.ndarray):
        np.testing.assert_array_equal(ours, theirs)
        assert ours.shape == theirs.shape
    else:
        assert ours == theirs


def assert_same_batches(ours, theirs):
    ours, theirs = [to_numpy_tree(b) for b in ours], [to_numpy_tree(b) for b in theirs]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert_same_tree(a, b)


def data_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_NAME_PREFIX)]


# -- batches in order --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("batch_size", [1, 3, 5, 10, 11])
def test_sequential_batches_match_torch(batch_size, drop_last):
    ours = jdata.DataLoader(jdata.TensorDataset(X, Y), batch_size=batch_size, drop_last=drop_last)
    theirs = tdata.DataLoader(
        tdata.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y)), batch_size=batch_size, drop_last=drop_last
    )
    assert len(ours) == len(theirs)
    batches = list(ours)
    assert len(batches) == len(ours)
    assert all(type(array) is torchjax.Tensor for batch in batches for array in batch)
    assert_same_batches(batches, list(theirs))


def test_jax_array_dataset_and_subset_match_torch():
    indices = [7, 2, 9, 0, 4]
    ours = jdata.DataLoader(jdata.Subset(jdata.TensorDataset(jnp.asarray(X), jnp.asarray(Y)), indices), batch_size=2)
    theirs = tdata.DataLoader(
        tdata.Subset(tdata.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y)), indices), batch_size=2
    )
    assert_same_batches(list(ours), list(theirs))


class CountingTensorDataset(jdata.TensorDataset):
    calls = 0

    def __getitem__(self, index):
        type(self).calls += 1
        return super().__getitem__(index)


def test_array_datasets_gather_whole_batches_unless_getitem_is_overridden():
    batches = list(jdata.DataLoader(jdata.TensorDataset(X, Y), batch_size=4))
    assert_same_batches(batches, [[X[i : i + 4], Y[i : i + 4]] for i in range(0, N, 4)])

    # A subclass that changes __getitem__ must be read through it, even under a Subset.
    CountingTensorDataset.calls = 0
    batches = list(jdata.DataLoader(jdata.Subset(CountingTensorDataset(X, Y), [3, 1, 2]), batch_size=2))
    assert CountingTensorDataset.calls == 3
    assert_same_batches(batches, [[X[[3, 1]], Y[[3, 1]]], [X[[2]], Y[[2]]]])


class DictDataset(jdata.Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": X[i], "label": int(Y[i]), "weight": 0.5 * i, "name": f"s{i}", "pair": (i, np.float32(i))}


class TorchDictDataset(tdata.Dataset):
    __len__ = DictDataset.__len__
    __getitem__ = DictDataset.__getitem__


def test_per_sample_datasets_collate_like_torch():
    assert_same_batches(
        list(jdata.DataLoader(DictDataset(), batch_size=2)), list(tdata.DataLoader(TorchDictDataset(), batch_size=2))
    )
    # batch_size=None: no batching, NumPy arrays converted, tuples to lists.
    assert_same_batches(
        list(jdata.DataLoader(DictDataset(), batch_size=None)),
        list(tdata.DataLoader(TorchDictDataset(), batch_size=None)),
    )


def test_batch_sampler_and_sampler_arguments_match_torch():
    batch_sampler = [[0, 5], [9, 1, 2], [4]]
    ours = jdata.DataLoader(jdata.TensorDataset(X, Y), batch_sampler=batch_sampler)
    torch_dataset = tdata.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y))
    theirs = tdata.DataLoader(torch_dataset, batch_sampler=batch_sampler)
    assert len(ours) == len(theirs) == 3
    assert_same_batches(list(ours), list(theirs))

    sampler = [3, 3, 8, 0, 6]
    ours = jdata.DataLoader(jdata.TensorDataset(X, Y), sampler=sampler, batch_size=2, drop_last=True)
    theirs = tdata.DataLoader(
        tdata.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y)), sampler=sampler, batch_size=2, drop_last=True
    )
    assert_same_batches(list(ours), list(theirs))


@pytest.mark.parametrize("drop_last", [False, True])
def test_batch_sampler_yields_lists_like_torch(drop_last):
    for source in (jdata.SequentialSampler(range(10)), [4, 1, 8, 8, 0, 3, 2]):
        torch_source = tdata.SequentialSampler(range(10)) if isinstance(source, jdata.Sampler) else source
        ours = list(jdata.BatchSampler(source, 3, drop_last))
        assert ours == list(tdata.BatchSampler(torch_source, 3, drop_last))
        assert all(type(i) is int for batch in ours for i in batch)
        assert len(jdata.BatchSampler(source, 3, drop_last)) == len(tdata.BatchSampler(torch_source, 3, drop_last))


def test_custom_collate_fn_output_is_returned_as_is():
    def collate(samples):
        return ("custom", len(samples), [np.asarray(s[1]) for s in samples])

    batches = list(jdata.DataLoader(jdata.TensorDataset(X, Y), batch_size=4, collate_fn=collate))
    assert [b[:2] for b in batches] == [("custom", 4), ("custom", 4), ("custom", 2)]
    assert isinstance(batches[0][2][0], np.ndarray)


class Stream(jdata.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


class TorchStream(tdata.IterableDataset):
    __init__, __iter__, __len__ = Stream.__init__, Stream.__iter__, Stream.__len__


@pytest.mark.parametrize("batch_size, drop_last", [(3, False), (3, True), (None, False)])
def test_iterable_dataset_matches_torch(batch_size, drop_last):
    ours = jdata.DataLoader(Stream(7), batch_size=batch_size, drop_last=drop_last)
    theirs = tdata.DataLoader(TorchStream(7), batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert_same_batches(list(ours), list(theirs))


# -- collation ---------------------------------------------------------------------------------------------------

Point = collections.namedtuple("Point", ["x", "y"])


@pytest.mark.parametrize(
    "samples",
    [
        [(np.ones(2, np.float32), 1), (np.zeros(2, np.float32), 2)],
        [[1.5, True], [2.5, False]],
        [{"a": {"b": np.int32(3)}, "s": "x"}, {"a": {"b": np.int32(4)}, "s": "y"}],
        [Point(1, np.arange(3)), Point(2, np.arange(3))],
        [collections.OrderedDict(z=1, a=2), collections.OrderedDict(z=3, a=4)],
    ],
)
def test_default_collate_matches_torch(samples):
    ours = jdata.default_collate(samples)
    assert_same_tree(to_numpy_tree(ours), to_numpy_tree(tdata.default_collate(samples)))
    leaves = jax.tree.leaves(ours, is_leaf=lambda leaf: isinstance(leaf, torchjax.Tensor))
    assert all(type(leaf) is torchjax.Tensor for leaf in leaves if not isinstance(leaf, str))


def test_default_collate_errors_match_torch():
    for samples, error in [
        ([[1, 2], [3]], RuntimeError),
        ([np.array(["a"]), np.array(["b"])], TypeError),
        ([object(), object()], TypeError),
    ]:
        with pytest.raises(error):
            tdata.default_collate(samples)
        with pytest.raises(error):
            jdata.default_collate(samples)


# -- shuffling ---------------------------------------------------------------------------------------------------


def epoch_orders(loader, epochs):
    return [np.concatenate([np.asarray(batch[1]) // 7 for batch in loader]) for _ in range(epochs)]


def test_shuffle_is_a_new_permutation_every_epoch_and_reproducible():
    dataset = jdata.TensorDataset(X, Y)
    orders = epoch_orders(jdata.DataLoader(dataset, batch_size=3, shuffle=True, generator=torchjax.Generator()), 3)
    for order in orders:
        assert sorted(order.tolist()) == list(range(N))
    assert len({tuple(order) for order in orders}) == 3

    again = epoch_orders(jdata.DataLoader(dataset, batch_size=4, shuffle=True, generator=torchjax.Generator()), 3)
    for a, b in zip(orders, again, strict=True):
        np.testing.assert_array_equal(a, b)

    other = torchjax.Generator().manual_seed(1)
    assert not np.array_equal(epoch_orders(jdata.DataLoader(dataset, shuffle=True, generator=other), 1)[0], orders[0])


def test_shuffle_without_generator_follows_manual_seed():
    loader = jdata.DataLoader(jdata.TensorDataset(X, Y), batch_size=4, shuffle=True)
    torchjax.manual_seed(3)
    first = epoch_orders(loader, 2)
    torchjax.manual_seed(3)
    second = epoch_orders(loader, 2)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_saved_generator_state_replays_an_epoch():
    generator = torchjax.Generator().manual_seed(0)
    loader = jdata.DataLoader(jdata.TensorDataset(X, Y), batch_size=4, shuffle=True, generator=generator)
    epoch_orders(loader, 1)
    state = generator.get_state()
    epoch_two = epoch_orders(loader, 1)[0]
    # An interrupted epoch, then a resume from the saved state: the same order.
    for _ in loader:
        break
    generator.set_state(state)
    np.testing.assert_array_equal(epoch_orders(loader, 1)[0], epoch_two)


def test_random_sampler_options_and_errors_match_torch():
    generator = torchjax.Generator()
    drawn = list(jdata.RandomSampler(range(5), replacement=True, num_samples=12, generator=generator))
    assert len(drawn) == 12 and set(drawn) <= set(range(5))
    repeated = list(jdata.RandomSampler(range(4), num_samples=10, generator=generator))
    assert sorted(repeated[:4]) == sorted(repeated[4:8]) == [0, 1, 2, 3] and len(repeated) == 10
    assert len(jdata.RandomSampler(range(4), num_samples=10)) == 10
    assert sorted(jdata.SubsetRandomSampler([5, 7, 9], generator=generator)) == [5, 7, 9]
    weighted = list(jdata.WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 20, generator=generator))
    assert set(weighted) <= {1, 3}
    for kwargs, error in [({"replacement": 1}, TypeError), ({"num_samples": 0}, ValueError)]:
        with pytest.raises(error):
            tdata.RandomSampler(range(3), **kwargs)
        with pytest.raises(error):
            jdata.RandomSampler(range(3), **kwargs)
    for args in [(range(3), 0, False), (range(3), 2, 1)]:
        with pytest.raises(ValueError):
            tdata.BatchSampler(*args)
        with pytest.raises(ValueError):
            jdata.BatchSampler(*args)


# -- datasets ----------------------------------------------------------------------------------------------------


def test_tensor_dataset_size_mismatch_matches_torch():
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        tdata.TensorDataset(torch.zeros(3), torch.zeros(4))
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        jdata.TensorDataset(np.zeros(3), np.zeros(4))


def test_concat_dataset_matches_torch():
    ours = jdata.TensorDataset(X[:4]) + jdata.TensorDataset(X[4:])
    theirs = tdata.TensorDataset(torch.from_numpy(X[:4])) + tdata.TensorDataset(torch.from_numpy(X[4:]))
    assert isinstance(ours, jdata.ConcatDataset) and len(ours) == len(theirs) == N
    for i in [0, 3, 4, 9, -1, -10]:
        np.testing.assert_array_equal(ours[i][0], theirs[i][0].numpy())
    assert_same_batches(list(jdata.DataLoader(ours, batch_size=3)), list(tdata.DataLoader(theirs, batch_size=3)))


@pytest.mark.parametrize(
    "n, lengths", [(10, [3, 7]), (10, [0.3, 0.7]), (11, [0.5, 0.5]), (30, [0.1, 0.2, 0.3, 0.4]), (7, [1 / 3] * 3)]
)
def test_random_split_lengths_match_torch(n, lengths):
    theirs = tdata.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
    ours = jdata.random_split(range(n), lengths, generator=torchjax.Generator())
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert sorted(i for subset in ours for i in subset) == list(range(n))
    again = jdata.random_split(range(n), lengths, generator=torchjax.Generator())
    assert [list(s) for s in again] == [list(s) for s in ours]


def test_random_split_errors_match_torch():
    for lengths, error in [([3, 3], ValueError), ([1.5, -0.5], ValueError)]:
        with pytest.raises(error):
            tdata.random_split(range(10), lengths)
        with pytest.raises(error):
            jdata.random_split(range(10), lengths)


# -- argument validation -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sampler": [0, 1], "shuffle": True},
        {"batch_sampler": [[0]], "batch_size": 2},
        {"batch_sampler": [[0]], "shuffle": True},
        {"batch_sampler": [[0]], "sampler": [0]},
        {"batch_sampler": [[0]], "drop_last": True},
        {"batch_size": None, "drop_last": True},
        {"num_workers": -1},
        {"timeout": -1},
        {"prefetch_factor": 2},
        {"num_workers": 1, "prefetch_factor": -1},
        {"persistent_workers": True},
    ],
)
def test_dataloader_argument_errors_match_torch(kwargs):
    with pytest.raises(ValueError) as torch_error:
        tdata.DataLoader(tdata.TensorDataset(torch.from_numpy(X)), **kwargs)
    with pytest.raises(ValueError) as our_error:
        jdata.DataLoader(jdata.TensorDataset(X), **kwargs)
    assert str(our_error.value) == str(torch_error.value)


def test_dataloader_iterable_dataset_and_setattr_errors_match_torch():
    for kwargs in [{"shuffle": True}, {"sampler": [0]}, {"batch_sampler": [[0]]}]:
        with pytest.raises(ValueError):
            tdata.DataLoader(TorchStream(3), **kwargs)
        with pytest.raises(ValueError):
            jdata.DataLoader(Stream(3), **kwargs)
    loader, torch_loader = jdata.DataLoader(Stream(3)), tdata.DataLoader(TorchStream(3))
    with pytest.raises(ValueError) as torch_error:
        torch_loader.batch_size = 4
    with pytest.raises(ValueError) as our_error:
        loader.batch_size = 4
    assert str(our_error.value) == str(torch_error.value)


# -- prefetching -------------------------------------------------------------------------------------------------


class FailingDataset(jdata.Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        if i == 5:
            raise KeyError(f"bad sample {i}")
        return np.float32(i)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_worker_errors_are_raised_at_their_batch(num_workers):
    received = []
    with pytest.raises(KeyError, match="bad sample 5"):
        for batch in jdata.DataLoader(FailingDataset(), batch_size=2, num_workers=num_workers):
            received.append(np.asarray(batch).tolist())
    assert received == [[0, 1], [2, 3]]
    assert data_threads() == []


def test_threads_are_joined_after_break_exception_and_exhaustion():
    loader = jdata.DataLoader(jdata.TensorDataset(X, Y), batch_size=1, num_workers=2)
    for _ in loader:
        assert len(data_threads()) > 0
        break
    assert data_threads() == []

    with pytest.raises(ZeroDivisionError):
        for _ in loader:
            1 / 0  # noqa: B018
    assert data_threads() == []

    assert len(list(loader)) == N
    assert data_threads() == []

    iterator = iter(loader)
    next(iterator)
    del iterator
    assert data_threads() == []

    synchronous = jdata.DataLoader(jdata.TensorDataset(X, Y), batch_size=2, prefetch=0)
    for _ in synchronous:
        assert data_threads() == []


def test_workers_keep_sampler_order_and_run_worker_init_fn():
    worker_ids = []

    class SlowRandomly(jdata.Dataset):
        def __len__(self):
            return 12

        def __getitem__(self, i):
            time.sleep(0.01 * ((i * 7) % 3))
            return np.int32(i)

    loader = jdata.DataLoader(SlowRandomly(), batch_size=2, num_workers=3, worker_init_fn=worker_ids.append)
    assert np.concatenate([np.asarray(b) for b in loader]).tolist() == list(range(12))
    assert sorted(worker_ids) == list(range(len(worker_ids))) and 1 <= len(worker_ids) <= 3


def test_timeout_raises_runtime_error():
    class Slow(jdata.Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            time.sleep(0.3)
            return np.float32(i)

    with pytest.raises(RuntimeError, match="timed out"):
        next(iter(jdata.DataLoader(Slow(), num_workers=1, timeout=0.05)))


def test_prefetch_overlaps_batch_preparation_with_the_consumer():
    delay, batches = 0.04, 6

    def slow_collate(samples):
        time.sleep(delay)
        return jdata.default_collate(samples)

    def run(prefetch):
        loader = jdata.DataLoader(jdata.TensorDataset(X, Y), batch_size=1, collate_fn=slow_collate, prefetch=prefetch)
        start = time.perf_counter()
        for step, _ in enumerate(loader):
            time.sleep(delay)  # the "training step"
            if step + 1 == batches:
                break
        return time.perf_counter() - start

    run(2)  # warm up device_put and the collate path
    serial = 2 * delay * batches
    assert run(0) >= serial * 0.95
    assert run(2) < serial * 0.8  # ideally (batches + 1) * delay, i.e. ~0.58 of serial


def test_batches_placed_with_a_sharding():
    devices = jax.devices()
    if len(devices) < 2:
        pytest.skip("needs several devices")
    mesh = jax.sharding.Mesh(np.array(devices[:2]), ("data",))
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data"))
    batch = next(iter(jdata.DataLoader(jdata.TensorDataset(X, Y), batch_size=4, device=sharding)))
    assert all(array.sharding == sharding for array in batch)
    np.testing.assert_array_equal(np.asarray(batch[0]), X[:4])
