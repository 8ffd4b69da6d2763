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
import { withVmRunLock } from './lock.js';
import { runningPid } from './runtime-files.js';

/** Run `fn` with a QMP session to a running VM (VM_NOT_RUNNING otherwise), under the VM lock. */
export async function withRunningVm<T>(ctx: LifecycleContext, vmid: number, fn: (qmp: QmpClient) => Promise<T>): Promise<T> {
  return withVmRunLock(ctx.root, vmid, async () => {
    const paths = pathsFor(ctx, vmid);
    if (!(await runningPid(paths))) throw new CvmError('VM_NOT_RUNNING', `VM ${vmid} not running`);
    const qmp = await QmpClient.connect(paths.qmp);
    try {
      return await fn(qmp);
    } finally {
      await qmp.close();
    }
  });
}

export async function resetVm(ctx: LifecycleContext, vmid: number): Promise<void> {
  await withRunningVm(ctx, vmid, (q) => systemReset(q));
}

export async function suspendVm(ctx: LifecycleContext, vmid: number): Promise<void> {
  await withRunningVm(ctx, vmid, (q) => stop(q));
}

/** Returns what was done: 'none' (already running), 'wakeup', 'reset+cont' or 'cont'. */
export async function resumeVm(ctx: LifecycleContext, vmid: number): Promise<'none' | 'wakeup' | 'reset+cont' | 'cont'> {
  return withRunningVm(ctx, vmid, async (q) => {
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
  });
}

