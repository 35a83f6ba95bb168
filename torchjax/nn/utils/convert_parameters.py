"""``parameters_to_vector`` / ``vector_to_parameters``: a model's parameters as one flat vector and back."""

from __future__ import annotations

from collections.abc import Iterable

import jax
import jax.numpy as jnp
import numpy as np

from ..._device import _typename
from ..._tensor import Tensor, unwrap, wrap

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_same_devices(arrays: list[jax.Array]) -> None:
    """torch refuses parameters on different devices; so do we (traced values have no devices to compare)."""
    devices = {frozenset(a.devices()) for a in arrays
               if isinstance(a, jax.Array) and not isinstance(a, jax.core.Tracer)}
    if len(devices) > 1:
        raise TypeError("Found two parameters on different devices, this is currently not supported.")


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Flatten the parameters (any tensors, in iteration order) into one 1-d Tensor."""
    arrays = [unwrap(p) for p in parameters]
    _check_same_devices(arrays)
    if not arrays:
        raise ValueError("parameters_to_vector(): expected a non-empty list of parameters")
    return wrap(jnp.concatenate([jnp.ravel(a) for a in arrays]))


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Set the parameters (in iteration order) to consecutive slices of ``vec``, reshaped to theirs.

    Like torch's, the parameters take ``vec``'s dtype. Unlike torch's, it checks that ``vec`` is long
    enough before changing anything. ``vec`` may be a Tensor, a jax or a NumPy array.
    """
    vec = unwrap(vec)
    if isinstance(vec, np.ndarray):
        vec = jnp.asarray(vec)
    if not isinstance(vec, jax.Array):
        raise TypeError(f"expected torchjax.Tensor, but got: {_typename(vec)}")
    if vec.ndim != 1:
        raise RuntimeError(f"vector_to_parameters: expected a 1-d vector, got shape {tuple(vec.shape)}")
    params = list(parameters)
    _check_same_devices([unwrap(p) for p in params])
    sizes = [unwrap(p).size for p in params]
    if sum(sizes) > vec.shape[0]:
        raise RuntimeError(
            f"vector_to_parameters: the vector has {vec.shape[0]} elements, the parameters need {sum(sizes)}"
        )
    offset = 0
    for p, size in zip(params, sizes, strict=True):
        p._rebind(vec[offset:offset + size].reshape(unwrap(p).shape))  # in place: every holder sees it
        offset += size
