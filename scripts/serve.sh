#!/usr/bin/env bash
# Fresh machine -> the clinical service with demo data: set up, then `b2m serve --demo` on the loopback address.
# Development mode (B2M_ENV=development): a random secret for this start; the embedded SQLite file lives in the
# user's data directory. Prints the demo accounts' one-time passwords and the address. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export B2M_ENV="${B2M_ENV:-development}"
exec .venv/bin/b2m serve --demo "$@"
