/**
 * @module qemu/cfg2cmd/blockdev
 * The `-blockdev` chain of a drive for machine versions ≥ 10.0 (qemu-server's Blockdev.pm):
 * throttle (top node `drive-<id>`) → format node (`f…`) → file node (`e…`), with backing
 * chains for snapshot-as-volume-chain storages, optional zeroinit/alloc-track filters, the
 * scsi-block exception (no throttle) and the `throttle-group` `-object` of every drive.
 * Returned objects are plain data; print them with `canonicalJson`.
 */

import { isBlockDevice, qemuBlockdevOptions, volumeQemuSnapshotMethod, volumeSnapshotInfo } from '../../storage/path.js';
import type { StorageDef } from '../../storage/types.js';
import { checkedVolumeFormat, parseVolname, parseVolumeId, storageConfig } from '../../storage/volume.js';
import { nodeName, throttleGroupId, topNodeName } from './blockdev-json.js';
import type { Cfg2CmdContext } from './context.js';
import {
  aioOption,
  type DriveLike,
  detectZeroesOption,
  driveIsCdrom,
  driveUsesCacheDirect,
  generateError,
  isoPath,
  str,
  throttleLimits,
  truthy,
} from './drives-common.js';

export type Blockdev = Record<string, unknown>;

/** What a chain depends on: only the host facts (so a qemu-storage-daemon attach builds the same JSON outside a command line). */
export type BlockdevContext = Pick<Cfg2CmdContext, 'host'>;

export interface BlockdevOpts {
  /** Mark every node read-only (templates). */
  readOnly?: boolean;
  /** `size` on the format node (raw only), e.g. the OVMF VARS size for the efidisk. */
  size?: number;
  /** Wrap in a `zeroinit` filter node. */
  zeroInitialized?: boolean;
  /** Live restore: wrap in `alloc-track` with this backing blockdev. */
  liveRestore?: { blockdev: Blockdev };
  /** Return the chain without the throttle node. */
  noThrottle?: boolean;
  /** Internal: the snapshot the node belongs to (backing chains). */
  snapshotName?: string;
}

const NBD_TCP_RE = /nbd:(\S+):(\d+):exportname=(\S+)/;
const NBD_UNIX_RE = /nbd:unix:(\S+):exportname=(\S+)/;
// anchored forms for fileBlockdev, compiled once (this runs for every drive of every call)
const NBD_TCP_FULL_RE = new RegExp(`^${NBD_TCP_RE.source}$`);
const NBD_UNIX_FULL_RE = new RegExp(`^${NBD_UNIX_RE.source}$`);

function isNbd(drive: DriveLike): boolean {
  return NBD_TCP_RE.test(drive.file) || NBD_UNIX_RE.test(drive.file);
}

function addCommonOptions(blockdev: Blockdev, drive: DriveLike, opts: BlockdevOpts): void {
  if (!driveIsCdrom(drive)) {
    blockdev['discard'] = str(drive.discard) === 'on' ? 'unmap' : 'ignore';
    blockdev['detect-zeroes'] = detectZeroesOption(drive);
  }
  blockdev['read-only'] = truthy(drive.ro) || driveIsCdrom(drive) || Boolean(opts.readOnly);
}

/** generate_throttle_group: the `-object` every blockdev drive gets (limits may be empty). */
export function throttleGroupObject(driveId: string, drive: DriveLike): Blockdev {
  return {
    id: throttleGroupId(driveId),
    limits: Object.fromEntries(throttleLimits(drive)),
    'qom-type': 'throttle-group',
  };
}

function cacheObject(drive: DriveLike, scfg: StorageDef | undefined): { direct: boolean; 'no-flush': boolean } {
  return {
    direct: driveUsesCacheDirect(drive, scfg),
    'no-flush': str(drive.cache) === 'unsafe',
  };
}

/** generate_file_blockdev: the protocol-level node. */
export function fileBlockdev(ctx: BlockdevContext, driveId: string, drive: DriveLike, opts: BlockdevOpts): Blockdev {
  const snapshot = opts.snapshotName === 'current' ? undefined : opts.snapshotName;
  if (!drive.file) generateError('generate_file_blockdev called without volid/path');
  if (drive.file === 'none') generateError("generate_file_blockdev called with 'none'");
  if (truthy(drive.snapshot)) generateError("'snapshot' option is not yet supported for '-blockdev'");
  const host = ctx.host;
  let blockdev: Blockdev;
  let scfg: StorageDef | undefined;
  const unixNbd = NBD_UNIX_FULL_RE.exec(drive.file);
  const tcpNbd = NBD_TCP_FULL_RE.exec(drive.file);
  if (unixNbd) {
    blockdev = {
      driver: 'nbd',
      server: { type: 'unix', path: unixNbd[1] },
      export: unixNbd[2],
    };
  } else if (tcpNbd) {
    let hostName = tcpNbd[1] as string;
    const v6 = /^\[(.*)\]$/.exec(hostName);
    if (v6) hostName = v6[1] as string;
    blockdev = {
      driver: 'nbd',
      server: { type: 'inet', host: hostName, port: tcpNbd[2] },
      export: tcpNbd[3],
    };
  } else if (drive.file === 'cdrom') {
    blockdev = {
      driver: 'host_cdrom',
      filename: isoPath(host.storage, host.paths.cdromPath, 'cdrom'),
    };
  } else if (drive.file.startsWith('/')) {
    let driver = 'file';
    if (isBlockDevice(host, drive.file)) driver = driveIsCdrom(drive) ? 'host_cdrom' : 'host_device';
    blockdev = { driver, filename: drive.file };
  } else {
    const { storeid } = parseVolumeId(drive.file) ?? { storeid: '' };
    const { vtype } = parseVolname(host.storage, drive.file);
    if (drive.media === undefined && vtype === 'iso') {
      generateError(`${driveId}: explicit media parameter is required for iso images`);
    }
    // Object.assign rather than a spread: on Node 20's V8 a spread copy does not share map
    // transitions, so each key added below cost microseconds (the generator's top hot spot)
    blockdev = Object.assign({}, qemuBlockdevOptions(host, drive.file, { snapshotName: snapshot }));
    scfg = storageConfig(host.storage, storeid);
  }
  // SPI flash does many read-modify-write cycles; RBD efidisks need writeback (#3329)
  if (blockdev['driver'] === 'rbd' && drive.interface === 'efidisk') {
    blockdev['cache'] = { direct: false, 'no-flush': false };
  } else {
    blockdev['cache'] = cacheObject(drive, scfg);
  }
  const driver = blockdev['driver'];
  if (driver === 'file' || driver === 'host_cdrom' || driver === 'host_device') {
    blockdev['aio'] = aioOption(scfg, drive, (blockdev['cache'] as { direct: boolean }).direct);
  }
  blockdev['node-name'] = nodeName('file', driveId, drive.file, snapshot);
  addCommonOptions(blockdev, drive, opts);
  return blockdev;
}

