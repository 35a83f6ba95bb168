"""torch's top-level spellings of ``torch.nn.functional`` ops (``torch.conv2d``, ``torch.batch_norm``,
``torch.dropout``, ``torch.lstm``, ...) against torch: their ATen signatures, values, dtypes, shapes, errors,
gradients, in-place spellings, and a compiled subset."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from parity import assert_same_result, check_op, check_op_gradients, raises_same

import torchjax as tj

RNG = np.random.default_rng(0)


def normal(*shape, seed=None) -> np.ndarray:
    rng = RNG if seed is None else np.random.default_rng(seed)
    return rng.standard_normal(shape).astype(np.float32)


X1, W1 = normal(2, 3, 8), normal(4, 3, 3)           # conv1d input and weight
X2, W2 = normal(2, 3, 6, 6), normal(4, 3, 3, 3)     # conv2d
X3, W3 = normal(1, 2, 4, 4, 4), normal(3, 2, 2, 2, 2)
WT2 = normal(3, 2, 3, 3)                            # conv_transpose2d weight (in, out, k, k)
B4, C3 = normal(4), normal(3)
P = np.abs(normal(2, 3, 4)) + 0.1                   # positive values
PROB = 1 / (1 + np.exp(-normal(2, 3, 4)))            # in (0, 1)
TARGET = np.sign(normal(6)).astype(np.float32)      # +-1
IDX = np.array([[1, 4, 0], [3, 3, 9]], np.int64)
TABLE = normal(10, 5)
SEQ, H0, C0 = normal(5, 2, 3), normal(1, 2, 4), normal(1, 2, 4)
W_IH, W_HH, B_IH, B_HH = normal(4, 3), normal(4, 4), normal(4), normal(4)
G_IH, G_HH, G_B = normal(12, 3), normal(12, 4), normal(12)
L_IH, L_HH, L_B = normal(16, 3), normal(16, 4), normal(16)

CASES = [
    ("conv1d", lambda lib, x, w, b: lib.conv1d(x, w, b, 2, 1), X1, W1, B4),
    ("conv2d", lambda lib, x, w, b: lib.conv2d(x, w, b, stride=(1, 2), padding=1, dilation=1, groups=1), X2, W2, B4),
    ("conv2d_groups_error", lambda lib, x, w: lib.conv2d(x, w, groups=2), X2, W2),
    ("conv3d", lambda lib, x, w: lib.conv3d(x, w), X3, W3),
    ("conv_transpose1d", lambda lib, x, w: lib.conv_transpose1d(x, w.transpose(0, 1)[:, :3], stride=2), X1, W1),
    ("conv_transpose2d", lambda lib, x, w: lib.conv_transpose2d(x, w, None, 2, 1, 1), X2, WT2),
    ("conv_transpose3d", lambda lib, x, w: lib.conv_transpose3d(x, w.transpose(0, 1)), X3, W3),
    ("convolution", lambda lib, x, w: lib.convolution(x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1), X2, W2),
    ("convolution_transposed",
     lambda lib, x, w: lib.convolution(x, w, None, [2, 2], [0, 0], [1, 1], True, [1, 1], 1), X2, WT2),
    ("convolution_bad_weight", lambda lib, x, w: lib.convolution(x, w[0], None, [1], [0], [1], False, [0], 1), X2, W2),
    ("conv_tbc", lambda lib, x, w, b: lib.conv_tbc(x, w, b, 1), normal(5, 2, 3), normal(3, 3, 4), B4),
    ("avg_pool1d", lambda lib, x: lib.avg_pool1d(x, 3, 2, 1, True, False), X1),
    ("max_pool1d", lambda lib, x: lib.max_pool1d(x, 3, [], 1), X1),
    ("max_pool2d", lambda lib, x: lib.max_pool2d(x, 2, 1, 0, 2, True), X2),
    ("max_pool3d", lambda lib, x: lib.max_pool3d(x, 2), X3),
    ("max_pool1d_with_indices", lambda lib, x: lib.max_pool1d_with_indices(x, 2), X1),
    ("max_pool2d_bad_kernel", lambda lib, x: lib.max_pool2d(x, 0), X2),
    ("adaptive_avg_pool1d", lambda lib, x: lib.adaptive_avg_pool1d(x, 3), X1),
    ("adaptive_max_pool1d", lambda lib, x: lib.adaptive_max_pool1d(x, 3), X1),
    ("constant_pad_nd", lambda lib, x: lib.constant_pad_nd(x, [1, 2, -1, 0], 2.5), X2),
    ("pixel_shuffle", lambda lib, x: lib.pixel_shuffle(x, 2), normal(1, 8, 2, 3)),
    ("pixel_unshuffle", lambda lib, x: lib.pixel_unshuffle(x, 2), X2),
    ("channel_shuffle", lambda lib, x: lib.channel_shuffle(x, 2), normal(2, 4, 3)),
    ("native_channel_shuffle", lambda lib, x: lib.native_channel_shuffle(x, 2), normal(2, 4, 3)),
    ("affine_grid_generator", lambda lib, t: lib.affine_grid_generator(t, [2, 3, 4, 5], False), normal(2, 2, 3)),
    ("grid_sampler", lambda lib, x, g: lib.grid_sampler(x, g, 0, 1, False), X2, np.tanh(normal(2, 3, 4, 2))),
    ("grid_sampler_2d_nearest", lambda lib, x, g: lib.grid_sampler_2d(x, g, 1, 0, True), X2,
     np.tanh(normal(2, 3, 4, 2))),
    ("grid_sampler_3d", lambda lib, x, g: lib.grid_sampler_3d(x, g, 0, 0, False), X3, np.tanh(normal(1, 2, 2, 2, 3))),
    ("bilinear", lambda lib, a, b, w, c: lib.bilinear(a, b, w, c), normal(4, 3), normal(4, 2), normal(5, 3, 2),
     normal(5)),
    ("prelu", lambda lib, x, w: lib.prelu(x, w) + x.prelu(w * 2), X2, C3),
    ("hardshrink", lambda lib, x: lib.hardshrink(x, 0.7) + x.hardshrink(), X1),
    ("selu", lambda lib, x: lib.selu(x), X1),
    ("celu", lambda lib, x: lib.celu(x, 0.5), X1),
    ("threshold", lambda lib, x: lib.threshold(x, 0.2, -3.0), X1),
    ("rrelu_eval", lambda lib, x: lib.rrelu(x, 0.1, 0.3), X1),
    ("rrelu_bad_bounds", lambda lib, x: lib.rrelu(x, 0.5, 0.1), X1),
    ("cosine_similarity", lambda lib, a, b: lib.cosine_similarity(a, b, 0), normal(3, 4), normal(3, 4)),
    ("pairwise_distance", lambda lib, a, b: lib.pairwise_distance(a, b, 3.0, 1e-6, True), normal(3, 4),
     normal(3, 4)),
    ("pdist", lambda lib, a: lib.pdist(a, 1.5), normal(4, 3)),
    ("dropout_eval_is_input", lambda lib, x: lib.dropout(x, 0.3, False) is x, X1),
    ("dropout_p1", lambda lib, x: lib.dropout(x, 1.0, True), X1),
    ("dropout_bad_p", lambda lib, x: lib.dropout(x, 1.5, True), X1),
    ("alpha_dropout_eval", lambda lib, x: lib.alpha_dropout(x, 0.3, False), X1),
    ("feature_dropout_eval", lambda lib, x: lib.feature_dropout(x, 0.3, False), X1),
    ("feature_alpha_dropout_eval", lambda lib, x: lib.feature_alpha_dropout(x, 0.3, False), X1),
    ("native_dropout_eval", lambda lib, x: lib.native_dropout(x, 0.3, False), X1),
    ("batch_norm_eval", lambda lib, x, m, v, w, b: lib.batch_norm(x, w, b, m, v.abs(), False, 0.1, 1e-5, True),
     X2, C3, C3, C3, C3),
    ("batch_norm_no_running_in_eval", lambda lib, x: lib.batch_norm(x, None, None, None, None, False, 0.1, 1e-5, True),
     X2),
    ("native_batch_norm_train", lambda lib, x, w: lib.native_batch_norm(x, w, None, None, None, True, 0.1, 1e-5),
     X2, C3),
    ("native_batch_norm_eval",
     lambda lib, x, m, v: lib.native_batch_norm(x, None, None, m, v.abs(), False, 0.1, 1e-5), X2, C3, C3),
    ("instance_norm", lambda lib, x, w: lib.instance_norm(x, w, None, None, None, True, 0.1, 1e-5, False), X2, C3),
    ("layer_norm", lambda lib, x, w, b: lib.layer_norm(x, [6], w, b, 1e-3), X2, normal(6), normal(6)),
    ("layer_norm_bad_shape", lambda lib, x: lib.layer_norm(x, [5]), X2),
    ("native_layer_norm", lambda lib, x: lib.native_layer_norm(x, [6, 6], None, None, 1e-5), X2),
    ("group_norm", lambda lib, x, w: lib.group_norm(x, 3, w), normal(2, 6, 4), normal(6)),
    ("group_norm_bad_groups", lambda lib, x: lib.group_norm(x, 4), normal(2, 6, 4)),
    ("native_group_norm", lambda lib, x: lib.native_group_norm(x, None, None, 2, 6, 4, 3, 1e-5), normal(2, 6, 4)),
    ("rms_norm", lambda lib, x, w: lib.rms_norm(x, [6], w), X2, normal(6)),
    ("embedding", lambda lib, w, i: lib.embedding(w, i), TABLE, IDX),
    ("embedding_out_of_range", lambda lib, w, i: lib.embedding(w, i + 5), TABLE, IDX),
    ("embedding_bag_sum", lambda lib, w, i: lib.embedding_bag(w, i.flatten(), lib.tensor([0, 4, 4])), TABLE, IDX),
    ("embedding_bag_sum_padding_weights", lambda lib, w, i, p: lib.embedding_bag(
        w, i.flatten(), lib.tensor([0, 2]), False, 0, False, p, False, 4), TABLE, IDX, np.arange(6, dtype=np.float32)),
    ("embedding_bag_mean_last_offset", lambda lib, w, i: lib.embedding_bag(
        w, i.flatten(), lib.tensor([0, 1, 6]), False, 1, False, None, True), TABLE, IDX),
    ("embedding_bag_max_empty_bag", lambda lib, w, i: lib.embedding_bag(w, i.flatten(), lib.tensor([0, 2, 2]), False,
                                                                        2), TABLE, IDX),
    ("kl_div_default_none", lambda lib, x, y: lib.kl_div(x.log(), y), P, PROB),
    ("kl_div_mean", lambda lib, x, y: lib.kl_div(x.log(), y, 1), P, PROB),
    ("kl_div_none_log_target", lambda lib, x, y: lib.kl_div(x, y.log(), 0, log_target=True), P, PROB),
    ("bce_with_logits", lambda lib, x, y, w: lib.binary_cross_entropy_with_logits(x, y, None, w[0], 2), X1[0],
     PROB[0, :, :1].repeat(8, 1), normal(1, 8)),
    ("cosine_embedding_loss", lambda lib, a, b, t: lib.cosine_embedding_loss(a, b, t, 0.2, 0), normal(6, 3),
     normal(6, 3), TARGET),
    ("hinge_embedding_loss", lambda lib, x, t: lib.hinge_embedding_loss(x, t, 0.5), normal(6), TARGET),
    ("margin_ranking_loss", lambda lib, a, b, t: lib.margin_ranking_loss(a, b, t, 0.1, 2), normal(6), normal(6),
     TARGET),
    ("poisson_nll_loss", lambda lib, x, y: lib.poisson_nll_loss(x, y, False, True, 1e-8, 1), P, P),
    ("triplet_margin_loss", lambda lib, a, p, n: lib.triplet_margin_loss(a, p, n, 1.0, 2.0, 1e-6, True, 1),
     normal(4, 3), normal(4, 3), normal(4, 3)),
    ("ctc_loss_default_none", lambda lib, x: lib.ctc_loss(x.log_softmax(2), lib.tensor([[1, 2, 2], [3, 1, 0]]), [6, 5],
                                                          [3, 2]), normal(6, 2, 4)),
    ("ctc_loss_tensor_lengths_sum", lambda lib, x: lib.ctc_loss(
        x.log_softmax(2), lib.tensor([[1, 2], [3, 1]]), lib.tensor([6, 6]), lib.tensor([2, 1]), 0, 2), normal(6, 2, 4)),
    ("rnn_tanh_cell", lambda lib, x, h, a, b, c, d: lib.rnn_tanh_cell(x, h, a, b, c, d), normal(2, 3), normal(2, 4),
     W_IH, W_HH, B_IH, B_HH),
    ("rnn_relu_cell_no_bias", lambda lib, x, h, a, b: lib.rnn_relu_cell(x, h, a, b), normal(2, 3), normal(2, 4),
     W_IH, W_HH),
    ("gru_cell", lambda lib, x, h, a, b, c, d: lib.gru_cell(x, h, a, b, c, d), normal(2, 3), normal(2, 4), G_IH, G_HH,
     G_B, G_B),
    ("lstm_cell", lambda lib, x, h, c, a, b, d: lib.lstm_cell(x, [h, c], a, b, d, d), normal(2, 3), normal(2, 4),
     normal(2, 4), L_IH, L_HH, L_B),
    ("rnn_tanh", lambda lib, x, h, a, b, c, d: lib.rnn_tanh(x, h, [a, b, c, d], True, 1, 0.0, False, False, False),
     SEQ, H0, W_IH, W_HH, B_IH, B_HH),
    ("rnn_relu_batch_first", lambda lib, x, h, a, b: lib.rnn_relu(x.transpose(0, 1), h, [a, b], False, 1, 0.0, False,
                                                                  False, True), SEQ, H0, W_IH, W_HH),
    ("rnn_relu_hidden_batch_mismatch", lambda lib, x, h, a, b: lib.rnn_relu(x, h, [a, b], False, 1, 0.0, False, False,
                                                                            True), SEQ, H0, W_IH, W_HH),
    ("gru_bidirectional", lambda lib, x, h, a, b, c: lib.gru(x, h.repeat(2, 1, 1), [a, b, c, c, a * 2, b, c, c], True,
                                                             1, 0.0, True, True, False), SEQ, H0, G_IH, G_HH, G_B),
    ("lstm", lambda lib, x, h, c, a, b, d: lib.lstm(x, [h, c], [a, b, d, d], True, 1, 0.0, False, False, False), SEQ,
     H0, C0, L_IH, L_HH, L_B),
    ("lstm_unbatched", lambda lib, x, h, c, a, b: lib.lstm(x, [h, c], [a, b], False, 1, 0.0, False, False, False),
     SEQ[:, 0], H0[:, 0], C0[:, 0], L_IH, L_HH),
]


# These are thin calls into torchjax.nn.functional, whose eager path tests/nn covers: a value is checked in one
# compiled program (one XLA compilation, not one per primitive), eagerly as well for this subset, and every error
# eagerly (where torch raises, ours must raise the same type).
EAGER = {"conv2d", "convolution_transposed", "max_pool1d_with_indices", "native_layer_norm", "batch_norm_eval",
         "native_batch_norm_train", "embedding", "embedding_bag_max_empty_bag", "kl_div_mean", "lstm", "gru_cell",
         "dropout_eval_is_input", "native_dropout_eval", "ctc_loss_default_none", "rrelu_eval"}


@pytest.mark.parametrize("name, fn, arrays", [(c[0], c[1], c[2:]) for c in CASES], ids=[c[0] for c in CASES])
def test_values(name, fn, arrays):
    identity = name == "dropout_eval_is_input"  # a Python ``is``: meaningful eagerly only
    check_op(fn, *arrays, eager=name in EAGER, compiled=not identity, tol=1e-4)


def test_batch_norm_updates_the_running_statistics_in_place():
    def run(lib, instance=False):
        x = lib.tensor(X2)
        mean, var = lib.zeros(3), lib.ones(3)
        if instance:
            out = lib.instance_norm(x, None, None, mean, var, True, 0.3, 1e-5, False)
        else:
            out = lib.batch_norm(x, None, None, mean, var, True, 0.3, 1e-5, False)
        return out, mean, var

    for instance in (False, True):
        assert_same_result(run(tj, instance), run(torch, instance), 1e-5)


def test_dropout_in_training():
    tj.manual_seed(0)
    x = tj.ones(200, 5, 3)
    for name in ("dropout", "feature_dropout"):
        out = getattr(tj, name)(x, 0.25, True).numpy()
        assert np.all((out == 0) | np.isclose(out, 4 / 3))
        kept = (out != 0).mean()
        assert 0.65 < kept < 0.85, (name, kept)
        # feature_dropout draws once per (sample, channel): the last dim is all kept or all dropped.
        constant_rows = np.all(out.min(axis=2) == out.max(axis=2))
        assert constant_rows == (name == "feature_dropout"), name
    out, mask = tj.native_dropout(x, 0.25, True)
    assert mask.dtype == tj.bool and np.array_equal(out.numpy() != 0, mask.numpy())
    out = tj.alpha_dropout(x, 0.25, True).numpy()
    assert len(np.unique(out)) == 2  # the kept value and the dropped one, after the affine correction


INPLACE = [
    ("dropout_", lambda lib, x: lib.dropout_(x, 0.3, False)),
    ("feature_dropout_", lambda lib, x: lib.feature_dropout_(x, 0.0, True)),
    ("alpha_dropout_", lambda lib, x: lib.alpha_dropout_(x, 0.3, False)),
    ("feature_alpha_dropout_", lambda lib, x: lib.feature_alpha_dropout_(x, 0.3, False)),
    ("celu_", lambda lib, x: lib.celu_(x, 0.7)),
    ("selu_", lambda lib, x: lib.selu_(x)),
    ("threshold_", lambda lib, x: lib.threshold_(x, 0.1, 5.0)),
    ("rrelu_", lambda lib, x: lib.rrelu_(x)),
    ("embedding_renorm_", lambda lib, x: lib.embedding_renorm_(x, lib.tensor([0, 2, 2]), 1.0, 2.0)),
]


@pytest.mark.parametrize("fn", [c[1] for c in INPLACE], ids=[c[0] for c in INPLACE])
def test_inplace(fn):
    def run(lib):
        x = lib.tensor(normal(4, 3, seed=3) * 2)
        return x, fn(lib, x)

    (x_t, out_t), (x, out) = run(torch), run(tj)
    assert out_t is x_t and out is x
    assert_same_result(x, x_t, 1e-5)


def test_inplace_needs_a_tensor():
    raises_same(lambda: torch.selu_(normal(3)), lambda: tj.selu_(normal(3)))


GRADS = [
    ("conv2d", lambda lib, x, w: lib.conv2d(x, w, None, 1, 1), [X2, W2]),
    ("conv_transpose2d", lambda lib, x, w: lib.conv_transpose2d(x, w, None, 2), [X2, WT2]),
    ("layer_norm", lambda lib, x, w: lib.layer_norm(x, [6], w), [X2, normal(6)]),
    ("group_norm", lambda lib, x: lib.group_norm(x, 3), [normal(2, 6, 4)]),
    ("batch_norm", lambda lib, x, w: lib.batch_norm(x, w, None, None, None, True, 0.1, 1e-5, False), [X2, C3]),
    ("max_pool2d", lambda lib, x: lib.max_pool2d(x, 2), [X2]),
    ("avg_pool1d", lambda lib, x: lib.avg_pool1d(x, 3, 1), [X1]),
    ("prelu", lambda lib, x, w: lib.prelu(x, w), [X2, C3]),
    ("selu_celu", lambda lib, x: lib.selu(x) + lib.celu(x, 0.5), [X1]),
    ("kl_div", lambda lib, x, y: lib.kl_div(x, y, 1), [np.log(P), PROB]),
    ("cosine_similarity", lambda lib, a, b: lib.cosine_similarity(a, b), [normal(3, 4), normal(3, 4)]),
    ("pdist", lambda lib, a: lib.pdist(a), [normal(4, 3)]),
    ("bilinear", lambda lib, a, b, w: lib.bilinear(a, b, w), [normal(4, 3), normal(4, 2), normal(5, 3, 2)]),
    ("lstm", lambda lib, x, a, b: lib.lstm(x, [lib.zeros(1, 2, 4), lib.zeros(1, 2, 4)], [a, b], False, 1, 0.0, False,
                                           False, False)[0], [SEQ, L_IH, L_HH]),
    ("gru_cell", lambda lib, x, h, a, b: lib.gru_cell(x, h, a, b), [normal(2, 3), normal(2, 4), G_IH, G_HH]),
    ("embedding_bag", lambda lib, w: lib.embedding_bag(w, lib.tensor([1, 4, 4, 0, 9]), lib.tensor([0, 2]), False,
                                                       1)[0], [TABLE]),
]


def test_gradients():
    check_op_gradients(GRADS, rtol=1e-3, atol=1e-4)


def test_batch_norm_update_stats():
    def run(lib):
        mean, var = lib.zeros(3), lib.ones(3)
        return lib.batch_norm_update_stats(lib.tensor(X2), mean, var, 0.2), mean, var

    assert_same_result(run(tj), run(torch), 1e-5)


def test_sync_batch_norm_kernels_against_torchs_batch_norm():
    """SyncBatchNorm's sequence (torch runs these kernels on CUDA only): per-device statistics of two halves of a
    batch, their combination, the normalization, and the backward reductions, against torch's batch_norm on the
    whole batch and its autograd."""
    x, w, b = X2, C3, normal(3, seed=7)
    cotangent = normal(*X2.shape, seed=8)
    halves = [tj.tensor(x[:1]), tj.tensor(x[1:])]
    stats = [tj.batch_norm_stats(h, 1e-5) for h in halves]
    means, invstds = tj.stack([s[0] for s in stats]), tj.stack([s[1] for s in stats])
    running_mean, running_var = tj.zeros(3), tj.ones(3)
    counts = tj.tensor([x[:1].size // 3, x[1:].size // 3])
    mean, invstd = tj.batch_norm_gather_stats_with_counts(tj.tensor(x), means, invstds, running_mean, running_var,
                                                          0.1, 1e-5, counts)
    out = tj.batch_norm_elemt(tj.tensor(x), tj.tensor(w), tj.tensor(b), mean, invstd, 1e-5)
    sum_dy, sum_dy_xmu, grad_w, grad_b = tj.batch_norm_backward_reduce(
        tj.tensor(cotangent), tj.tensor(x), mean, invstd, tj.tensor(w), True, True, True)
    grad_x = tj.batch_norm_backward_elemt(tj.tensor(cotangent), tj.tensor(x), mean, invstd, tj.tensor(w), sum_dy,
                                          sum_dy_xmu, counts)

    x_t, w_t, b_t = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    rm_t, rv_t = torch.zeros(3), torch.ones(3)
    out_t, mean_t, invstd_t = torch.native_batch_norm(x_t, w_t, b_t, rm_t, rv_t, True, 0.1, 1e-5)
    (out_t * torch.tensor(cotangent)).sum().backward()
    for ours, theirs in ((mean, mean_t), (invstd, invstd_t), (running_mean, rm_t), (running_var, rv_t), (out, out_t),
                         (grad_w, w_t.grad), (grad_b, b_t.grad), (grad_x, x_t.grad)):
        assert_same_result(ours, theirs.detach(), 1e-4)
    equal_counts = tj.batch_norm_gather_stats(tj.tensor(x), means[:1].expand(2, 3), invstds[:1].expand(2, 3), None,
                                              None, 0.1, 1e-5, 3)
    for ours, expected in zip(equal_counts, stats[0], strict=True):  # two devices with the same statistics
        np.testing.assert_allclose(ours.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    assert tj.batch_norm_backward_reduce(tj.tensor(cotangent), tj.tensor(x), mean, invstd, None, False, True,
                                         False)[::3] == (None, None)
