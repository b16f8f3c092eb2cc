#!/usr/bin/env bash
# Brings Trellis's demo up locally: a single-node Kubernetes (control plane, scheduler, kube-proxy, CoreDNS and the
# node agent running pods as processes in network namespaces) with the demo app (tools/demo) deployed and voting.
# Then it installs Trellis with Helm and meshes the demo the seeds' way (kubectl get | trellis inject | kubectl apply).
# Needs root (network namespaces, a bridge, iptables).
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
say "building the Trellis components (esbuild bundles the node agent runs as images trellis/<component>)"
nx run-many -t build -p @trellis/identity @trellis/destination @trellis/proxy-injector @trellis/proxy @trellis/proxy-init @trellis/cli --output-style=static >/dev/null
trellis() { node "$TRELLIS_ROOT/dist/apps/cli/main.js" "$@"; }
if ! helm -n trellis status trellis-control-plane >/dev/null 2>&1; then
  say "certificates: a trust anchor and an issuer in $dir/certs"
  node libs/pki/src/certs-cli.ts --out "$dir/certs" >/dev/null
  say "helm install trellis-crds, trellis-control-plane"
  helm install trellis-crds helm/trellis-crds -n trellis --create-namespace >/dev/null
  helm install trellis-control-plane helm/trellis-control-plane -n trellis \
    --set-file identityTrustAnchorsPEM="$dir/certs/ca.crt" \
    --set-file identity.issuer.tls.crtPEM="$dir/certs/issuer.crt" \
    --set-file identity.issuer.tls.keyPEM="$dir/certs/issuer.key" >/dev/null
fi
kubectl -n trellis wait --for=condition=Available deploy --all --timeout=300s >/dev/null
say "control plane ready after $((SECONDS - t0)) s"
kubectl -n trellis get pods

say "deploying the demo app (namespace emojivoto)"
kubectl apply -f tools/demo/manifests/emojivoto.yml >/dev/null
kubectl -n emojivoto wait --for=condition=Available deploy --all --timeout=180s >/dev/null
say "meshing it: kubectl get -n emojivoto deploy -o yaml | trellis inject - | kubectl apply -f -"
kubectl get -n emojivoto deploy -o yaml | trellis inject - | kubectl apply -f - >/dev/null
for d in emoji voting web vote-bot; do kubectl -n emojivoto rollout status "deploy/$d" --timeout=300s >/dev/null; done
say "meshed demo ready after $((SECONDS - t0)) s"
kubectl -n emojivoto get pods -o wide
web="$(kubectl -n emojivoto get svc web-svc -o jsonpath='{.spec.clusterIP}')"
bot="$(kubectl -n emojivoto get pods -l app=vote-bot-svc -o jsonpath='{.items[0].metadata.name}')"
cat <<MSG

Look around:
  export KUBECONFIG=$dir/kubeconfig PATH=$TRELLIS_ROOT/tools/bin:\$PATH
  kubectl -n emojivoto get pods
  curl -s http://$web/api/leaderboard        # web-svc's ClusterIP, reachable from this host
  curl -s "http://$web/api/vote?choice=:doughnut:"   # the demo's deliberate failure
  curl -s http://$(kubectl -n emojivoto get pod -l app=voting-svc -o jsonpath='{.items[0].status.podIP}'):4191/metrics | grep 'tls="true"'   # mTLS, with the caller's identity
  $TRELLIS_ROOT/node_modules/.bin/trellis-cluster logs --dir $dir -n emojivoto $bot
Tear it down:
  $TRELLIS_ROOT/node_modules/.bin/trellis-cluster down --dir $dir
MSG
