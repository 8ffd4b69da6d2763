/**
 * @module snapshot/delete
 * `cvmctl delsnapshot` = qemu-server's snapshot_delete: `lock: snapshot-delete`, the section
 * marked `snapstate: delete`, the vmstate volume freed, each volume's snapshot removed
 * (qemu-img offline; QMP online, a qcow2 tpmstate0's through the qemu-storage-daemon) and the drive dropped from the section as it goes, so an
 * interrupted delete shows what is left; then parent links are re-pointed, the section and the
 * lock removed. `--force` goes on past volume errors (warning) and drops the section anyway.
 * A failed `snapshot` create uses the same path (under its `snapshot` lock, only the volumes
 * it already snapshotted).
 */

import type { ConfigSection } from '../config/types.js';
import { CvmError } from '../errors.js';
import type { LifecycleContext } from '../run/context.js';
import { assertNotLocked, withVmRunLock } from '../run/lock.js';
import { freeVolumeIds } from '../storage/alloc.js';
import { addUnusedVolume } from '../store/vm-pending.js';
import { isRunning, isTemplate, type SnapshotOptions, snapshotOf, storeOf } from './common.js';
import { runningVolumeSnapshots, splitByPeer } from './online.js';
import { withRunningPeers } from './qsd.js';
import { snapshotVolumes, volumeSnapshotOffline } from './volumes.js';

export interface SnapshotDeleteOptions extends SnapshotOptions {
  /** Remove the snapshot from the config even if removing disk snapshots fails. */
  force?: boolean;
}

interface LockedDeleteOptions extends SnapshotDeleteOptions {
  /** Only these drive keys have a volume snapshot (cleanup of a failed create). */
  onlyDrives?: string[];
  expectedLock: 'snapshot' | 'snapshot-delete';
}

export async function snapshotDelete(ctx: LifecycleContext, vmid: number, name: string, opts: SnapshotDeleteOptions = {}): Promise<void> {
  const store = storeOf(ctx);
  snapshotOf((await store.read(vmid)).config, name);
  await withVmRunLock(ctx.root, vmid, async () => {
    // set_lock: refuses a config that is already locked
    await store.update(vmid, (cfg) => {
      assertNotLocked(cfg.conf);
      cfg.conf.lock = 'snapshot-delete';
      return cfg;
    });
    await deleteSnapshotLocked(ctx, vmid, name, { ...opts, expectedLock: 'snapshot-delete' });
  });
}

/** The body of snapshot_delete; the caller holds the run lock and has set `expectedLock`. */
export async function deleteSnapshotLocked(ctx: LifecycleContext, vmid: number, name: string, opts: LockedDeleteOptions): Promise<void> {
  const store = storeOf(ctx);
  const storage = ctx.facts.storage;
  const warn = ctx.warn ?? ((m: string) => process.stderr.write(`WARN: ${m}\n`));
  const log = opts.log ?? (() => {});
  const ensureLock = (conf: ConfigSection) => {
    if (conf.lock !== opts.expectedLock) throw new CvmError('VM_LOCKED', `encountered invalid lock, expected '${opts.expectedLock}'`);
  };
  const removeFromSnapshot = (key: string) =>
    store.update(vmid, (cfg) => {
      ensureLock(cfg.conf);
      const snap = snapshotOf(cfg, name);
      const value = snap[key];
      delete snap[key];
      if (key !== 'vmstate' && value !== undefined) {
        const file = /^(?:(?:file|volume)=)?([^,]+)/.exec(value)?.[1];
        if (file) addUnusedVolume(snap, file);
      }
      return cfg;
    });

  // prepare
  const prepared = await store.update(vmid, (cfg) => {
    ensureLock(cfg.conf);
    if (isTemplate(cfg.conf)) throw new CvmError('PARAM_INVALID', "you can't delete a snapshot if vm is a template");
    snapshotOf(cfg, name).snapstate = 'delete';
    return cfg;
  });
  const snap = { ...snapshotOf(prepared, name) };

  if (snap.vmstate) {
    try {
      await freeVolumeIds({ storage, vmid, volids: [snap.vmstate] });
    } catch (err) {
      if (!opts.force) throw err;
      warn((err as Error).message);
    }
    if (!opts.force) await removeFromSnapshot('vmstate');
  }

  const unused: string[] = [];
  const volumes = snapshotVolumes(snap);
  const running = await isRunning(ctx, vmid);
  const targets = volumes.filter((v) => !opts.onlyDrives || opts.onlyDrives.includes(v.key));
  const failed = (err: unknown) => {
    if (!opts.force) throw err;
    warn((err as Error).message);
  };
  if (running) {
    // one job for the volumes of the running VM's QEMU, then its qemu-storage-daemon's
    const needQsd = splitByPeer(storage, targets).qsd.length > 0;
    await withRunningPeers(ctx, vmid, needQsd, (peers) =>
      runningVolumeSnapshots('delete', peers, { storage, vmid, vols: targets, snapname: name, log, onError: failed }),
    ).catch(failed);
  } else {
    for (const v of targets) await volumeSnapshotOffline('delete', storage, v, name, log).catch(failed);
  }
  for (const v of volumes) {
    if (targets.includes(v)) unused.push(v.volid);
    if (!opts.force) await removeFromSnapshot(v.key);
  }

  // cleanup: re-point parent links, drop the section and the lock
  await store.update(vmid, (cfg) => {
    ensureLock(cfg.conf);
    const gone = snapshotOf(cfg, name);
    const unlinkParent = (section: ConfigSection) => {
      if (section.parent !== name) return;
      if (gone.parent) section.parent = gone.parent;
      else delete section.parent;
    };
    unlinkParent(cfg.conf);
    for (const [other, section] of Object.entries(cfg.snapshots)) if (other !== name) unlinkParent(section);
    delete cfg.snapshots[name];
    delete cfg.conf.lock;
    for (const volid of unused) addUnusedVolume(cfg.conf, volid);
    return cfg;
  });
}
