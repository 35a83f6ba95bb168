"""The main-job demo: it learns, checkpoints, and a resumed run equals an uninterrupted one."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "train_digits.py"


@pytest.fixture(scope="module")
def demo():
    spec = importlib.util.spec_from_file_location("train_digits", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def weights(model):
    return {k: np.asarray(v) for k, v in model.state_dict().items()}


def test_resume_continues_exactly_as_an_uninterrupted_run(demo, tmp_path):
    straight = demo.train(epochs=3, out=tmp_path / "straight", progress=False)
    interrupted = demo.train(epochs=3, out=tmp_path / "resumed", stop_after=2, progress=False)
    assert len(interrupted["history"]) == 2
    resumed = demo.train(epochs=3, out=tmp_path / "resumed", resume=True, progress=False)
    assert resumed["history"] == straight["history"]
    a, b = weights(straight["model"]), weights(resumed["model"])
    assert list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)
    assert straight["accuracy"] > 0.85  # three epochs already learn most of it
