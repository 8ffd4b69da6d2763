#!/usr/bin/env bash
# Builds the tiny Linux test guest the integration tests boot under TCG to talk to a REAL
# qemu-guest-agent and to see hotplugged disks, NICs, vCPUs and DIMMs from inside: Debian
# bookworm's kernel (linux-image-amd64's current linux-image-6.1.*-amd64, `apt-get download`ed,
# never installed), busybox-static, the host's /usr/sbin/qemu-ga (package qemu-guest-agent) with
# the shared libraries ldd names, the virtio/SCSI modules the kernel ships as `=m` plus their
# dependencies (modules.dep from busybox depmod), and an /init that loads them, starts the agent on
# the org.qemu.guest_agent.0 port, onlines hot-added CPUs (memory: memhp_default_state on the
# command line) and prints READY on ttyS0. Output, cached and never committed:
#   $CVMCTL_TEST_GUEST_DIR (default /var/cache/cvmctl-test-guest)/{vmlinuz,initrd.gz,cmdline}
# Idempotent: a second run only compares the stamp (kernel, busybox, qemu-ga, this script) and exits;
# when newer packages cannot be fetched, a guest built by this script with this qemu-ga is kept.
# Exit code 0 when the guest is there; otherwise 1 with one line on stderr saying why (no network,
# no qemu-ga ...), which the tests print when they skip.
set -euo pipefail

dir=${CVMCTL_TEST_GUEST_DIR:-/var/cache/cvmctl-test-guest}
self=$(readlink -f "$0")
qga=/usr/sbin/qemu-ga

fail() {
  echo "test-guest: $*" >&2
  exit 1
}

[ -x "$qga" ] || fail "$qga is missing (install qemu-guest-agent, scripts/setup.sh does)"
command -v apt-get >/dev/null || fail 'apt-get is missing: the test guest is built from Debian packages'
mkdir -p "$dir" 2>/dev/null || fail "cannot create $dir (run as root or set CVMCTL_TEST_GUEST_DIR)"
[ -w "$dir" ] || fail "$dir is not writable (run as root or set CVMCTL_TEST_GUEST_DIR)"

# one builder at a time (test files may call this in parallel); the others wait, then see the stamp
exec 9>"$dir/.lock"
flock 9

# the kernel package linux-image-amd64 currently points at (bookworm: linux-image-6.1.0-NN-amd64)
kernel_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -1
}
# a guest built by this script with this qemu-ga stays usable when newer packages cannot be fetched
tools="qemu-ga $(sha256sum "$qga" | cut -c1-16) script $(sha256sum "$self" | cut -c1-16)"
old_stamp=$(cat "$dir/stamp" 2>/dev/null || true)
keep_old() {
  if [ -f "$dir/vmlinuz" ] && [ -f "$dir/initrd.gz" ] && [ -f "$dir/cmdline" ] && [ "${old_stamp#* qemu-ga }" = "${tools#qemu-ga }" ]; then
    echo "test-guest: $1; keeping the guest built from ${old_stamp%% busybox-static *}" >&2
    exit 0
  fi
  fail "$1"
}
kpkg=$(kernel_pkg)
if [ -z "$kpkg" ] && [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq >/dev/null 2>&1 || true
  kpkg=$(kernel_pkg)
fi
[ -n "$kpkg" ] || keep_old 'apt knows no linux-image-amd64 (no Debian package lists; run apt-get update)'
kver=$(apt-cache policy "$kpkg" | sed -n 's/^ *Candidate: //p')
bbver=$(apt-cache policy busybox-static | sed -n 's/^ *Candidate: //p')
stamp="$kpkg $kver busybox-static $bbver $tools"
[ "$old_stamp" = "$stamp" ] && [ -f "$dir/vmlinuz" ] && [ -f "$dir/initrd.gz" ] && [ -f "$dir/cmdline" ] && exit 0

work=$(mktemp -d "$dir/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -q "$kpkg" busybox-static >download.log 2>&1) ||
  keep_old "apt-get download $kpkg busybox-static failed (no network?): $(grep -E '^(E|Err):' "$work/download.log" | head -1)"
dpkg-deb -x "$work"/linux-image-*.deb "$work/kernel"
dpkg-deb -x "$work"/busybox-static_*.deb "$work/busybox"
bb="$work/busybox/bin/busybox"
uname_r=${kpkg#linux-image-}
kmods="$work/kernel/lib/modules/$uname_r"
[ -f "$work/kernel/boot/vmlinuz-$uname_r" ] && [ -d "$kmods/kernel" ] || fail "$kpkg carries no vmlinuz-$uname_r and modules"

root="$work/root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,var,lib/x86_64-linux-gnu,lib64}
ln -s ../run "$root/var/run"
cp "$bb" "$root/bin/busybox"
# one link per applet, so the agent's guest-exec finds `uname`, `ls`, `cat` ... on PATH
for applet in $("$bb" --list-full); do
  [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done

# the agent and its libraries, at the paths ldd resolves them to
cp "$qga" "$root/usr/sbin/qemu-ga"
for lib in $(ldd "$qga" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^\s*\(\/[^ ]*\) (.*/\1/p'); do
  case "$lib" in
    */ld-linux-x86-64.so.2) cp -L "$lib" "$root/lib64/ld-linux-x86-64.so.2" ;;
    *) cp -L "$lib" "$root/lib/x86_64-linux-gnu/$(basename "$lib")" ;;
  esac
done

# the drivers this kernel builds as modules (a `=y` one needs nothing) and what they depend on;
# ext4 (with crc32c) mounts the file system the fsfreeze tests freeze
wanted=""
for opt in VIRTIO_PCI:virtio_pci VIRTIO_CONSOLE:virtio_console VIRTIO_NET:virtio_net SCSI_VIRTIO:virtio_scsi \
  BLK_DEV_SD:sd_mod VIRTIO_BLK:virtio_blk VIRTIO_BALLOON:virtio_balloon CRYPTO_CRC32C:crc32c_generic EXT4_FS:ext4; do
  grep -qx "CONFIG_${opt%%:*}=m" "$work/kernel/boot/config-$uname_r" && wanted="$wanted ${opt#*:}"
done
"$bb" depmod -b "$work/kernel" "$uname_r"
mkdir -p "$root/lib/modules/$uname_r"
: >"$root/lib/modules/$uname_r/modules.dep"
for m in $wanted; do
  line=$(grep -E "/$m\.ko:" "$kmods/modules.dep") || fail "module $m is not in $kpkg"
  for ko in ${line/:/}; do
    [ -f "$root/lib/modules/$uname_r/$ko" ] && continue
    mkdir -p "$root/lib/modules/$uname_r/$(dirname "$ko")"
    cp "$kmods/$ko" "$root/lib/modules/$uname_r/$ko"
    grep -E "^$ko:" "$kmods/modules.dep" >>"$root/lib/modules/$uname_r/modules.dep"
  done
done
echo "$wanted" >"$root/etc/modules"
printf 'PRETTY_NAME="cvmctl test guest"\nNAME="cvmctl-test-guest"\nID=cvmctl-test-guest\nVERSION_ID="1"\n' >"$root/etc/os-release"
printf 'root:x:0:0:root:/:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"

# hot-added devices: online a new CPU (the job udev's rules do on a full system), load the driver
# a new device asks for; memory is onlined by the kernel itself (memhp_default_state)
cat >"$root/sbin/guest-uevent" <<'EOF'
#!/bin/sh
if [ "$ACTION" = add ]; then
  case "$DEVPATH" in
    /devices/system/cpu/cpu[0-9]*) [ "$(cat "/sys$DEVPATH/online" 2>/dev/null)" = 0 ] && echo 1 >"/sys$DEVPATH/online" && echo "guest: cpu ${DEVPATH##*/cpu} online" >/dev/console ;;
  esac
  [ -n "$MODALIAS" ] && modprobe -q "$MODALIAS" 2>/dev/null
fi
exit 0
EOF

# qemu-ga's guest-shutdown runs /sbin/shutdown -P +0 …, which busybox lacks: power off (after
# exiting, so the agent sees the program succeed)
cat >"$root/sbin/shutdown" <<'EOF'
#!/bin/sh
echo "guest: shutdown $*" >/dev/console
(sleep 1; sync; case " $* " in *" -r "*) reboot -f ;; *" -H "*) halt -f ;; *) poweroff -f ;; esac) >/dev/null 2>&1 &
exit 0
EOF

