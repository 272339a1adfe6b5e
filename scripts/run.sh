#!/usr/bin/env bash
# `make run`: make sure .venv is ready, then hand over to the app itself
# (`serve` migrates, seeds demo data on first run and prints URL + login).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh
exec .venv/bin/sellerdesk serve "$@"
