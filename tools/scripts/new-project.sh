#!/usr/bin/env bash
# new-project.sh <dir> <type:app|lib|tool> <scope> : scaffolds a project the way the house lays them out.
set -euo pipefail
dir="$1"; type="$2"; scope="$3"; name="@trellis/$(basename "$dir")"
mkdir -p "$dir/src"
if [ ! -f "$dir/package.json" ]; then
  if [ "$type" = lib ]; then
    exports='"exports": { ".": "./src/index.ts" },'
  else
    exports=''
  fi
  cat >"$dir/package.json" <<JSON
{
  "name": "$name",
  "version": "0.1.0",
  "private": true,
  "type": "module",
  $exports
  "nx": { "tags": ["type:$type", "scope:$scope"] },
  "dependencies": {}
}
JSON
fi
[ -f "$dir/tsconfig.json" ] || cat >"$dir/tsconfig.json" <<JSON
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "outDir": "out-tsc", "rootDir": ".", "tsBuildInfoFile": "out-tsc/tsconfig.tsbuildinfo" },
  "include": ["src/**/*.ts", "test/**/*.ts", "../../vitest.provided.d.ts"],
  "references": []
}
JSON
[ -f "$dir/vitest.config.ts" ] || cat >"$dir/vitest.config.ts" <<'TS'
import { projectConfig } from '../../vitest.shared.ts';

export default projectConfig(import.meta.dirname);
TS
[ -f "$dir/eslint.config.mjs" ] || cat >"$dir/eslint.config.mjs" <<'JS'
import root from '../../eslint.config.mjs';

export default [...root];
JS
