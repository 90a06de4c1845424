#!/usr/bin/env bash
# Both model families' benchmarks on one GPU, in under 8 minutes: random weights at full size,
# nothing downloaded. Needs the model server's Python (torch with CUDA, diffusers, torchao) and an
# 80 GB GPU for Qwen in bf16 (an H100 or A100 80 GB; on a smaller GPU Qwen's bf16 run fails with
# out-of-memory and its fp8 run still reports). Writes the figures to stdout and, when OUT is set, to
# $OUT/model-bench.txt.
#
#   PYTHON=.venv-model/bin/python bash scripts/benchmark_model_families_gpu.sh
#
# Qwen runs its few-step setting only (--steps 0: 40 steps with CFG would take minutes per image);
# each family has its own time budget so that one slow build cannot eat the other's.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python}"
out="${OUT:-}"
if ! "$python" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 2)'; then
    echo "benchmark_model_families_gpu: needs a CUDA GPU (torch.cuda.is_available() is False): nothing measured"
    exit 2
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
run() {
    local failed=0
    timeout 170 "$python" "$here/benchmark_model_server_gpu.py" --family flux2-klein-4b --runs 3 --warmup 1 || failed=1
    timeout 280 "$python" "$here/benchmark_model_server_gpu.py" --family qwen-image-edit-2511 --steps 0 --runs 2 --warmup 1 || failed=1
    return $failed
}
if [ -n "$out" ]; then
    mkdir -p "$out"
    run 2>&1 | tee "$out/model-bench.txt"
    exit "${PIPESTATUS[0]}"
fi
run
