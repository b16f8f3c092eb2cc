#!/usr/bin/env bash
# Brings Trellis up locally. For now: the local Kubernetes control plane, ready for kubectl and helm.
# (The meshed demo app joins this when the end-to-end work lands.)
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
dir="${TRELLIS_CLUSTER_DIR:-/tmp/trellis-cluster}"
if trellis-cluster status --dir "$dir" >/dev/null 2>&1; then
  say "a cluster is already running in $dir"
else
  trellis-cluster up --dir "$dir" >/dev/null
fi
trellis-cluster status --dir "$dir"
cat <<MSG

Use it:
  export KUBECONFIG=$dir/kubeconfig PATH=$TRELLIS_ROOT/tools/bin:\$PATH
  kubectl get namespaces
Stop it:
  $TRELLIS_ROOT/node_modules/.bin/trellis-cluster down --dir $dir
MSG
