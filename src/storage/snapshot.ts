/**
 * @module storage/snapshot
 * Volume snapshots as PVE::Storage offers them to qemu-server: whether a volume can be
 * snapshotted (`volume_has_feature(snapshot)`: qcow2 on file storages, the snapshot-capable
 * block storages) and, for qcow2 volumes, the offline operations through `qemu-img snapshot`
 * (`-c` create, `-a` apply = rollback, `-d` delete), which is what the dir plugin runs. A
 * running VM's volumes are snapshotted over QMP instead (snapshot/qmp-volumes). Storage-side
 * snapshots (LVM-thin, ZFS, RBD, btrfs) are not implemented: such volumes are refused with a
 * line naming the volume and the storage type.
 */

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CvmError } from '../errors.js';
import { volumePath } from './path.js';
import type { StorageConfig } from './types.js';
import { checkedVolumeFormat, parseVolumeId, storageConfig } from './volume.js';

const run = promisify(execFile);

const FILE_TYPES = new Set(['dir', 'nfs', 'cifs', 'glusterfs', 'cephfs']);
const STORAGE_SNAPSHOT_TYPES = new Set(['lvmthin', 'zfspool', 'zfs', 'rbd', 'btrfs']);

/** volume_has_feature($storecfg, 'snapshot', $volid): false for paths, raw files, plain LVM, iSCSI. */
export function volumeHasSnapshotFeature(storage: StorageConfig, volid: string): boolean {
  const id = parseVolumeId(volid);
  if (!id || !Object.hasOwn(storage, id.storeid)) return false;
  const def = storageConfig(storage, id.storeid);
  let format: string;
  try {
    format = checkedVolumeFormat(storage, volid);
  } catch {
    return false;
  }
  if (FILE_TYPES.has(def.type)) return format === 'qcow2';
  if (def.type === 'lvm') return format === 'qcow2' && Boolean(def['snapshot-as-volume-chain']);
  return STORAGE_SNAPSHOT_TYPES.has(def.type);
}

/** The path of a volume cvmctl can snapshot itself (a qcow2 file), or a STORAGE error saying why not. */
export function qcow2SnapshotPath(storage: StorageConfig, volid: string): string {
  const { storeid } = parseVolumeId(volid) as { storeid: string };
  const def = storageConfig(storage, storeid);
  if (!FILE_TYPES.has(def.type) || checkedVolumeFormat(storage, volid) !== 'qcow2' || def['snapshot-as-volume-chain']) {
    throw new CvmError(
      'STORAGE',
      `snapshot of volume '${volid}' on '${def.type}' storage '${storeid}' is not supported by cvmctl (qcow2 internal snapshots only)`,
    );
  }
  return volumePath(storage, volid);
}

export type QemuImgSnapshotOp = 'create' | 'apply' | 'delete';
const FLAG: Record<QemuImgSnapshotOp, string> = { create: '-c', apply: '-a', delete: '-d' };

/** `qemu-img snapshot -c|-a|-d <snap> <path>` on a stopped VM's qcow2 volume. */
export async function qemuImgSnapshot(op: QemuImgSnapshotOp, path: string, snapname: string): Promise<void> {
  try {
    await run(process.env.CVMCTL_QEMU_IMG || 'qemu-img', ['snapshot', FLAG[op], snapname, path], { timeout: 600_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const text = (e.stderr || e.message).trim().split('\n').filter(Boolean).join(' - ');
    throw new CvmError('STORAGE', `qemu-img snapshot ${FLAG[op]} ${snapname} '${path}' failed: ${text}`, { cause: err });
  }
}

/** Names of the internal snapshots of a qcow2 file (`qemu-img snapshot -l`; `-U` so a running VM's file can be read). */
export async function qemuImgSnapshotNames(path: string): Promise<string[]> {
  const { stdout } = await run(process.env.CVMCTL_QEMU_IMG || 'qemu-img', ['info', '-U', '--output=json', path]);
  const info = JSON.parse(stdout) as { snapshots?: { name: string }[] };
  return (info.snapshots ?? []).map((s) => s.name);
}
