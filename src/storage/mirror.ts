/**
 * @module storage/mirror
 * Copying the disk of a running VM to a new volume and switching the VM over to it, as
 * qemu-server's BlockJob::mirror does. A VM started with `-blockdev` (machine ≥ 10.0) gets
 * blockdev_mirror: the target chain is built by the generator's own `blockdevChain` (no
 * throttle node, on pve-qemu a `zeroinit` filter for storages that hand out zeroed volumes), added with
 * blockdev-add, then `blockdev-mirror` job `mirror-<drive>` replaces the node below the drive's
 * throttle filter, so I/O limits stay. A VM started with `-drive` gets drive-mirror onto the
 * target path. Either way the job is watched and completed by storage/block-job; a failed
 * start cancels and deletes what was added.
 */

import { CvmError } from '../errors.js';
import type { HostFacts } from '../host/facts.js';
import { blockdevChain } from '../qemu/cfg2cmd/blockdev.js';
import { parseDriveValue } from '../qemu/cfg2cmd/drives.js';
import { driveUsesCacheDirect, storageAllowsIoUringDefault } from '../qemu/cfg2cmd/drives-common.js';
import { blockNodeChildren, detachBlockNode } from '../run/hotplug/qmp-devices.js';
import { type BlockJobEnv, type BlockJobs, cancelBlockJobs, monitorBlockJobs } from './block-job.js';
import { volumePath } from './path.js';
import type { StorageConfig } from './types.js';
import { checkedVolumeFormat, parseVolumeId, storageConfig } from './volume.js';

export interface MirrorArgs extends BlockJobEnv {
  host: HostFacts;
  /** The drive's config key (`scsi0`) and value as the running VM uses it. */
  key: string;
  value: string;
  /** The allocated target volume. */
  volid: string;
  /** Bandwidth limit in KiB/s (0: unlimited, but said so in the log as qemu-server does). */
  bwlimit?: number;
}

interface NamedNode {
  'node-name': string;
  drv: string;
  image?: { 'virtual-size'?: number };
}

/**
 * volume_has_feature(…, 'sparseinit', …): a new volume reads as zeroes, so the mirror may skip
 * zero blocks (a `zeroinit` filter). File storages (raw, qcow2, vmdk), LVM-thin, ZFS pools and
 * RBD have it; thick LVM and iSCSI LUNs do not. `zeroinit` is a pve-qemu driver: with stock
 * QEMU (the `local` flavor) the mirror writes zeroes instead, which sparse targets take cheaply.
 */
export function volumeIsZeroInitialized(host: Pick<HostFacts, 'flavor' | 'storage'>, volid: string): boolean {
  if (host.flavor !== 'pve') return false;
  const storage = host.storage;
  const parsed = parseVolumeId(volid);
  if (!parsed) return false;
  const type = storageConfig(storage, parsed.storeid).type;
  if (['dir', 'btrfs', 'cifs', 'nfs'].includes(type)) return ['raw', 'qcow2', 'vmdk'].includes(checkedVolumeFormat(storage, volid));
  return ['lvmthin', 'zfspool', 'rbd'].includes(type);
}

/** common_mirror_qmp_options: full sync, no auto-dismiss (errors stay readable), speed in bytes/s. */
function mirrorOptions(args: MirrorArgs, deviceId: string, target: string): Record<string, unknown> {
  const opts: Record<string, unknown> = { device: deviceId, sync: 'full', target, 'auto-dismiss': false };
  if (args.bwlimit !== undefined) {
    opts.speed = args.bwlimit * 1024;
    args.log(`drive mirror is starting for ${deviceId} with bandwidth limit: ${args.bwlimit} KiB/s`);
  } else {
    args.log(`drive mirror is starting for ${deviceId}`);
  }
  return opts;
}

const messageOf = (err: unknown) => (err as Error).message;

