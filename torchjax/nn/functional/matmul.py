"""Grouped and scaled matrix multiplies: ``F.grouped_mm`` and ``F.scaled_mm`` (with its ``ScalingType`` /
``SwizzleType`` enums).

``grouped_mm`` is the Mixture-of-Experts GEMM: groups of rows (or columns, or of the contraction dim)
delimited by int32 end offsets ``offs``, each multiplied by its own matrix. The ragged cases lower to
``lax.ragged_dot`` (rows of ``mat_a`` or, transposed, columns of ``mat_b``) or to a masked batched
matmul (ragged contraction), so the offsets may be traced. Products are accumulated in float32 and
rounded once, as torch's kernels. Where torch leaves memory uninitialized (output rows / columns past
``offs[-1]``, and their gradients) this gives zeros. torch's alignment checks on strides ("strides
should be multiple of 16 bytes") have no JAX counterpart and are not made.

``scaled_mm`` is torch's FP8 matmul with decoding scales. It follows torch's CPU implementation:
the recipes it runs are TensorWise x TensorWise (one float32 scale per operand) and RowWise x RowWise
(float32 scales of shape ``(M, 1)`` and ``(1, N)``) over float8 operands, computed as
``(a.float() * scale_a) @ (b.float() * scale_b) + bias`` in float32, then cast to ``output_dtype``. The
block-scaled recipes (BlockWise*, MX / NV FP4 and FP8, and scale swizzles) that only torch's CUDA
kernels run are refused with torch's CPU ``ValueError``.
"""

from __future__ import annotations

import enum

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..._device import scalar_type_name
from ..parameter import _unwrap

__all__ = ["ScalingType", "SwizzleType", "grouped_mm", "scaled_mm"]

_GROUPED_DTYPES = tuple(np.dtype(t) for t in (jnp.bfloat16, jnp.float32, jnp.float16))
_FLOAT8 = {"float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu"}
_FP8_OUTPUTS = {"float8_e4m3fn", "float8_e5m2"}


class ScalingType(enum.Enum):
    """How an operand of :func:`scaled_mm` was scaled (torch's ``F.ScalingType``, same values)."""

    TensorWise = 0
    RowWise = 1
    BlockWise1x16 = 2
    BlockWise1x32 = 3
    BlockWise1x128 = 4
    BlockWise128x128 = 5


class SwizzleType(enum.Enum):
    """The layout of a block-scale tensor (torch's ``F.SwizzleType``, same values)."""

    NO_SWIZZLE = 0
    SWIZZLE_32_4_4 = 1


def _array(value) -> jax.Array:
    return jnp.asarray(_unwrap(value))


# --- grouped_mm ----------------------------------------------------------------------------------
def _group_sizes(offs, length: int):
    """Group sizes from the end offsets, clamped to the sliced dim as torch's ``Tensor.slice``."""
    ends = jnp.clip(offs, 0, length)
    return jnp.diff(ends, prepend=jnp.zeros((1,), ends.dtype))


def grouped_mm(mat_a, mat_b, *, offs=None, bias=None, out_dtype=None) -> jax.Array:
    r"""A grouped matrix multiply, one matrix per group (the Mixture-of-Experts GEMM).

    Arguments:
        mat_a, mat_b: 2-D or 3-D, float32 / bfloat16 / float16. The cases, with ``G`` groups:

            * 2-D ``(M, K)`` x 3-D ``(G, K, N)``: rows of ``mat_a`` are grouped by ``offs``; output ``(M, N)``.
            * 3-D ``(G, M, K)`` x 2-D ``(K, N)``: columns of ``mat_b`` are grouped; output ``(M, N)``.
            * 2-D ``(M, K)`` x 2-D ``(K, N)``: the contraction dim is grouped; output ``(G, M, N)``.
            * 3-D ``(G, M, K)`` x 3-D ``(G, K, N)``: a batched matmul, without ``offs``; output ``(G, M, N)``.
        offs: int32 ``(G,)`` increasing end offsets of the groups along the grouped dim (required when
            an operand is 2-D). Elements past ``offs[-1]`` are ignored; their outputs are 0 here.
        bias: not supported (torch's error).
        out_dtype: must be ``mat_a``'s dtype (the default).
    """
    a, b = _array(mat_a), _array(mat_b)
    if np.dtype(a.dtype) not in _GROUPED_DTYPES:
        raise RuntimeError(f"Expected mat_a to be Float32, BFloat16 or Float16 matrix, got {scalar_type_name(a.dtype)}")
    if np.dtype(b.dtype) not in _GROUPED_DTYPES:
        raise RuntimeError(f"Expected mat_b to be Float32, BFloat16 or Float16 matrix, got {scalar_type_name(b.dtype)}")
    if a.ndim not in (2, 3):
        raise RuntimeError("mat_a has to be 2 or 3d")
    if b.ndim not in (2, 3):
        raise RuntimeError("mat_b has to be 2 or 3d")
    a_2d, b_2d = a.ndim == 2, b.ndim == 2
    if (not a_2d or not b_2d) and a.shape[-1] != b.shape[-2]:
        raise RuntimeError("contraction dimension of mat_a and mat_b must match")
    if (offs is not None) != (a_2d or b_2d):
        raise RuntimeError("Have to provide offsets if there is a 2d matrix, or no offset if both matrices are 3d")
    o = None
    if offs is not None:
        o = _array(offs)
        if o.ndim != 1:
            raise RuntimeError("offs has to be 1D")
        if o.dtype != jnp.int32:
            raise RuntimeError("Offsets have to be int32")
    if bias is not None:
        raise RuntimeError("Bias not supported yet")
    if out_dtype is not None and np.dtype(out_dtype) != a.dtype:
        raise RuntimeError("Grouped gemm output dtype must match `mat_a` dtype")
    if a_2d and not b_2d and o.shape[0] != b.shape[0]:
        raise RuntimeError("matrix batch sizes have to match")
    if not a_2d and b_2d and o.shape[0] != a.shape[0]:
        raise RuntimeError("matrix batch sizes have to match")
    if not a_2d and not b_2d and a.shape[0] != b.shape[0]:
        raise RuntimeError("batched dimension has to match")
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected mat1 and mat2 to have the same dtype, but got: {a.dtype} != {b.dtype}")
    return _grouped_mm(a, b, o)


