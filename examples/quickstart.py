"""torchjax in one minute: a torch-style model on JAX arrays.

Builds an ``nn.Sequential``, prints it and its ``state_dict``, runs a forward, watches a layer with
a forward hook, and round-trips the weights through numpy into a fresh model.

Run: ``.venv/bin/python examples/quickstart.py``
"""

import jax
import jax.numpy as jnp
import numpy as np

import torchjax as tj
import torchjax.nn as nn


def build() -> nn.Sequential:
    return nn.Sequential(
        nn.Unflatten(1, (4, 8)),  # (batch, 32) -> (batch, 4, 8)
        nn.Linear(8, 16),  # applies to the last dimension, as in torch
        nn.Flatten(),  # (batch, 4, 16) -> (batch, 64)
        nn.Linear(64, 10),
    )


def main() -> None:
    tj.manual_seed(0)
    model = build()
    print(model)

    print("\nstate_dict:")
    for name, value in model.state_dict().items():
        print(f"  {name:10s} {tuple(value.shape)} {value.dtype}")
    n_params = sum(p.numel() for p in model.parameters())
    print(f"  {n_params} parameters")

    x = jnp.linspace(-1.0, 1.0, 2 * 32, dtype=jnp.float32).reshape(2, 32)
    y = model(x)
    print(f"\nforward: {tuple(x.shape)} -> {tuple(y.shape)}, a jax.Array: {isinstance(y, jax.Array)}")

    # A forward hook sees the layer's inputs and output; returning a value would replace the output.
    seen = []
    handle = model[1].register_forward_hook(lambda module, args, output: seen.append((module, output.shape)))
    model(x)
    handle.remove()
    model(x)
    print(f"hook on {seen[0][0]} saw output shape {tuple(seen[0][1])}; called {len(seen)} time(s)")

    # Save as numpy arrays, load into a freshly initialised model: identical outputs afterwards.
    saved = {name: np.asarray(value) for name, value in model.state_dict().items()}
    restored = build()
    before = float(jnp.abs(restored(x) - y).max())
    result = restored.load_state_dict(saved)
    after = float(jnp.abs(restored(x) - y).max())
    print(f"\nload_state_dict from numpy: {result}")
    print(f"max |restored(x) - model(x)|: {before:.4f} before loading, {after:.1e} after")
    assert after == 0.0


if __name__ == "__main__":
    main()
