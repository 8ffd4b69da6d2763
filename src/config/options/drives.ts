/**
 * @module config/options/drives
 * The disk option formats of qemu-server 9.2.6 (QemuServer/Drive.pm): the shared drive
 * base, the per-bus formats `pve-qm-ide`/`-scsi`/`-sata`/`-virtio`, `efidisk0`,
 * `tpmstate0`, `unusedN`, and the union `alldrive_fmt` that print_drive prints with.
 * The maximum counts per bus decide which `ideN`/`scsiN`/… keys exist, and the drive
 * names are listed in valid_drive_names order (significant: qemu-server auto-selects the
 * boot disk by it; `unusedN` is not a drive name although it has a drive-like format).
 */

import type { FormatSchema, PropertySchema } from '../../schema/types.js';
import { MAX_IDE_DISKS, MAX_SATA_DISKS, MAX_SCSI_DISKS, MAX_UNUSED_DISKS, MAX_VIRTIO_DISKS } from './drive-names.js';

export {
  isValidDriveName,
  MAX_IDE_DISKS,
  MAX_SATA_DISKS,
  MAX_SCSI_DISKS,
  MAX_UNUSED_DISKS,
  MAX_VIRTIO_DISKS,
  validDriveNames,
  validDriveNamesForBoot,
  validDriveNamesWithUnused,
} from './drive-names.js';

/** Properties print_drive/parse_drive silently drop (old geometry settings). */
export const DROPPED_DRIVE_PROPERTIES: readonly string[] = ['cyls', 'heads', 'secs', 'trans'];

const volumeFile: FormatSchema = {
  volume: { type: 'string', alias: 'file' },
  file: {
    type: 'string',
    format: 'pve-volume-id-or-qm-path',
    default_key: true,
    format_description: 'volume',
    description: "The drive's backing volume.",
  },
};

/** Standard option `pve-qm-image-format`. */
const imageFormat: PropertySchema = {
  type: 'string',
  enum: ['raw', 'qcow', 'qed', 'qcow2', 'vmdk', 'cloop'],
  description: "The drive's backing file's data format.",
  optional: true,
};

const diskSize: PropertySchema = {
  type: 'string',
  format: 'disk-size',
  format_description: 'DiskSize',
  description: 'Disk size. This is purely informational and has no effect.',
  optional: true,
};

function throttle(type: 'integer' | 'number', what: string, unit: string, longunit: string, minimum?: number): PropertySchema {
  const desc: PropertySchema = { type, format_description: unit, description: `Maximum ${what} in ${longunit}.`, optional: true };
  return minimum === undefined ? desc : { ...desc, minimum };
}

