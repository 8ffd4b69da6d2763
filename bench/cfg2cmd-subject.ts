/**
 * @module bench/cfg2cmd-subject
 * The configs bench/cfg2cmd.ts generates for, and the generator call it times, loaded from a
 * given source tree: this checkout's src/ or the baseline's (bench/baseline.ts). Both are imported
 * the same way, so neither side gets a different module graph or JIT history.
 */

import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const MINIMAL = 'memory: 512\nsmbios1: uuid=6cf17dc3-8341-4ecc-aebd-7503f2583fb3\n';

export const SNP = [
  'amd-sev: type=snp',
  'bios: ovmf',
  'cores: 4',
  'cpu: EPYC-Genoa',
  'machine: q35',
  'memory: 8192',
  'name: snp-guest',
  'net0: virtio=BC:24:11:00:00:01,bridge=vmbr0',
  'ostype: l26',
  'scsi0: local:8006/vm-8006-disk-0.qcow2,discard=on,iothread=1,size=32G',
  'scsihw: virtio-scsi-single',
  'smbios1: uuid=7b10d7af-b932-4c66-b2c3-3996152ec465',
  '',
].join('\n');

/** Issue 12's big config: 11 disks on 8 storages, 6 NICs, 5 hostpci, numa, efidisk, TPM, q35. */
export const BIG = [
  'agent: 1',
  'bios: ovmf',
  'boot: order=scsi0;net0;ide2',
  'cores: 8',
  'cpu: x86-64-v3,flags=+aes',
  'efidisk0: local-lvm:vm-8006-disk-9,efitype=4m,pre-enrolled-keys=1,size=4M',
  'hostpci0: f0:43,pcie=1',
  'hostpci1: d0:13.0,pcie=1,x-vga=1',
  'hostpci2: 00:f4.0,pcie=1',
  'hostpci3: d0:15.1,pcie=1',
  'hostpci4: 0f:f2.0,pcie=1',
  'ide2: local:iso/debian.iso,media=cdrom',
  'machine: q35',
  'memory: 16384',
  'name: big-guest',
  'net0: virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1',
  'net1: virtio=BC:24:11:00:00:02,bridge=vmbr0,queues=4',
  'net2: e1000=BC:24:11:00:00:03,bridge=vmbr0',
  'net3: virtio=BC:24:11:00:00:04,bridge=vmbr0,tag=10',
  'net4: vmxnet3=BC:24:11:00:00:05,bridge=vmbr0',
  'net5: virtio=BC:24:11:00:00:06,bridge=vmbr0,mtu=1400',
  'numa: 1',
  'numa0: cpus=0-3,hostnodes=0,memory=8192,policy=bind',
  'numa1: cpus=4-7,hostnodes=1,memory=8192,policy=bind',
  'ostype: l26',
  'scsi0: local:8006/vm-8006-disk-0.qcow2,discard=on,iothread=1,size=32G',
  'scsi1: local-lvm:vm-8006-disk-1,iothread=1,size=32G',
  'scsi2: lvm-store:vm-8006-disk-2,size=32G',
  'scsi3: rbd-store:vm-8006-disk-3,cache=writeback,size=32G',
  'scsi4: krbd-store:vm-8006-disk-4,size=32G',
  'scsi5: btrfs-store:8006/vm-8006-disk-5.raw,size=32G',
  'scsi6: cifs-store:8006/vm-8006-disk-6.qcow2,size=32G',
  'scsi7: zfs-over-iscsi-store:vm-8006-disk-7,size=32G',
  'scsihw: virtio-scsi-single',
  'smbios1: uuid=7b10d7af-b932-4c66-b2c3-3996152ec465',
  'sockets: 2',
  'tpmstate0: local-lvm:vm-8006-disk-12,size=4M,version=v2.0',
  'vga: std',
  'virtio0: local-lvm:vm-8006-disk-10,iothread=1,size=32G',
  'virtio1: local:8006/vm-8006-disk-11.raw,mbps_rd=100,iops_wr=200,size=32G',
  '',
].join('\n');

/** Prepares one config on the pve-test host; the returned call generates and renders it once. */
export interface Subject {
  prepare(text: string, sevCaps: boolean): () => string;
}

/** The generator of the source tree at `srcRoot` (a directory holding src/). */
export async function loadSubject(srcRoot: string): Promise<Subject> {
  const load = (path: string) => import(pathToFileURL(join(srcRoot, 'src', path)).href);
  const [{ parseVmConfig }, { AMD_TURIN_9005, pveTestProfile }, { renderCommand }, { configToCommand }] = await Promise.all([
    load('config/file/index.ts'),
    load('host/profiles/pve-test.ts'),
    load('qemu/args.ts'),
    load('qemu/cfg2cmd/index.ts'),
  ]);
  return {
    prepare(text, sevCaps) {
      const config = parseVmConfig('/bench/qemu-server/8006.conf', text, { strict: true });
      const host = pveTestProfile();
      if (sevCaps) host.hwCapabilities = structuredClone(AMD_TURIN_9005);
      return () => renderCommand(configToCommand(config, host).argv);
    },
  };
}
