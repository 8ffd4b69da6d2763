/**
 * @module snapshot/online
 * Volume snapshots of a running VM, over its two QMP peers: the volumes its QEMU has open go to
 * QEMU's `snapshot-save` / `snapshot-delete` jobs (snapshot/volumes), a qcow2 `tpmstate0` goes
 * to the VM's qemu-storage-daemon (snapshot/qsd), in foreach_volume order (the TPM state is the
 * last drive). A create runs as qemu-server's does between `savevm-start` and `savevm-end`:
 * the VM is paused (so disks, TPM state and RAM are of one moment), every volume is
 * snapshotted, then the RAM is saved if asked for, and the VM resumes if it was running --
 * also when a step fails, after which the caller removes the volume snapshots reported done.
 */

import type { StorageConfig } from '../storage/types.js';
import { type QmpPeer, qsdVolumeSnapshot, servedByQsd } from './qsd.js';
import { saveVmstate } from './vmstate.js';
import { type SnapVolume, volumeSnapshotsOnline } from './volumes.js';

export interface RunningPeers {
  /** The VM's QEMU. */
  vm: QmpPeer;
  /** Its qemu-storage-daemon; needed only when a volume is served by it. */
  qsd?: QmpPeer;
}

export interface OnlineVolumesOptions {
  storage: StorageConfig;
  vmid: number;
  vols: readonly SnapVolume[];
  snapname: string;
  log: (line: string) => void;
  /** Called with the drive keys whose snapshot now exists (create) or is gone (delete). */
  done?: (keys: string[]) => void;
  /** A failed step: rethrow (the default) or report and go on (delsnapshot --force). */
  onError?: (err: unknown) => void;
}

/** Split a running VM's volumes by who has them open. */
export function splitByPeer(storage: StorageConfig, vols: readonly SnapVolume[]): { vm: SnapVolume[]; qsd: SnapVolume[] } {
  const qsd = vols.filter((v) => servedByQsd(storage, v));
  return { vm: vols.filter((v) => !qsd.includes(v)), qsd };
}

/** Create or delete the snapshot on every volume of a running VM: QEMU's volumes in one job, then the daemon's one by one. */
export async function runningVolumeSnapshots(op: 'create' | 'delete', peers: RunningPeers, opts: OnlineVolumesOptions): Promise<void> {
  const onError =
    opts.onError ??
    ((err: unknown) => {
      throw err;
    });
  const { vm, qsd } = splitByPeer(opts.storage, opts.vols);
  try {
    await volumeSnapshotsOnline(op, peers.vm, opts.storage, vm, opts.snapname, opts.log);
    if (vm.length > 0) opts.done?.(vm.map((v) => v.key));
  } catch (err) {
    onError(err);
  }
  for (const v of qsd) {
    try {
      if (op === 'create') opts.log(`snapshotting 'drive-${v.key}' (${v.volid})`);
      if (!peers.qsd) throw new Error(`${v.key}: no qemu-storage-daemon session`);
      await qsdVolumeSnapshot(op, peers.qsd, opts.vmid, v, opts.snapname);
      opts.done?.([v.key]);
    } catch (err) {
      onError(err);
    }
  }
}

export interface RunningCreateOptions extends Omit<OnlineVolumesOptions, 'onError'> {
  /** Save the RAM into this file (the vmstate volume's path) on storage `stateStoreid`. */
  statePath?: string;
  stateStoreid?: string;
}

/** The create of a running VM: pause, volume snapshots, RAM, resume (savevm-start … savevm-end). */
export async function snapshotRunningVm(peers: RunningPeers, opts: RunningCreateOptions): Promise<void> {
  const { status } = await peers.vm.execute<{ status: string }>('query-status');
  await peers.vm.execute('stop');
  try {
    const { vm, qsd } = splitByPeer(opts.storage, opts.vols);
    await runningVolumeSnapshots('create', peers, { ...opts, vols: vm });
    if (opts.statePath) await saveVmstate(peers.vm, opts.statePath, opts.stateStoreid ?? '', opts.log);
    await runningVolumeSnapshots('create', peers, { ...opts, vols: qsd });
  } finally {
    if (status === 'running') await peers.vm.execute('cont');
  }
}
