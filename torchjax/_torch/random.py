"""torch's random sampling: ``rand``, ``randn``, ``randint``, ``randperm``, ``normal``, ``bernoulli``,
``multinomial``, ``poisson``, the ``*_like`` samplers and the in-place ``Tensor.uniform_`` / ``normal_`` /
``random_`` / ``bernoulli_`` / ``exponential_`` / ``geometric_`` / ``cauchy_`` / ``log_normal_`` (``nn.init``
draws with ``_uniform`` and ``_std_normal`` too: one implementation of each draw).

Every draw takes one key from ``generator`` or the default generator (``torchjax.manual_seed``), so
results are reproducible but never equal torch's bit streams; the distributions do. Eager draws run
NumPy's Philox seeded from that key on the host (no XLA compilation per new shape, as in
``torchjax.nn.init``); inside a trace (``torchjax.compile``, where the default generator's key is threaded
as state, so each call draws afresh) and for traced parameters they use ``jax.random``.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from .. import _promotion, _random
from .._device import get_default_dtype
from .._tensor import Tensor, _dtype_name, _new, op, tensor_arg, unwrap
from .creation import _export, _index, finish, resolve_dtype, size_arg

__all__ = ["bernoulli", "multinomial", "normal", "poisson", "rand", "rand_like", "randint", "randint_like", "randn",
           "randn_like", "randperm"]

_Tracer = jax.core.Tracer
_HALF = (np.dtype(np.float16), np.dtype(jnp.bfloat16))
_C_NAMES = {"int8": "signed char", "uint8": "unsigned char", "int16": "short", "int32": "int", "int64": "long",
            "bool": "bool"}


def _host_rng(key) -> np.random.Generator | None:
    """NumPy's Philox seeded from a concrete ``key``; None for a traced one (draw with jax.random then)."""
    if isinstance(key, _Tracer):
        return None
    high, low = (builtins.int(w) for w in np.asarray(key, dtype=np.uint32).reshape(-1)[:2])
    return np.random.Generator(np.random.Philox(key=(high << 32) | low))


def _draw(generator, host, device, *params):
    """``host(rng, *params)`` on NumPy values when everything is concrete, else ``device(key, *params)``."""
    key = (generator or _random.default_generator).next_key()
    params = [unwrap(p) for p in params]
    rng = _host_rng(key)
    if rng is None or any(isinstance(p, _Tracer) for p in params):
        return device(key, *params)
    return host(rng, *(np.asarray(p) if isinstance(p, jax.Array) else p for p in params))


def _real(dtype) -> np.dtype:
    """The dtype to sample a ``dtype`` tensor in: float32 for the half types, the component type for complex."""
    dtype = np.dtype(dtype)
    if dtype in _HALF:
        return np.dtype(np.float32)
    return np.dtype(np.float32 if dtype == np.complex64 else np.float64) if dtype.kind == "c" else dtype


def _continuous(shape, dtype, host, device, generator, *params):
    """A real or complex sample (complex: independent components) of ``shape``, as ``dtype``."""
    real = _real(dtype)
    full = (*shape, 2) if dtype.kind == "c" else shape
    out = _draw(generator, lambda rng, *p: host(rng, full, real, *p).astype(real),
                lambda key, *p: device(key, full, real, *p).astype(real), *params)
    if dtype.kind == "c":
        out = out[..., 0] + 1j * out[..., 1]
    return out.astype(dtype)


def _uniform(shape, dtype, generator, low=0.0, high=1.0):
    return _continuous(shape, dtype,
                       lambda rng, s, d: low + (high - low) * rng.random(s, dtype=d),
                       lambda key, s, d: jax.random.uniform(key, s, d, low, high), generator)


def _std_normal(shape, dtype, generator):
    # torch's complex normal has variance 1 split between the two components.
    scale = math.sqrt(0.5) if dtype.kind == "c" else 1.0
    return _continuous(shape, dtype, lambda rng, s, d: scale * rng.standard_normal(s, dtype=d),
                       lambda key, s, d: scale * jax.random.normal(key, s, d), generator)


