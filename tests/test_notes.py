"""The user's notes (shared/seed/nn-module-notes.zh.md): their runnable examples, copied here as written, run
once with torch and once with ``torch`` replaced by ``torchjax``, and print what torch prints.

Random draws differ between the two libraries (torch's and JAX's generators), so printed numbers are masked
and only the text around them (reprs, shapes, dtypes, ``requires_grad``, ``grad_fn`` ...) is compared; where
an example prints deterministic values (``init_weights`` fills ones) the numbers are compared too.
"""

from __future__ import annotations

import contextlib
import io
import re
import textwrap

import pytest
import torch

import torchjax

INIT_WEIGHTS = """
@torch.no_grad()
def init_weights(m):
    print(m)
    if type(m) == nn.Linear:
        m.weight.fill_(1.0)
        print(m.weight)

net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
net.apply(init_weights)
"""

MAX_UNPOOL = """
x = torch.randn(1, 1, 4, 4)
pool = nn.MaxPool2d(2, return_indices=True)
y, ind = pool(x)
unpool = nn.MaxUnpool2d(2, 2)
y_unpool = unpool(y, ind)
print("原始数据：", x)
print("池化后数据：", y)
print("恢复后数据：", y_unpool)
"""

DECODER_LAYER = """
decoder_layer = nn.TransformerDecoderLayer(d_model=512, nhead=8, batch_first=True)
memory = torch.rand(32, 10, 512)
tgt = torch.rand(32, 20, 512)
out = decoder_layer(tgt, memory)
print(out.shape)
"""

DECODER = """
decoder_layer = nn.TransformerDecoderLayer(d_model=512, nhead=8)
transformer_decoder = nn.TransformerDecoder(decoder_layer, num_layers=6)
memory = torch.rand(10, 32, 512)
tgt = torch.rand(20, 32, 512)
out = transformer_decoder(tgt, memory)
print(out.shape)
"""

EMBEDDING = """
embedding = nn.Embedding(num_embeddings=10, embedding_dim=3)
input_indices = torch.tensor([1, 2, 3, 4])
output = embedding(input_indices)
print(output)
"""

EMBEDDING_BAG = """
embedding_bag = nn.EmbeddingBag(num_embeddings=10, embedding_dim=3, mode='mean')
input_indices = torch.tensor([1, 2, 3, 4])
offsets = torch.tensor([0])
output = embedding_bag(input_indices, offsets)
print(output)
"""

STATE_DICT_PRE_HOOK = """
module = nn.Linear(2, 2)
calls = []
def state_dict_pre_hook(module, prefix, keep_vars):
    calls.append((prefix, keep_vars))
handle = module.register_state_dict_pre_hook(state_dict_pre_hook)
state_dict = module.state_dict()
handle.remove()
module.state_dict()
print(calls, list(state_dict))
"""

EXAMPLES = {
    "init_weights": (INIT_WEIGHTS, False),
    "max_unpool": (MAX_UNPOOL, True),
    "decoder_layer": (DECODER_LAYER, True),
    "decoder": (DECODER, True),
    "embedding": (EMBEDDING, True),
    "embedding_bag": (EMBEDDING_BAG, True),
    "state_dict_pre_hook": (STATE_DICT_PRE_HOOK, False),
}

_NUMBER = re.compile(r" *(-?\d+\.\d*(e[-+]\d+)?|-?\d+e[-+]\d+|-?inf|nan)")  # with its padding


def _run(source: str, lib) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(textwrap.dedent(source), {"torch": lib, "nn": lib.nn})  # noqa: S102 - the notes' own examples
    return out.getvalue()


def _normalise(text: str, mask_numbers: bool) -> str:
    text = text.replace("torchjax", "torch")
    return _NUMBER.sub(" #", text) if mask_numbers else text


# torch prints the grad_fn of an output computed from parameters; it arrives with torch-style autograd.
_GRAD_FN = pytest.mark.xfail(strict=True, reason="grad_fn in a tensor's repr: torch-style autograd (issue 13)")


@pytest.mark.parametrize("name", [pytest.param(n, marks=_GRAD_FN) if n in ("embedding", "embedding_bag") else n
                                  for n in EXAMPLES])
def test_notes_example_prints_what_torch_prints(name):
    source, random = EXAMPLES[name]
    torch.manual_seed(0)
    torchjax.manual_seed(0)
    theirs, ours = _run(source, torch), _run(source, torchjax)
    assert _normalise(ours, random) == _normalise(theirs, random)
