"""``torchjax.nn.functional``: the layers as pure functions of arrays (``import ... as F``)."""

from .activation import *  # noqa: F403
from .activation import __all__ as _activation_all
from .attention import *  # noqa: F403
from .attention import __all__ as _attention_all
from .conv import *  # noqa: F403
from .conv import __all__ as _conv_all
from .distance import *  # noqa: F403
from .distance import __all__ as _distance_all
from .dropout import *  # noqa: F403
from .dropout import __all__ as _dropout_all
from .linear import bilinear, linear
from .loss import *  # noqa: F403
from .loss import __all__ as _loss_all
from .matmul import *  # noqa: F403
from .matmul import __all__ as _matmul_all
from .normalization import *  # noqa: F403
from .normalization import __all__ as _normalization_all
from .padding import *  # noqa: F403
from .padding import __all__ as _padding_all
from .pooling import *  # noqa: F403
from .pooling import __all__ as _pooling_all
from .sampling import *  # noqa: F403
from .sampling import __all__ as _sampling_all
from .sparse import *  # noqa: F403
from .sparse import __all__ as _sparse_all
from .upsampling import *  # noqa: F403
from .upsampling import __all__ as _upsampling_all
from .vision import *  # noqa: F403
from .vision import __all__ as _vision_all

__all__ = ["linear", "bilinear", *_loss_all, *_distance_all, *_activation_all, *_dropout_all, *_normalization_all,
           *_conv_all, *_pooling_all, *_attention_all, *_sparse_all, *_vision_all,
           *_padding_all, *_upsampling_all, *_sampling_all, *_matmul_all]

# The public functions take and return Tensors: each goes through the dispatch point once. Their array
# implementations (the submodules' functions) call one another directly, unwrapped.
from ..._tensor import function as _function  # noqa: E402
from .. import grad  # noqa: E402, F401 - torch.nn.functional.grad is torch.nn.grad (needs .conv loaded first)

for _name in __all__:
    if callable(globals()[_name]) and not isinstance(globals()[_name], type):
        globals()[_name] = _function(globals()[_name])
del _name