def _normal(shape, dtype, generator, mean=0.0, std=1.0):
    """Draws from :math:`\\mathcal{N}(\\text{mean}, \\text{std}^2)` in ``dtype``; complex, as torch's ``normal_``:
    each component has mean ``mean`` and variance ``std**2 / 2``."""
    return (mean * (1 + 1j) if dtype.kind == "c" else mean) + std * _std_normal(shape, dtype, generator)


def _floating_only(dtype, kernel: str) -> None:
    if np.dtype(dtype).kind not in "fc":
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_dtype_name(dtype)}'")


def _no_complex(dtype, kernel: str) -> None:
    if np.dtype(dtype).kind == "c":
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_dtype_name(dtype)}'")


def _concrete(value) -> bool:
    return not isinstance(unwrap(value), _Tracer)


# --- rand, randn, randint, randperm and the *_like forms ---------------------------------------------
@_export
def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
         pin_memory: bool = False) -> Tensor:
    """``torch.rand``: uniform on [0, 1) (complex: both components)."""
    dtype = resolve_dtype(dtype, get_default_dtype(), "rand")
    shape = size_arg(size, "rand")
    _floating_only(dtype, "check_uniform_bounds")
    return finish(_uniform(shape, dtype, generator), device, requires_grad)


@_export
def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
          pin_memory: bool = False) -> Tensor:
    """``torch.randn``: standard normal (complex: variance 1 split over the components)."""
    dtype = resolve_dtype(dtype, get_default_dtype(), "randn")
    shape = size_arg(size, "randn")
    _floating_only(dtype, "normal_kernel_cpu")
    return finish(_std_normal(shape, dtype, generator), device, requires_grad)


def _int_bounds(low: int, high: int, dtype) -> None:
    """torch's checks of a [low, high) integer range against ``dtype``."""
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    dtype = np.dtype(dtype)
    if dtype.kind in "iub":
        lo, hi = (0, 1) if dtype.kind == "b" else (np.iinfo(dtype).min, np.iinfo(dtype).max)
        name = _C_NAMES.get(dtype.name, dtype.name)
        if not lo <= low <= hi:
            raise RuntimeError(f"from is out of bounds for {name}")
        if not lo <= high - 1 <= hi:
            raise RuntimeError(f"to - 1 is out of bounds for {name}")


def _integers(shape, low: int, high: int, dtype, generator):
    """Uniform integers in [low, high) of ``shape``, as ``dtype``."""
    def device(key):
        # jax.random.randint takes int32 bounds: shift a range that ends at 2**31 down by one.
        shift = 1 if high > np.iinfo(np.int32).max else 0
        return jax.random.randint(key, shape, low - shift, high - shift, np.int32) + shift

    return _draw(generator, lambda rng: rng.integers(low, high, shape), device).astype(dtype)


@_export
def randint(*args, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
            requires_grad: bool = False, pin_memory: bool = False, low=None, high=None) -> Tensor:
    """``torch.randint(high, size)`` / ``randint(low, high, size)``: uniform integers in [low, high)."""
    args = list(args)
    if size is None and args and not _is_number(args[-1]):
        size = args.pop()
    if high is None:
        if not args:
            raise TypeError("randint() missing required argument 'high'")
        high = args.pop()
    if low is None:
        low = args.pop() if args else 0
    if args or size is None:
        raise TypeError("randint() expects (high, size) or (low, high, size)")
    if not isinstance(size, Sequence) or isinstance(size, str):
        raise TypeError(f"randint(): argument 'size' must be tuple of ints, not {type(size).__name__}")
    shape = size_arg((size,), "randint")
    low, high = _index(low, "low", "randint"), _index(high, "high", "randint")
    dtype = resolve_dtype(dtype, _promotion.long_dtype(), "randint")
    _no_complex(dtype, "random_from_to")
    _int_bounds(low, high, dtype)
    return finish(_integers(shape, low, high, dtype, generator), device, requires_grad)


