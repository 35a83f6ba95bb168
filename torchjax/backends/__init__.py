"""``torchjax.backends``: torch.backends' switches, kept as settable flags that change nothing.

XLA chooses kernels itself, so these flags are no-ops here; they exist so model code that sets them runs.
The JAX knobs that do what they ask for: float32 matmul precision (``allow_tf32``) is
``jax.config.update('jax_default_matmul_precision', 'highest' | 'tensorfloat32' | 'bfloat16')``;
deterministic GPU kernels (``cudnn.deterministic``) are ``XLA_FLAGS=--xla_gpu_deterministic_ops=true``;
autotuning (``cudnn.benchmark``) is ``XLA_FLAGS=--xla_gpu_autotune_level=N``.
"""

from . import cpu, cuda, cudnn, mkldnn, mps, opt_einsum

__all__ = ["cpu", "cuda", "cudnn", "mkldnn", "mps", "opt_einsum"]
