#!/usr/bin/env bash
# One command: create the virtual environment, install, and run the main job against the
# embedded demo cluster (a simulated Proxmox VE served over HTTPS on 127.0.0.1).
# Usage: ./scripts/demo.sh [pve-backup-report options]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -e '.[pdf]' 2> >(grep -v 'WARNING: Location' >&2)
exec .venv/bin/pve-backup-report demo "$@"
