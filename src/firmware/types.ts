/**
 * @module firmware/types
 * What a host knows about its OVMF/AAVMF firmware, as data for the pure selection code.
 * `pve-table`: a Proxmox host (or the cfg2cmd test environment) with the fixed file table under
 * `/usr/share/pve-edk2-firmware/`; `descriptors`: a stock host whose firmware is described by
 * QEMU firmware descriptor files (docs/interop/firmware.json).
 */

/** A file the selection may use: absolute path → size in bytes (VARS sizes matter). */
export type FirmwareFileSizes = Record<string, number>;

export interface PveTableFirmware {
  kind: 'pve-table';
  /** Base dir with trailing slash, as qemu-server writes it (`/usr/share/pve-edk2-firmware/`). */
  baseDir: string;
  /** Existing files (full path as emitted, i.e. with the `//`) and their sizes. `'*'` = all exist (test harness). */
  files: FirmwareFileSizes | '*';
  /** Size rules used when files is '*': regex source → size (the harness's file_get_size mock). */
  sizeRules?: [string, number][];
}

/** One resolved firmware descriptor (after search-path override and masking). */
export interface FirmwareDescriptorFact {
  /** Descriptor file name, e.g. 60-edk2-ovmf-x64-amdsev.json */
  name: string;
  path: string;
  description?: string;
  interfaceTypes: string[];
  device: 'flash' | 'memory' | 'kernel' | 'igvm';
  mode?: 'split' | 'combined' | 'stateless';
  executable: { filename: string; format: string };
  nvramTemplate?: { filename: string; format: string; size: number };
  targets: { architecture: string; machines: string[] }[];
  features: string[];
}

export interface DescriptorFirmware {
  kind: 'descriptors';
  descriptors: FirmwareDescriptorFact[];
  /** Sizes of the files the descriptors reference. */
  files: FirmwareFileSizes;
  /** The search path that was read, in override order (for error messages). */
  searched?: string[];
  /** Descriptor files that were skipped (bad JSON, unknown mapping) and why. */
  problems?: string[];
}

export type FirmwareFacts = PveTableFirmware | DescriptorFirmware;
