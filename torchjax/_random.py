"""Random number generation: torch's ``Generator`` / ``manual_seed`` API over JAX keys.

A :class:`Generator` holds one JAX PRNG key (raw ``uint32[2]`` key data, threefry) and hands out
fresh subkeys. Parameter initialisation draws from the default generator unless ``generator=``
is given; under ``torchjax.compile`` the key is threaded as state so every step gets new
randomness while reruns from the same seed are reproducible.
"""

from __future__ import annotations

import secrets

import jax
import numpy as np

from ._tensor import Tensor, unwrap, wrap

# torch's default seed, so ``initial_seed()`` reads the same before any manual_seed call.
_DEFAULT_SEED = 67280421310721
_SEED_MASK = (1 << 64) - 1


def _key_from_seed(seed: int) -> jax.Array:
    # threefry's 64-bit seeding: [high word, low word]. Built in NumPy so seeding is instant and
    # does not depend on jax_enable_x64 (jax.random.PRNGKey truncates large seeds without it).
    seed &= _SEED_MASK
    return jax.numpy.asarray(np.array([seed >> 32, seed & 0xFFFFFFFF], dtype=np.uint32))


class Generator:
    """A stream of random keys, like ``torch.Generator``.

    Arguments:
        device: accepted for signature compatibility; keys live wherever JAX puts them.
    """

    def __init__(self, device: str | None = "cpu") -> None:
        self.device = device
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed: int) -> Generator:
        """Reset the stream to ``seed``; returns ``self`` as torch does."""
        seed = int(seed)
        if seed < -(1 << 63) or seed > _SEED_MASK:
            raise RuntimeError(f"Overflow when unpacking long long: seed {seed} out of range")
        self._initial_seed = seed & _SEED_MASK
        self._key = _key_from_seed(seed)
        return self

    def seed(self) -> int:
        """Seed from a non-deterministic source and return the seed used."""
        seed = secrets.randbits(63)
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        return self._initial_seed

    def get_state(self) -> Tensor:
        """The current key data (a ``uint32[2]`` Tensor; torch's is a uint8 one); pass it to :meth:`set_state`
        to rewind."""
        return wrap(self._key)

    def set_state(self, new_state) -> Generator:
        state = jax.numpy.asarray(unwrap(new_state))
        if state.shape != (2,) or state.dtype != np.uint32:
            raise RuntimeError(
                f"Generator.set_state: expected a uint32 array of shape (2,), got {state.dtype} "
                f"of shape {tuple(state.shape)}"
            )
        self._key = state
        return self

    def next_key(self) -> jax.Array:
        """Advance the stream and return a fresh key for one draw."""
        key, subkey = jax.random.split(self._key)
        if isinstance(key, jax.core.Tracer) and not isinstance(self._key, jax.core.Tracer):
            raise RuntimeError(
                "A torchjax Generator was drawn from inside a JAX transformation (jax.jit, jax.grad, "
                "jax.vmap, ...) that does not thread its state, so its key would leak out of the trace. "
                "Use torchjax.compile / torchjax.func, which carry generator state, or draw from an "
                "explicit key with jax.random."
            )
        self._key = key
        return subkey

    def __repr__(self) -> str:
        return f"<torchjax.Generator object, initial_seed={self._initial_seed}>"


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator: all later initialisation and sampling become reproducible."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    default_generator.set_state(new_state)


def next_key(generator: Generator | None = None) -> jax.Array:
    """A fresh key from ``generator`` or, when None, from the default generator."""
    return (default_generator if generator is None else generator).next_key()
