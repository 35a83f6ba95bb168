"""torchjax: PyTorch (``torch``, ``torch.nn``, ``torch.optim``) on JAX.

Port a model by changing ``import torch`` to ``import torchjax as torch`` (and ``torch.nn`` to
``torchjax.nn``): the same Tensor type and functions, classes, signatures, defaults, parameter
names, ``state_dict`` keys and hooks, on ``jax.Array`` underneath.
"""

from . import (  # noqa: E402
    _dtypes,
    data,
    func,
    nn,  # noqa: E402  (before _ops, which builds on nn.parameter)
    optim,
)
from ._device import device, get_default_dtype, set_default_dtype
from ._dtypes import (  # noqa: F401 - torch's dtype names
    bfloat16,
    cdouble,
    cfloat,
    complex64,
    complex128,
    double,
    float16,
    float32,
    float64,
    half,
    int8,
    int16,
    int32,
    int64,
    long,
    short,
    uint8,
)
from ._random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from .autograd import backward, enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled  # noqa: E402
from .compile import compile  # noqa: E402
from .serialization import CheckpointError, UnsafeCheckpointError, load, save  # noqa: E402

float = _dtypes.float  # noqa: A001 - torch.float
int = _dtypes.int  # noqa: A001 - torch.int
bool = _dtypes.bool  # noqa: A001 - torch.bool

# _torch registers torch's tensor functions (and Tensor methods) by family.
from . import _nn_ops, _torch, backends, cuda, fft, linalg  # noqa: E402, F401
from ._tensor import OPS as _OPS  # noqa: E402
from ._tensor import Size, Tensor, is_tensor, return_types  # noqa: E402
from ._torch.creation import as_tensor  # noqa: E402
from .utils import data as _utils_data  # noqa: E402, F401 - torch.utils.data after a bare `import torch`

__version__ = "0.1.0"

__all__ = [
    "CheckpointError", "Generator", "UnsafeCheckpointError", "backward", "bfloat16", "bool", "cdouble",
    "cfloat", "compile", "complex128", "complex64", "data", "default_generator", "device", "double", "empty",
    "enable_grad", "float", "float16", "float32", "float64", "func", "get_default_dtype",
    "get_rng_state", "half", "inference_mode", "initial_seed", "int", "int16", "int32", "int64", "int8",
    "is_grad_enabled", "load", "long", "manual_seed", "nn", "no_grad", "ones", "optim", "rand", "randn",
    "save", "seed", "set_default_dtype", "set_grad_enabled", "set_rng_state", "short", "tensor", "uint8", "zeros",
]

# torch's tensor functions (torchjax.add, torchjax.sum, ...): last, as some shadow builtins (abs, max, sum).
globals().update(_OPS)
__all__ += ["Size", "Tensor", "as_tensor", "backends", "cuda", "fft", "is_tensor", "linalg", "return_types", *_OPS]
