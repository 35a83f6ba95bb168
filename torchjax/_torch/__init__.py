"""torch's top-level tensor functions, one file per family. Each op is declared once with
``torchjax._tensor.op`` (its promotion rule next to it), which also makes it a Tensor method."""

from .._tensor import bind_operators
from . import (  # noqa: F401 - importing a family registers its ops
    complex,
    creation,
    fft,
    indexing,
    linalg,
    misc,
    pointwise,
    random,
    reduction,
    shape,
)

bind_operators()
