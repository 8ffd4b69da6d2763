/**
 * @module snapshot/create
 * `cvmctl snapshot` = qemu-server's snapshot_create. Prepare (under the config lock): refuse
 * templates, locked VMs, RAM snapshots of SEV/TDX VMs (their memory cannot be saved), taken
 * names and volumes without snapshot support; set `lock: snapshot`, add the `[NAME]` section
 * (a copy of the config without unusedN, lock, parent's own snapshot keys, with `snapstate:
 * prepare`, `snaptime`, `description`, and for a running VM with --vmstate the `vmstate`
 * volume). Then snapshot every volume (qemu-img offline; online through the VM's QEMU and, for
 * a qcow2 tpmstate0, its qemu-storage-daemon, with the VM paused and, without RAM, the guest
 * file systems frozen through the agent) and the RAM. Commit:
 * drop `snapstate` and the lock, set `parent`. A failure undoes everything done so far
 * (volume snapshots, vmstate volume, section, lock) before the error is reported.
 */

import { nonMigratableMessage, nonMigratableResources } from '../config/non-migratable.js';
import type { ConfigSection, VmConfig } from '../config/types.js';
import { CvmError } from '../errors.js';
import type { LifecycleContext } from '../run/context.js';
import { assertNotLocked, withVmRunLock } from '../run/lock.js';
import { currentMemoryMiB } from '../store/status.js';
import { allocateNamedVolume, freeVolumeIds } from '../storage/alloc.js';
import { volumePath } from '../storage/path.js';
import { parseVolumeId } from '../storage/volume.js';
import { checkSnapshotName, isRunning, isTemplate, type SnapshotOptions, snapshotOf, storeOf } from './common.js';
import { deleteSnapshotLocked } from './delete.js';
import { fsFreeze, fsFreezeApplicable, fsThaw } from './freeze.js';
import { snapshotRunningVm, splitByPeer } from './online.js';
import { withRunningPeers } from './qsd.js';
import { assertSnapshotFeature, snapshotVolumes, volumeSnapshotOffline } from './volumes.js';

export interface SnapshotCreateOptions extends SnapshotOptions {
  description?: string;
  /** Save the RAM of a running VM too. */
  vmstate?: boolean;
  /** Clock for `snaptime` (seconds since the epoch; tests). */
  now?: () => number;
}

/** check_non_migratable_resources($conf, $vmstate): the RAM of SEV/TDX guests and virtiofs state cannot be saved. */
export function assertNoStateBlockers(conf: ConfigSection, vmstate: boolean): void {
  const blockers = nonMigratableResources(conf, vmstate);
  if (blockers.length > 0) throw new CvmError('HOST_UNSUPPORTED', nonMigratableMessage(blockers));
}

/** __snapshot_copy_config: everything but snapshot bookkeeping, the lock and unusedN. */
export function copyForSnapshot(source: ConfigSection): ConfigSection {
  const out: ConfigSection = {};
  for (const [k, v] of Object.entries(source)) {
    if (['snapstate', 'snaptime', 'vmstate', 'lock', 'digest', 'description'].includes(k) || /^unused\d+$/.test(k)) continue;
    out[k] = v;
  }
  return out;
}

/** find_vmstate_storage: `vmstatestorage`, else the storage of the first volume, else `local`. */
function vmstateStorage(conf: ConfigSection): string {
  if (conf.vmstatestorage) return conf.vmstatestorage;
  for (const v of snapshotVolumes(conf)) {
    const id = parseVolumeId(v.volid);
    if (id) return id.storeid;
  }
  return 'local';
}

