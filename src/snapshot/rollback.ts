/**
 * @module snapshot/rollback
 * `cvmctl rollback` = qemu-server's snapshot_rollback: refuse templates, unknown and
 * incomplete snapshots and locked VMs; stop a running VM (5 s quit timeout, then the stop
 * ladder); `lock: rollback`; revert every volume (`qemu-img snapshot -a`); then the config
 * becomes the snapshot's (description and unusedN kept, volumes only the current config uses
 * become unusedN, `parent` = the snapshot, a new `vmgenid` so the guest knows it is another
 * generation) and the lock goes. A snapshot with RAM starts the VM again from its saved state;
 * `start: true` starts one without.
 */

import { randomUUID } from 'node:crypto';
import { CvmError } from '../errors.js';
import type { LifecycleContext } from '../run/context.js';
import { assertNotLocked, withVmRunLock } from '../run/lock.js';
import { startVm } from '../run/start.js';
import { stopVm } from '../run/stop.js';
import { volumePath } from '../storage/path.js';
import { addUnusedVolume } from '../store/vm-pending.js';
import { isRunning, isTemplate, type SnapshotOptions, snapshotOf, storeOf } from './common.js';
import { copyForSnapshot } from './create.js';
import { INCOMING_ARGS, loadVmstate } from './vmstate.js';
import { snapshotVolumes, volumeSnapshotOffline } from './volumes.js';

export interface SnapshotRollbackOptions extends SnapshotOptions {
  /** Start the VM after a rollback to a snapshot without RAM (qm rollback --start). */
  start?: boolean;
}

export async function snapshotRollback(
  ctx: LifecycleContext,
  vmid: number,
  name: string,
  opts: SnapshotRollbackOptions = {},
): Promise<void> {
  const store = storeOf(ctx);
  const storage = ctx.facts.storage;
  const log = opts.log ?? (() => {});
  await withVmRunLock(ctx.root, vmid, async () => {
    // prepare
    const check = (await store.read(vmid)).config;
    if (isTemplate(check.conf)) throw new CvmError('PARAM_INVALID', "you can't rollback if vm is a template");
    const first = snapshotOf(check, name);
    if (first.snapstate) throw new CvmError('PARAM_INVALID', `unable to rollback to incomplete snapshot (snapstate = ${first.snapstate})`);
    assertNotLocked(check.conf);
    if (await isRunning(ctx, vmid)) await stopVm(ctx, vmid, { skipLock: true, timeoutSec: 5 });
    if (await isRunning(ctx, vmid)) throw new CvmError('VM_RUNNING', `unable to rollback vm ${vmid}: vm is running`);

    const locked = await store.update(vmid, (cfg) => {
      if (isTemplate(cfg.conf)) throw new CvmError('PARAM_INVALID', "you can't rollback if vm is a template");
      const snap = snapshotOf(cfg, name);
      if (snap.snapstate) throw new CvmError('PARAM_INVALID', `unable to rollback to incomplete snapshot (snapstate = ${snap.snapstate})`);
      assertNotLocked(cfg.conf);
      cfg.conf.lock = 'rollback';
      return cfg;
    });
    const snap = { ...snapshotOf(locked, name) };
    for (const v of snapshotVolumes(snap)) await volumeSnapshotOffline('apply', storage, v, name, log);

    // the config becomes the snapshot's
    await store.update(vmid, (cfg) => {
      if (cfg.conf.lock !== 'rollback') throw new CvmError('VM_LOCKED', 'got wrong lock');
      delete cfg.conf.lock;
      const current = snapshotOf(cfg, name);
      const inSnapshot = new Set(snapshotVolumes(current).map((v) => v.volid));
      const next: Record<string, string> = {};
      for (const [k, v] of Object.entries(cfg.conf)) if (/^unused\d+$/.test(k) || k === 'description') next[k] = v;
      for (const v of snapshotVolumes(cfg.conf)) if (!inSnapshot.has(v.volid)) addUnusedVolume(next, v.volid);
      Object.assign(next, copyForSnapshot(current));
      next.parent = name;
      delete next.runningmachine;
      delete next.runningcpu;
      delete next['running-nets-host-mtu'];
      // tell the guest it is another generation (databases, RNG reseeding)
      if (next.vmgenid && next.vmgenid !== '0') next.vmgenid = randomUUID();
      cfg.conf = next;
      return cfg;
    });

    if (snap.vmstate) {
      const statePath = volumePath(storage, snap.vmstate);
      await startVm(ctx, vmid, { skipLock: true, extraArgs: [...INCOMING_ARGS], onQmpReady: (qmp) => loadVmstate(qmp, statePath) });
    } else if (opts.start) {
      await startVm(ctx, vmid, { skipLock: true });
    }
  });
}
