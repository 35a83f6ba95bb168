"""``torchjax.utils.data``: the path torch code imports data loading from (``torch.utils.data``)."""

from ..data import *  # noqa: F403
from ..data import __all__  # noqa: F401