export async function snapshotCreate(ctx: LifecycleContext, vmid: number, name: string, opts: SnapshotCreateOptions = {}): Promise<void> {
  if (name === 'current') throw new CvmError('PARAM_INVALID', "unable to use snapshot name 'current' (reserved name)");
  if (name.toLowerCase() === 'pending') throw new CvmError('PARAM_INVALID', "unable to use snapshot name 'pending' (reserved name)");
  checkSnapshotName(name);
  const log = opts.log ?? (() => {});
  const warn = ctx.warn ?? ((m: string) => process.stderr.write(`WARN: ${m}\n`));
  const store = storeOf(ctx);
  const storage = ctx.facts.storage;
  assertNoStateBlockers((await store.read(vmid)).config.conf, opts.vmstate === true);

  await withVmRunLock(ctx.root, vmid, async () => {
    const running = await isRunning(ctx, vmid);
    const saveState = opts.vmstate === true && running;
    let stateVolid: string | undefined;
    // prepare
    await store
      .update(vmid, async (cfg: VmConfig) => {
        const conf = cfg.conf;
        if (isTemplate(conf)) throw new CvmError('PARAM_INVALID', "you can't take a snapshot if it's a template");
        assertNotLocked(conf);
        assertNoStateBlockers(conf, opts.vmstate === true);
        if (Object.hasOwn(cfg.snapshots, name)) throw new CvmError('PARAM_INVALID', `snapshot name '${name}' already used`);
        assertSnapshotFeature(storage, conf);
        conf.lock = 'snapshot';
        for (const other of Object.keys(cfg.snapshots).sort()) {
          const snap = cfg.snapshots[other] as ConfigSection;
          if (snap.parent === name) {
            warn(`deleting parent '${name}' reference from '${other}' to avoid bogus snapshot cycle.`);
            delete snap.parent;
          }
        }
        const snap: ConfigSection = {};
        if (saveState) {
          const storeid = vmstateStorage(conf);
          // qemu-server reserves twice the memory plus 500 MiB of device state
          const sizeMiB = currentMemoryMiB(conf.memory) * 2 + 500;
          stateVolid = await allocateNamedVolume({ storage, storeid, vmid, name: `vm-${vmid}-state-${name}.raw`, sizeKiB: sizeMiB * 1024 });
          // qemu-server also records runningmachine/runningcpu; the rollback here regenerates the
          // same command line from the snapshot's config instead
          snap.vmstate = stateVolid;
        }
        Object.assign(snap, copyForSnapshot(conf));
        snap.snapstate = 'prepare';
        snap.snaptime = String((opts.now ?? (() => Math.floor(Date.now() / 1000)))());
        if (opts.description) snap.description = opts.description;
        cfg.snapshots[name] = snap;
        return cfg;
      })
      .catch(async (err: unknown) => {
        if (stateVolid) await freeVolumeIds({ storage, vmid, volids: [stateVolid] });
        throw err;
      });

    const done: string[] = [];
    try {
      const snap = snapshotOf((await store.read(vmid)).config, name);
      const volumes = snapshotVolumes(snap);
      if (running) {
        const needQsd = splitByPeer(storage, volumes).qsd.length > 0;
        const freeze = !stateVolid && (await fsFreezeApplicable(ctx, vmid, snap.agent, log, warn));
        if (freeze) await fsFreeze(ctx, vmid, warn);
        try {
          await withRunningPeers(ctx, vmid, needQsd, (peers) =>
            snapshotRunningVm(peers, {
              storage,
              vmid,
              vols: volumes,
              snapname: name,
              log,
              done: (keys) => done.push(...keys),
              ...(stateVolid ? { statePath: volumePath(storage, stateVolid), stateStoreid: parseVolumeId(stateVolid)?.storeid ?? '' } : {}),
            }),
          );
        } finally {
          if (freeze) await fsThaw(ctx, vmid, warn);
        }
      } else {
        for (const v of volumes) {
          await volumeSnapshotOffline('create', storage, v, name, log);
          done.push(v.key);
        }
      }
    } catch (err) {
      warn('snapshot create failed: starting cleanup');
      try {
        await deleteSnapshotLocked(ctx, vmid, name, { force: true, onlyDrives: done, expectedLock: 'snapshot' });
      } catch (cleanupErr) {
        warn((cleanupErr as Error).message);
      }
      throw err;
    }

    // commit
    await store.update(vmid, (cfg) => {
      if (cfg.conf.lock !== 'snapshot') throw new CvmError('VM_LOCKED', 'missing snapshot lock');
      const snap = snapshotOf(cfg, name);
      if (snap.snapstate !== 'prepare') throw new CvmError('INTERNAL', 'wrong snapshot state');
      delete snap.snapstate;
      delete cfg.conf.lock;
      cfg.conf.parent = name;
      return cfg;
    });
  });
}
