"""torch's dtype names (``torchjax.float32``, ``torchjax.long`` ...) as NumPy dtype objects.

Kept apart from the helpers because ``float``, ``int`` and ``bool`` shadow the builtins here.
"""

import jax.numpy as jnp

float16 = half = jnp.dtype(jnp.float16)
bfloat16 = jnp.dtype(jnp.bfloat16)
float32 = float = jnp.dtype(jnp.float32)
float64 = double = jnp.dtype(jnp.float64)
complex64 = cfloat = jnp.dtype(jnp.complex64)
complex128 = cdouble = jnp.dtype(jnp.complex128)
int8 = jnp.dtype(jnp.int8)
uint8 = jnp.dtype(jnp.uint8)
int16 = short = jnp.dtype(jnp.int16)
int32 = int = jnp.dtype(jnp.int32)
int64 = long = jnp.dtype(jnp.int64)
bool = jnp.dtype(jnp.bool_)  # noqa: A001 - torch.bool

uint16 = jnp.dtype(jnp.uint16)
uint32 = jnp.dtype(jnp.uint32)
uint64 = jnp.dtype(jnp.uint64)  # needs JAX's 64-bit mode to create, as int64 and float64 do
float8_e4m3fn = jnp.dtype(jnp.float8_e4m3fn)
float8_e4m3fnuz = jnp.dtype(jnp.float8_e4m3fnuz)
float8_e5m2 = jnp.dtype(jnp.float8_e5m2)
float8_e5m2fnuz = jnp.dtype(jnp.float8_e5m2fnuz)
float8_e8m0fnu = jnp.dtype(jnp.float8_e8m0fnu)
