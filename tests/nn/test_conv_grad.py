"""torchjax.nn.grad (also F.grad): convolution input and weight gradients equal torch.nn.grad's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from parity import assert_close, raises_same

import torchjax.nn as tnn
import torchjax.nn.functional as F

# (n, input shape, weight shape, stride, padding, dilation, groups); input sizes that a strided
# convolution maps to the same output (e.g. 9 and 10 with stride 2) are what input_size decides.
CASES = [
    (1, (2, 4, 9), (6, 2, 3), 2, 1, 1, 2),
    (1, (2, 4, 10), (6, 2, 3), 2, 1, 1, 2),
    (2, (2, 3, 7, 6), (4, 3, 3, 2), (2, 1), (1, 0), (1, 2), 1),
    (2, (1, 4, 6, 6), (4, 1, 3, 3), 1, 2, 2, 4),
    (3, (1, 2, 5, 4, 5), (2, 2, 2, 3, 2), (1, 2, 2), 1, 1, 1),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}d-{c[1]}")
def test_conv_input_and_weight_gradients_match_torch(case):
    n, x_shape, w_shape, stride, padding, dilation, groups = case
    rng = np.random.default_rng(sum(x_shape))
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    conv = getattr(torch.nn.functional, f"conv{n}d")
    out = conv(torch.tensor(x), torch.tensor(w), None, stride, padding, dilation, groups)
    g = rng.standard_normal(tuple(out.shape)).astype(np.float32)
    for namespace in (tnn.grad, F.grad):
        ours_input = getattr(namespace, f"conv{n}d_input")(x_shape, w, g, stride, padding, dilation, groups)
        ours_weight = getattr(namespace, f"conv{n}d_weight")(x, w_shape, g, stride, padding, dilation, groups)
        theirs_input = getattr(torch.nn.grad, f"conv{n}d_input")(x_shape, torch.tensor(w), torch.tensor(g), stride,
                                                                  padding, dilation, groups)
        theirs_weight = getattr(torch.nn.grad, f"conv{n}d_weight")(torch.tensor(x), w_shape, torch.tensor(g),
                                                                    stride, padding, dilation, groups)
        assert_close(ours_input, theirs_input, atol=1e-4)
        assert_close(ours_weight, theirs_weight, atol=1e-4)


def test_a_grad_output_of_the_wrong_shape_raises():
    x, w = np.ones((1, 2, 5, 5), np.float32), np.ones((3, 2, 3, 3), np.float32)
    g = np.ones((1, 3, 4, 4), np.float32)  # the convolution gives (1, 3, 3, 3)
    raises_same(lambda: torch.nn.grad.conv2d_weight(torch.tensor(x), w.shape, torch.tensor(g)),
                lambda: tnn.grad.conv2d_weight(x, w.shape, g))
