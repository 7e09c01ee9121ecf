#!/usr/bin/env bash
# Fresh machine -> lint, types and the whole test suite (warnings are errors).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests benchmarks
.venv/bin/mypy
.venv/bin/lint-imports --no-logo --no-cache
.venv/bin/pytest --cov --cov-report=term:skip-covered "$@"