def _is_number(value) -> bool:
    return _promotion.is_scalar(value) or isinstance(unwrap(value), np.generic | jax.Array | np.ndarray) and \
        unwrap(value).ndim == 0


@_export
def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
             pin_memory: bool = False) -> Tensor:
    """``torch.randperm``: a random permutation of ``0 .. n-1``."""
    n = _index(n, "n", "randperm")
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    dtype = resolve_dtype(dtype, _promotion.long_dtype(), "randperm")
    if dtype.kind in "iu" and n - 1 > np.iinfo(dtype).max:
        raise RuntimeError(f"value cannot be converted to type {dtype}_t without overflow")
    values = _draw(generator, lambda rng: rng.permutation(n), lambda key: jax.random.permutation(key, n))
    return finish(values.astype(dtype), device, requires_grad)


def _like_input(input, name: str):
    return unwrap(tensor_arg(input, name))


@_export
def rand_like(input, *, generator=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    """``torch.rand_like``."""
    raw = _like_input(input, "rand_like")
    dtype = resolve_dtype(dtype, raw.dtype, "rand_like")
    _floating_only(dtype, "check_uniform_bounds")
    return finish(_uniform(raw.shape, dtype, generator), device, requires_grad, like=raw)


@_export
def randn_like(input, *, generator=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    """``torch.randn_like``."""
    raw = _like_input(input, "randn_like")
    dtype = resolve_dtype(dtype, raw.dtype, "randn_like")
    _floating_only(dtype, "normal_kernel_cpu")
    return finish(_std_normal(raw.shape, dtype, generator), device, requires_grad, like=raw)


@_export
def randint_like(input, low=0, high=None, *, generator=None, dtype=None, layout=None, device=None,
                 requires_grad: bool = False, memory_format=None) -> Tensor:
    """``torch.randint_like(input, high)`` / ``randint_like(input, low, high)``."""
    raw = _like_input(input, "randint_like")
    if high is None:
        low, high = 0, low
    low, high = _index(low, "low", "randint_like"), _index(high, "high", "randint_like")
    dtype = resolve_dtype(dtype, raw.dtype, "randint_like")
    _no_complex(dtype, "random_from_to")
    _int_bounds(low, high, dtype)
    return finish(_integers(raw.shape, low, high, dtype, generator), device, requires_grad, like=raw)


# --- normal, bernoulli, multinomial, poisson ----------------------------------------------------------
def _check_std(std) -> None:
    raw = unwrap(std)
    if isinstance(raw, jax.Array | np.ndarray):
        if _concrete(raw) and raw.size and bool(np.any(np.asarray(raw) < 0)):
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")


@_export
def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
           requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """``torch.normal``: (mean Tensor, std Tensor) broadcast together, (mean Tensor, std float),
    (mean float, std Tensor), or (mean float, std float, size)."""
    mean, std = (tensor_arg(v, "normal") if isinstance(v, jax.Array | np.ndarray) else v for v in (mean, std))
    tensors = [unwrap(v) for v in (mean, std) if isinstance(v, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal() received an invalid combination of arguments: (float mean, float std) needs "
                            "size")
        shape = size_arg((size,), "normal")
        dtype = resolve_dtype(dtype, get_default_dtype(), "normal")
    else:
        if size is not None:
            raise TypeError("normal(): size is only accepted with float mean and std")
        try:
            shape = tuple(np.broadcast_shapes(*(t.shape for t in tensors)))
        except ValueError:
            raise RuntimeError(f"The size of tensor a ({tensors[0].shape}) must match the size of tensor b "
                               f"({tensors[-1].shape}) at non-singleton dimension") from None
        dtype = np.dtype(tensors[0].dtype)
    _floating_only(dtype, "normal_kernel_cpu")
    _check_std(std)
    z = _std_normal(shape, _real(dtype) if dtype.kind == "f" else dtype, generator)
    # NumPy arithmetic for concrete values (no kernel per shape); jnp when anything is traced.
    mean, std = _host_value(mean), _host_value(std)
    return finish((mean + std * z).astype(dtype), device, requires_grad, like=tensors[0] if tensors else None)


def _host_value(value):
    raw = unwrap(value)
    return np.asarray(raw) if isinstance(raw, jax.Array) and not isinstance(raw, _Tracer) else raw


def _bernoulli(shape, p, dtype, generator):
    """0/1 draws of ``shape`` with probability ``p`` (a number or an array broadcasting to ``shape``), as ``dtype``."""
    compute = np.float32 if not isinstance(unwrap(p), jax.Array | np.ndarray) else _real(unwrap(p).dtype)

    def host(rng, p):
        return rng.random(shape, dtype=np.float64) < p

    def device(key, p):
        return jax.random.uniform(key, shape, compute) < p

    return _draw(generator, host, device, p).astype(dtype)


def _check_p(p) -> None:
    raw = unwrap(p)
    if isinstance(raw, jax.Array | np.ndarray):
        if _concrete(raw) and raw.size and not bool(np.all((np.asarray(raw) >= 0) & (np.asarray(raw) <= 1))):
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    elif not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")


@op(method=True)
def bernoulli(input, p=None, *, generator=None, out=None):
    """``torch.bernoulli``: 0/1 draws with probabilities ``input`` (or the number ``p``), in input's dtype."""
    dtype = np.dtype(input.dtype)
    _no_complex(dtype, "bernoulli_scalar_cpu_")
    if p is None:
        _floating_only(dtype, "bernoulli_tensor_cpu_p_")
        p = input
    _check_p(p)
    return finish(_bernoulli(input.shape, p, dtype, generator), like=input)


def _multinomial_checks(probs, num_samples: int, replacement: bool) -> None:
    if probs.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if np.dtype(probs.dtype).kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_dtype_name(probs.dtype)}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    categories = probs.shape[-1]
    if not replacement and num_samples > categories:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if categories > 2 ** 24:
        raise RuntimeError("number of categories cannot exceed 2^24")
    if _concrete(probs) and probs.size:
        values = np.asarray(probs, dtype=np.float64)
        if not np.all(np.isfinite(values) & (values >= 0)):
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        if np.any(values.reshape(-1, categories).sum(-1) <= 0):
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")


def _multinomial_host(rng, probs, num_samples: int, replacement: bool):
    probs = probs.astype(np.float64)
    if replacement:
        cdf = np.cumsum(probs, axis=-1)
        u = rng.random((probs.shape[0], num_samples)) * cdf[:, -1:]
        out = np.stack([np.searchsorted(c, row, side="right") for c, row in zip(cdf, u, strict=True)]) \
            if probs.shape[0] else np.zeros((0, num_samples), np.int64)
        return np.minimum(out, probs.shape[1] - 1)
    # Sampling without replacement as the top-k of Gumbel-perturbed log-probabilities (Gumbel-top-k).
    with np.errstate(divide="ignore"):
        keys = np.log(probs) + rng.gumbel(size=probs.shape)
    return np.argsort(-keys, axis=-1, kind="stable")[:, :num_samples]


def _multinomial_device(key, probs, num_samples: int, replacement: bool):
    logits = jnp.log(probs.astype(jnp.float32))
    if replacement:
        return jax.random.categorical(key, logits, axis=-1, shape=(num_samples, probs.shape[0])).T
    keys = logits + jax.random.gumbel(key, probs.shape, jnp.float32)
    return jax.lax.top_k(keys, num_samples)[1]


@op(method=True)
def multinomial(input, num_samples, replacement: bool = False, *, generator=None, out=None):
    """``torch.multinomial``: ``num_samples`` category indices per row of the 1-D / 2-D weights ``input``.

    Value checks (negative, non-finite or all-zero rows) need a concrete input; without replacement no
    index repeats (Gumbel-top-k, so indices come in sampling order).
    """
    num_samples = _index(num_samples, "num_samples", "multinomial")
    _multinomial_checks(input, num_samples, replacement)
    shape = (num_samples,) if input.ndim == 1 else (input.shape[0], num_samples)
    out = _draw(generator, lambda rng, p: _multinomial_host(rng, p.reshape(-1, p.shape[-1]), num_samples, replacement),
                lambda key, p: _multinomial_device(key, p.reshape(-1, p.shape[-1]), num_samples, replacement), input)
    return finish(out.astype(_promotion.long_dtype()).reshape(shape), like=input)


@op(method=False)
def poisson(input, generator=None):
    """``torch.poisson``: Poisson draws with rates ``input``, in input's dtype."""
    _floating_only(input.dtype, "poisson_cpu")
    if _concrete(input) and input.size and bool(np.any(np.asarray(input) < 0)):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    real = _real(input.dtype)
    out = _draw(generator, lambda rng, lam: rng.poisson(lam.astype(np.float64)),
                lambda key, lam: jax.random.poisson(key, lam.astype(real), lam.shape), input)
    return finish(out.astype(input.dtype), like=input)


@op(method=False)
def binomial(count, prob, generator=None):
    """``torch.binomial``: draws of the number of successes in ``count`` trials of probability ``prob`` (floating
    tensors of one dtype, broadcast), in that dtype."""
    if _promotion.category(count.dtype) != 2:
        raise ValueError(f"binomial only supports floating-point dtypes for count, got: {_dtype_name(count.dtype)}")
    if prob.dtype != count.dtype:
        raise RuntimeError(f"Found dtype {_dtype_name(prob.dtype)} but expected {_dtype_name(count.dtype)}")
    shape = jnp.broadcast_shapes(count.shape, prob.shape)
    real = _real(count.dtype)
    out = _draw(generator,
                lambda rng, n, p: rng.binomial(np.broadcast_to(n, shape).astype(np.int64), np.broadcast_to(p, shape)),
                lambda key, n, p: jax.random.binomial(key, n.astype(real), p.astype(real), shape), count, prob)
    return finish(out.astype(count.dtype), like=count)


# --- in-place samplers (Tensor methods) -------------------------------------------------------------
def _method(fn):
    setattr(Tensor, fn.__name__, fn)
    return fn


def _continuous_only(self, what: str) -> np.dtype:
    dtype = np.dtype(unwrap(self).dtype)
    if dtype.kind != "f":
        raise RuntimeError(f"{what} distribution is a continuous probability distribution. dtype must be a "
                           f"floating point but you specified {_dtype_name(dtype)}")
    return dtype


def _fill(self, value, name: str) -> Tensor:
    self._write(jnp.asarray(value) if isinstance(value, np.ndarray | np.generic) else value, name)
    return self


@_method
def random_(self, *args, generator=None, **kwargs) -> Tensor:
    """``Tensor.random_()`` (every integer the dtype holds exactly: ``[0, 2**mantissa]`` for floats),
    ``random_(to)`` and ``random_(from, to)`` (``[from, to)``; ``to=None``: up to the dtype's limit)."""
    bounds = {"to": args[0]} if len(args) == 1 else dict(zip(("from", "to"), args, strict=False))
    if len(args) > 2 or any(k not in ("from", "to") or k in bounds for k in kwargs):
        raise TypeError("random_() expects (), (to) or (from, to), optionally as keywords")
    bounds.update(kwargs)
    low, high = bounds.get("from", 0), bounds.get("to")
    data = unwrap(self)
    dtype = np.dtype(data.dtype)
    _no_complex(dtype, "random_kernel_cpu")
    low = _index(low, "from", "random_")
    if high is None:
        top = 1 if dtype.kind == "b" else np.iinfo(dtype).max if dtype.kind in "iu" else 2 ** (
            jnp.finfo(dtype).nmant + 1)
        high = top + 1
    else:
        high = _index(high, "to", "random_")
    _int_bounds(low, high, dtype)
    return _fill(self, _integers(data.shape, low, high, dtype, generator), "random_")


@_method
def bernoulli_(self, p=0.5, *, generator=None) -> Tensor:
    """``Tensor.bernoulli_``: 0/1 draws with probability ``p`` (a number or a tensor broadcasting to self)."""
    data = unwrap(self)
    _no_complex(data.dtype, "bernoulli_scalar_cpu_")
    _check_p(p)
    raw = unwrap(p)
    if isinstance(raw, jax.Array):
        _new(Tensor, raw).expand(data.shape)  # torch's RuntimeError when p does not broadcast to self
    return _fill(self, _bernoulli(data.shape, raw, data.dtype, generator), "bernoulli_")


@_method
def exponential_(self, lambd: float = 1.0, *, generator=None) -> Tensor:
    """``Tensor.exponential_``: exponential draws with rate ``lambd``."""
    dtype = _continuous_only(self, "Exponential")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    shape = unwrap(self).shape
    value = _continuous(shape, dtype, lambda rng, s, d: rng.exponential(1.0 / lambd, s),
                        lambda key, s, d: jax.random.exponential(key, s, d) / lambd, generator)
    return _fill(self, value, "exponential_")


@_method
def geometric_(self, p: float, *, generator=None) -> Tensor:
    """``Tensor.geometric_``: the number of Bernoulli(``p``) trials up to the first success (1, 2, ...)."""
    dtype = np.dtype(unwrap(self).dtype)
    if dtype.kind in "bc":
        raise NotImplementedError(f"\"geometric_cpu\" not implemented for '{_dtype_name(dtype)}'")
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p:g}")
    shape = unwrap(self).shape

    def device(key):
        u = jax.random.uniform(key, shape, jnp.float32, minval=jnp.finfo(jnp.float32).tiny)
        return jnp.ceil(jnp.log(u) / math.log1p(-p))

    value = _draw(generator, lambda rng: rng.geometric(p, shape), device)
    return _fill(self, value.astype(dtype), "geometric_")


@_method
def cauchy_(self, median: float = 0.0, sigma: float = 1.0, *, generator=None) -> Tensor:
    """``Tensor.cauchy_``: Cauchy draws with location ``median`` and scale ``sigma``."""
    dtype = _continuous_only(self, "Cauchy")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma:g}")
    shape = unwrap(self).shape
    value = _continuous(shape, dtype, lambda rng, s, d: median + sigma * rng.standard_cauchy(s),
                        lambda key, s, d: median + sigma * jax.random.cauchy(key, s, d), generator)
    return _fill(self, value, "cauchy_")


