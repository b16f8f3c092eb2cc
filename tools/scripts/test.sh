#!/usr/bin/env bash
# The whole test suite: generated-code and sync checks, typecheck, lint, every project's tests (unit,
# integration, cluster tests against one shared local kube-apiserver, root tests in network namespaces).
# Prints "N passed, N failed" as its last line.
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

rm -f apps/*/.test-results/vitest.json libs/*/.test-results/vitest.json tools/*/.test-results/vitest.json
status=0

say "nx sync:check"
nx sync:check || status=1
for check in libs/*/scripts/check-generated.sh; do
  [ -f "$check" ] || continue
  say "$check"
  bash "$check" || status=1
done

say "typecheck and lint"
nx run-many -t typecheck lint --output-style=static || status=1

# One local API server for every cluster test of this run.
cluster_dir="$(mktemp -d /tmp/trellis-test-cluster.XXXXXX)"
cleanup() { trellis-cluster down --dir "$cluster_dir" >/dev/null 2>&1 || true; }
trap cleanup EXIT
say "starting the local cluster for cluster tests"
trellis-cluster up --dir "$cluster_dir" >/dev/null
export TRELLIS_KUBECONFIG="$cluster_dir/kubeconfig" TRELLIS_CLUSTER_DIR="$cluster_dir"

say "tests"
nx run-many -t test --parallel=2 --output-style=static -- --reporter=default --reporter=json --outputFile.json=.test-results/vitest.json || status=1

# One summary over every project's JSON report; a project that wrote none counts as a failure.
node tools/scripts/summarize-tests.ts || status=1
exit $status
