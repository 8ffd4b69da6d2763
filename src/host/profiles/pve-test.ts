/**
 * @module host/profiles/pve-test
 * The host qemu-server's cfg2cmd test harness simulates (spec §8.3), as HostFacts: node
 * `localhost`, 64 CPUs, 46 physical address bits, installed QEMU 11.0.2, the ten mocked
 * storages, the 18 mocked PCI devices and two PCI mappings, the two custom CPU models,
 * bridge MTUs (vxlan_bridge 1450, others 1500), every firmware file present with the
 * harness's VARS size rules, the fixed iSCSI initiator name, `/dev/cdrom`, "paths under /dev/
 * are block devices" and the two snapshot volume chains. Used by the conformance runner and
 * by `showcmd --host pve-test`; the runner overrides QEMU version, arch, vendor and HW caps
 * per test header.
 */

import type { StorageConfig } from '../../storage/types.js';
import type { HostFacts, HwCapabilities, PciDeviceFact } from '../facts.js';
import { pvePaths } from './pve.js';

/** The harness's default capabilities (no SEV). */
export const PVE_TEST_DEFAULT_HW_CAPS: HwCapabilities = {
  'amd-sev': {
    cbitpos: 0,
    'reduced-phys-bits': 0,
    'sev-support': false,
    'sev-support-es': false,
    'sev-support-snp': false,
  },
};

/** qemu-server's `amd-turin-9005` fixture: an AMD EPYC 9475F (Turin) on kernel 6.11.11-2-pve. */
export const AMD_TURIN_9005: HwCapabilities = {
  'amd-sev': {
    cbitpos: 51,
    'reduced-phys-bits': 6,
    'sev-support': true,
    'sev-support-es': true,
    'sev-support-snp': true,
  },
};

/** Named capability fixtures of the harness (`# HW_CAPABILITIES: <name>`), looked up lower-cased. */
export const HW_CAPABILITY_FIXTURES: Record<string, HwCapabilities> = {
  'amd-turin-9005': AMD_TURIN_9005,
};

function testStorage(): StorageConfig {
  const rbdBase = {
    monhost: '127.0.0.42,127.0.0.21,::1',
    fsid: 'fc4181a6-56eb-4f68-b452-8ba1f381ca2a',
    content: ['images'],
    pool: 'cpool',
    username: 'admin',
    shared: true,
  };
  return {
    local: {
      type: 'dir',
      path: '/var/lib/vz',
      shared: false,
      content: ['images', 'iso'],
    },
    localsnapext: {
      type: 'dir',
      path: '/var/lib/vzsnapext',
      shared: false,
      content: ['images'],
      'snapshot-as-volume-chain': 1,
    },
    noimages: { type: 'dir', path: '/var/lib/vz', content: ['iso'] },
    'btrfs-store': {
      type: 'btrfs',
      path: '/butter/bread',
      content: ['images'],
    },
    'cifs-store': {
      type: 'cifs',
      path: '/mnt/pve/cifs-store',
      server: '127.0.0.42',
      share: 'CIFShare',
      username: 'guest',
      shared: true,
      content: ['images', 'iso'],
    },
    'rbd-store': { type: 'rbd', ...rbdBase },
    'krbd-store': { type: 'rbd', ...rbdBase, krbd: 1 },
    'zfs-over-iscsi-store': {
      type: 'zfs',
      iscsiprovider: 'comstar',
      lio_tpg: 'tpg1',
      portal: '127.0.0.1',
      target: 'iqn.2019-10.org.test:foobar',
      pool: 'tank',
      content: ['images'],
    },
    'lvm-store': { type: 'lvm', vgname: 'veegee', content: ['images'] },
    'local-lvm': {
      type: 'lvmthin',
      vgname: 'pve',
      thinpool: 'data',
      bwlimit: 'restore=1024',
      content: ['images'],
    },
  };
}

