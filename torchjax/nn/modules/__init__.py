"""The layer classes, one file per family (mirrors ``torch.nn.modules``)."""

from . import activation, container, conv, dropout, flatten, linear, loss, module, pooling
from .activation import *  # noqa: F403
from .container import *  # noqa: F403
from .conv import *  # noqa: F403
from .dropout import *  # noqa: F403
from .flatten import *  # noqa: F403
from .linear import *  # noqa: F403
from .loss import *  # noqa: F403
from .module import Module
from .pooling import *  # noqa: F403

__all__ = [
    "Module",
    *activation.__all__,
    *container.__all__,
    *dropout.__all__,
    *flatten.__all__,
    *linear.__all__,
    *loss.__all__,
    *conv.__all__,
    *pooling.__all__,
]
