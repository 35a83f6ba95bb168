"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``, ``ParameterList``, ``ParameterDict``.

Follows ``torch.nn.modules.container`` 2.13 method for method, including its quirks (keys
re-numbered after deletion, ``Sequential + x`` raising ValueError, ``ParameterDict.update``
sorting plain dicts). Where torch wraps a plain tensor into a Parameter, a jax or NumPy array
becomes a :class:`~torchjax.nn.Parameter` here.
"""

from __future__ import annotations

import operator
import warnings
from collections import OrderedDict
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from itertools import chain, islice
from typing import TYPE_CHECKING, Any, TypeVar

import jax
import numpy as np

from ..._device import from_jax_device
from ..parameter import Buffer, Parameter, _unwrap, is_lazy
from .module import Module

if TYPE_CHECKING:  # typing.Self is Python >= 3.11; annotations are never evaluated at runtime here
    from typing import Self

__all__ = ["Container", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]

_V = TypeVar("_V")

# torch's legacy tensor-type names (what ``torch.typename`` prints) for dtypes whose name differs
# from the capitalised dtype name.
_TENSOR_TYPE_NAMES = {
    "float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16", "int64": "Long",
    "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
    "complex64": "ComplexFloat", "complex128": "ComplexDouble", "uint16": "UInt16", "uint32": "UInt32",
    "uint64": "UInt64",
}


def _addindent(s_: str, num_spaces: int) -> str:
    # torch's container.py keeps its own copy of _addindent that, unlike module.py's, also
    # indents blank lines; ModuleList's repr uses it, so this one does too.
    lines = s_.split("\n")
    if len(lines) == 1:
        return s_
    first = lines.pop(0)
    return first + "\n" + "\n".join((num_spaces * " ") + line for line in lines)


def _as_parameter(value: Any) -> Any:
    """What torch's ParameterList/ParameterDict store: arrays wrapped into a Parameter, the rest as is."""
    if isinstance(value, Buffer):
        return Parameter(value.data)
    if isinstance(value, jax.Array | np.ndarray):
        return Parameter(value)
    return value


def _is_array(value: Any) -> bool:
    return isinstance(value, jax.Array | np.ndarray | Parameter)


def _gpu_device(value: Any) -> str | None:
    """torch's device string (``cuda:0``) of an array on a GPU, None elsewhere."""
    data = _unwrap(value)
    if isinstance(data, np.ndarray):
        return None
    device = min(data.devices(), key=lambda d: d.id)
    return str(from_jax_device(device)) if device.platform == "gpu" else None


def _tensor_type_name(value: Any) -> str:
    """``torch.typename`` of the equivalent tensor, e.g. ``torch.FloatTensor``, ``torch.cuda.HalfTensor``."""
    name = np.dtype(value.dtype).name
    scalar = _TENSOR_TYPE_NAMES.get(name, name[:1].upper() + name[1:])
    prefix = "torch.cuda." if not is_lazy(value) and _gpu_device(value) is not None else "torch."
    return f"{prefix}{scalar}Tensor"


def _entries_repr(entries: Iterable[tuple[Any, Any]], type_str: Callable[[Any], str]) -> str:
    """ParameterList/ParameterDict's extra_repr, one line per entry formatted as torch does, e.g.
    ``  (0): Parameter containing: [torch.float32 of size 3x4]``; ``type_str`` names an array's type."""
    lines = []
    for key, value in entries:
        if is_lazy(value):  # torch shows an uninitialized parameter as its empty placeholder
            lines.append(f"  ({key}): Parameter containing: [{type_str(value)} of size 0]")
        elif _is_array(value):
            size_str = "x".join(str(size) for size in value.shape)
            device = _gpu_device(value)
            device_str = f" ({device})" if device is not None else ""
            kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
            lines.append(f"  ({key}): {kind} containing: [{type_str(value)} of size {size_str}{device_str}]")
        else:
            lines.append(f"  ({key}): Object of type: {type(value).__name__}")
    return "\n".join(lines)


