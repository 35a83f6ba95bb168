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
    numerical,
    pointwise,
    random,
    reduction,
    shape,
)

# isort: split
# After the families: these build on their ops and Tensor methods.
from . import attributes, control_flow, method_functions, settings, signal  # noqa: F401, E402

bind_operators()
