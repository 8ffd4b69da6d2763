/**
 * @module snapshot/volumes
 * The volumes a snapshot covers and the per-volume operations, offline or on a running VM.
 * `foreach_volume` of qemu-server: every drive key in valid_drive_names order whose drive is
 * not a CD-ROM. A stopped VM's qcow2 volumes go through `qemu-img snapshot`; a running VM's
 * through QEMU's `snapshot-save` / `snapshot-delete` jobs on their qcow2 format nodes.
 */

import type { ConfigSection } from '../config/types.js';
import { driveIsCdrom, parseDrive } from '../config/drive.js';
import { validDriveNames } from '../config/options/drive-names.js';
import { CvmError } from '../errors.js';
import type { QmpClient } from '../qemu/qmp/index.js';
import { sleep } from '../run/wait.js';
import { qcow2SnapshotPath, qemuImgSnapshot, volumeHasSnapshotFeature } from '../storage/snapshot.js';
import type { StorageConfig } from '../storage/types.js';

export interface SnapVolume {
  key: string;
  volid: string;
}

/** foreach_volume without CD-ROMs: the drives a snapshot includes. */
export function snapshotVolumes(section: ConfigSection): SnapVolume[] {
  const out: SnapVolume[] = [];
  for (const key of validDriveNames) {
    const value = section[key];
    if (value === undefined) continue;
    const drive = parseDrive(key, value);
    if (driveIsCdrom(drive)) continue;
    out.push({ key, volid: drive.file });
  }
  return out;
}

/** has_feature('snapshot'): every covered volume supports snapshots. */
export function assertSnapshotFeature(storage: StorageConfig, section: ConfigSection): void {
  for (const v of snapshotVolumes(section)) {
    if (!volumeHasSnapshotFeature(storage, v.volid)) throw new CvmError('STORAGE', 'snapshot feature is not available');
  }
}

interface BlockNode {
  'node-name': string;
  drv: string;
  file: string;
}

/** The qcow2 format node of a running VM that has `path` open. */
async function formatNode(qmp: Pick<QmpClient, 'execute'>, path: string, key: string): Promise<string> {
  const nodes = await qmp.execute<BlockNode[]>('query-named-block-nodes', { flat: true });
  const node = nodes.find((n) => n.drv === 'qcow2' && n.file === path);
  if (!node) throw new CvmError('QMP_ERROR', `${key}: the running VM has no qcow2 node for '${path}'`);
  return node['node-name'];
}

export type VolumeSnapshotOp = 'create' | 'apply' | 'delete';

/** One volume snapshot operation on a stopped VM (`qemu-img snapshot`). */
export async function volumeSnapshotOffline(
  op: VolumeSnapshotOp,
  storage: StorageConfig,
  vol: SnapVolume,
  snapname: string,
  log: (line: string) => void,
): Promise<void> {
  const path = qcow2SnapshotPath(storage, vol.volid);
  if (op === 'create') log(`snapshotting 'drive-${vol.key}' (${vol.volid})`);
  await qemuImgSnapshot(op, path, snapname);
}

interface JobInfo {
  id: string;
  status: string;
  error?: string;
}

async function runJob(qmp: Pick<QmpClient, 'execute'>, command: string, args: Record<string, unknown>, what: string): Promise<void> {
  const id = `cvmctl-${command}-${process.pid}-${Date.now()}`;
  await qmp.execute(command, { 'job-id': id, ...args });
  const deadline = Date.now() + 3_600_000;
  for (;;) {
    const job = (await qmp.execute<JobInfo[]>('query-jobs')).find((j) => j.id === id);
    if (!job) throw new CvmError('QMP_ERROR', `${what}: job '${id}' vanished`);
    if (job.status === 'concluded') {
      await qmp.execute('job-dismiss', { id });
      if (job.error) throw new CvmError('QEMU_FAILED', `${what} - ${job.error}`);
      return;
    }
    if (Date.now() > deadline) throw new CvmError('QMP_TIMEOUT', `${what} - got timeout`);
    await sleep(100);
  }
}

/**
 * Create or delete a snapshot on every volume of a running VM at once, with QEMU's
 * `snapshot-save` / `snapshot-delete` jobs on the qcow2 format nodes. (qemu-server sends
 * `blockdev-snapshot-internal-sync` to the throttle node `drive-<key>`; stock QEMU refuses
 * internal snapshots there and wants a root node, so the jobs, which take any node, are the
 * way.) `snapshot-save` pauses the VM while it runs and also stores the device state in the
 * first volume's snapshot; rollback ignores that copy (the `vmstate` volume is the state).
 */
export async function volumeSnapshotsOnline(
  op: 'create' | 'delete',
  qmp: Pick<QmpClient, 'execute'>,
  storage: StorageConfig,
  vols: readonly SnapVolume[],
  snapname: string,
  log: (line: string) => void,
): Promise<void> {
  if (vols.length === 0) return;
  const nodes: string[] = [];
  for (const v of vols) {
    if (op === 'create') log(`snapshotting 'drive-${v.key}' (${v.volid})`);
    nodes.push(await formatNode(qmp, qcow2SnapshotPath(storage, v.volid), v.key));
  }
  if (op === 'create') {
    await runJob(
      qmp,
      'snapshot-save',
      { tag: snapname, vmstate: nodes[0], devices: nodes },
      `unable to snapshot the disks as '${snapname}'`,
    );
  } else {
    await runJob(qmp, 'snapshot-delete', { tag: snapname, devices: nodes }, `unable to delete snapshot '${snapname}' of the disks`);
  }
}
