#!/usr/bin/env bash
# The GPU path in one short run, on a fresh machine with one NVIDIA GPU (H100/H200 class), package registries only,
# no weights: installs what it needs, then runs bench/gpu_check.py (sim XVR samples; 30 SFT steps of the real-size
# random-init Qwen3-VL-2B in bf16, padded and packed, with MFU and peak memory; 20 VLA steps of the GR00T-N1.5-size head
# on the backbone cut at layer 12; xvr_eval --adapter hf on 50 samples) and writes OUT/report.json.
#
#   bash bench/gpu_check.sh                 # on the GPU machine (about 8 minutes, most of it installing)
#   bash bench/gpu_check.sh --dry-run       # here, on the CPU: no installs, the same code at toy scale
#   bash bench/gpu_check.sh --out DIR       # default gpu_check_out
#
# Environment: XVR_GPU_VENV (default /tmp/xvr_gpu_venv) is where a fresh machine's packages go; XVR_SKIP_INSTALL=1
# reuses the current python as is. flash-attn is installed only if a prebuilt wheel exists for this python and torch
# (--only-binary: building it takes longer than the whole check); without it the flash setting is reported skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
DRY=0; OUT=gpu_check_out; PASS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1; PASS+=(--dry-run); shift;;
    --out) OUT="$2"; shift 2;;
    *) PASS+=("$1"); shift;;
  esac
done
export MUJOCO_GL=egl TOKENIZERS_PARALLELISM=false PIP_PROGRESS_BAR=off TQDM_DISABLE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
T0=$(date +%s)
stamp() { echo "[gpu_check +$(( $(date +%s) - T0 ))s] $*"; }

if [ "$DRY" = 1 ] || [ "${XVR_SKIP_INSTALL:-0}" = 1 ]; then
  PY=${PYTHON:-python3}
  stamp "using $($PY -c 'import sys; print(sys.executable)') without installing"
else
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || \
    { echo "gpu_check: nvidia-smi not found: is this a GPU machine? (--dry-run checks the path on the CPU)"; exit 2; }
  if command -v apt-get >/dev/null; then  # MuJoCo renders the sim samples offscreen through EGL
    stamp "apt: EGL libraries"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libegl1 libegl-mesa0 libgl1-mesa-dri \
      libgl1 >/dev/null) || echo "apt failed: sim rendering may fall back to random samples"
  fi
  VENV=${XVR_GPU_VENV:-/tmp/xvr_gpu_venv}
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  PY="$VENV/bin/python"
  stamp "pip: torch (CUDA build) and the project's train extra"
  "$PY" -m pip install -q -e ".[train,vla]" torch==2.13.0
  stamp "pip: optional kernels"
  "$PY" -m pip install -q liger-kernel || echo "liger-kernel not installed: the Liger setting is skipped"
  timeout 120 "$PY" -m pip install -q --only-binary :all: flash-attn || \
    echo "no flash-attn wheel: the flash setting is skipped"
  "$PY" -c "import torch; assert torch.cuda.is_available(), 'torch sees no CUDA device'
print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name())"
fi
stamp "checks"
set +e
"$PY" bench/gpu_check.py --out "$OUT" ${PASS[@]+"${PASS[@]}"}
RC=$?
stamp "done (exit $RC); report: $OUT/report.json"
exit $RC
