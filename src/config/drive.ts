/**
 * @module config/drive
 * Drive values of a VM config (`scsi0: local-lvm:vm-100-disk-0,iothread=1,size=32G`):
 * parse_drive / print_drive with qemu-server 9.2.6 semantics, the drive key names, and
 * the cdrom / cloud-init tests. parse_drive in qemu-server returns undef (sometimes after
 * a warning) for an invalid drive; here every such case throws a CvmError naming the key,
 * using qemu-server's warning text where it has one.
 */

import { CvmError } from '../errors.js';
import { parsePropertyString, parseSize, printPropertyString } from '../schema/index.js';
import type { FormatSchema, PropertyValues } from '../schema/types.js';
import {
  allDriveFormat,
  DROPPED_DRIVE_PROPERTIES,
  driveDescs,
  importFromProperty,
  isValidDriveName,
  validDriveNames,
  validDriveNamesForBoot,
  validDriveNamesWithUnused,
} from './options/index.js';

export { isValidDriveName, validDriveNames, validDriveNamesForBoot, validDriveNamesWithUnused };

/** A parsed drive: its bus (`interface`), index, backing `file` and the other properties. */
export interface Drive {
  interface: string;
  index: number;
  file: string;
  [k: string]: string | number;
}

export interface DriveOptions {
  /** Accept `import-from` and allocation syntax (API create/update), like `$with_alloc`. */
  withAlloc?: boolean;
}

const QEMU_FORMAT_RE = '(?:raw|qcow|qcow2|qed|vmdk|cloop)';
const CLOUDINIT_RE = new RegExp(`[:/](?:vm-\\d+-)?cloudinit(?:\\.${QEMU_FORMAT_RE})?$`);

/** parse_drive_interface: `scsi0` → ['scsi', 0]. */
export function parseDriveInterface(key: string): [string, number] {
  const match = /^(\D+)(\d+)$/.exec(key);
  if (!match) throw new CvmError('PARAM_INVALID', `unable to parse drive interface ${key}`);
  return [match[1] as string, Number(match[2])];
}

const withAllocCache = new Map<FormatSchema, FormatSchema>();
function formatFor(key: string, interfaceName: string, withAlloc: boolean): FormatSchema {
  const isUnused = interfaceName === 'unused';
  if (!(isValidDriveName(key) || (isUnused && /^unused(?:0|[1-9]\d*)$/.test(key) && Number(key.slice(6)) < 256))) {
    throw new CvmError('PARAM_INVALID', `invalid drive key: ${key}`);
  }
  const desc = driveDescs[interfaceName as keyof typeof driveDescs];
  const format = desc.format as FormatSchema;
  // unused volumes cannot be allocated, so their format never gains import-from
  if (!withAlloc || isUnused) return format;
  let extended = withAllocCache.get(format);
  if (!extended) {
    extended = { ...format, 'import-from': importFromProperty };
    withAllocCache.set(format, extended);
  }
  return extended;
}

/**
 * The API's drive schema "with alloc" ($drivedesc_hash_with_alloc): the config schema of a
 * drive key whose format also accepts `import-from` (create/set input, never a stored config).
 */
export function driveSchemaWithAlloc<S extends { format?: unknown }>(key: string, schema: S): S {
  const [interfaceName] = parseDriveInterface(key);
  if (interfaceName === 'unused' || typeof schema.format !== 'object') return schema;
  return { ...schema, format: formatFor(key, interfaceName, true) };
}

/** Perl truthiness of a parsed value (`0`, `''` and absent are false). */
function truthy(value: string | number | undefined): boolean {
  return value !== undefined && value !== '' && value !== 0 && value !== '0';
}

const THROTTLE_REQUIREMENTS: ReadonlyArray<readonly [string, string]> = [
  ['mbps_max', 'mbps'],
  ['mbps_rd_max', 'mbps_rd'],
  ['mbps_wr_max', 'mbps_wr'],
  ['bps_max_length', 'mbps_max'],
  ['bps_rd_max_length', 'mbps_rd_max'],
  ['bps_wr_max_length', 'mbps_wr_max'],
  ['iops_max_length', 'iops_max'],
  ['iops_rd_max_length', 'iops_rd_max'],
  ['iops_wr_max_length', 'iops_wr_max'],
];

/**
 * parse_drive(key, value): schema parse (dropping cyls/heads/secs/trans), `bps*` → `mbps*`,
 * throttle dependencies, cdrom restrictions, and `size` converted to bytes.
 */