const driveBase: FormatSchema = {
  ...volumeFile,
  media: { type: 'string', enum: ['cdrom', 'disk'], description: "The drive's media type.", default: 'disk', optional: true },
  snapshot: {
    type: 'boolean',
    description:
      "Controls qemu's snapshot mode feature. If activated, changes made to the disk are temporary and will" +
      ' be discarded when the VM is shutdown.',
    optional: true,
  },
  cache: {
    type: 'string',
    enum: ['none', 'writethrough', 'writeback', 'unsafe', 'directsync'],
    description: "The drive's cache mode",
    optional: true,
  },
  format: imageFormat,
  size: diskSize,
  backup: { type: 'boolean', description: 'Whether the drive should be included when making backups.', optional: true },
  replicate: { type: 'boolean', description: 'Whether the drive should considered for replication jobs.', optional: true, default: 1 },
  rerror: { type: 'string', enum: ['ignore', 'report', 'stop'], description: 'Read error action.', optional: true },
  werror: { type: 'string', enum: ['enospc', 'ignore', 'report', 'stop'], description: 'Write error action.', optional: true },
  aio: { type: 'string', enum: ['native', 'threads', 'io_uring'], description: 'AIO type to use.', optional: true },
  discard: {
    type: 'string',
    enum: ['ignore', 'on'],
    description: 'Controls whether to pass discard/trim requests to the underlying storage.',
    optional: true,
  },
  detect_zeroes: { type: 'boolean', description: 'Controls whether to detect and try to optimize writes of zeroes.', optional: true },
  serial: {
    type: 'string',
    format: 'urlencoded',
    format_description: 'serial',
    maxLength: 20 * 3,
    description: "The drive's reported serial number, url-encoded, up to 20 bytes long.",
    optional: true,
  },
  shared: {
    type: 'boolean',
    description: 'Mark this locally-managed volume as available on all nodes',
    verbose_description:
      'Mark this locally-managed volume as available on all nodes.\n\nWARNING: This option does not share the volume automatically, it assumes it is shared already!',
    optional: true,
    default: 0,
  },
  bps: throttle('integer', 'r/w speed', 'bps', 'bytes per second'),
  bps_rd: throttle('integer', 'read speed', 'bps', 'bytes per second'),
  bps_wr: throttle('integer', 'write speed', 'bps', 'bytes per second'),
  mbps: throttle('number', 'r/w speed', 'mbps', 'megabytes per second'),
  mbps_rd: throttle('number', 'read speed', 'mbps', 'megabytes per second'),
  mbps_wr: throttle('number', 'write speed', 'mbps', 'megabytes per second'),
  iops: throttle('integer', 'r/w I/O', 'iops', 'operations per second'),
  iops_rd: throttle('integer', 'read I/O', 'iops', 'operations per second'),
  iops_wr: throttle('integer', 'write I/O', 'iops', 'operations per second'),
  mbps_max: throttle('number', 'unthrottled r/w pool', 'mbps', 'megabytes per second'),
  mbps_rd_max: throttle('number', 'unthrottled read pool', 'mbps', 'megabytes per second'),
  mbps_wr_max: throttle('number', 'unthrottled write pool', 'mbps', 'megabytes per second'),
  iops_max: throttle('integer', 'unthrottled r/w I/O pool', 'iops', 'operations per second'),
  iops_rd_max: throttle('integer', 'unthrottled read I/O pool', 'iops', 'operations per second'),
  iops_wr_max: throttle('integer', 'unthrottled write I/O pool', 'iops', 'operations per second'),
  bps_max_length: throttle('integer', 'length of I/O bursts', 'seconds', 'seconds', 1),
  bps_rd_max_length: throttle('integer', 'length of read I/O bursts', 'seconds', 'seconds', 1),
  bps_wr_max_length: throttle('integer', 'length of write I/O bursts', 'seconds', 'seconds', 1),
  iops_max_length: throttle('integer', 'length of I/O bursts', 'seconds', 'seconds', 1),
  iops_rd_max_length: throttle('integer', 'length of read I/O bursts', 'seconds', 'seconds', 1),
  iops_wr_max_length: throttle('integer', 'length of write I/O bursts', 'seconds', 'seconds', 1),
  // legacy spellings
  bps_rd_length: { type: 'integer', alias: 'bps_rd_max_length' },
  bps_wr_length: { type: 'integer', alias: 'bps_wr_max_length' },
  iops_rd_length: { type: 'integer', alias: 'iops_rd_max_length' },
  iops_wr_length: { type: 'integer', alias: 'iops_wr_max_length' },
};

