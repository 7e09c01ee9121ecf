#!/usr/bin/env bash
# Fresh machine -> the main job: set up, then assess the bundled example patients.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/b2m demo "$@"