/** blockdev_mirror: mirror below the throttle filter `drive-<key>` into a freshly added target chain. */
async function blockdevMirror(args: MirrorArgs, top: NamedNode): Promise<void> {
  const deviceId = `drive-${args.key}`;
  if (top.drv !== 'throttle') throw new CvmError('QMP_ERROR', `${deviceId}: unexpected top node ${top['node-name']} (${top.drv})`);
  // the node below the throttle filter is not always a format node (a previous mirror's zeroinit filter): ask QEMU
  const sourceNode = (await blockNodeChildren(args.qmp)).get(deviceId)?.get('file');
  if (!sourceNode) throw new CvmError('QMP_ERROR', `${deviceId}: throttle node without file child node name!`);

  const drive = parseDriveValue(args.key, args.value);
  if (!drive) throw new CvmError('PARAM_INVALID', `${args.key}: unable to parse drive value '${args.value}'`);
  const dest = Object.assign({}, drive, { file: args.volid }); // the source's aio, cache, discard, …
  delete dest.format; // the target's format is the volume's
  const zeroInitialized = volumeIsZeroInitialized(args.host, args.volid);
  // source and target need the same virtual size (bug #3227); only the raw EFI vars get an explicit one
  let size: number | undefined;
  if (args.key === 'efidisk0' && checkedVolumeFormat(args.host.storage, args.volid) === 'raw') {
    size = top.image?.['virtual-size'];
    if (!size) args.warn('unable to determine source block node size - continuing anyway');
  }
  const target = blockdevChain({ host: args.host }, args.key, dest, {
    noThrottle: true,
    ...(zeroInitialized ? { zeroInitialized } : {}),
    ...(size ? { size } : {}),
  });
  const targetNode = target['node-name'] as string;
  await args.qmp.execute('blockdev-add', target).catch((err) => {
    throw new CvmError('QMP_ERROR', `adding blockdev '${targetNode}' failed : ${messageOf(err)}`, { cause: err });
  });

  const jobId = `mirror-${args.key}`;
  const jobs: BlockJobs = new Map([[jobId, { sourceNodeName: sourceNode, targetNodeName: targetNode }]]);
  const opts = { ...mirrorOptions(args, deviceId, targetNode), 'job-id': jobId, replaces: sourceNode };
  try {
    await args.qmp.execute('blockdev-mirror', opts, { timeoutMs: 10_000 });
  } catch (err) {
    await cancelBlockJobs(args, jobs).catch((e) => args.warn(`unable to cancel block jobs - ${messageOf(e)}`));
    await detachBlockNode(args.qmp, targetNode).catch((e) => args.warn(`unable to delete blockdev '${targetNode}' - ${messageOf(e)}`));
    throw new CvmError('QMP_ERROR', `error starting blockdev mirrror - ${messageOf(err)}`, { cause: err });
  }
  await monitorBlockJobs(args, jobs, 'complete');
}

/** qemu_drive_mirror: a VM started with `-drive` mirrors onto the existing target file. */
async function driveMirror(args: MirrorArgs): Promise<void> {
  const deviceId = `drive-${args.key}`;
  const storage = args.host.storage;
  const path = volumePath(storage, args.volid);
  const target = volumeIsZeroInitialized(args.host, args.volid) ? `zeroinit:${path}` : path;
  const jobs: BlockJobs = new Map([[deviceId, {}]]);
  const opts = { ...mirrorOptions(args, deviceId, target), mode: 'existing', format: checkedVolumeFormat(storage, args.volid) };
  try {
    await args.qmp.execute('drive-mirror', opts, { timeoutMs: 10_000 });
  } catch (err) {
    await cancelBlockJobs(args, jobs).catch((e) => args.warn(messageOf(e)));
    throw new CvmError('QMP_ERROR', `mirroring error: ${messageOf(err)}`, { cause: err });
  }
  await monitorBlockJobs(args, jobs, 'complete');
}

/** Whether the running VM has drive `key` as a `-blockdev` tree (top node `drive-<key>`), else it came with `-drive`. */
export async function driveUsesBlockdev(qmp: MirrorArgs['qmp'], key: string): Promise<boolean> {
  const nodes = await qmp.execute<NamedNode[]>('query-named-block-nodes', { flat: true });
  return nodes.some((n) => n['node-name'] === `drive-${key}`);
}

/**
 * clone_disk_check_io_uring (bug #4525): a mirror opens the target with the source's aio mode;
 * refuse a target storage known to break with io_uring when the drive uses it — explicitly, or
 * by default on a `-drive` VM (with `-blockdev` the default is chosen again for the target).
 */
export function checkMirrorIoUring(storage: StorageConfig, value: string, key: string, targetStoreid: string, blockdev: boolean): void {
  const drive = parseDriveValue(key, value);
  const source = drive ? parseVolumeId(drive.file) : undefined;
  if (!drive || !source || source.storeid === targetStoreid) return;
  const srcScfg = storageConfig(storage, source.storeid);
  const cacheDirect = driveUsesCacheDirect(drive, srcScfg);
  let usesIoUring: boolean;
  if (drive.aio) usesIoUring = drive.aio === 'io_uring';
  else if (blockdev) return;
  else usesIoUring = storageAllowsIoUringDefault(srcScfg, cacheDirect);
  if (usesIoUring && !storageAllowsIoUringDefault(storageConfig(storage, targetStoreid), cacheDirect)) {
    throw new CvmError('STORAGE', 'target storage is known to cause issues with aio=io_uring (used by current drive)');
  }
}

/**
 * BlockJob::mirror: copy drive `key` of the running VM to `volid` and switch the VM to it.
 * Whether the VM runs with `-blockdev` is read from QEMU (its drive's top node is named
 * `drive-<key>`), as stock QEMU does not report the machine version a VM was started with.
 */
export async function mirrorDrive(args: MirrorArgs): Promise<void> {
  const nodes = await args.qmp.execute<NamedNode[]>('query-named-block-nodes', { flat: true });
  // the same test as driveUsesBlockdev, keeping the node for its size
  const top = nodes.find((n) => n['node-name'] === `drive-${args.key}`);
  if (top) await blockdevMirror(args, top);
  else await driveMirror(args);
}
