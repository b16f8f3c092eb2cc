#!/usr/bin/env bash
# Brings Trellis's demo up locally: a single-node Kubernetes (control plane, scheduler, kube-proxy, CoreDNS and the
# node agent running pods as processes in network namespaces) with the demo app (tools/demo) deployed and voting.
# Needs root (network namespaces, a bridge, iptables). (Trellis's control plane and injection join this when the
# end-to-end work lands.)
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
dir="${TRELLIS_CLUSTER_DIR:-/tmp/trellis-cluster}"
[ "$(id -u)" = 0 ] || { say "the demo needs root (network namespaces, a bridge, iptables)"; exit 1; }
for tool in kube-scheduler kube-proxy coredns; do
  [ -n "$(tools/bin/ensure "$tool" 2>/dev/null)" ] && continue
  say "building $tool (first run only)"
  tools/bin/ensure "$tool" >/dev/null
done
export KUBECONFIG="$dir/kubeconfig" PATH="$TRELLIS_ROOT/tools/bin:$PATH"
t0=$SECONDS
if trellis-cluster status --dir "$dir" >/dev/null 2>&1; then
  say "a cluster is already running in $dir"
  kubectl get node trellis-node >/dev/null 2>&1 || { say "it has no node (started without --node): trellis-cluster down --dir $dir, then run the demo again"; exit 1; }
else
  say "starting the single-node cluster in $dir"
  trellis-cluster up --node --dir "$dir" >/dev/null
  say "cluster ready after $((SECONDS - t0)) s"
fi
say "deploying the demo app (namespace emojivoto)"
kubectl apply -f tools/demo/manifests/emojivoto.yml >/dev/null
kubectl -n emojivoto wait --for=condition=Available deploy --all --timeout=180s >/dev/null
say "demo ready after $((SECONDS - t0)) s"
kubectl -n emojivoto get pods -o wide
web="$(kubectl -n emojivoto get svc web-svc -o jsonpath='{.spec.clusterIP}')"
bot="$(kubectl -n emojivoto get pods -l app=vote-bot-svc -o jsonpath='{.items[0].metadata.name}')"
cat <<MSG

Look around:
  export KUBECONFIG=$dir/kubeconfig PATH=$TRELLIS_ROOT/tools/bin:\$PATH
  kubectl -n emojivoto get pods
  curl -s http://$web/api/leaderboard        # web-svc's ClusterIP, reachable from this host
  curl -s "http://$web/api/vote?choice=:doughnut:"   # the demo's deliberate failure
  $TRELLIS_ROOT/node_modules/.bin/trellis-cluster logs --dir $dir -n emojivoto $bot
Tear it down:
  $TRELLIS_ROOT/node_modules/.bin/trellis-cluster down --dir $dir
MSG
