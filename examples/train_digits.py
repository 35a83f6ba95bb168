"""Train a small CNN on the bundled 8x8 handwritten digits with torchjax: the main-job demo.

A PyTorch training loop, ported: ``nn.Module`` layers, ``Adam``, a ``StepLR`` schedule, a
shuffling ``DataLoader``, one ``torchjax.compile``d training step (forward, backward, optimizer
update in one XLA program), a progress bar with loss and throughput, test accuracy, a checkpoint
after every epoch that ``--resume`` continues from exactly as an uninterrupted run would, and a
loss-curve PNG.

    python examples/train_digits.py                      # train, evaluate, save runs/digits/
    python examples/train_digits.py --stop-after 5       # simulate an interruption after epoch 5
    python examples/train_digits.py --resume             # ... and continue from the checkpoint
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import torchjax
import torchjax.nn as nn
import torchjax.nn.functional as F
from torchjax.data import DataLoader, TensorDataset

DATA = Path(__file__).resolve().parent / "data" / "digits.npz"


class DigitsNet(nn.Module):
    """conv(1→32) → conv(32→64) → maxpool → dropout → linear(1024→128) → dropout → linear(128→10)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Dropout(0.25),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64 * 4 * 4, 128),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(128, 10),
        )

    def forward(self, x: jax.Array) -> jax.Array:
        return self.classifier(self.features(x))


def load_digits(seed: int = 0, test_fraction: float = 0.2):
    """Images scaled to [0, 1] as (N, 1, 8, 8) float32 and int32 labels, split train/test."""
    with np.load(DATA) as data:
        images = data["images"].astype(np.float32)[:, None] / 16.0
        labels = data["labels"].astype(np.int32)
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = int(len(labels) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return (images[train], labels[train]), (images[test], labels[test])


@torchjax.compile
def train_step(model, optimizer, images, labels):
    optimizer.zero_grad()
    loss = torchjax.backward(lambda m: F.cross_entropy(m(images), labels), model)
    optimizer.step()
    return loss


@torchjax.compile
def predict(model, images):
    return model(images).argmax(dim=1)


def evaluate(model: nn.Module, images: np.ndarray, labels: np.ndarray) -> float:
    model.eval()
    correct = int((np.asarray(predict(model, jnp.asarray(images))) == labels).sum())
    model.train()
    return correct / len(labels)


def train(epochs: int = 20, batch_size: int = 64, lr: float = 2e-3, seed: int = 0, out: Path = Path("runs/digits"),
          resume: bool = False, stop_after: int | None = None, progress: bool = True) -> dict:
    """Train (or continue training) and return the final state and metrics.

    Everything that decides the rest of the run is in the checkpoint: weights, optimizer and
    scheduler state, the default generator (dropout masks) and the loader's generator (shuffle
    order), the epoch and the loss history, so a resumed run retraces the uninterrupted one.
    """
    from tqdm import tqdm

    out.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out / "checkpoint.safetensors"
    (train_x, train_y), (test_x, test_y) = load_digits(seed)
    torchjax.manual_seed(seed)
    model = DigitsNet()
    optimizer = torchjax.optim.Adam(model.parameters(), lr=lr)
    scheduler = torchjax.optim.lr_scheduler.StepLR(optimizer, step_size=8, gamma=0.5)
    shuffle = torchjax.Generator().manual_seed(seed)
    loader = DataLoader(TensorDataset(train_x, train_y), batch_size=batch_size, shuffle=True, drop_last=True,
                        generator=shuffle)
    history: list[float] = []
    start_epoch = 0
    if resume:
        state = torchjax.load(checkpoint_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torchjax.set_rng_state(state["rng"])
        shuffle.set_state(state["shuffle"])
        history = [float(v) for v in state["history"]]
        start_epoch = int(state["epoch"])
    started = time.perf_counter()
    last = min(epochs, stop_after) if stop_after is not None else epochs
    for epoch in range(start_epoch, last):
        seen, epoch_start, losses = 0, time.perf_counter(), []
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{epochs}", leave=False, disable=not progress, mininterval=0.5)
        for step, (images, labels) in enumerate(bar):
            loss = train_step(model, optimizer, images, labels)
            losses.append(loss)
            seen += images.shape[0]
            if step % 5 == 0:  # reading the loss waits for the device: not on every step
                rate = seen / (time.perf_counter() - epoch_start)
                bar.set_postfix(loss=f"{float(loss):.4f}", samples_per_s=f"{rate:.0f}", refresh=False)
        scheduler.step()
        history.append(float(jnp.mean(jnp.stack(losses))))
        accuracy = evaluate(model, test_x, test_y)
        if progress:
            print(f"epoch {epoch + 1:2d}: loss {history[-1]:.4f}, test accuracy {accuracy:.4f}, "
                  f"{seen / (time.perf_counter() - epoch_start):.0f} samples/s")
        torchjax.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                       "scheduler": scheduler.state_dict(), "rng": torchjax.get_rng_state(),
                       "shuffle": shuffle.get_state(), "history": np.asarray(history, np.float64),
                       "epoch": epoch + 1}, checkpoint_path)
    accuracy = evaluate(model, test_x, test_y)
    return {"model": model, "accuracy": accuracy, "history": history, "seconds": time.perf_counter() - started,
            "checkpoint": checkpoint_path}


def plot(history: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=120)
    ax.plot(range(1, len(history) + 1), history, marker="o", markersize=3)
    ax.set(xlabel="epoch", ylabel="mean training loss", title="DigitsNet on 8x8 digits (torchjax)", yscale="log")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/digits"))
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.safetensors")
    parser.add_argument("--stop-after", type=int, default=None, help="stop after this epoch (simulated interruption)")
    args = parser.parse_args()
    result = train(args.epochs, args.batch_size, args.lr, args.seed, args.out, args.resume, args.stop_after)
    plot(result["history"], args.out / "loss.png")
    print(f"test accuracy {result['accuracy']:.4f} after {len(result['history'])} epochs "
          f"({result['seconds']:.1f} s); checkpoint {result['checkpoint']}, loss curve {args.out / 'loss.png'}")


if __name__ == "__main__":
    main()
