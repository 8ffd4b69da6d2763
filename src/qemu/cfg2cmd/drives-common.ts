/**
 * @module qemu/cfg2cmd/drives-common
 * Drive facts shared by the `-blockdev`, legacy `-drive` and `-device` printers: the drive
 * shape the generator reads, Perl-style truthiness, and qemu-server's Drive.pm decisions
 * (drive id, CD-ROM detection, cache.direct, aio default, detect-zeroes, path and format).
 */

import { CvmError } from '../../errors.js';
import { volumePath } from '../../storage/path.js';
import type { StorageConfig, StorageDef } from '../../storage/types.js';
import { checkedVolumeFormat, parseVolumeId, storageConfig } from '../../storage/volume.js';

/**
 * A parsed drive as `parse_drive` returns it: the property-string values plus `interface`
 * and `index`. Values are read loosely (string or number) because booleans arrive as 0/1.
 */
export interface DriveLike {
  interface: string;
  index: number | string;
  file: string;
  media?: unknown;
  format?: unknown;
  cache?: unknown;
  aio?: unknown;
  discard?: unknown;
  detect_zeroes?: unknown;
  iothread?: unknown;
  queues?: unknown;
  ro?: unknown;
  snapshot?: unknown;
  serial?: unknown;
  wwn?: unknown;
  model?: unknown;
  vendor?: unknown;
  product?: unknown;
  ssd?: unknown;
  scsiblock?: unknown;
  rerror?: unknown;
  werror?: unknown;
  bootindex?: unknown;
  size?: unknown;
  [throttle: `${'mbps' | 'bps' | 'iops'}${string}`]: unknown;
}

/** Perl truthiness: undef, '', '0' and 0 are false. */
export function truthy(value: unknown): boolean {
  return value !== undefined && value !== null && value !== false && value !== 0 && value !== '' && value !== '0';
}

/** The value as a string, or undefined when unset. */
export function str(value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : String(value);
}

export function generateError(message: string): never {
  throw new CvmError('GENERATE', message);
}

/** get_drive_id: `<interface><index>`. */
export function driveId(drive: DriveLike): string {
  return `${drive.interface}${drive.index}`;
}

export function driveIsCdrom(drive: DriveLike): boolean {
  return str(drive.media) === 'cdrom';
}

const QEMU_FORMAT = 'raw|qcow|qcow2|qed|vmdk|cloop';
const CLOUDINIT_RE = new RegExp(`[:/](?:vm-\\d+-)?cloudinit(?:\\.(?:${QEMU_FORMAT}))?$`);

export function driveIsCloudinit(drive: DriveLike): boolean {
  return CLOUDINIT_RE.test(drive.file);
}

/** The storage definition of a volume-id drive, or undefined for paths/cdrom/none. */
export function driveStorage(storage: StorageConfig, file: string): StorageDef | undefined {
  const parsed = parseVolumeId(file);
  return parsed ? storageConfig(storage, parsed.storeid) : undefined;
}

/** drive_uses_cache_direct. */
export function driveUsesCacheDirect(drive: DriveLike, scfg: StorageDef | undefined): boolean {
  const cache = str(drive.cache);
  if (truthy(cache)) return /^(?:off|none|directsync)$/.test(cache as string);
  return !driveIsCdrom(drive) && !(scfg && scfg.type === 'btrfs' && !truthy(scfg['nocow']));
}

/** storage_allows_io_uring_default: not krbd without O_DIRECT, not LVM, not CIFS. */
export function storageAllowsIoUringDefault(scfg: StorageDef | undefined, cacheDirect: boolean): boolean {
  if (scfg && scfg.type === 'rbd' && truthy(scfg['krbd']) && !cacheDirect) return false;
  if (scfg && scfg.type === 'lvm') return false;
  if (scfg && scfg.type === 'cifs') return false;
  return true;
}

/** aio_cmdline_option: explicit aio, else io_uring unless the storage forbids it. */
export function aioOption(scfg: StorageDef | undefined, drive: DriveLike, cacheDirect: boolean): string {
  if (truthy(drive.aio)) return String(drive.aio);
  if (storageAllowsIoUringDefault(scfg, cacheDirect)) return 'io_uring';
  return cacheDirect ? 'native' : 'threads';
}

