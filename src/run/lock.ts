/**
 * @module run/lock
 * One lifecycle operation per VM at a time (start/stop/shutdown… of the same VM from two
 * shells must not interleave), like qemu-server's `lock_config`. A `proper-lockfile` lock on
 * `<root>/lock/run-<vmid>` waits up to `waitMs`, then fails with VM_LOCKED.
 */

import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { CvmError } from '../errors.js';
import { stateLayout } from '../store/root.js';
import { makeDirs } from '../util/mkdirs.js';

export async function withVmRunLock<T>(root: string, vmid: number, fn: () => Promise<T>, waitMs = 10_000): Promise<T> {
  const dir = stateLayout(root).lockDir;
  await makeDirs(dir);
  const target = join(dir, `run-${vmid}`);
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(target, {
      realpath: false,
      stale: 30_000,
      update: 5_000,
      retries: { retries: Math.max(1, Math.ceil(waitMs / 100)), minTimeout: 100, maxTimeout: 100, factor: 1 },
    });
  } catch (err) {
    throw new CvmError('VM_LOCKED', `can't lock VM ${vmid} - another operation is running (${(err as Error).message})`, { cause: err });
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}

/**
 * qemu-server's `check_lock` for lifecycle operations: a VM whose config carries a `lock`
 * (backup, migrate, snapshot …) refuses start/stop/shutdown/reset/suspend/resume unless the
 * caller passes `--skiplock`. `allow` lists locks an operation tolerates (suspend and resume
 * tolerate `backup`, as vm_suspend/vm_resume do).
 */
export function assertNotLocked(
  conf: Readonly<Record<string, string | undefined>>,
  opts: { skiplock?: boolean; allow?: readonly string[] } = {},
): void {
  const lock = conf.lock;
  if (!lock || opts.skiplock || opts.allow?.includes(lock)) return;
  throw new CvmError('VM_LOCKED', `VM is locked (${lock})`);
}
