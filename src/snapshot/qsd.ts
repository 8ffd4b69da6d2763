/**
 * @module snapshot/qsd
 * Snapshots of the volumes a running VM's qemu-storage-daemon serves instead of its QEMU: a
 * qcow2 (any non-raw) `tpmstate0`, exported to swtpm through FUSE (drive_uses_qsd_fuse). Like
 * qemu-server's qemu_volume_snapshot(_delete) for such a drive, they go to the daemon's QMP
 * socket as `blockdev-snapshot-internal-sync` / `blockdev-snapshot-delete-internal-sync` on
 * device `drive-<key>`: in the daemon that throttle node is the export's root node, which
 * accepts internal snapshots (the VM's QEMU never opens the volume). Errors read as those of
 * qemu-server's qsd peer (`QEMU storage daemon <vmid> qsd command '…' failed - …`).
 */

import { CvmError } from '../errors.js';
import { QmpClient, QmpError } from '../qemu/qmp/index.js';
import type { LifecycleContext } from '../run/context.js';
import type { StorageConfig } from '../storage/types.js';
import { qsdPaths, runningQsd } from '../tpm/qsd.js';
import { tpmStateOf } from '../tpm/state.js';
import { withQmp } from './common.js';
import type { SnapVolume } from './volumes.js';

export type QmpPeer = Pick<QmpClient, 'execute'>;

/** drive_uses_qsd_fuse: the running VM's qemu-storage-daemon, not its QEMU, has this volume open. */
export function servedByQsd(storage: StorageConfig, vol: SnapVolume): boolean {
  return vol.key === 'tpmstate0' && tpmStateOf(vol.volid, storage).needsExport;
}

/** qsd_qmp_peer's name in qemu-server's messages. */
const peerName = (vmid: number) => `QEMU storage daemon ${vmid}`;

/** A QMP session with the VM's qemu-storage-daemon (qmp_cmd on a qsd peer: refused when it does not run). */
export async function withQsdQmp<T>(ctx: LifecycleContext, vmid: number, fn: (qmp: QmpPeer) => Promise<T>): Promise<T> {
  const runDir = ctx.facts.paths.runDir;
  if (!(await runningQsd(runDir, vmid))) throw new CvmError('VM_NOT_RUNNING', `${peerName(vmid)} not running`);
  const qmp = await QmpClient.connect(qsdPaths(runDir, vmid).qmp);
  try {
    return await fn(qmp);
  } finally {
    await qmp.close();
  }
}

/** QMP sessions with the running VM's QEMU and, when `needQsd`, with its qemu-storage-daemon. */
export function withRunningPeers<T>(
  ctx: LifecycleContext,
  vmid: number,
  needQsd: boolean,
  fn: (peers: { vm: QmpPeer; qsd?: QmpPeer }) => Promise<T>,
): Promise<T> {
  return withQmp(ctx, vmid, (vm) => (needQsd ? withQsdQmp(ctx, vmid, (qsd) => fn({ vm, qsd })) : fn({ vm })));
}

/** Create or delete the internal snapshot `snapname` of one daemon-served volume. */
export async function qsdVolumeSnapshot(
  op: 'create' | 'delete',
  qmp: QmpPeer,
  vmid: number,
  vol: SnapVolume,
  snapname: string,
): Promise<void> {
  const command = op === 'create' ? 'blockdev-snapshot-internal-sync' : 'blockdev-snapshot-delete-internal-sync';
  try {
    await qmp.execute(command, { device: `drive-${vol.key}`, name: snapname });
  } catch (err) {
    const desc = err instanceof QmpError ? err.desc : (err as Error).message;
    throw new CvmError('QMP_ERROR', `${peerName(vmid)} qsd command '${command}' failed - ${desc}`, { cause: err });
  }
}