/** detect_zeroes_cmdline_option (never for CD-ROMs). */
export function detectZeroesOption(drive: DriveLike): string {
  if (driveIsCdrom(drive)) generateError('cannot use detect-zeroes for CD-ROM');
  if (drive.detect_zeroes !== undefined && !truthy(drive.detect_zeroes)) return 'off';
  if (truthy(drive.discard)) return str(drive.discard) === 'on' ? 'unmap' : 'on';
  return 'on';
}

/** get_iso_path: the host CD-ROM, nothing for `none`, the path, or the storage path. */
export function isoPath(storage: StorageConfig, cdromPath: string, file: string): string {
  if (file === 'cdrom') return cdromPath;
  if (file === 'none') return '';
  if (file.startsWith('/')) return file;
  return volumePath(storage, file);
}

/** get_path_and_format: the path QEMU opens and the checked format (undefined for empty CD-ROMs). */
export function drivePathAndFormat(
  storage: StorageConfig,
  cdromPath: string,
  drive: DriveLike,
): { path: string; format: string | undefined } {
  const id = driveId(drive);
  const isVolume = parseVolumeId(drive.file) !== undefined;
  let path: string;
  if (driveIsCdrom(drive)) path = isoPath(storage, cdromPath, drive.file);
  else path = isVolume ? volumePath(storage, drive.file) : drive.file;
  let format: string | undefined;
  if (driveIsCdrom(drive) && !path) {
    format = undefined;
  } else if (isVolume) {
    format = checkedVolumeFormat(storage, drive.file);
    if (truthy(drive.format) && str(drive.format) !== format) {
      generateError(
        `drive '${id}' - volume '${drive.file}' - 'format=${str(drive.format)}' option different from storage format '${format}'`,
      );
    }
  } else {
    format = str(drive.format) ?? 'raw';
  }
  return { path, format };
}

/**
 * Every throttle option with its QMP limit name, in qemu-server's order, and whether the value
 * is in MB/s (QMP wants bytes). Built once: the option names are needed for every drive.
 */
export const THROTTLE_OPTIONS: ReadonlyArray<{ option: string; limit: string; megabytes: boolean }> = [
  ['', '-total'],
  ['_rd', '-read'],
  ['_wr', '-write'],
].flatMap(([dir, qmp]) => [
  { option: `mbps${dir}`, limit: `bps${qmp}`, megabytes: true },
  { option: `mbps${dir}_max`, limit: `bps${qmp}-max`, megabytes: true },
  { option: `bps${dir}_max_length`, limit: `bps${qmp}-max-length`, megabytes: false },
  { option: `iops${dir}`, limit: `iops${qmp}`, megabytes: false },
  { option: `iops${dir}_max`, limit: `iops${qmp}-max`, megabytes: false },
  { option: `iops${dir}_max_length`, limit: `iops${qmp}-max-length`, megabytes: false },
]);

/** Throttling limits in QMP naming (`bps-total`, `iops-read-max`, …) from mbps/iops options. */
export function throttleLimits(drive: DriveLike): Array<[string, number]> {
  const limits: Array<[string, number]> = [];
  const values = drive as unknown as Record<string, unknown>;
  for (const { option, limit, megabytes } of THROTTLE_OPTIONS) {
    const value = values[option];
    if (!truthy(value)) continue;
    limits.push([limit, Math.trunc(megabytes ? Number(value) * 1024 * 1024 : Number(value))]);
  }
  return limits;
}

/**
 * Blockdev::set_io_throttle's limits for a live change: every limit, an unset rate as 0 and an
 * unset burst length as 1 (QEMU keeps a limit that is left out).
 */
export function ioThrottleLimits(drive: Readonly<Record<string, string | undefined>>): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const { option, limit, megabytes } of THROTTLE_OPTIONS) {
    const value = Number(drive[option] ?? 0) || 0;
    limits[limit] = option.endsWith('_length') ? Math.trunc(value) || 1 : Math.trunc(megabytes ? value * 1024 * 1024 : value);
  }
  return limits;
}