@_method
def log_normal_(self, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    """``Tensor.log_normal_``: ``exp`` of normal draws with ``mean`` and ``std``."""
    dtype = np.dtype(unwrap(self).dtype)
    _floating_only(dtype, "log_normal_cpu")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std:g}")
    shape = unwrap(self).shape
    value = _continuous(shape, dtype, lambda rng, s, d: np.exp(mean + std * rng.standard_normal(s, dtype=d)),
                        lambda key, s, d: jnp.exp(mean + std * jax.random.normal(key, s, d)), generator)
    return _fill(self, value, "log_normal_")


@_method
def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    """``Tensor.uniform_``: draws from :math:`\\mathcal{U}(a, b)` (complex: each component)."""
    data = unwrap(self)
    dtype = np.dtype(data.dtype)
    _floating_only(dtype, "check_uniform_bounds")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a:g} > to={b:g}")
    return _fill(self, _uniform(data.shape, dtype, generator, a, b), "uniform_")


@_method
def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """``Tensor.normal_``: draws from :math:`\\mathcal{N}(\\text{mean}, \\text{std}^2)` (complex: the variance split
    between the components)."""
    data = unwrap(self)
    dtype = np.dtype(data.dtype)
    _floating_only(dtype, "normal_kernel_cpu")
    _check_std(std)
    value = _normal(data.shape, _real(dtype) if dtype.kind == "f" else dtype, generator, mean, std)
    return _fill(self, value.astype(dtype), "normal_")
