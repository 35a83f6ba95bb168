"""``torchjax.backends.mps``: JAX has no Metal backend torchjax uses, so MPS is never available."""


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