const PCI_IDS = [
  '0000:00:43.1',
  '0000:00:f4.0',
  '0000:00:ff.1',
  '0000:0f:f2.0',
  '0000:d0:13.0',
  '0000:d0:15.1',
  '0000:d0:15.2',
  '0000:d0:17.0',
  '0000:f0:42.0',
  '0000:f0:43.0',
  '0000:f0:43.1',
  '1234:f0:43.1',
  '0000:01:00.4',
  '0000:01:00.5',
  '0000:01:00.6',
  '0000:07:10.0',
  '0000:07:10.1',
  '0000:07:10.4',
];

function pciDevices(): PciDeviceFact[] {
  return [...PCI_IDS].sort().map((id) => {
    if (id.startsWith('0000:01:00'))
      return {
        id,
        mdev: true,
        iommugroup: 1,
        vendor: '0x10de',
        device: '0x2231',
      };
    if (id.startsWith('0000:07:10')) return { id, iommugroup: 2, vendor: '0x8086', device: '0x1520' };
    return { id };
  });
}

function chain(dir: string, ext: string, current: string): { name: string; file: string }[] {
  return [
    { name: 'current', file: current },
    { name: 'snap2', file: `${dir}/snap2-vm-8006-disk-0.${ext}` },
    { name: 'snap1', file: `${dir}/snap1-vm-8006-disk-0.${ext}` },
  ];
}

/** A fresh pve-test HostFacts (callers may mutate their copy). */
export function pveTestProfile(): HostFacts {
  return {
    profile: 'pve-test',
    flavor: 'pve',
    nodename: 'localhost',
    arch: 'x86_64',
    cpuVendor: 'GenuineIntel',
    cpuCount: 64,
    physAddrBits: 46,
    qemuInstalledVersion: '11.0.2',
    qemuVersion: '11.0.2',
    kvmAvailable: true,
    kernelHasVhostNet: true,
    hwCapabilities: structuredClone(PVE_TEST_DEFAULT_HW_CAPS),
    storage: testStorage(),
    firmware: {
      kind: 'pve-table',
      baseDir: '/usr/share/pve-edk2-firmware/',
      files: '*',
      sizeRules: [
        ['OVMF(32)?_(SEV_)?VARS_4M', 528 * 1024],
        ['OVMF_VARS', 128 * 1024],
        ['AAVMF_VARS', 64 * 1024 * 1024],
        ['RISCV_VIRT_VARS', 32 * 1024 * 1024],
      ],
    },
    pciDevices: pciDevices(),
    pciMappings: {
      someGpu: {
        mdev: true,
        map: [
          'node=localhost,path=0000:01:00.4,id=10de:2231,iommugroup=1',
          'node=localhost,path=0000:01:00.5,id=10de:2231,iommugroup=1',
          'node=localhost,path=0000:01:00.6,id=10de:2231,iommugroup=1',
        ],
      },
      someNic: {
        map: [
          'node=localhost,path=0000:07:10.0,id=8086:1520,iommugroup=2',
          'node=localhost,path=0000:07:10.1,id=8086:1520,iommugroup=2',
          'node=localhost,path=0000:07:10.4,id=8086:1520,iommugroup=2',
        ],
      },
    },
    usbMappings: {},
    customCpuModels: {
      // "qemu64" is also a built-in model name: the harness checks that this does not matter
      qemu64: {
        'reported-model': 'athlon',
        flags: '+aes;+avx;-kvm_pv_unhalt',
        'hv-vendor-id': 'testvend',
        'phys-bits': '40',
      },
      alldefault: {},
    },
    bridgeMtu: { vxlan_bridge: 1450 },
    defaultBridgeMtu: 1500,
    iscsiInitiatorName: 'iqn.1993-08.org.debian:01:aabbccddeeff',
    blockDevicePattern: '/dev/',
    hugepagesSupported: true,
    paths: pvePaths(),
    volumeChains: {
      // the harness's volume_snapshot_info mock; the missing leading slash is in the original
      localsnapext: chain('/var/lib/vzsnapext/images/8006', 'qcow2', 'var/lib/vzsnapext/images/8006/vm-8006-disk-0.qcow2'),
      'lvm-store': chain('/dev/veegee', 'qcow2', '/dev/veegee/vm-8006-disk-0.qcow2'),
    },
    spicePort: 61000,
    spiceAddress: '127.0.0.1',
  };
}
