#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian machine with Python 3.11: a virtual environment in
# .venv with the CPU build of PyTorch installed *first*, so no dependency can pull a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q torch==2.13.0
python -m pip install -q -e ".[all]"