cat >"$root/init" <<'EOF'
#!/bin/sh
# cvmctl test guest: busybox, the virtio drivers, qemu-ga; no udev, no disk root
export PATH=/sbin:/bin:/usr/sbin:/usr/bin LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
uevent /sbin/guest-uevent >/dev/null 2>&1 &
for m in $(cat /etc/modules); do modprobe "$m" || echo "guest: modprobe $m failed"; done
ip link set lo up
hostname cvmctl-test-guest
# CPUs that came before the uevent listener
for c in /sys/devices/system/cpu/cpu[0-9]*; do [ "$(cat "$c/online" 2>/dev/null)" = 0 ] && echo 1 >"$c/online"; done
# udev would link /dev/virtio-ports/<name>: find the agent's port by its name
port=
for i in $(seq 1 100); do
  for p in /sys/class/virtio-ports/*; do
    [ "$(cat "$p/name" 2>/dev/null)" = org.qemu.guest_agent.0 ] && port=${p##*/}
  done
  [ -n "$port" ] && break
  sleep 0.1
done
if [ -n "$port" ]; then
  mkdir -p /dev/virtio-ports
  ln -sf "/dev/$port" /dev/virtio-ports/org.qemu.guest_agent.0
  # qemu-ga sends its notes on freezes, shutdowns and file access to syslog: onto the console with them
  syslogd -O /dev/console
  qemu-ga -d -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 -l /dev/console -t /run -f /run/qemu-ga.pid
else
  echo 'guest: no org.qemu.guest_agent.0 port (agent: 1 not set?)'
fi
echo "CVMCTL-TEST-GUEST READY $(uname -r) cpus=$(cat /sys/devices/system/cpu/online) agent=${port:-none}"
# pid 1 must not exit
while :; do sleep 3600; done
EOF
chmod 755 "$root/init" "$root/sbin/guest-uevent" "$root/sbin/shutdown"

(cd "$root" && find . | "$bb" cpio -o -H newc 2>/dev/null) | gzip -9 >"$work/initrd.gz"
cp "$work/kernel/boot/vmlinuz-$uname_r" "$work/vmlinuz"
# memhp_default_state=online_movable: hot-added DIMMs come online, in ZONE_MOVABLE so they can go again
echo "console=ttyS0 quiet panic=-1 mitigations=off memhp_default_state=online_movable" >"$work/cmdline"
mv -f "$work/vmlinuz" "$dir/vmlinuz"
mv -f "$work/initrd.gz" "$dir/initrd.gz"
mv -f "$work/cmdline" "$dir/cmdline"
echo "$stamp" >"$dir/stamp"
echo "test-guest: built $dir/vmlinuz ($kpkg $kver) and $dir/initrd.gz ($(du -k "$dir/initrd.gz" | cut -f1) KiB)"
