"""``default_collate`` / ``default_convert``: torch's rules for turning samples into a batch.

Collation happens on the host in NumPy (``np.stack``; JAX arrays and Tensors are stacked where
they live), then every array in the result goes to the device with ``jax.device_put`` and comes back
as a :class:`~torchjax.Tensor`, as torch's batches are tensors. Dtypes follow JAX's defaults: Python
floats and float64 arrays become float32 and int64 becomes int32 unless ``jax_enable_x64`` is on.
"""

from __future__ import annotations

import collections.abc
import copy
import re
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._tensor import Tensor, unwrap, wrap

# NumPy dtype codes that default_collate refuses: bytes, strings and Python objects.
_np_str_obj_array_pattern = re.compile(r"[SaUO]")

default_collate_err_msg_format = (
    "default_collate: batch must contain arrays, numpy arrays, numbers, dicts or lists; found {}"
)


def _is_array(value: Any) -> bool:
    if isinstance(value, jax.Array | Tensor):
        return True
    return isinstance(value, (np.ndarray, np.generic)) and _np_str_obj_array_pattern.search(value.dtype.str) is None


def _rebuild(data: Any, items: collections.abc.Iterable, *, tuple_as_list: bool) -> Any:
    """A container of ``data``'s type holding ``items``, as torch's collate rebuilds one."""
    if isinstance(data, collections.abc.Mapping):
        items = dict(zip(data, items, strict=True))
        try:
            if isinstance(data, collections.abc.MutableMapping):
                clone = copy.copy(data)
                clone.update(items)
                return clone
            return type(data)(items)
        except TypeError:
            return items
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return type(data)(*items)
    if isinstance(data, tuple):
        return list(items) if tuple_as_list else tuple(items)
    try:
        if isinstance(data, collections.abc.MutableSequence):
            clone = copy.copy(data)
            for i, item in enumerate(items):
                clone[i] = item
            return clone
        return type(data)(list(items))
    except TypeError:
        return list(items)


def _is_container(data: Any) -> bool:
    return isinstance(data, (collections.abc.Mapping, collections.abc.Sequence)) and not isinstance(
        data, (str, bytes)
    )


def _map_arrays(fn: Callable[[Any], Any], data: Any, *, tuple_as_list: bool = False) -> Any:
    """``data`` with ``fn`` applied to every numeric array in it; containers keep their types."""
    if _is_array(data):
        return fn(data)
    if not _is_container(data):
        return data
    children = data.values() if isinstance(data, collections.abc.Mapping) else data
    return _rebuild(data, [_map_arrays(fn, child, tuple_as_list=tuple_as_list) for child in children],
                    tuple_as_list=tuple_as_list)


def _place(data: Any, target: Any = None, *, tuple_as_list: bool = False) -> Any:
    """Every array in ``data`` as a Tensor on ``target`` (a jax.Device, a Sharding, or None for the
    default; a Tensor already given is kept when ``target`` is None, as torch keeps a sample's tensors)."""
    return _map_arrays(lambda array: _tensor_on(array, target), data, tuple_as_list=tuple_as_list)


def _tensor_on(array: Any, target: Any) -> Tensor:
    if isinstance(array, Tensor) and target is None:
        return array
    return wrap(jax.device_put(unwrap(array), target))


def _collate_host(batch: list) -> Any:
    """torch's ``collate`` rules with NumPy stacking; arrays in the result are not yet on a device."""
    elem = batch[0]
    if isinstance(elem, jax.Array | Tensor):
        return jnp.stack([unwrap(sample) for sample in batch])
    if isinstance(elem, np.ndarray):
        if _np_str_obj_array_pattern.search(elem.dtype.str) is not None:
            raise TypeError(default_collate_err_msg_format.format(elem.dtype))
        return np.stack(batch)
    if isinstance(elem, (np.bool_, np.number, np.object_)):
        return _collate_host([np.asarray(sample) for sample in batch])
    if isinstance(elem, float):
        return np.asarray(batch, dtype=np.float64)
    if isinstance(elem, int):  # bool included: a batch of bools stays bool, as torch.tensor does
        return np.asarray(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild(elem, [_collate_host([sample[key] for sample in batch]) for key in elem],
                        tuple_as_list=True)
    if isinstance(elem, collections.abc.Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [_collate_host(list(samples)) for samples in zip(*batch, strict=True)]
        return _rebuild(elem, fields, tuple_as_list=True)
    raise TypeError(default_collate_err_msg_format.format(type(elem)))


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch, recursing into dicts, tuples and lists like torch.

    Arrays and NumPy arrays are stacked along a new first dimension, Python numbers become arrays,
    strings stay lists; a dict of samples becomes a dict of batches and a tuple (or list) of
    fields becomes a list (or list-like) of batches, as in torch. The arrays come back as
    Tensors on the default device.

    Arguments:
        batch: the samples, as the dataset returned them.
    """
    return _place(_collate_host(batch))


def default_convert(data: Any) -> Any:
    """Turn the arrays in one sample into Tensors (the ``batch_size=None`` collate).

    Tuples become lists and other containers keep their types, as in torch; numbers, strings
    and everything else pass through.
    """
    return _place(data, tuple_as_list=True)
