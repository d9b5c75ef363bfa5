#!/usr/bin/env bash
# Installs dependencies from the lockfile when they are missing or older than the lockfile, so
# `npm run demo` and `npm test` work on a fresh clone without a separate install step.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing dependencies from package-lock.json"
  npm ci --no-audit --no-fund
fi
