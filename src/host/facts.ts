/**
 * @module host/facts
 * Everything a host contributes to a QEMU command line, as plain data. The generator
 * (`qemu/cfg2cmd`), the SEV/TDX object builders and firmware selection read only this;
 * they never touch the file system or spawn processes. Profiles (`pve-test`, `pve`,
 * `local`) produce a `HostFacts`; the JSON profile format is documented in
 * docs/host-profiles.md. Fields may be added (append-only) as the generator needs them.
 */

import type { StorageConfig } from '../storage/types.js';
import type { FirmwareFacts } from '../firmware/types.js';

export type HostArch = 'x86_64' | 'aarch64';

/**
 * A capability flag as a JSON file may hold it: qemu-server tests it with Perl truthiness, so
 * `"0"`, `0` and `""` are false like `false` (read it with perlTruthyJson, never with `!`).
 */
export type CapabilityFlag = boolean | number | string;

/** qemu-server's host hardware capabilities JSON (`/run/qemu-server/host-hw-capabilities.json`). */
export interface HwCapabilities {
  'amd-sev'?: {
    cbitpos: number;
    'reduced-phys-bits': number;
    'sev-support': CapabilityFlag;
    'sev-support-es': CapabilityFlag;
    'sev-support-snp': CapabilityFlag;
  };
  'intel-tdx'?: { 'tdx-support': CapabilityFlag };
  'arm-caps'?: { vendor: string; aes: boolean; sha2: boolean };
}

/** A PCI device as `PVE::SysFSTools::lspci` reports it, plus `pci_device_info` facts. */
export interface PciDeviceFact {
  id: string; // full id, e.g. 0000:01:00.4
  vendor?: string; // 0x10de
  device?: string;
  iommugroup?: number;
  mdev?: boolean;
}

export interface PciMappingFact {
  /** Mapping name → list of `node=…,path=…,id=…` entries for this node. */
  map: string[];
  mdev?: boolean;
  'live-migration-capable'?: boolean;
  description?: string;
}

export interface CustomCpuModelFact {
  'reported-model'?: string;
  flags?: string;
  'hv-vendor-id'?: string;
  'phys-bits'?: string;
  hidden?: boolean;
  'guest-phys-bits'?: number;
}

export interface HostPaths {
  /** QEMU binary per VM arch when VM arch == host arch (`/usr/bin/kvm` on Proxmox). */
  kvmBinary: string;
  /** QEMU binary for a foreign arch, `%a` replaced by the arch (`/usr/bin/qemu-system-%a`). */
  foreignBinary: string;
  /** Where `<vmid>.qmp`, `.pid`, `.vnc`, `.swtpm` live (`/var/run/qemu-server`). */
  runDir: string;
  /** qmeventd socket, or null when the host has none (local profile). */
  qmeventdSocket: string | null;
  /** Boot splash image, or null. */
  bootSplash: string | null;
  /** Folder with pve-q35*.cfg for `-readconfig`, or null (then the q35 devices are emitted inline). */
  readconfigDir: string | null;
  /** Folder for temporary efivars copies (`/run/qemu-server/efidisk`). */
  efivarsDir: string;
  /** Bridge up/down scripts for tap NICs (`/usr/libexec/qemu-server/pve-bridge`…), or null. */
  bridgeScript: string | null;
  bridgeDownScript: string | null;
  /** The CD-ROM device for `cdrom` passthrough. */
  cdromPath: string;
}

export interface HostFacts {
  /** Profile name (pve-test, pve, local, or a file name). */
  profile: string;
  /** 'pve': a Proxmox VE host (`+pveN` machine types, qmeventd, bootsplash…); 'local': stock QEMU. */
  flavor: 'pve' | 'local';
  nodename: string;
  arch: HostArch;
  cpuVendor: string; // GenuineIntel | AuthenticAMD | …
  cpuCount: number;
  physAddrBits: number;
  /** Installed QEMU binary version (machine defaulting, "too old to run machine type"). */
  qemuInstalledVersion: string;
  /** QEMU version config_to_command sees (`kvm_user_version`), normally equal to the installed one. */
  qemuVersion: string;
  /** Machine types the installed binary offers (`-machine help`); set by the local profile. */
  qemuMachineTypes?: string[];
  /** Whether KVM acceleration is usable (`/dev/kvm`). When false, VMs run under TCG. */
  kvmAvailable: boolean;
  kernelHasVhostNet: boolean;
  /** Parsed capabilities JSON, or the error text reading it produced (raised only when needed). */
  hwCapabilities: HwCapabilities | { error: string };
  storage: StorageConfig;
  firmware: FirmwareFacts;
  pciDevices: PciDeviceFact[];
  pciMappings: Record<string, PciMappingFact>;
  usbMappings: Record<string, { map: string[] }>;
  customCpuModels: Record<string, CustomCpuModelFact>;
  /** Bridge name → MTU; bridges not listed get `defaultBridgeMtu` (pve) or do not exist (local). */
  bridgeMtu: Record<string, number>;
  defaultBridgeMtu: number | null;
  iscsiInitiatorName: string;
  /** Paths matching this regex are treated as block devices (host_device). */
  blockDevicePattern: string;
  hugepagesSupported: boolean;
  paths: HostPaths;
  /**
   * Snapshot chains per volume id for storages with snapshot-as-volume-chain
   * (`volume_snapshot_info`), newest first: [{name:'current', file}, {name:'snap2', file}, …].
   */
  volumeChains: Record<string, { name: string; file: string }[]>;
  /**
   * SCSI INQUIRY peripheral device type of host device paths (`/dev/sdg` → 0 disk, 1 tape),
   * as qemu-server's path_is_scsi reads it; paths not listed are not SCSI devices.
   */
  scsiInquiry?: Record<string, number>;
  /** SPICE TLS port and listen address config_to_command uses (qemu-server: next free port from 61000, localhost IP). */
  spicePort?: number;
  spiceAddress?: string;
  /** RNG source devices that do not exist on this host (e.g. `/dev/hwrng`); others are assumed present. */
  missingRngSources?: string[];
  /**
   * The `flags` of the first CPU in /proc/cpuinfo, as read_cpuinfo keeps them; `nested-virt`
   * resolves to the first ` svm ` or ` vmx ` in it. Undefined: resolved from `cpuVendor`
   * (the pve-test profile, standing in for the harness's build host).
   */
  cpuFlags?: string;
  /**
   * Character devices under /dev (three levels deep, symlinks followed), for the `-c $path`
   * test of serial/parallel device paths (`no such serial device`). Undefined: not checked.
   */
  charDevices?: string[];
  /** Directory mappings for virtio-fs (`mapping/directory.cfg`): id → `node=…,path=…` entries. */
  dirMappings?: Record<string, { map: string[] }>;
}
