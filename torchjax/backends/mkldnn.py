"""``torchjax.backends.mkldnn``: a settable no-op flag (XLA's CPU backend does not use oneDNN switches)."""

enabled = True


def is_available() -> bool:
    return False