export function parseDrive(key: string, value: string, opts: DriveOptions = {}): Drive {
  const [interfaceName, index] = parseDriveInterface(key);
  const format = formatFor(key, interfaceName, opts.withAlloc === true);
  const parsed: PropertyValues = parsePropertyString(format, value, { skip: DROPPED_DRIVE_PROPERTIES });
  const res: PropertyValues = { ...parsed, interface: interfaceName, index };
  const problems: string[] = [];

  for (const opt of ['bps', 'bps_rd', 'bps_wr']) {
    if (res[opt] === undefined) continue;
    delete res[opt];
    if (res[`m${opt}`] !== undefined) {
      problems.push(`both ${opt} and m${opt} specified`);
      continue;
    }
    // qemu-server converts `defined(...)` (i.e. 1), not the byte value: bps=N always
    // becomes m<opt>=0.000. Kept for compatibility.
    res[`m${opt}`] = (1 / (1024 * 1024)).toFixed(3);
  }
  for (const [option, requires] of THROTTLE_REQUIREMENTS) {
    if (truthy(res[option]) && !truthy(res[requires])) problems.push(`${option} requires ${requires}`);
  }
  if (problems.length > 0) {
    throw new CvmError('PARAM_INVALID', `invalid drive '${key}': ${problems.join('; ')}`, { details: { key, value, problems } });
  }

  for (const [specific, total] of [
    ['mbps_rd', 'mbps'],
    ['mbps_wr', 'mbps'],
    ['iops_rd', 'iops'],
    ['iops_wr', 'iops'],
  ] as const) {
    if (truthy(res[specific]) && truthy(res[total])) {
      throw new CvmError('PARAM_INVALID', `invalid drive '${key}': ${specific} cannot be combined with ${total}`, {
        details: { key, value },
      });
    }
  }

  if (res.media === 'cdrom') {
    if (truthy(res.snapshot) || truthy(res.format)) {
      throw new CvmError('PARAM_INVALID', `invalid drive '${key}': a cdrom cannot have 'snapshot' or 'format'`, {
        details: { key, value },
      });
    }
    if (interfaceName === 'virtio') {
      throw new CvmError('PARAM_INVALID', `invalid drive '${key}': virtio does not support media=cdrom`, {
        details: { key, value },
      });
    }
  }

  if (truthy(res.size)) {
    const bytes = parseSize(String(res.size));
    if (bytes === undefined) {
      throw new CvmError('PARAM_INVALID', `invalid drive '${key}': unable to parse size '${res.size}'`, {
        details: { key, value },
      });
    }
    res.size = bytes;
  }

  return res as Drive;
}

const printFormatWithAlloc: FormatSchema = { ...allDriveFormat, 'import-from': importFromProperty };

/**
 * print_drive: the default key (`file`) bare, then the other properties sorted by name,
 * `size` rendered as 32G/128K …; `interface` and `index` are left out.
 */
export function printDrive(drive: Drive, opts: DriveOptions = {}): string {
  const format = opts.withAlloc ? printFormatWithAlloc : allDriveFormat;
  return printPropertyString(format, drive, { skip: ['index', 'interface'] });
}

/** drive_is_cloudinit: the volume is a cloud-init image (`…:vm-100-cloudinit`, `…/cloudinit.qcow2`). */
export function driveIsCloudinit(drive: Pick<Drive, 'file'>): boolean {
  return isCloudinitVolume(drive.file);
}

/** Whether a drive's file (volume id or path) names a cloud-init image. */
export function isCloudinitVolume(file: string): boolean {
  return CLOUDINIT_RE.test(file);
}

/** drive_is_cdrom: `media=cdrom` (optionally not counting cloud-init drives). */
export function driveIsCdrom(drive: Drive | undefined, excludeCloudinit = false): boolean {
  if (!drive) return false;
  if (excludeCloudinit && driveIsCloudinit(drive)) return false;
  return drive.media === 'cdrom';
}

/** The drive id `scsi0` of a parsed drive (get_drive_id). */
export function driveId(drive: Pick<Drive, 'interface' | 'index'>): string {
  return `${drive.interface}${drive.index}`;
}

/**
 * filename_to_volume_id: old-style bare file names become volume ids (`local:iso/<f>` for
 * CD-ROMs, `local:<vmid>/<f>` otherwise); undefined for a relative path with a `/`.
 */
export function filenameToVolumeId(vmid: number, file: string, media?: string | number): string | undefined {
  if (file === 'none' || file === 'cdrom' || /^\/dev\/./.test(file) || /^[^:]+:[^\n]+/.test(file)) return file;
  if (file.includes('/')) return undefined;
  return media === 'cdrom' ? `local:iso/${file}` : `local:${vmid}/${file}`;
}
