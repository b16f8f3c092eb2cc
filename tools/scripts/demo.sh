#!/usr/bin/env bash
# Brings Trellis's demo up locally: a single-node Kubernetes (control plane, scheduler, kube-proxy, CoreDNS, and the
# upstream kubelet with containerd running the images tools/images builds), Trellis installed with Helm, and the demo
# app (tools/demo) meshed the seeds' way (kubectl get | trellis inject | kubectl apply). The journey itself is
# tools/e2e/src/demo.ts, the same steps the end-to-end test takes. Needs root (containers, a bridge, iptables).
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
[ "$(id -u)" = 0 ] || { say "the demo needs root (containers, a bridge, iptables)"; exit 1; }
say "building the Trellis components (esbuild bundles; the CLI runs from dist/apps/cli)"
nx run-many -t build -p @trellis/identity @trellis/destination @trellis/proxy-injector @trellis/proxy @trellis/proxy-init @trellis/cli --output-style=static >/dev/null
exec node tools/e2e/src/demo.ts --dir "${TRELLIS_CLUSTER_DIR:-/tmp/trellis-cluster}" "$@"
