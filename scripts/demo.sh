#!/usr/bin/env bash
# cvmctl demo: sets up the machine (scripts/setup.sh), creates a small VM in the default state
# root, prints its QEMU command line and the guest-policy explanation of an SEV-SNP variant,
# boots the plain VM under TCG until its firmware (SeaBIOS) prints, shows its status and
# stops it. Then it starts the REST API server (cvmctl serve) on a loopback port, logs in with
# curl as a throw-away read-only demo user, lists the VMs with curl and with proxmoxer, and
# stops the server again. Re-running removes the previous demo VMs and demo user first. No
# guest OS is needed.
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

section "REST API: cvmctl serve, log in with curl, list VMs with curl and proxmoxer"
# a throw-away user with a random password and read-only rights (PVEAuditor): root@pam's API
# password (cvmctl passwd root@pam) is left alone
demo_user=cvmctl-demo@pve
cvmctl user delete "$demo_user" >/dev/null 2>&1 || true
cvmctl user add "$demo_user" --comment 'scripts/demo.sh (removed at its end)'
demo_pw=$(node -e 'console.log(require("node:crypto").randomBytes(18).toString("base64url"))')
printf '%s\n' "$demo_pw" | cvmctl passwd "$demo_user"
cvmctl acl modify / --roles PVEAuditor --users "$demo_user"
port=$(node -e 'const s=require("node:net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
api="https://127.0.0.1:$port/api2/json"
server_log=$(mktemp)
node bin/cvmctl serve --listen "127.0.0.1:$port" >"$server_log" 2>&1 &
server_pid=$!
stop_server() { kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true; }
trap 'stop_server; cvmctl user delete "$demo_user" >/dev/null 2>&1 || true' EXIT
for _ in $(seq 1 150); do
  if curl -sk -o /dev/null "$api/access/ticket"; then break; fi
  sleep 0.2
done
echo "--- cvmctl serve --listen 127.0.0.1:$port (first lines of its output) ---"
head -n 3 "$server_log"
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s).data;console.log(eval(process.argv[1]))})' "$1"; }
echo "--- curl: POST $api/access/ticket as $demo_user ---"
login=$(curl -sSk --fail --data-urlencode "username=$demo_user" --data-urlencode "password=$demo_pw" "$api/access/ticket")
ticket=$(printf '%s' "$login" | json 'v.ticket')
printf '%s' "$login" | json '`ticket ${v.ticket.split(":").slice(0, 3).join(":")}:… for ${v.username}`'
node_name=$(curl -sSk --fail -b "PVEAuthCookie=$ticket" "$api/nodes" | json 'v[0].node')
echo "--- curl: GET $api/nodes/$node_name/qemu (cookie PVEAuthCookie) ---"
curl -sSk --fail -b "PVEAuthCookie=$ticket" "$api/nodes/$node_name/qemu" |
  json 'v.sort((a,b)=>a.vmid-b.vmid).map(x=>`${x.vmid}  ${x.status.padEnd(8)} ${x.name}`).join("\n")'
echo "--- proxmoxer (python3-proxmoxer, unchanged): cluster/resources type=vm ---"
DEMO_PW=$demo_pw /usr/bin/python3 - "$port" "$demo_user" <<'PY'
import os, sys
from proxmoxer import ProxmoxAPI
api = ProxmoxAPI("127.0.0.1", port=int(sys.argv[1]), user=sys.argv[2], password=os.environ["DEMO_PW"], verify_ssl=False)
for vm in sorted(api.cluster.resources.get(type="vm"), key=lambda v: v["vmid"]):
    print(vm["vmid"], vm["node"], vm["status"], vm["name"])
PY
echo "--- web UI: GET https://127.0.0.1:$port/ ---"
curl -sSk --fail "https://127.0.0.1:$port/" | grep -o '<title>[^<]*</title>'
echo "web UI: open https://127.0.0.1:$port/ while this server runs; after the demo: cvmctl serve, then https://$(hostname -s):8006/ (docs/ui.md)"
stop_server
echo "--- the server's log: one line per request (time, user, method, path, status, duration) ---"
tail -n +4 "$server_log"
rm -f "$server_log"
if curl -sk --max-time 2 -o /dev/null "$api/access/ticket"; then echo "cvmctl serve still answers after SIGTERM" >&2; exit 1; fi

section "Summary"
echo "demo OK: VM $vmid booted to '$booted' under TCG and stopped; SNP variant $snpid has guest policy $policy; the API listed the VMs to curl and proxmoxer (state root $root)"
