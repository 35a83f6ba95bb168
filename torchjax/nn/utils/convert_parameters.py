"""``parameters_to_vector`` / ``vector_to_parameters``: a model's parameters as one flat vector and back."""

from __future__ import annotations

from collections.abc import Iterable

import jax
import jax.numpy as jnp

from ..._device import _typename
from ..parameter import Parameter

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_same_devices(params: list[Parameter]) -> None:
    """torch refuses parameters on different devices; so do we (traced values have no devices to compare)."""
    devices = {frozenset(p._data.devices()) for p in params if not isinstance(p._data, jax.core.Tracer)}
    if len(devices) > 1:
        raise TypeError("Found two parameters on different devices, this is currently not supported.")


def parameters_to_vector(parameters: Iterable[Parameter]) -> jax.Array:
    """Flatten the parameters (in iteration order) into one 1-d array."""
    params = list(parameters)
    _check_same_devices(params)
    if not params:
        raise ValueError("parameters_to_vector(): expected a non-empty list of parameters")
    return jnp.concatenate([jnp.ravel(p._data if isinstance(p, Parameter) else p) for p in params])


def vector_to_parameters(vec: jax.Array, parameters: Iterable[Parameter]) -> None:
    """Set the parameters (in iteration order) to consecutive slices of ``vec``, reshaped to theirs.

    Like torch's, the parameters take ``vec``'s dtype. Unlike torch's, it checks that ``vec`` is long
    enough before changing anything.
    """
    if isinstance(vec, Parameter):
        vec = vec._data
    if not isinstance(vec, jax.Array):
        raise TypeError(f"expected jax.Array, but got: {_typename(vec)}")
    if vec.ndim != 1:
        raise RuntimeError(f"vector_to_parameters: expected a 1-d vector, got shape {tuple(vec.shape)}")
    params = list(parameters)
    _check_same_devices(params)
    sizes = [p._data.size for p in params]
    if sum(sizes) > vec.shape[0]:
        raise RuntimeError(
            f"vector_to_parameters: the vector has {vec.shape[0]} elements, the parameters need {sum(sizes)}"
        )
    offset = 0
    for p, size in zip(params, sizes, strict=True):
        p._data = vec[offset:offset + size].reshape(p._data.shape)
        offset += size
