"""``torchjax.nn``: torch.nn's module system and layers on JAX arrays."""

from . import functional, init, parameter, utils
from .modules import *  # noqa: F403
from .modules import __all__ as _modules_all
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter

__all__ = [*_modules_all, "Buffer", "Parameter", "UninitializedBuffer", "UninitializedParameter",
           "functional", "init", "parameter", "utils"]
