"""``torchjax.nn``: torch.nn's module system and layers on JAX arrays."""

from . import attention, common_types, functional, grad, init, parallel, parameter, utils
from .modules import *  # noqa: F403
from .modules import __all__ as _modules_all
from .parallel import DataParallel
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter


def factory_kwargs(kwargs: dict | None) -> dict:
    """The ``device``/``dtype``/``memory_format`` keyword arguments in ``kwargs``, checked as torch does
    (a ``factory_kwargs`` entry supplies values whose names clash with the caller's own arguments)."""
    if kwargs is None:
        return {}
    simple_keys = {"device", "dtype", "memory_format"}
    expected_keys = simple_keys | {"factory_kwargs"}
    if not kwargs.keys() <= expected_keys:
        raise TypeError(f"unexpected kwargs {kwargs.keys() - expected_keys}")
    result = dict(kwargs.get("factory_kwargs", {}))
    for key in simple_keys:
        if key in kwargs:
            if key in result:
                raise TypeError(f"{key} specified twice, in **kwargs and in factory_kwargs")
            result[key] = kwargs[key]
    return result


__all__ = [*_modules_all, "DataParallel", "parallel", "Buffer", "Parameter", "UninitializedBuffer",
           "UninitializedParameter", "attention", "common_types", "grad", "factory_kwargs", "functional", "init",
           "parameter", "utils"]
