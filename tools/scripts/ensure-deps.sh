#!/usr/bin/env bash
# Installs dependencies from the lockfile when they are missing or older than the lockfile, so
# `npm run demo` and `npm test` work on a fresh clone without a separate install step.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing dependencies from package-lock.json"
  npm ci --no-audit --no-fund
fi

# The back office browser tests drive Debian's Chromium (apps/back-office/src/back-office.e2e.spec.ts);
# Playwright never downloads a browser of its own.
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium for the browser tests"
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  fi
fi