/** generate_format_blockdev: the format node above `child`. */
export function formatBlockdev(ctx: BlockdevContext, driveId: string, drive: DriveLike, child: Blockdev, opts: BlockdevOpts): Blockdev {
  const snapshot = opts.snapshotName === 'current' ? undefined : opts.snapshotName;
  if (isNbd(drive)) generateError('generate_format_blockdev called with NBD path');
  const storage = ctx.host.storage;
  const parsed = parseVolumeId(drive.file);
  let scfg: StorageDef | undefined;
  let format: string;
  if (parsed) {
    scfg = storageConfig(storage, parsed.storeid);
    format = checkedVolumeFormat(storage, drive.file);
    if (truthy(drive.format) && str(drive.format) !== format) {
      generateError(
        `drive '${drive.interface}${drive.index}' - volume '${drive.file}' - 'format=${str(drive.format)}' option different from storage format '${format}'`,
      );
    }
  } else {
    format = str(drive.format) ?? 'raw';
  }
  const blockdev: Blockdev = {
    'node-name': nodeName('fmt', driveId, drive.file, snapshot),
    driver: format,
    file: child,
    cache: child['cache'],
  };
  addCommonOptions(blockdev, drive, opts);
  if (opts.size !== undefined) {
    if (format !== 'raw') generateError("blockdev: 'size' is only supported for 'raw' format");
    blockdev['size'] = Math.trunc(opts.size);
  }
  if (scfg && truthy(scfg['snapshot-as-volume-chain']) && format === 'qcow2') blockdev['discard-no-unref'] = true;
  return blockdev;
}

function backingBlockdev(
  ctx: BlockdevContext,
  driveId: string,
  drive: DriveLike,
  snapshots: Record<string, { file: string; parent: string | undefined }>,
  snapName: string,
): Blockdev {
  const snapshot = snapshots[snapName];
  // upstream starts backing nodes from fresh options: only the snapshot name, no read-only
  const snapOpts: BlockdevOpts = { snapshotName: snapName };
  const file = fileBlockdev(ctx, driveId, drive, snapOpts);
  file['filename'] = snapshot?.file;
  const fmt = formatBlockdev(ctx, driveId, drive, file, snapOpts);
  if (snapshot?.parent) fmt['backing'] = backingBlockdev(ctx, driveId, drive, snapshots, snapshot.parent);
  return fmt;
}

/**
 * generate_drive_blockdev: the complete chain of one drive. The top node is the throttle
 * filter `drive-<id>` unless the drive uses scsi-block (then the format node takes that name)
 * or `noThrottle` is set.
 */
export function blockdevChain(ctx: BlockdevContext, driveId: string, drive: DriveLike, opts: BlockdevOpts = {}): Blockdev {
  if (!drive.file) generateError('generate_drive_blockdev called without volid/path');
  if (drive.file === 'none') generateError("generate_drive_blockdev called with 'none'");
  let child = fileBlockdev(ctx, driveId, drive, opts);
  if (!isNbd(drive)) {
    child = formatBlockdev(ctx, driveId, drive, child, opts);
    const isVolume = parseVolumeId(drive.file) !== undefined;
    if (isVolume && volumeQemuSnapshotMethod(ctx.host.storage, drive.file) === 'mixed') {
      const snapshots = volumeSnapshotInfo(ctx.host, drive.file);
      const parent = snapshots['current']?.parent;
      if (parent) child['backing'] = backingBlockdev(ctx, driveId, drive, snapshots, parent);
    }
  }
  if (opts.zeroInitialized) {
    child = {
      driver: 'zeroinit',
      file: child,
      'node-name': nodeName('zeroinit', driveId, drive.file, opts.snapshotName),
    };
  }
  if (opts.liveRestore) {
    child = {
      driver: 'alloc-track',
      'auto-remove': true,
      backing: opts.liveRestore.blockdev,
      file: child,
      'node-name': nodeName('alloc-track', driveId, drive.file, opts.snapshotName),
    };
  }
  if (truthy(drive.scsiblock)) {
    // scsi-block needs ioctls the throttle driver does not pass through
    child['node-name'] = topNodeName(driveId);
    return child;
  }
  if (opts.noThrottle) return child;
  const top: Blockdev = {
    driver: 'throttle',
    'node-name': topNodeName(driveId),
    'throttle-group': throttleGroupId(driveId),
    file: child,
  };
  addCommonOptions(top, drive, opts);
  return top;
}
