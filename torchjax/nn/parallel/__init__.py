"""``torchjax.nn.parallel``: DataParallel and data_parallel.

JAX runs one controller over all devices: a computation runs where its inputs live, and a batch
sharded over devices (``jax.sharding``, ``jax.device_put``) is split by XLA. So DataParallel does not
scatter, replicate or gather: it runs the module, keeping torch's interface and ``module.`` state_dict
prefix so checkpoints and code written for torch's DataParallel work unchanged.
"""

from .data_parallel import DataParallel, data_parallel

__all__ = ["DataParallel", "data_parallel"]
