/**
 * @module run/hooks
 * What lives alongside a VM's QEMU: swtpm for `tpmstate0` (and the qemu-storage-daemon exporting a non-raw state volume), and the cpu cgroup that carries
 * `cpuunits`/`cpulimit`. Each hook prepares what QEMU connects to right before the spawn
 * and/or adjusts the running QEMU once its QMP answers, and cleans up after QEMU is gone,
 * after a failed start, and before a start (leftovers of a crashed VM). Clean-up must be
 * harmless when there is nothing to clean. start.ts and stop.ts only walk this list.
 */

import type { VmConfig } from '../config/types.js';
import { type LifecycleContext, warnFn } from './context.js';

export interface RunHook {
  name: string;
  /** Called right before QEMU is spawned; throws to abort the start (cleanup runs then). */
  beforeSpawn(ctx: LifecycleContext, config: VmConfig): Promise<void>;
  /** Called once QEMU (process `pid`) answers QMP; throws to fail the start (cleanup runs then). */
  afterStart?(ctx: LifecycleContext, config: VmConfig, pid: number): Promise<void>;
  /** Called once QEMU is gone (stop, failed start, stale files before a start). */
  afterExit(ctx: LifecycleContext, vmid: number): Promise<void>;
}

const tpmHook: RunHook = {
  name: 'swtpm',
  async beforeSpawn(ctx, config) {
    const value = config.conf.tpmstate0;
    if (!value) return;
    const { startQsdFuseExport, startSwtpm, tpmStateBlockdev, tpmStateOf } = await import('../tpm/index.js');
    const runDir = ctx.facts.paths.runDir;
    const state = tpmStateOf(value, ctx.facts.storage);
    // a non-raw volume reaches swtpm as the file of a qemu-storage-daemon FUSE export (stopped by afterExit)
    const statePath = state.needsExport
      ? await startQsdFuseExport({ runDir, vmid: config.vmid, name: 'tpmstate0', ...tpmStateBlockdev(value, ctx.facts) })
      : state.statePath;
    await startSwtpm({ runDir, vmid: config.vmid, statePath, version: state.version, fixedFile: state.needsExport });
  },
  async afterExit(ctx, vmid) {
    const { stopQsd, stopSwtpm } = await import('../tpm/index.js');
    // swtpm first: it holds the exported file open
    try {
      await stopSwtpm(ctx.facts.paths.runDir, vmid);
    } finally {
      await stopQsd(ctx.facts.paths.runDir, vmid);
    }
  },
};

/** enter_systemd_scope's CPUShares/CPUWeight and CPUQuota, on a cgroup cvmctl makes itself. */
const cgroupHook: RunHook = {
  name: 'cgroup',
  async beforeSpawn() {},
  async afterStart(ctx, config, pid) {
    const { findCpuCgroup, placeInCgroup } = await import('./cgroup.js');
    const { conf, vmid } = config;
    const wanted = conf.cpuunits !== undefined || conf.cpulimit !== undefined;
    try {
      const cg = await findCpuCgroup(ctx.root, vmid);
      if (!cg) throw new Error('this host has no cpu cgroup controller');
      await placeInCgroup(cg, vmid, pid, conf);
    } catch (err) {
      // without a limit to enforce, a host that does not let us make cgroups (non-root) is no problem
      if (wanted) warnFn(ctx)(`cpuunits/cpulimit not applied: unable to place VM ${vmid} in a cpu cgroup - ${(err as Error).message}`);
    }
  },
  async afterExit(ctx, vmid) {
    const { findCpuCgroup, removeCgroup } = await import('./cgroup.js');
    const cg = await findCpuCgroup(ctx.root, vmid);
    if (cg) await removeCgroup(cg);
  },
};

export const runHooks: readonly RunHook[] = [tpmHook, cgroupHook];

export async function runAfterStartHooks(ctx: LifecycleContext, config: VmConfig, pid: number): Promise<void> {
  for (const hook of runHooks) await hook.afterStart?.(ctx, config, pid);
}

export async function runBeforeSpawnHooks(ctx: LifecycleContext, config: VmConfig): Promise<void> {
  for (const hook of runHooks) await hook.beforeSpawn(ctx, config);
}

/** Every hook's clean-up; one failing does not keep the others from running (the first error is rethrown). */
export async function runAfterExitHooks(ctx: LifecycleContext, vmid: number): Promise<void> {
  let first: unknown;
  for (const hook of runHooks) {
    try {
      await hook.afterExit(ctx, vmid);
    } catch (err) {
      first ??= err;
    }
  }
  if (first !== undefined) throw first;
}
