# Emulated Raspberry Pi OS Bookworm userlands (Debian 12, qemu-user): host tools, binfmt, a cached rootfs
# and a way into it. Sourced by stage.sh; expects PI_ARCH (arm64) to be set.

PI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
BINFMT=/proc/sys/fs/binfmt_misc

case "$PI_ARCH" in
  arm64)
    QEMU_NAME=aarch64
    # Raspberry Pi 4: what cpuinfo (inside LiteRT) must see, and the ISA LiteRT's kernels must pick from.
    # qemu 7.2 shows the guest the host's /proc/cpuinfo, which crashes XNNPACK's CPU detection.
    PI_CPUINFO=$PI_DIR/rpi4-cpuinfo-arm64.txt
    PI_QEMU_CPU=cortex-a72
    # apt's python3 and numpy, as a Pi has them; OpenCV from pip's wheel (apt's python3-opencv would pull
    # hundreds of packages into the rootfs, each installed under emulation).
    PI_PACKAGES=python3,python3-venv,python3-numpy,ca-certificates
    ;;
  *)
    # 32-bit (armhf) is not emulated: constraints/bookworm-armhf.txt says why.
    echo "PI_ARCH must be arm64, not '${PI_ARCH:-}'" >&2
    exit 2
    ;;
esac

say() { echo "[$PI_ARCH $(date +%H:%M:%S)] $*"; }
die() {
  echo "[$PI_ARCH] error: $*" >&2
  exit 1
}

# qemu-user-static and debootstrap, installed when missing and we are root on Debian (as `make mosquitto`).
ensure_host_tools() {
  local missing=""
  command -v "qemu-$QEMU_NAME-static" >/dev/null || missing="qemu-user-static"
  command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || missing="$missing debootstrap"
  command -v unshare >/dev/null || missing="$missing util-linux"
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing$missing"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing \
      || die "could not install$missing"
  else
    die "needs$missing: sudo apt-get install -y$missing"
  fi
}

# The kernel must hand foreign ELF binaries to qemu: every process in the rootfs (dpkg, pip's builds,
# the tests' subprocesses) is exec'd by another, which `qemu-*-static prog` alone cannot follow.
ensure_binfmt() {
  [ -e "$BINFMT/register" ] || mount -t binfmt_misc binfmt_misc "$BINFMT" 2>/dev/null || true
  [ -e "$BINFMT/register" ] || die "binfmt_misc is not mounted and cannot be (needs root, or a container allowed to mount it): mount -t binfmt_misc binfmt_misc $BINFMT"
  if [ ! -e "$BINFMT/qemu-$QEMU_NAME" ]; then
    if command -v update-binfmts >/dev/null; then
      update-binfmts --enable "qemu-$QEMU_NAME" 2>/dev/null || true
    fi
    if [ ! -e "$BINFMT/qemu-$QEMU_NAME" ] && [ -r "/usr/lib/binfmt.d/qemu-$QEMU_NAME.conf" ]; then
      cat "/usr/lib/binfmt.d/qemu-$QEMU_NAME.conf" > "$BINFMT/register" || true
    fi
  fi
  grep -qx enabled "$BINFMT/qemu-$QEMU_NAME" 2>/dev/null \
    || die "qemu-$QEMU_NAME is not registered with binfmt_misc ($BINFMT/qemu-$QEMU_NAME); install qemu-user-static, or echo 1 > $BINFMT/status"
}

# Without the F flag the kernel looks for the interpreter inside the chroot: put it there.
place_interpreter() {
  local rootfs=$1 interpreter flags
  interpreter=$(sed -n 's/^interpreter //p' "$BINFMT/qemu-$QEMU_NAME")
  flags=$(sed -n 's/^flags: //p' "$BINFMT/qemu-$QEMU_NAME")
  if [[ "$flags" != *F* ]]; then
    mkdir -p "$rootfs$(dirname "$interpreter")"
    cp -L "$(command -v "qemu-$QEMU_NAME-static")" "$rootfs$interpreter"
  fi
}

# The rootfs for this recipe: reused when cached, else built (a few minutes). Keyed by the recipe, so a
# change to it builds a fresh one; a half-built one is never used. Bump ROOTFS_RECIPE when changing how
# ensure_rootfs builds.
ROOTFS_RECIPE=1
rootfs_path() {
  local cache key
  cache=${PI_ROOTFS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgecv}
  key=$(echo "$ROOTFS_RECIPE bookworm minbase $PI_ARCH $PI_PACKAGES $DEBIAN_MIRROR" | sha256sum | cut -c1-12)
  echo "$cache/$PI_ARCH-bookworm-$key"
}

ensure_rootfs() {
  local rootfs=$1 building attempt
  [ -x "$rootfs/usr/bin/python3" ] && return 0
  building=$rootfs.building
  for old in "$(dirname "$rootfs")/$PI_ARCH-bookworm-"*; do
    [ -e "$old" ] && [ "$old" != "$building" ] && rm -rf "$old"  # other recipes: ~400 MB each
  done
  mkdir -p "$(dirname "$rootfs")"
  for attempt in 1 2; do
    rm -rf "$building"
    say "debootstrap $PI_ARCH bookworm ($PI_PACKAGES), attempt $attempt"
    # A private mount namespace: whatever debootstrap mounts goes away with it, even if it is killed.
    if unshare --mount --propagation private -- debootstrap --arch="$PI_ARCH" --variant=minbase \
      --include="$PI_PACKAGES" bookworm "$building" "$DEBIAN_MIRROR" > "$building.log" 2>&1; then
      rm -rf "$building"/var/cache/apt/archives/*.deb
      mv "$building" "$rootfs"
      rm -f "$building.log"
      return 0
    fi
    tail -n 20 "$building.log" >&2
  done
  die "debootstrap failed twice (log: $building.log)"
}

# Run a command as root inside the rootfs, with the repository's shared assets (if any) at
# /root/shared/assets and OUT_DIR at /out. Emulated, with the Pi's cpuinfo and CPU.
in_rootfs() {
  local rootfs=$1 out=$2 assets=$3
  shift 3
  unshare --mount --propagation private -- bash "$PI_DIR/enter.sh" "$rootfs" "$out" "$assets" "$PI_CPUINFO" \
    "$PI_QEMU_CPU" "$@"
}