def _abs_string_index(idx: Any, size: int) -> str:
    """The key ``str(i)`` of list position ``idx`` (negative counts from the end); IndexError if out of range."""
    idx = operator.index(idx)
    if not (-size <= idx < size):
        raise IndexError(f"index {idx} is out of range")
    if idx < 0:
        idx += size
    return str(idx)


def _renumbered(modules: Mapping[str, Module]) -> OrderedDict[str, Module]:
    """The modules keyed "0", "1", ... in their current order (after a deletion)."""
    return OrderedDict(zip((str(i) for i in range(len(modules))), modules.values(), strict=True))


def _check_factor(seq: Sequential, other: Any) -> None:
    """Sequential's ``*``: the factor must be a positive int."""
    if not isinstance(other, int):
        raise TypeError(f"unsupported operand type(s) for *: {type(seq)} and {type(other)}")
    if other <= 0:
        raise ValueError(f"Non-positive multiplication factor {other} for {type(seq)}")


class Container(Module):
    """Deprecated (as in torch): a Module whose keyword arguments become its submodules."""

    def __init__(self, **kwargs: Any) -> None:
        warnings.warn(
            "`nn.Container` is deprecated. All of its functionality is now implemented in `nn.Module`. "
            "Subclass that instead.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__()
        for key, value in kwargs.items():
            self.add_module(key, value)


class Sequential(Module):
    """Modules applied in order: ``forward`` feeds its input to the first, each output to the next.

    Arguments:
        *args: the modules, registered as "0", "1", ...; or a single ``OrderedDict`` of
            name -> module, registered under those names.
    """

    def __init__(self, *args: Module | OrderedDict[str, Module]) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for key, module in args[0].items():
                self.add_module(key, module)
        else:
            for idx, module in enumerate(args):
                self.add_module(str(idx), module)

    def _get_item_by_idx(self, iterator: Iterable[_V], idx: int) -> _V:
        """The ``idx``-th item of ``iterator`` (negative counts from the end)."""
        size = len(self)
        idx = operator.index(idx)
        if not -size <= idx < size:
            raise IndexError(f"index {idx} is out of range")
        idx %= size
        return next(islice(iterator, idx, None))

    def __getitem__(self, idx: slice | int) -> Sequential | Module:
        if isinstance(idx, slice):
            return self.__class__(OrderedDict(list(self._modules.items())[idx]))
        return self._get_item_by_idx(self._modules.values(), idx)

    def __setitem__(self, idx: int, module: Module) -> None:
        key: str = self._get_item_by_idx(self._modules.keys(), idx)
        return setattr(self, key, module)

    def __delitem__(self, idx: slice | int) -> None:
        if isinstance(idx, slice):
            for key in list(self._modules.keys())[idx]:
                delattr(self, key)
        else:
            key = self._get_item_by_idx(self._modules.keys(), idx)
            delattr(self, key)
        self._modules = _renumbered(self._modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __add__(self, other: Sequential) -> Sequential:
        if not isinstance(other, Sequential):
            raise ValueError(f"add operator supports only objects of Sequential class, but {type(other)} is given.")
        ret = Sequential()
        for layer in chain(self, other):
            ret.append(layer)
        return ret

    def pop(self, key: int | slice) -> Module:
        """Remove and return the module (or, for a slice, the Sequential) at ``key``."""
        v = self[key]
        del self[key]
        return v

    def __iadd__(self, other: Sequential) -> Self:
        if not isinstance(other, Sequential):
            raise ValueError(f"add operator supports only objects of Sequential class, but {type(other)} is given.")
        offset = len(self)
        for i, module in enumerate(other):
            self.add_module(str(i + offset), module)
        return self

    def __mul__(self, other: int) -> Sequential:
        _check_factor(self, other)
        combined = Sequential()
        for offset, module in enumerate(chain.from_iterable([self] * other)):
            combined.add_module(str(offset), module)
        return combined

    def __rmul__(self, other: int) -> Sequential:
        return self.__mul__(other)

    def __imul__(self, other: int) -> Self:
        _check_factor(self, other)
        len_original = len(self)
        offset = len_original
        for _ in range(other - 1):
            for i in range(len_original):
                self.add_module(str(i + offset), self._modules[str(i)])
            offset += len_original
        return self

    def __dir__(self) -> list[str]:
        return [key for key in super().__dir__() if not key.isdigit()]

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def forward(self, input: Any) -> Any:
        """Run the modules in order, each on the previous one's output."""
        for module in self:
            input = module(input)
        return input

    def append(self, module: Module) -> Self:
        """Append ``module`` at the end."""
        self.add_module(str(len(self)), module)
        return self

    def insert(self, index: int, module: Module) -> Self:
        """Insert ``module`` before position ``index`` (``-len <= index <= len``), shifting the later ones."""
        if not isinstance(module, Module):
            raise AssertionError(f"module should be of type: {Module}")
        n = len(self._modules)
        if not (-n <= index <= n):
            raise IndexError(f"Index out of range: {index}")
        if index < 0:
            index += n
        for i in range(n, index, -1):
            self._modules[str(i)] = self._modules[str(i - 1)]
        self._modules[str(index)] = module
        return self

    def extend(self, sequential: Iterable[Module]) -> Self:
        """Append every module of ``sequential`` (any iterable of modules)."""
        for layer in sequential:
            self.append(layer)
        return self


class ModuleList(Module):
    """Submodules held in a list, each registered (so ``parameters()``, ``to()`` ... see them).

    Arguments:
        modules: an optional iterable of modules to add.
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self += modules

    def __getitem__(self, idx: int | slice) -> Module | ModuleList:
        if isinstance(idx, slice):
            return self.__class__(list(self._modules.values())[idx])
        return self._modules[_abs_string_index(idx, len(self))]

    def __setitem__(self, idx: int, module: Module) -> None:
        return setattr(self, _abs_string_index(idx, len(self)), module)

    def __delitem__(self, idx: int | slice) -> None:
        if isinstance(idx, slice):
            for k in range(len(self._modules))[idx]:
                delattr(self, str(k))
        else:
            delattr(self, _abs_string_index(idx, len(self)))
        self._modules = _renumbered(self._modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __iadd__(self, modules: Iterable[Module]) -> Self:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        combined = ModuleList()
        for i, module in enumerate(chain(self, other)):
            combined.add_module(str(i), module)
        return combined

    def __repr__(self) -> str:
        """torch's compressed repr: runs of equal reprs print once, as ``(0-2): 3 x Linear(...)``."""
        list_of_reprs = [repr(item) for item in self]
        if not list_of_reprs:
            return self._get_name() + "()"
        start_end_indices = [[0, 0]]
        repeated_blocks = [list_of_reprs[0]]
        for i, r in enumerate(list_of_reprs[1:], 1):
            if r == repeated_blocks[-1]:
                start_end_indices[-1][1] += 1
            else:
                start_end_indices.append([i, i])
                repeated_blocks.append(r)
        lines = []
        for (start_id, end_id), block in zip(start_end_indices, repeated_blocks, strict=True):
            if start_id == end_id:
                local_repr = f"({start_id}): {block}"
            else:
                local_repr = f"({start_id}-{end_id}): {end_id - start_id + 1} x {block}"
            lines.append(_addindent(local_repr, 2))
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self) -> list[str]:
        return [key for key in super().__dir__() if not key.isdigit()]

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index`` (no checks, exactly as torch)."""
        for i in range(len(self._modules), index, -1):
            self._modules[str(i)] = self._modules[str(i - 1)]
        self._modules[str(index)] = module

    def append(self, module: Module) -> Self:
        """Append ``module`` at the end."""
        self.add_module(str(len(self)), module)
        return self

    def pop(self, key: int | slice) -> Module | ModuleList:
        """Remove and return the module (or, for a slice, the ModuleList) at ``key``."""
        v = self[key]
        del self[key]
        return v

    def extend(self, modules: Iterable[Module]) -> Self:
        """Append the modules of the iterable ``modules``."""
        if not isinstance(modules, Iterable):
            raise TypeError(f"ModuleList.extend should be called with an iterable, but got {type(modules).__name__}")
        offset = len(self)
        for i, module in enumerate(modules):
            self.add_module(str(offset + i), module)
        return self


class ModuleDict(Module):
    """Submodules held in an ordered dict, each registered under its key.

    Arguments:
        modules: an optional mapping name -> module, or an iterable of ``(name, module)`` pairs.
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def clear(self) -> None:
        """Remove every module."""
        self._modules.clear()

    def pop(self, key: str) -> Module:
        """Remove the module under ``key`` and return it."""
        v = self[key]
        del self[key]
        return v

    def keys(self) -> KeysView[str]:
        """The names, in order."""
        return self._modules.keys()

    def items(self) -> ItemsView[str, Module]:
        """The ``(name, module)`` pairs, in order."""
        return self._modules.items()

    def values(self) -> ValuesView[Module]:
        """The modules, in order."""
        return self._modules.values()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add or overwrite entries from a mapping (its order kept) or an iterable of ``(name, module)`` pairs."""
        if not isinstance(modules, Iterable):
            raise TypeError(
                "ModuleDict.update should be called with an iterable of key/value pairs, but got "
                + type(modules).__name__
            )
        if isinstance(modules, OrderedDict | ModuleDict | Mapping):
            for key, module in modules.items():
                self[key] = module
        else:
            for j, m in enumerate(modules):
                if not isinstance(m, Iterable):
                    raise TypeError(f"ModuleDict update sequence element #{j} should be Iterable; is{type(m).__name__}")
                if not len(m) == 2:
                    raise ValueError(f"ModuleDict update sequence element #{j} has length {len(m)}; 2 is required")
                self[m[0]] = m[1]


class ParameterList(Module):
    """A list whose array entries are registered parameters named "0", "1", ...

    Arrays (jax/NumPy) are wrapped into a :class:`Parameter` when added; Parameters are kept as
    they are; other objects are stored as plain attributes (modules as submodules).

    Arguments:
        values: an optional iterable of entries to add.
    """

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        self._size = 0
        if values is not None:
            self += values

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            out = self.__class__()
            for i in range(*idx.indices(len(self))):
                out.append(self[i])
            return out
        return getattr(self, _abs_string_index(idx, len(self)))

    def __setitem__(self, idx: int, param: Any) -> None:
        # Every way of adding an entry ends here, so this is the one place that wraps arrays.
        return setattr(self, _abs_string_index(idx, len(self)), _as_parameter(param))

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Any]:
        return iter(self[i] for i in range(len(self)))

    def __iadd__(self, parameters: Iterable[Any]) -> Self:
        return self.extend(parameters)

    def __dir__(self) -> list[str]:
        return [key for key in super().__dir__() if not key.isdigit()]

    def append(self, value: Any) -> Self:
        """Append ``value`` (an array becomes a Parameter)."""
        new_idx = len(self)
        self._size += 1
        self[new_idx] = value
        return self

    def extend(self, values: Iterable[Any]) -> Self:
        """Append every entry of the iterable ``values`` (an array itself is refused, not unpacked)."""
        if not isinstance(values, Iterable) or _is_array(values):
            raise TypeError(f"ParameterList.extend should be called with an iterable, but got {type(values).__name__}")
        for value in values:
            self.append(value)
        return self

    def extra_repr(self) -> str:
        """One line per entry: ``(0): Parameter containing: [torch.float32 of size 3x4]``."""
        return _entries_repr(enumerate(self), lambda p: f"torch.{np.dtype(p.dtype).name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("ParameterList should not be called.")


class ParameterDict(Module):
    """An ordered dict whose array entries are registered parameters named by their (string) keys.

    Arrays (jax/NumPy) are wrapped into a :class:`Parameter` when added; other values are stored
    as plain attributes (modules as submodules).

    Arguments:
        parameters: an optional mapping key -> value, or an iterable of ``(key, value)`` pairs.
            A plain dict is added in sorted key order; an OrderedDict, ParameterDict or iterable
            of pairs in its own order.
    """

    def __init__(self, parameters: Any = None) -> None:
        super().__init__()
        self._keys: dict[str, None] = {}
        if parameters is not None:
            self.update(parameters)

    def _key_to_attr(self, key: str) -> str:
        if not isinstance(key, str):
            raise TypeError(
                "Index given to ParameterDict cannot be used as a key as it is "
                f"not a string (type is '{type(key).__name__}'). Open an issue on "
                "github if you need non-string keys."
            )
        return key

    def __getitem__(self, key: str) -> Any:
        return getattr(self, self._key_to_attr(key))

    def __setitem__(self, key: str, value: Any) -> None:
        # Every way of adding an entry ends here, so this is the one place that wraps arrays.
        self._keys[key] = None
        setattr(self, self._key_to_attr(key), _as_parameter(value))

    def __delitem__(self, key: str) -> None:
        del self._keys[key]
        delattr(self, self._key_to_attr(key))

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __reversed__(self) -> Iterator[str]:
        return reversed(self._keys)

    def copy(self) -> ParameterDict:
        """A new ParameterDict holding the same entries (the same Parameter objects)."""
        return ParameterDict(OrderedDict((k, self[k]) for k in self._keys))

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def setdefault(self, key: str, default: Any | None = None) -> Any:
        """The value under ``key``, first setting it to ``default`` if absent."""
        if key not in self:
            self[key] = default
        return self[key]

    def clear(self) -> None:
        """Remove every entry."""
        for k in self._keys.copy():
            del self[k]

    def pop(self, key: str) -> Any:
        """Remove the entry under ``key`` and return its value."""
        v = self[key]
        del self[key]
        return v

    def popitem(self) -> tuple[str, Any]:
        """Remove and return the last inserted ``(key, value)`` pair."""
        k, _ = self._keys.popitem()
        self._keys[k] = None  # __getitem__ and __delitem__ need the key present
        val = self[k]
        del self[k]
        return k, val

    def get(self, key: str, default: Any | None = None) -> Any:
        """The value under ``key``, or ``default`` if absent."""
        return self[key] if key in self else default

    def fromkeys(self, keys: Iterable[str], default: Any | None = None) -> ParameterDict:
        """A new ParameterDict mapping every key of ``keys`` to ``default``."""
        return ParameterDict((k, default) for k in keys)

    def keys(self) -> KeysView[str]:
        """The keys, in order."""
        return self._keys.keys()

    def items(self) -> Iterator[tuple[str, Any]]:
        """The ``(key, value)`` pairs, in order."""
        return ((k, self[k]) for k in self._keys)

    def values(self) -> Iterator[Any]:
        """The values, in order."""
        return (self[k] for k in self._keys)

    def update(self, parameters: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        """Add or overwrite entries from a mapping or an iterable of ``(key, value)`` pairs.

        A plain (unordered) mapping is added in sorted key order, as in torch.
        """
        if not isinstance(parameters, Iterable):
            raise TypeError(
                "ParametersDict.update should be called with an iterable of key/value pairs, but got "
                + type(parameters).__name__
            )
        if isinstance(parameters, OrderedDict | ParameterDict):
            for key, parameter in parameters.items():
                self[key] = parameter
        elif isinstance(parameters, Mapping):
            for key, parameter in sorted(parameters.items()):
                self[key] = parameter
        else:
            for j, p in enumerate(parameters):
                if not isinstance(p, Iterable):
                    raise TypeError(
                        f"ParameterDict update sequence element #{j} should be Iterable; is{type(p).__name__}"
                    )
                if not len(p) == 2:
                    raise ValueError(f"ParameterDict update sequence element #{j} has length {len(p)}; 2 is required")
                self[p[0]] = p[1]

    def extra_repr(self) -> str:
        """One line per entry: ``(key): Parameter containing: [torch.FloatTensor of size 3x4]``."""
        return _entries_repr(self.items(), _tensor_type_name)

    def __call__(self, input: Any) -> Any:
        raise RuntimeError("ParameterDict should not be called.")

    def __or__(self, other: ParameterDict) -> ParameterDict:
        copy = self.copy()
        copy.update(other)
        return copy

    def __ror__(self, other: ParameterDict) -> ParameterDict:
        copy = other.copy()
        copy.update(self)
        return copy

    def __ior__(self, other: ParameterDict) -> Self:
        self.update(other)
        return self
