#!/usr/bin/env bash
# Installs everything cvmctl needs on a Debian 12 (bookworm) machine, as root:
# QEMU >= 9.1 from bookworm-backports, qemu-utils, OVMF, the tools the integration tests drive
# (proxmoxer, Ansible, swtpm, etcd, Chromium and Firefox ESR, qemu-guest-agent, bridges, LVM; curl and openssl for
# the demo's API part and the API bench's certificate), the npm packages, then builds.
# As root it also links /usr/local/bin/cvmctl to this checkout's bin/cvmctl (CVMCTL_NO_LINK=1: not).
# Idempotent: a second run only re-checks. Set CVMCTL_SKIP_APT=1 to skip the Debian packages.
set -euo pipefail
cd "$(dirname "$0")/.."

need_node_major=20
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt "$need_node_major" ]; then
  echo "cvmctl needs Node.js >= 20.19 (found: $(node --version 2>/dev/null || echo none))." >&2
  echo "Install Node.js 20 (e.g. the nodejs package of your Node 20 repository) and run this again." >&2
  exit 1
fi

if [ "${CVMCTL_SKIP_APT:-0}" != 1 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: Debian packages need root; run as root or set CVMCTL_SKIP_APT=1" >&2
    exit 1
  fi
  qemu_ok=0
  if command -v qemu-system-x86_64 >/dev/null; then
    v=$(qemu-system-x86_64 --version | sed -n 's/.*version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
    set -- $v
    if [ "${1:-0}" -gt 9 ] || { [ "${1:-0}" -eq 9 ] && [ "${2:-0}" -ge 1 ]; }; then qemu_ok=1; fi
  fi
  if [ $qemu_ok = 1 ] && command -v qemu-img >/dev/null && [ -d /usr/share/OVMF ] && [ -d /usr/share/qemu/firmware ]; then
    echo "setup: QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}'), qemu-img and OVMF present"
  else
    src=/etc/apt/sources.list.d/bookworm-backports.sources
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > "$src"
      echo "setup: added bookworm-backports ($src)"
    fi
    echo "setup: installing qemu-system-x86 (bookworm-backports), qemu-utils, ovmf ..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports qemu-system-x86 qemu-utils ovmf >/dev/null
  fi

  # the tools the integration tests drive for real: API clients (proxmoxer, Ansible), TPM
  # emulator, etcd, the two browsers of the UI tests, the guest agent, bridges and thin LVM, curl and
  # openssl (the demo logs in to the API with curl; the API bench makes a certificate)
  extra_missing=()
  for pair in python3-proxmoxer:/usr/lib/python3/dist-packages/proxmoxer ansible:/usr/lib/python3/dist-packages/ansible_collections/community/general/plugins/modules/proxmox_kvm.py \
    swtpm:/usr/bin/swtpm swtpm-tools:/usr/bin/swtpm_setup etcd-server:/usr/bin/etcd chromium:/usr/bin/chromium firefox-esr:/usr/bin/firefox-esr \
    qemu-guest-agent:/usr/sbin/qemu-ga iproute2:/usr/sbin/ip bridge-utils:/usr/sbin/brctl lvm2:/usr/sbin/lvm \
    thin-provisioning-tools:/usr/sbin/thin_check curl:/usr/bin/curl openssl:/usr/bin/openssl genisoimage:/usr/bin/genisoimage; do
    [ -e "${pair#*:}" ] || extra_missing+=("${pair%%:*}")
  done
  if [ ${#extra_missing[@]} -gt 0 ]; then
    echo "setup: installing ${extra_missing[*]} ..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${extra_missing[@]}" >/dev/null
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci ..."
  # the UI's end-to-end tests drive Debian's /usr/bin/chromium and /usr/bin/firefox-esr: no browser is downloaded
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi
# the tiny Linux guest (Debian kernel + busybox + qemu-ga) the agent and hotplug integration tests boot
bash scripts/test-guest.sh || echo "setup: no test guest; the tests that boot it skip and say why"
echo "setup: building ..."
npm run build --silent

# `cvmctl` on PATH, as the README's examples use it (as root; a real file there is left alone)
if [ "$(id -u)" -eq 0 ] && [ "${CVMCTL_NO_LINK:-0}" != 1 ]; then
  link=/usr/local/bin/cvmctl
  if [ ! -e "$link" ] || [ -L "$link" ]; then
    ln -sfn "$PWD/bin/cvmctl" "$link"
    echo "setup: $link -> $PWD/bin/cvmctl"
  else
    echo "setup: $link exists and is not a link; left alone"
  fi
fi
echo "setup: done"