@jax.jit
def _grouped_mm(a, b, offs):
    dtype, acc = a.dtype, jnp.float32
    if a.ndim == 3 and b.ndim == 3:
        out = jnp.matmul(a, b, preferred_element_type=acc)
    elif a.ndim == 2 and b.ndim == 3:  # groups of rows of a
        out = lax.ragged_dot(a, b, _group_sizes(offs, a.shape[0]), preferred_element_type=acc)
    elif a.ndim == 3:  # groups of columns of b: the transposed problem has groups of rows
        out = lax.ragged_dot(b.T, a.transpose(0, 2, 1), _group_sizes(offs, b.shape[1]), preferred_element_type=acc).T
    else:  # groups of the contraction dim: one masked matmul per group
        k = min(a.shape[1], b.shape[0])  # torch slices each operand; only the first offs[-1] elements count
        a, b = a[:, :k], b[:k]
        ends = jnp.clip(offs, 0, k)
        starts = jnp.concatenate([jnp.zeros((1,), ends.dtype), ends[:-1]])
        pos = jnp.arange(k)
        mask = (pos >= starts[:, None]) & (pos < ends[:, None])  # (G, K)
        out = jnp.matmul(jnp.where(mask[:, None, :], a[None], 0), b, preferred_element_type=acc)
    return out.astype(dtype)


# --- scaled_mm -----------------------------------------------------------------------------------
def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _recipe(scales, recipes, a_type, b_type, scales_b, recipes_b, kind: ScalingType) -> bool:
    """torch's ``check_tensorwise_recipe`` / ``check_rowwise_recipe``."""
    if a_type not in _FLOAT8 or b_type not in _FLOAT8:
        return False
    if len(scales) != 1 or len(recipes) != 1 or len(scales_b) != 1 or len(recipes_b) != 1:
        return False
    return (recipes[0] == kind.value and scales[0].dtype == jnp.float32 and recipes_b[0] == kind.value
            and scales_b[0].dtype == jnp.float32)


