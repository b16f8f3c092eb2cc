# Sourced by the top-level scripts: installs what Trellis needs on first run, then puts Node 24 first on PATH.
# Idempotent and cheap when everything is already there.
set -euo pipefail
TRELLIS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$TRELLIS_ROOT"
say() { echo "[trellis] $*" >&2; }

bash tools/scripts/install-system.sh

# npm ci when node_modules is missing or older than the lock file.
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)"
  bash tools/scripts/npm-install.sh
fi
export PATH="$TRELLIS_ROOT/node_modules/.bin:$PATH"
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false

# tools/bin/ensure says "[trellis] building <tool> (first run only, about N min)" before a build it has to do.
for tool in etcd kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubectl kubelet pause helm coredns prometheus jaeger; do
  tools/bin/ensure "$tool" >/dev/null
done
