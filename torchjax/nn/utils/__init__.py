"""``torchjax.nn.utils``: helpers around modules (gradient clipping, vectorising parameters, ...)."""
