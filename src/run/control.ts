/**
 * @module run/control
 * Commands that act on a running VM through QMP without ending it: `reset` (system_reset),
 * `suspend` (pause the vCPUs with `stop`, as `qm suspend` without --todisk) and `resume`
 * (qemu-server's vm_resume: nothing when running, `system_wakeup` when suspended to RAM,
 * reset + `cont` after a guest power-off kept by -no-shutdown, `cont` otherwise).
 */

import { CvmError } from '../errors.js';
import { cont, QmpClient, stop, systemReset, systemWakeup } from '../qemu/qmp/index.js';
import { type LifecycleContext, pathsFor } from './context.js';
import { assertNotLocked, withVmRunLock } from './lock.js';
import { runningPid } from './runtime-files.js';

export interface ControlOptions {
  /** Act even though the config has a `lock` (qm reset/suspend/resume --skiplock). */
  ignoreConfigLock?: boolean;
}

/**
 * Run `fn` with a QMP session to a running VM, under the VM lock: VM_NOT_FOUND without a
 * config, VM_NOT_RUNNING when stopped, VM_LOCKED for a locked config (unless a lock in
 * `allowLocks` or `ignoreConfigLock`).
 */
export async function withRunningVm<T>(
  ctx: LifecycleContext,
  vmid: number,
  fn: (qmp: QmpClient) => Promise<T>,
  opts: ControlOptions & { allowLocks?: readonly string[] } = {},
): Promise<T> {
  return withVmRunLock(ctx.root, vmid, async () => {
    const paths = pathsFor(ctx, vmid);
    const config = await ctx.loadConfig(vmid);
    if (!(await runningPid(paths))) throw new CvmError('VM_NOT_RUNNING', `VM ${vmid} not running`);
    assertNotLocked(config.conf, { skiplock: opts.ignoreConfigLock, ...(opts.allowLocks ? { allow: opts.allowLocks } : {}) });
    const qmp = await QmpClient.connect(paths.qmp);
    try {
      return await fn(qmp);
    } finally {
      await qmp.close();
    }
  });
}

export async function resetVm(ctx: LifecycleContext, vmid: number, opts: ControlOptions = {}): Promise<void> {
  await withRunningVm(ctx, vmid, (q) => systemReset(q), opts);
}

export async function suspendVm(ctx: LifecycleContext, vmid: number, opts: ControlOptions = {}): Promise<void> {
  await withRunningVm(ctx, vmid, (q) => stop(q), { ...opts, allowLocks: ['backup'] });
}

/** Returns what was done: 'none' (already running), 'wakeup', 'reset+cont' or 'cont'. */
export async function resumeVm(
  ctx: LifecycleContext,
  vmid: number,
  opts: ControlOptions = {},
): Promise<'none' | 'wakeup' | 'reset+cont' | 'cont'> {
  return withRunningVm(
    ctx,
    vmid,
    async (q) => {
      const { status } = await q.execute<{ status: string }>('query-status', undefined, { timeoutMs: 60_000 });
      if (status === 'running') return 'none';
      if (status === 'suspended') {
        await systemWakeup(q);
        return 'wakeup';
      }
      if (status === 'shutdown') {
        await systemReset(q);
        await cont(q);
        return 'reset+cont';
      }
      await cont(q);
      return 'cont';
    },
    { ...opts, allowLocks: ['backup'] },
  );
}