const iothreadFmt: FormatSchema = {
  iothread: { type: 'boolean', description: 'Whether to use iothreads for this drive', optional: true },
};
// Perl 5.34+ reads `{,16}` as `{0,16}`; JavaScript needs the explicit lower bound.
const productFmt: FormatSchema = {
  product: {
    type: 'string',
    pattern: '[A-Za-z0-9\\-_\\s]{0,16}',
    format_description: 'product',
    description: "The drive's product name, up to 16 bytes long.",
    optional: true,
  },
};
const vendorFmt: FormatSchema = {
  vendor: {
    type: 'string',
    pattern: '[A-Za-z0-9\\-_\\s]{0,8}',
    format_description: 'vendor',
    description: "The drive's vendor name, up to 8 bytes long.",
    optional: true,
  },
};
const modelFmt: FormatSchema = {
  model: {
    type: 'string',
    format: 'urlencoded',
    format_description: 'model',
    maxLength: 40 * 3,
    description: "The drive's reported model name, url-encoded, up to 40 bytes long.",
    optional: true,
  },
};
const queuesFmt: FormatSchema = {
  queues: { type: 'integer', description: 'Number of queues.', minimum: 2, optional: true },
};
const readonlyFmt: FormatSchema = {
  ro: { type: 'boolean', description: 'Whether the drive is read-only.', optional: true },
};
const scsiblockFmt: FormatSchema = {
  scsiblock: {
    type: 'boolean',
    description:
      'whether to use scsi-block for full passthrough of host block device\n\nWARNING: can lead to I/O errors in combination with low memory or high memory fragmentation on host',
    optional: true,
    default: 0,
  },
};
const ssdFmt: FormatSchema = {
  ssd: { type: 'boolean', description: 'Whether to expose this drive as an SSD, rather than a rotational hard disk.', optional: true },
};
const wwnFmt: FormatSchema = {
  wwn: {
    type: 'string',
    pattern: '(0x)[0-9a-fA-F]{16}',
    format_description: 'wwn',
    description: "The drive's worldwide name, encoded as 16 bytes hex string, prefixed by '0x'.",
    optional: true,
  },
};

export const ideFormat: FormatSchema = { ...driveBase, ...modelFmt, ...ssdFmt, ...wwnFmt };
export const scsiFormat: FormatSchema = {
  ...driveBase,
  ...iothreadFmt,
  ...productFmt,
  ...queuesFmt,
  ...readonlyFmt,
  ...scsiblockFmt,
  ...ssdFmt,
  ...vendorFmt,
  ...wwnFmt,
};
export const sataFormat: FormatSchema = { ...driveBase, ...ssdFmt, ...wwnFmt };
export const virtioFormat: FormatSchema = { ...driveBase, ...iothreadFmt, ...readonlyFmt };

const efitypeFmt: FormatSchema = {
  efitype: {
    type: 'string',
    enum: ['2m', '4m'],
    description:
      "Size and type of the OVMF EFI vars. '4m' is newer and recommended, and required for Secure Boot." +
      " For backwards compatibility, '2m' is used if not otherwise specified. Ignored for VMs with arch=aarch64 (ARM).",
    optional: true,
    default: '2m',
  },
  'pre-enrolled-keys': {
    type: 'boolean',
    description:
      'Use am EFI vars template with distribution-specific and Microsoft Standard' +
      " keys enrolled, if used with 'efitype=4m'. Note that this will enable Secure Boot by" +
      ' default, though it can still be turned off from within the VM.',
    optional: true,
    default: 0,
  },
  'ms-cert': {
    type: 'string',
    enum: ['2011', '2023', '2023w', '2023k'],
    description:
      'Informational marker indicating the version of the latest Microsoft UEFI certificates' +
      " that have been enrolled by Proxmox VE. The value '2023k' means that the 'Microsoft" +
      " UEFI CA 2023', the 'Windows UEFI CA 2023' and the 'Microsoft Corporation KEK 2K CA" +
      " 2023' certificates are included. The values '2023' and '2023w' are" +
      ' deprecated and for compatibility only.',
    optional: true,
    default: '2011',
  },
};

export const efidiskFormat: FormatSchema = { ...volumeFile, format: imageFormat, size: diskSize, ...efitypeFmt };

const tpmversionFmt: FormatSchema = {
  version: {
    type: 'string',
    enum: ['v1.2', 'v2.0'],
    description: 'The TPM interface version. v2.0 is newer and should be preferred. Note that this cannot be changed later on.',
    optional: true,
    default: 'v1.2',
  },
};

export const tpmstateFormat: FormatSchema = {
  ...volumeFile,
  // standard option `pve-vm-image-format` (pve-storage), made optional
  format: { type: 'string', enum: ['raw', 'qcow2', 'vmdk'], description: 'Format of the image.', optional: true },
  size: diskSize,
  ...tpmversionFmt,
};

