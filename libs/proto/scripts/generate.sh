#!/usr/bin/env bash
# Regenerates libs/proto/src/gen from libs/proto/proto with buf and the local ts-proto plugin (no network).
set -euo pipefail
lib="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$lib/../../node_modules/.bin:$PATH"
cd "$lib"
buf generate "$@"
