#!/usr/bin/env bash
# Installs the npm packages from the lock file. `npm ci` first; when it rejects the lock only because the registry
# here does not serve some other-platform optional packages (npm leaves those out of the lock, then npm ci calls
# the lock out of sync: npm/cli#9846), fall back to `npm install`, which keeps every version the lock pins.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
log="$(mktemp)"
if npm ci --no-audit --no-fund 2>"$log"; then rm -f "$log"; exit 0; fi
if grep -q 'can only install packages when your package.json and package-lock.json' "$log"; then
  echo "[trellis] npm ci refused the lock file ($(grep -c 'Missing:' "$log") optional platform packages not recorded); installing with npm install, which keeps the locked versions" >&2
  rm -f "$log"
  npm install --no-audit --no-fund
  exit 0
fi
cat "$log" >&2; rm -f "$log"; exit 1
