"""``torchjax.backends.opt_einsum``: settable no-op flags (``jnp.einsum`` always optimizes the contraction order)."""

enabled = True
strategy = "auto"


def is_available() -> bool:
    """True: ``jnp.einsum`` ships with its own opt_einsum."""
    return True
