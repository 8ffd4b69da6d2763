/**
 * @module config/options/system-formats
 * The small property-string formats of qemu-server 9.2.6's general options: `boot`
 * (`pve-qm-boot`), `agent` (Agent.pm), `smbios1` (`pve-qm-smbios1`), `meta`
 * (MetaInfo.pm) and `watchdog` (`pve-qm-watchdog`).
 */

import type { FormatSchema, PropertySchema } from '../../schema/types.js';

/** `pve-qm-watchdog`. */
export const watchdogFormat: FormatSchema = {
  model: {
    default_key: true,
    type: 'string',
    enum: ['i6300esb', 'ib700'],
    description: 'Watchdog type to emulate.',
    default: 'i6300esb',
    optional: true,
  },
  action: {
    type: 'string',
    enum: ['reset', 'shutdown', 'poweroff', 'pause', 'debug', 'none'],
    description: 'The action to perform if after activation the guest fails to poll the watchdog in time.',
    optional: true,
  },
};

/** `pve-qm-boot`. */
export const bootFormat: FormatSchema = {
  legacy: {
    optional: true,
    default_key: true,
    type: 'string',
    description: "Boot on floppy (a), hard disk (c), CD-ROM (d), or network (n). Deprecated, use 'order=' instead.",
    pattern: '[acdn]{1,4}',
    format_description: '[acdn]{1,4}',
    // also the fallback when `boot` is not set at all
    default: 'cdn',
  },
  order: {
    optional: true,
    type: 'string',
    format: 'pve-qm-bootdev-list',
    format_description: 'device[;device...]',
    description: `The guest will attempt to boot from devices in the order they appear here.

Disks, optical drives and passed-through storage USB devices will be directly
booted from, NICs will load PXE, and PCIe devices will either behave like disks
(e.g. NVMe) or load an option ROM (e.g. RAID controller, hardware NIC).

Note that only devices in this list will be marked as bootable and thus loaded
by the guest firmware (BIOS/UEFI). If you require multiple disks for booting
(e.g. software-raid), you need to specify all of them here.

Overrides the deprecated 'legacy=[acdn]*' value when given.
`,
  },
};

/**
 * The `agent` format (anonymous in qemu-server; also registered as `pve-qm-agent`).
 * `enabled` is the default key and, lacking `optional`, required.
 */
export const agentFormat: FormatSchema = {
  enabled: {
    description: 'Enable/disable communication with a QEMU Guest Agent (QGA) running in the VM.',
    type: 'boolean',
    default: 0,
    default_key: true,
  },
  fstrim_cloned_disks: {
    description: 'Run fstrim after moving a disk or migrating the VM.',
    type: 'boolean',
    optional: true,
    default: 0,
  },
  // kept for restoring old backups
  'freeze-fs-on-backup': { type: 'boolean', alias: 'freeze-fs' },
  'guest-fsfreeze': { type: 'boolean', alias: 'freeze-fs' },
  'freeze-fs': {
    description:
      'Freeze guest filesystems through QGA for consistent disk state on' +
      ' operations such as snapshots, backups, replications and clones.',
    verbose_description:
      'Whether to issue the guest-fsfreeze-freeze and guest-fsfreeze-thaw QEMU guest agent' +
      ' commands. Backups in snapshot mode, clones, snapshots without RAM, importing' +
      ' disks from a running guest, and replications normally issue a guest-fsfreeze-freeze' +
      ' and a respective thaw command when the QEMU Guest agent option is enabled in the' +
      " guest's configuration and the agent is running inside of the guest.\n\nThe deprecated" +
      " 'freeze-fs-on-backup' setting is treated as an alias for this setting.",
    type: 'boolean',
    optional: true,
    default: 1,
  },
  type: {
    description: 'Select the agent type',
    type: 'string',
    default: 'virtio',
    optional: true,
    enum: ['virtio', 'isa'],
  },
};

const base64Pattern = '[A-Za-z0-9+\\/]+={0,2}';
function smbiosText(description: string): PropertySchema {
  return { type: 'string', pattern: base64Pattern, format_description: 'Base64 encoded string', description, optional: true };
}

/** `pve-qm-smbios1`. */
export const smbios1Format: FormatSchema = {
  uuid: {
    type: 'string',
    pattern: '[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}',
    format_description: 'UUID',
    description: 'Set SMBIOS1 UUID.',
    optional: true,
  },
  version: smbiosText('Set SMBIOS1 version.'),
  serial: smbiosText('Set SMBIOS1 serial number.'),
  manufacturer: smbiosText('Set SMBIOS1 manufacturer.'),
  product: smbiosText('Set SMBIOS1 product ID.'),
  sku: smbiosText('Set SMBIOS1 SKU string.'),
  family: smbiosText('Set SMBIOS1 family string.'),
  base64: { type: 'boolean', description: 'Flag to indicate that the SMBIOS values are base64 encoded', optional: true },
};

/** The `meta` format (anonymous in qemu-server; also registered as `pve-qm-meta`). */
export const metaInfoFormat: FormatSchema = {
  ctime: { type: 'integer', description: 'The guest creation timestamp as UNIX epoch time', minimum: 0, optional: true },
  'creation-qemu': {
    type: 'string',
    description: 'The QEMU (machine) version from the time this VM was created.',
    pattern: '\\d+(\\.\\d+)+',
    optional: true,
  },
};

export const systemFormats: Readonly<Record<string, FormatSchema>> = {
  'pve-qm-watchdog': watchdogFormat,
  'pve-qm-boot': bootFormat,
  'pve-qm-agent': agentFormat,
  'pve-qm-smbios1': smbios1Format,
  'pve-qm-meta': metaInfoFormat,
};
