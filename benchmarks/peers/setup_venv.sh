#!/usr/bin/env bash
# Build the separate virtual environment for the peers benchmark (never the project's .venv).
# Peer packages are not graddoctor dependencies: they are installed here only. A peer that does not
# install is recorded by benchmarks/peers.py as "not installed" instead of failing the whole run.
set -uo pipefail
VENV=${PEERS_VENV:-.venv-peers}
SYSPY=${SYSPY:-python3}
test -x "$VENV/bin/python" || "$SYSPY" -m venv "$VENV"
PY="$VENV/bin/python"
"$PY" -m pip install -q --upgrade pip
# The CPU wheel of torch 2.13.0 lies on this machine's disk: install it first so no other torch is pulled.
"$PY" -m pip install -q torch==2.13.0 || exit 1
"$PY" -m pip install -q -e . || exit 1
for pkg in wandb tensorboard lightning backpack-for-pytorch cockpit-for-pytorch; do
  "$PY" -m pip install -q "$pkg" torch==2.13.0 || echo "peers: $pkg did not install (recorded as missing)"
done
# Cockpit imports pkg_resources (gone from setuptools >= 81).
"$PY" -m pip install -q "setuptools<81" || true
# backpack pulls torchvision from PyPI, whose compiled ops do not match the local CPU torch wheel
# ("operator torchvision::nms does not exist") and then break `import lightning`; no peer needs it here.
"$PY" -c "import torchvision" 2>/dev/null || "$PY" -m pip uninstall -y -q torchvision || true
touch "$VENV/.installed"
