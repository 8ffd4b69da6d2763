/**
 * @module host/profiles/pve
 * A stock Proxmox VE 9 host as HostFacts defaults: qemu-server's fixed paths (`/usr/bin/kvm`,
 * `/var/run/qemu-server`, qmeventd, bootsplash, `pve-q35*.cfg`, pve-bridge scripts), the
 * pve-edk2-firmware table and the default `local`/`local-lvm` storages. Values that differ per
 * machine (CPU count, QEMU version, capabilities) are typical ones; a JSON profile
 * (docs/host-profiles.md) or the `local` prober replaces them with measured facts.
 */

import type { HostFacts, HostPaths } from '../facts.js';

export function pvePaths(): HostPaths {
  return {
    kvmBinary: '/usr/bin/kvm',
    foreignBinary: '/usr/bin/qemu-system-%a',
    runDir: '/var/run/qemu-server',
    qmeventdSocket: '/var/run/qmeventd.sock',
    bootSplash: '/usr/share/qemu-server/bootsplash.jpg',
    readconfigDir: '/usr/share/qemu-server',
    efivarsDir: '/run/qemu-server/efidisk',
    bridgeScript: '/usr/libexec/qemu-server/pve-bridge',
    bridgeDownScript: '/usr/libexec/qemu-server/pve-bridgedown',
    cdromPath: '/dev/cdrom',
  };
}

const EDK2 = '/usr/share/pve-edk2-firmware/';
const VARS_4M = 528 * 1024;

/** Firmware files pve-edk2-firmware-ovmf/-aarch64 ship (path as qemu-server writes it, with `//`). */
function pveFirmwareFiles(): Record<string, number> {
  const files: Record<string, number> = {};
  const add = (name: string, size: number) => {
    files[`${EDK2}/${name}`] = size;
  };
  add('OVMF_CODE.fd', 2 * 1024 * 1024);
  add('OVMF_VARS.fd', 128 * 1024);
  add('OVMF_CODE_4M.fd', 4 * 1024 * 1024);
  add('OVMF_CODE_4M.secboot.fd', 4 * 1024 * 1024);
  add('OVMF_VARS_4M.fd', VARS_4M);
  add('OVMF_VARS_4M.ms.fd', VARS_4M);
  add('OVMF_SEV_CODE_4M.fd', 4 * 1024 * 1024);
  add('OVMF_SEV_VARS_4M.fd', VARS_4M);
  add('OVMF_SEV_4M.fd', 4 * 1024 * 1024);
  add('OVMF_TDX_4M.ms.fd', 4 * 1024 * 1024);
  add('AAVMF_CODE.fd', 64 * 1024 * 1024);
  add('AAVMF_VARS.fd', 64 * 1024 * 1024);
  add('AAVMF_CODE.secboot.fd', 64 * 1024 * 1024);
  add('AAVMF_VARS.ms.fd', 64 * 1024 * 1024);
  return files;
}

export function pveProfile(): HostFacts {
  return {
    profile: 'pve',
    flavor: 'pve',
    nodename: 'pve',
    arch: 'x86_64',
    cpuVendor: 'AuthenticAMD',
    cpuCount: 64,
    physAddrBits: 48,
    qemuInstalledVersion: '11.0.2',
    qemuVersion: '11.0.2',
    kvmAvailable: true,
    kernelHasVhostNet: true,
    hwCapabilities: {
      error:
        '/run/qemu-server/host-hw-capabilities.json does not exist. Please check the status of query-machine-capabilities: systemctl status query-machine-capabilities',
    },
    storage: {
      local: {
        type: 'dir',
        path: '/var/lib/vz',
        content: ['backup', 'images', 'iso', 'rootdir', 'snippets', 'vztmpl'],
      },
      'local-lvm': {
        type: 'lvmthin',
        vgname: 'pve',
        thinpool: 'data',
        content: ['images', 'rootdir'],
      },
    },
    firmware: { kind: 'pve-table', baseDir: EDK2, files: pveFirmwareFiles() },
    pciDevices: [],
    pciMappings: {},
    usbMappings: {},
    customCpuModels: {},
    bridgeMtu: {},
    defaultBridgeMtu: 1500,
    iscsiInitiatorName: '',
    blockDevicePattern: '^/dev/',
    hugepagesSupported: true,
    paths: pvePaths(),
    volumeChains: {},
    spicePort: 61000,
    spiceAddress: '127.0.0.1',
  };
}
