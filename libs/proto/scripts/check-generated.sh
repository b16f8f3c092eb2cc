#!/usr/bin/env bash
# Fails, printing the diff, when the checked-in libs/proto/src/gen differs from what the .proto files generate.
set -euo pipefail
lib="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
bash "$lib/scripts/generate.sh" --output "$tmp"
if ! diff -ru "$lib/src/gen" "$tmp/src/gen"; then
  echo "libs/proto/src/gen is stale: run 'bash libs/proto/scripts/generate.sh' and commit the result" >&2
  exit 1
fi
echo "libs/proto/src/gen is current ($(find "$tmp/src/gen" -name '*.ts' | wc -l) generated files match)"
