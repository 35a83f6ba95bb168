#!/usr/bin/env bash
# GPT-2 small (12 layers, d=768, 12 heads, T=1024, batch 8, vocabulary 50304) training step in
# bfloat16 on one NVIDIA GPU: torchjax.compile against hand-written jax.jit, torch eager and
# torch.compile, side by side in one process (benchmarks/transformer.py), printed as ratios.
# Goal: torchjax / hand-written <= 1.05.
#
# Uses the machine's python3 as it is (jax with CUDA, torch, optax; flax is not needed) and
# installs nothing: torchjax runs from this checkout.
#
#   benchmarks/gpu.sh                   # GPT-2 small, bfloat16, on the GPU
#   benchmarks/gpu.sh --no-torch-compile -R 3 -N 10   # extra arguments go to transformer.py
#   PYTHON=.venv/bin/python benchmarks/gpu.sh --tiny  # check this script on a CPU: tiny model
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
cd "$repo"

if [[ "${1:-}" == "--tiny" ]]; then
  shift
  export JAX_PLATFORMS=cpu
  args=(--preset tiny --dtype bfloat16 --device cpu -R 2 -N 3)
else
  if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  fi
  "$python" - <<'PY'
import sys

import jax
import torch

if jax.default_backend() != "gpu" or not torch.cuda.is_available():
    sys.exit(f"need a GPU visible to both frameworks: jax backend {jax.default_backend()!r}, "
             f"torch.cuda.is_available() = {torch.cuda.is_available()}")
PY
  # JAX and torch share the GPU in one process: keep JAX from preallocating 75% of the memory.
  export XLA_PYTHON_CLIENT_MEM_FRACTION="${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.45}"
  args=(--preset gpt2-small --dtype bfloat16 --device cuda -R 5 -N 20)
fi

exec "$python" benchmarks/transformer.py "${args[@]}" "$@"
