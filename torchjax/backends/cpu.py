"""``torchjax.backends.cpu``."""


def get_cpu_capability() -> str:
    """'DEFAULT': XLA picks the CPU's vector instructions itself."""
    return "DEFAULT"
