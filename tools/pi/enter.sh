#!/usr/bin/env bash
# Run by lib.sh's in_rootfs inside a private mount namespace: every mount here disappears when the
# command ends, however it ends. Mounts what the rootfs needs, then runs the command in it with a clean
# environment.
#   enter.sh ROOTFS OUT_DIR ASSETS_DIR|"" CPUINFO QEMU_CPU COMMAND...
set -euo pipefail
rootfs=$1 out=$2 assets=$3 cpuinfo=$4 qemu_cpu=$5
shift 5

mount -t proc proc "$rootfs/proc"
mount --bind "$cpuinfo" "$rootfs/proc/cpuinfo"
# cpuinfo (in LiteRT) reads the possible/present CPU lists here; a Pi has them too.
mount -t sysfs -o ro sysfs "$rootfs/sys" 2>/dev/null || true
mount --rbind /dev "$rootfs/dev"
mkdir -p "$rootfs/out"
mount --bind "$out" "$rootfs/out"
if [ -n "$assets" ]; then
  mkdir -p "$rootfs/root/shared/assets"
  mount --bind -o ro "$assets" "$rootfs/root/shared/assets"
else
  # An empty folder would make the shared tests fail instead of skip.
  rmdir "$rootfs/root/shared/assets" "$rootfs/root/shared" 2>/dev/null || true
fi

# pip reaches PyPI through whatever this machine trusts (a proxy's CA included).
ca=${PIP_CERT:-${SSL_CERT_FILE:-${REQUESTS_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}}}
pip_cert=()
if [ -r "$ca" ]; then
  cp "$ca" "$rootfs/etc/ssl/certs/host-ca.crt"
  pip_cert=(PIP_CERT=/etc/ssl/certs/host-ca.crt)
fi
cp -L /etc/resolv.conf "$rootfs/etc/resolv.conf" 2>/dev/null || true
proxies=()
for name in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY PIP_INDEX_URL; do
  [ -n "${!name:-}" ] && proxies+=("$name=${!name}")
done

# QEMU_CPU reaches qemu through each emulated process's environment, so it stays in the clean one.
exec env QEMU_CPU="$qemu_cpu" chroot "$rootfs" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin CI="${CI:-}" QEMU_CPU="$qemu_cpu" \
  PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180 PIP_PROGRESS_BAR=off "${pip_cert[@]}" \
  "${proxies[@]}" "$@"
