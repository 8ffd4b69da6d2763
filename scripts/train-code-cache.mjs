/**
 * @module scripts/train-code-cache
 * Steps of scripts/bundle-cli.mjs: write dist/cli/showcmd-main.cjs.cache and
 * dist/cli/main.cjs.cache, the V8 code caches bin/cvmctl loads its bundles with
 * (bin/code-cache.js). The full CLI's training runs the everyday read-only commands (`list`,
 * `config`, `status`, `listsnapshot`, `lint`, help) and config changes (`create`, `set`) on a
 * few VMs: every command shares commander and the registration of all command modules, which
 * is most of what a cold start compiles. For showcmd: a cache made after running
 * holds the bytecode of every function the runs compiled, so the training runs `showcmd` the
 * ways users do: from the store and from `--file`, on the `pve-test` and `local` hosts and a JSON profile, plain,
 * `--pretty` and `--json`, for configs that reach most of the generator (q35, OVMF with efidisk
 * and TPM, SCSI/VirtIO/IDE drives on several storages, NICs, hostpci, NUMA, SEV-SNP). All inside a
 * temporary state root; a run that fails (say, no QEMU to probe for `local`) only leaves its
 * functions out of the cache. The runs happen in a child process with no NODE_OPTIONS: V8
 * refuses a cache made under other V8 flags.
 */

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIG = `agent: 1
bios: ovmf
boot: order=scsi0;net0;ide2
cores: 4
cpu: x86-64-v3,flags=+aes
efidisk0: local-lvm:vm-8006-disk-9,efitype=4m,pre-enrolled-keys=1,size=4M
hostpci0: 0000:d0:13.0,pcie=1
ide2: local:iso/debian.iso,media=cdrom
machine: q35
memory: 8192
name: training
net0: virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1
net1: e1000=BC:24:11:00:00:02,bridge=vmbr0,tag=10
numa: 1
numa0: cpus=0-1,hostnodes=0,memory=4096,policy=bind
numa1: cpus=2-3,hostnodes=0,memory=4096,policy=bind
ostype: l26
scsi0: local:8006/vm-8006-disk-0.qcow2,discard=on,iothread=1,size=32G
scsi1: local-lvm:vm-8006-disk-1,cache=writeback,size=32G
scsihw: virtio-scsi-single
smbios1: uuid=7b10d7af-b932-4c66-b2c3-3996152ec465
tpmstate0: local-lvm:vm-8006-disk-12,size=4M,version=v2.0
vga: std
virtio0: local-lvm:vm-8006-disk-10,iothread=1,mbps_rd=100,size=32G
`;

const SMALL = `bios: ovmf
cores: 1
memory: 1024
name: small
net0: virtio=BC:24:11:00:00:03,bridge=vmbr0
ostype: l26
scsi0: local:8007/vm-8007-disk-0.qcow2,size=8G
scsihw: virtio-scsi-pci
smbios1: uuid=6cf17dc3-8341-4ecc-aebd-7503f2583fb3
`;

const SEV = `${SMALL}amd-sev: type=snp\nmachine: q35\n`;

/** `local` checks bridges exist: no NIC there. */
const LOCAL = SMALL.replace(/^net0: .*\n/m, '');

/** A JSON host profile (also trains its loader) with the SEV capabilities pve-test lacks. */
const SEV_HOST = {
  base: 'pve-test',
  cpuVendor: 'AuthenticAMD',
  hwCapabilities: { 'amd-sev': { cbitpos: 51, 'reduced-phys-bits': 1, 'sev-support': true, 'sev-support-es': true, 'sev-support-snp': true } },
};

/** Train the cache of `bundle` (dist/cli/showcmd-main.cjs); returns the runs' exit codes. */
export function trainShowcmdCache(root, bundle) {
  const state = mkdtempSync(join(tmpdir(), 'cvmctl-train-'));
  try {
    mkdirSync(join(state, 'qemu-server'));
    writeFileSync(join(state, 'qemu-server', '8006.conf'), BIG);
    const files = join(state, 'files');
    mkdirSync(files);
    writeFileSync(join(files, '8006.conf'), BIG);
    writeFileSync(join(files, '8007.conf'), SMALL);
    writeFileSync(join(files, '8008.conf'), SEV);
    writeFileSync(join(files, '8009.conf'), LOCAL);
    writeFileSync(join(files, 'sev-host.json'), JSON.stringify(SEV_HOST));
    const common = ['--root', state, 'showcmd'];
    const runs = [
      [...common, '8006', '--host', 'pve-test'],
      [...common, '--file', join(files, '8006.conf'), '--host', 'pve-test', '--pretty'],
      [...common, '--file', join(files, '8009.conf'), '--host', 'local', '--json'],
      [...common, '--file', join(files, '8008.conf'), '--host', join(files, 'sev-host.json')],
      [...common, '--file', join(files, '8007.conf'), '--host', 'pve-test'],
    ];
    return trainInChild(root, bundle, runs, state);
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}

/**
 * Run `bundle` once per argument list in a child process with no NODE_OPTIONS and save its code
 * cache (bin/code-cache.js trainCodeCache); returns the runs' exit codes.
 */
function trainInChild(root, bundle, runs, state) {
  const loader = join(root, 'bin', 'code-cache.js');
  const result = join(state, 'exit-codes.json');
  const code = [
    `require(${JSON.stringify(loader)}).trainCodeCache(${JSON.stringify(bundle)}, ${JSON.stringify(runs)})`,
    `.then((codes) => require('node:fs').writeFileSync(${JSON.stringify(result)}, JSON.stringify(codes)));`,
  ].join('');
  const env = { ...process.env, CVMCTL_ROOT: state };
  delete env.NODE_OPTIONS;
  // the runs print command lines and warnings: not the build's output
  execFileSync(process.execPath, ['-e', code], { env, stdio: 'ignore' });
  return JSON.parse(readFileSync(result, 'utf8'));
}

/** Train the cache of `bundle` (dist/cli/main.cjs, the full CLI); returns the runs' exit codes. */
export function trainCliCache(root, bundle) {
  const state = mkdtempSync(join(tmpdir(), 'cvmctl-train-cli-'));
  try {
    mkdirSync(join(state, 'qemu-server'));
    writeFileSync(join(state, 'qemu-server', '8006.conf'), BIG);
    writeFileSync(join(state, 'qemu-server', '8007.conf'), SMALL);
    writeFileSync(join(state, 'qemu-server', '8008.conf'), SEV);
    const r = ['--root', state];
    const runs = [
      [...r, 'list'],
      [...r, 'config', '8006'],
      [...r, 'config', '8007', '--current'],
      [...r, 'status', '8007'],
      [...r, 'listsnapshot', '8007'],
      [...r, 'lint', '8007'],
      [...r, 'create', '8010', '--name', 'trained', '--memory', '512', '--cores', '2', '--net0', 'virtio,bridge=vmbr0'],
      [...r, 'set', '8010', '--description', 'training run', '--delete', 'cores'],
      [...r, 'help'],
    ];
    return trainInChild(root, bundle, runs, state);
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}
