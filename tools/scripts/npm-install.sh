#!/usr/bin/env bash
# Installs the npm packages exactly as the lock file pins them. The lock records every platform's optional packages,
# so `npm ci` accepts it on any machine; install scripts run only for the packages package.json's allowScripts approves.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
npm ci --no-audit --no-fund
