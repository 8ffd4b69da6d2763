/**
 * @module qemu/cfg2cmd/drives-legacy
 * The `-drive` strings of machine versions < 10.0 (print_drive_commandline_full) and the
 * OVMF pflash `-drive` pair's efidisk half (print_ovmf_drive_commandlines, spec §4.3 B2).
 */

import { optValue } from './opt-value.js';
import { volumePath } from '../../storage/path.js';
import { checkedVolumeFormat, parseVolname, parseVolumeId, storageConfig } from '../../storage/volume.js';
import type { Cfg2CmdContext } from './context.js';
import {
  aioOption,
  type DriveLike,
  detectZeroesOption,
  driveId,
  driveIsCdrom,
  drivePathAndFormat,
  driveUsesCacheDirect,
  generateError,
  str,
  truthy,
} from './drives-common.js';

/**
 * print_drive_commandline_full: `file=<path>,if=none,id=drive-<id>,…` for the legacy drive
 * path. `liveRestoreName` names a `-blockdev` backing node for live restore.
 */
export function printDriveCommandline(ctx: Cfg2CmdContext, drive: DriveLike, liveRestoreName?: string): string {
  const id = driveId(drive);
  const storage = ctx.host.storage;
  const parsed = parseVolumeId(drive.file);
  const scfg = parsed ? storageConfig(storage, parsed.storeid) : undefined;
  const vtype = parsed ? parseVolname(storage, drive.file).vtype : undefined;
  let { path, format } = drivePathAndFormat(storage, ctx.host.paths.cdromPath, drive);
  if (driveIsCdrom(drive) && liveRestoreName) generateError(`${id}: cannot back cdrom drive with a live restore image`);

  if (scfg && truthy(scfg['snapshot-as-volume-chain']) && format === 'qcow2') {
    generateError(
      `storage for '${drive.file}' is configured for snapshots as a volume chain - this requires QEMU machine version >= 10.0. See https://pve.proxmox.com/wiki/QEMU_Machine_Version_Upgrade`,
    );
  }
  const isRbd = path.startsWith('rbd:');
  let opts = '';
  for (const key of ['media', 'cache', 'rerror', 'werror', 'discard'] as const) {
    if (drive[key] !== undefined) opts += `,${key}=${str(drive[key])}`;
  }
  if (drive.snapshot !== undefined) opts += `,snapshot=${truthy(drive.snapshot) ? 'on' : 'off'}`;
  if (drive.ro !== undefined) opts += `,readonly=${truthy(drive.ro) ? 'on' : 'off'}`;
  const get = (key: string) => (drive as unknown as Record<string, unknown>)[key];
  for (const [dir, qmp] of [
    ['', '-total'],
    ['_rd', '-read'],
    ['_wr', '-write'],
  ] as const) {
    const mbps = get(`mbps${dir}`);
    if (truthy(mbps)) opts += `,throttling.bps${qmp}=${Math.trunc(Number(mbps) * 1024 * 1024)}`;
    const mbpsMax = get(`mbps${dir}_max`);
    if (truthy(mbpsMax)) opts += `,throttling.bps${qmp}-max=${Math.trunc(Number(mbpsMax) * 1024 * 1024)}`;
    const bpsLen = get(`bps${dir}_max_length`);
    if (truthy(bpsLen)) opts += `,throttling.bps${qmp}-max-length=${str(bpsLen)}`;
    const iops = get(`iops${dir}`);
    if (truthy(iops)) opts += `,throttling.iops${qmp}=${str(iops)}`;
    const iopsMax = get(`iops${dir}_max`);
    if (truthy(iopsMax)) opts += `,throttling.iops${qmp}-max=${str(iopsMax)}`;
    const iopsLen = get(`iops${dir}_max_length`);
    if (truthy(iopsLen)) opts += `,throttling.iops${qmp}-max-length=${str(iopsLen)}`;
  }
  if (liveRestoreName) {
    if (isRbd) format = 'rbd';
    if (!format) generateError(`${id}: Proxmox Backup Server backed drive cannot auto-detect the format`);
    opts += `,format=alloc-track,file.driver=${format}`;
  } else if (format) {
    opts += `,format=${format}`;
  }
  const cacheDirect = driveUsesCacheDirect(drive, scfg);
  if (!truthy(drive.cache) && cacheDirect) opts += ',cache=none';
  opts += `,aio=${aioOption(scfg, drive, cacheDirect)}`;
  if (drive.media === undefined && vtype === 'iso') generateError(`${id}: explicit media parameter is required for iso images`);
  if (!driveIsCdrom(drive)) {
    const dz = detectZeroesOption(drive);
    opts += `,${liveRestoreName ? 'file.detect-zeroes' : 'detect-zeroes'}=${dz}`;
  }
  if (liveRestoreName) opts += `,backing=${liveRestoreName},auto-remove=on`;
  let fileParam = 'file';
  if (liveRestoreName) {
    if (!isRbd) fileParam += '.file';
    fileParam += '.filename';
  }
  const pathInfo = path ? `${fileParam}=${optValue(path)},` : '';
  return `${pathInfo}if=none,id=drive-${drive.interface}${drive.index}${opts}`;
}

/**
 * The efidisk half of the legacy OVMF pflash pair: `if=pflash,unit=1,id=drive-efidisk0<extras>`.
 * Without an efidisk, `tempPath` (the efivars copy) is used as a raw image. `varsSize` is added
 * for raw images when `sizeGuard` (version_guard(4,1,2), evaluated by the caller) holds.
 */
export function legacyEfidiskDrive(
  ctx: Cfg2CmdContext,
  drive: DriveLike | undefined,
  opts: {
    varsSize: number;
    sizeGuard: () => boolean;
    readOnly?: boolean;
    tempPath: string;
  },
): string {
  let str2 = 'if=pflash,unit=1,id=drive-efidisk0';
  if (drive) {
    const storage = ctx.host.storage;
    const isVolume = parseVolumeId(drive.file) !== undefined;
    let path = drive.file;
    let format = str(drive.format);
    if (isVolume) {
      path = volumePath(storage, drive.file);
      format ??= checkedVolumeFormat(storage, drive.file);
    } else if (format === undefined) {
      generateError('efidisk format must be specified');
    }
    // SPI flash does many read-modify-write cycles: without writeback caching this is slow (#3329)
    if (path.startsWith('rbd:')) {
      str2 += ',cache=writeback';
      path += ':rbd_cache_policy=writeback';
    }
    str2 += `,format=${format},file=${optValue(path)}`;
    if (format === 'raw' && opts.sizeGuard()) str2 += `,size=${opts.varsSize}`;
    if (opts.readOnly) str2 += ',readonly=on';
  } else {
    str2 += `,format=raw,file=${optValue(opts.tempPath)}`;
    if (opts.sizeGuard()) str2 += `,size=${opts.varsSize}`;
  }
  return str2;
}
