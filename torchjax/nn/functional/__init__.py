"""``torchjax.nn.functional``: the layers as pure functions of arrays (``import ... as F``)."""

from .activation import log_softmax, relu, softmax
from .conv import *  # noqa: F403
from .conv import __all__ as _conv_all
from .dropout import dropout
from .linear import linear
from .loss import cross_entropy, nll_loss
from .pooling import *  # noqa: F403
from .pooling import __all__ as _pooling_all

__all__ = ["cross_entropy", "dropout", "linear", "log_softmax", "nll_loss", "relu", "softmax", *_conv_all, *_pooling_all]
