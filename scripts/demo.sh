#!/usr/bin/env bash
# cvmctl demo: sets up the machine (scripts/setup.sh), creates a small VM in the default state
# root, prints its QEMU command line and the guest-policy explanation of an SEV-SNP variant,
# boots the plain VM under TCG until its firmware (SeaBIOS) prints, shows its status and
# stops it. Re-running removes the previous demo VMs first. No guest OS is needed.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

cvmctl() { node bin/cvmctl "$@"; }
section() { printf '\n=== %s ===\n' "$*"; }

# the default state root, as cvmctl resolves it (--root / $CVMCTL_ROOT / root / user)
if [ -n "${CVMCTL_ROOT:-}" ]; then root=$CVMCTL_ROOT
elif [ "$(id -u)" -eq 0 ]; then root=/var/lib/cvmctl
else root=${HOME}/.local/share/cvmctl; fi

section "State root: $root"
old_ids=$(cvmctl list --json | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const vms = JSON.parse(s || "[]");
    console.log(vms.filter((v) => v.name === "cvmctl-demo" || v.name === "cvmctl-demo-snp").map((v) => v.vmid).join(" "));
  });')
for id in $old_ids; do
  echo "removing previous demo VM $id"
  cvmctl stop "$id" >/dev/null
  cvmctl destroy "$id"
done
used=$(cvmctl list --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s||"[]").map(v=>v.vmid).join(" ")))')
vmid=9000
while [[ " $used " == *" $vmid "* ]]; do vmid=$((vmid + 1)); done
snpid=$((vmid + 1))
while [[ " $used " == *" $snpid "* ]]; do snpid=$((snpid + 1)); done
fwlog="$root/run/$vmid.firmware.log"

section "Create VM $vmid (SeaBIOS, 256 MiB, 1 GiB disk, TCG) and its SEV-SNP variant $snpid"
cvmctl create "$vmid" --name cvmctl-demo --memory 256 --cores 1 --ostype l26 --kvm 0 --vga none \
  --serial0 socket --scsi0 local:1 \
  --args "-chardev file,id=fwlog,path=$fwlog -device isa-debugcon,iobase=0x402,chardev=fwlog"
cvmctl create "$snpid" --name cvmctl-demo-snp --memory 2048 --cores 2 --ostype l26 --bios ovmf \
  --machine q35 --vga none --amd-sev 'type=snp,no-debug=1'
cvmctl config "$vmid"

section "QEMU command line of VM $vmid on this host (cvmctl showcmd --pretty --host local)"
cvmctl showcmd "$vmid" --pretty --host local

section "SEV-SNP guest policy of VM $snpid, bit by bit (cvmctl policy show)"
cvmctl policy show "$snpid"
policy=$(cvmctl policy show "$snpid" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).policy))')

section "Boot VM $vmid under TCG (cvmctl start)"
cvmctl start "$vmid" --timeout 60
for _ in $(seq 1 100); do
  if grep -q 'SeaBIOS (version' "$fwlog" 2>/dev/null; then break; fi
  sleep 0.2
done
echo "--- firmware output (isa-debugcon, first lines) ---"
head -n 8 "$fwlog" || true
grep -q 'SeaBIOS (version' "$fwlog"
booted=$(grep -m1 -o 'SeaBIOS (version [^)]*)' "$fwlog")

section "Status of VM $vmid (cvmctl status --verbose)"
cvmctl status "$vmid" --verbose

section "Stop VM $vmid (cvmctl stop)"
cvmctl stop "$vmid"
cvmctl status "$vmid"

section "Summary"
echo "demo OK: VM $vmid booted to '$booted' under TCG and stopped; SNP variant $snpid has guest policy $policy (state root $root)"