def scaled_mm(mat_a, mat_b, scale_a, scale_recipe_a, scale_b, scale_recipe_b, swizzle_a=None, swizzle_b=None,
              bias=None, output_dtype=jnp.dtype(jnp.bfloat16), contraction_dim=(), use_fast_accum=False) -> jax.Array:
    r"""A matmul of float8 operands with decoding scales: ``(a * scale_a) @ (b * scale_b) + bias``.

    Arguments:
        mat_a: ``(M, K)`` float8. mat_b: ``(K, N)`` float8.
        scale_a, scale_b: a float32 singleton each (``ScalingType.TensorWise``), or ``(M, 1)`` and
            ``(1, N)`` float32 (``ScalingType.RowWise``); or one-element lists of those.
        scale_recipe_a, scale_recipe_b: the :class:`ScalingType` of each (both the same).
        swizzle_a, swizzle_b: ``None`` or ``SwizzleType.NO_SWIZZLE`` (block scales' layout).
        bias: ``(N,)`` float32 / bfloat16 / float16, added in float32.
        output_dtype: the result's dtype (bfloat16 by default; ``None`` means ``mat_a``'s).
        contraction_dim: optional ``(dim_a, dim_b)`` of ``K``, checked only.
        use_fast_accum: ignored (a Hopper tensor-core option).

    The block-scaled recipes (only torch's CUDA kernels run them) raise torch's CPU ``ValueError``.
    """
    scales_a, scales_b = [_array(s) for s in _as_list(scale_a)], [_array(s) for s in _as_list(scale_b)]
    recipes_a = [r.value for r in _as_list(scale_recipe_a)]
    recipes_b = [r.value for r in _as_list(scale_recipe_b)]
    swizzles_a = [s.value for s in _as_list(swizzle_a)]
    swizzles_b = [s.value for s in _as_list(swizzle_b)]
    a, b = _array(mat_a), _array(mat_b)
    out_type = np.dtype(a.dtype if output_dtype is None else output_dtype)
    if a.ndim != 2:
        raise ValueError("mat_a must be a matrix")
    if b.ndim != 2:
        raise ValueError("mat_b must be a matrix")
    if a.shape[0] == 0 or a.shape[1] == 0 or b.shape[1] == 0:
        return jnp.zeros((a.shape[0], b.shape[1]), out_type)
    shapes = f"({a.shape[0]}x{a.shape[1]} and {b.shape[0]}x{b.shape[1]})"
    if len(contraction_dim) > 0:
        if len(contraction_dim) != 2:
            raise ValueError("contraction_dim must have exactly 2 elements")
        dim_a, dim_b = contraction_dim
        if a.shape[dim_a] != b.shape[dim_b]:
            raise ValueError(f"mat_a and mat_b shapes cannot be multiplied {shapes} with contraction dims mat_a: "
                             f"{dim_a}, mat_b: {dim_b}")
    elif a.shape[1] != b.shape[0]:
        raise ValueError(f"mat_a and mat_b shapes cannot be multiplied {shapes}")
    bias_ = None if bias is None else _array(bias)
    if bias_ is not None and bias_.size != b.shape[1]:
        raise ValueError(f"Bias must be size {b.shape[1]} but got {bias_.size}")
    if bias_ is not None and np.dtype(bias_.dtype) not in _GROUPED_DTYPES:
        raise ValueError(f"Bias must be Float32 or BFloat16 or Half, but got {scalar_type_name(bias_.dtype)}")
    # torch's CPU build checks the first swizzle of each operand, and only when both are given.
    if swizzles_a and swizzles_b and SwizzleType.NO_SWIZZLE.value not in {swizzles_a[0]} & {swizzles_b[0]}:
        raise ValueError("CPU does not support swizzle.")
    a_type, b_type = np.dtype(a.dtype).name, np.dtype(b.dtype).name
    if _recipe(scales_a, recipes_a, a_type, b_type, scales_b, recipes_b, ScalingType.TensorWise):
        tensorwise = True
    elif _recipe(scales_a, recipes_a, a_type, b_type, scales_b, recipes_b, ScalingType.RowWise):
        tensorwise = False
    else:
        sa, sb = scales_a[0] if scales_a else None, scales_b[0] if scales_b else None
        raise ValueError(
            "Invalid scaling configuration.\n"
            "- For TensorWise scaling, a and b should be float8, scales should be float and singletons.\n"
            f"- For RowWise scaling, a and b should be float8, scales should be float, scale_a should be "
            f"({a.shape[0]}, 1) and scale_b should be (1, {b.shape[1]}), and both should be contiguous.\n"
            f"Got mat_a.dtype()={scalar_type_name(a.dtype)}, "
            f"scale_a[0].dtype()={None if sa is None else scalar_type_name(sa.dtype)}, "
            f"scale_a[0].size()={None if sa is None else list(sa.shape)}, mat_b.dtype()={scalar_type_name(b.dtype)}, "
            f"scale_b[0].dtype()={None if sb is None else scalar_type_name(sb.dtype)}, "
            f"scale_b[0].size()={None if sb is None else list(sb.shape)}"
        )
    sa, sb = scales_a[0], scales_b[0]
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mat_a and mat_b shapes cannot be multiplied {shapes}")
    if tensorwise:
        if sa.size != 1:
            raise ValueError("scale_a must have 1 Float element")
        if sb.size != 1:
            raise ValueError("scale_b must have 1 Float element")
        sa, sb = sa.reshape(()), sb.reshape(())
    else:
        if sa.ndim != 2 or sa.shape[0] != a.shape[0] or sa.shape[1] != 1:
            raise ValueError(f"scale_a must have shape [{a.shape[0]}, 1], got [{list(sa.shape)}]")
        if sb.size != b.shape[1]:
            raise ValueError(f"scale_b must have {b.shape[1]} Float elements, got {sb.size}")
    return _scaled_mm(a, b, sa, sb, bias_, out_type=out_type)


def _scaled_mm_impl(a, b, scale_a, scale_b, bias, *, out_type):
    out = jnp.matmul(a.astype(jnp.float32) * scale_a, b.astype(jnp.float32) * scale_b,
                     precision=lax.Precision.HIGHEST)
    if bias is not None:
        out = out + bias.astype(jnp.float32)
    return out.astype(out_type)


_scaled_mm = jax.jit(_scaled_mm_impl, static_argnames=("out_type",))
