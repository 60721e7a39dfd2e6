#!/usr/bin/env bash
# Installs what the hub needs, then runs `hub demo` (simulated cameras, the hub, the console).
# Extra arguments go to `hub demo` (e.g. --cameras 4 --port 8081).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/hub demo "$@"