export const unusedFormat: FormatSchema = {
  volume: { type: 'string', alias: 'file' },
  file: {
    type: 'string',
    format: 'pve-volume-id',
    default_key: true,
    format_description: 'volume',
    description: "The drive's backing volume.",
  },
};

/** The union print_drive prints with (every drive property of every bus). */
export const allDriveFormat: FormatSchema = {
  ...driveBase,
  ...iothreadFmt,
  ...modelFmt,
  ...productFmt,
  ...queuesFmt,
  ...readonlyFmt,
  ...scsiblockFmt,
  ...ssdFmt,
  ...vendorFmt,
  ...wwnFmt,
  ...tpmversionFmt,
  ...efitypeFmt,
};

/** `import-from`, only accepted when allocating (API create/update). */
export const importFromProperty: PropertySchema = {
  type: 'string',
  format: 'pve-volume-id-or-absolute-path',
  format_description: 'source volume',
  description:
    'Create a new disk, importing from this source (volume ID or absolute path). When an absolute path is specified,' +
    " it's up to you to ensure that the source is not actively used by another process during the import!",
  optional: true,
};

function desc(format: FormatSchema, description: string): PropertySchema {
  return { optional: true, type: 'string', format, description };
}

/** Per-bus key schemas (the value of `ideN`, `scsiN`, …). */
export const driveDescs = {
  ide: desc(ideFormat, `Use volume as IDE hard disk or CD-ROM (n is 0 to ${MAX_IDE_DISKS - 1}).`),
  scsi: desc(scsiFormat, `Use volume as SCSI hard disk or CD-ROM (n is 0 to ${MAX_SCSI_DISKS - 1}).`),
  sata: desc(sataFormat, `Use volume as SATA hard disk or CD-ROM (n is 0 to ${MAX_SATA_DISKS - 1}).`),
  virtio: desc(virtioFormat, `Use volume as VIRTIO hard disk (n is 0 to ${MAX_VIRTIO_DISKS - 1}).`),
  efidisk: desc(efidiskFormat, 'Configure a disk for storing EFI vars.'),
  tpmstate: desc(tpmstateFormat, "Configure a Disk for storing TPM state. The format is fixed to 'raw'."),
  unused: desc(unusedFormat, 'Reference to unused volumes. This is used internally, and should not be modified manually.'),
} as const;

/** Every drive key with its schema, in no particular order (unused0..255 included). */
export function driveKeys(): Record<string, PropertySchema> {
  const keys: Record<string, PropertySchema> = {};
  for (let i = 0; i < MAX_IDE_DISKS; i++) keys[`ide${i}`] = driveDescs.ide;
  for (let i = 0; i < MAX_SATA_DISKS; i++) keys[`sata${i}`] = driveDescs.sata;
  for (let i = 0; i < MAX_SCSI_DISKS; i++) keys[`scsi${i}`] = driveDescs.scsi;
  for (let i = 0; i < MAX_VIRTIO_DISKS; i++) keys[`virtio${i}`] = driveDescs.virtio;
  keys.efidisk0 = driveDescs.efidisk;
  keys.tpmstate0 = driveDescs.tpmstate;
  for (let i = 0; i < MAX_UNUSED_DISKS; i++) keys[`unused${i}`] = driveDescs.unused;
  // `cdrom` is an alias key for ide2 (renamed on parse and write).
  keys.cdrom = {
    optional: true,
    type: 'string',
    format: 'pve-qm-ide',
    typetext: '<volume>',
    description: 'This is an alias for option -ide2',
  };
  return keys;
}

export const driveFormats: Readonly<Record<string, FormatSchema>> = {
  'pve-qm-ide': ideFormat,
  'pve-qm-scsi': scsiFormat,
  'pve-qm-sata': sataFormat,
  'pve-qm-virtio': virtioFormat,
  'pve-qm-efidisk': efidiskFormat,
  'pve-qm-tpmstate': tpmstateFormat,
  'pve-qm-unused': unusedFormat,
  'pve-qm-drive': allDriveFormat,
};
