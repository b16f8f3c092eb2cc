#!/usr/bin/env bash
# Debian packages Trellis' tests and demo use. Installs the missing ones when root; otherwise names them.
set -euo pipefail
# command -> package
declare -A want=(
  [openssl]=openssl
  [ip]=iproute2
  [iptables-legacy]=iptables
  [nsenter]=util-linux
  [g++]=g++
  [make]=make
  [python3]=python3
  [flock]=util-linux
  [curl]=curl
  [sysctl]=procps
  [buildah]=buildah
  [setpriv]=util-linux
  [iptables-nft]=iptables
  [tcpdump]=tcpdump
  [containerd]=containerd
  [runc]=runc
  [busybox]=busybox-static
  [setcap]=libcap2-bin
  [qemu-aarch64]=qemu-user
  # The dashboard's browser tests (apps/web, tools/e2e): Debian's Chromium, driven by playwright-core.
  [chromium]=chromium
)
missing=()
for cmd in "${!want[@]}"; do command -v "$cmd" >/dev/null 2>&1 || missing+=("${want[$cmd]}"); done
[ -x /usr/bin/etcd ] || missing+=(etcd-server)
# The kubelet node's pod network: the standard CNI plugins (bridge, host-local, loopback, portmap).
[ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
# The arm64 standalone CLI runs under qemu-user in its test: the arm64 C and C++ runtime as a sysroot.
[ -e /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ] || missing+=(libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross)
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
  echo "[trellis] Go (>= 1.24) is needed to build kube-apiserver and helm from their modules; install it and re-run" >&2
  exit 1
fi
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" != 0 ]; then
  echo "[trellis] missing system packages (run as root, or install them): ${missing[*]}" >&2
  exit 1
fi
echo "[trellis] apt-get install ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
(apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1) || {
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}
# Debian starts a system etcd on :2379 after install; our clusters run their own etcd on free ports.
if printf '%s\n' "${missing[@]}" | grep -qx etcd-server; then
  systemctl disable --now etcd >/dev/null 2>&1 || pkill -x etcd || true
fi
# Likewise a system containerd: each kubelet node runs its own, with its own socket and directories.
if printf '%s\n' "${missing[@]}" | grep -qx containerd; then
  systemctl disable --now containerd >/dev/null 2>&1 || true
fi
