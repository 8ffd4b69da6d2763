/**
 * @module run/lock
 * One lifecycle operation per VM at a time (start/stop/shutdown… of the same VM from two
 * shells, or two API requests in one server, must not interleave). The run lock
 * `<root>/lock/run-<vmid>` is a util/lock lock: held as long as its holder lives, free at once
 * when the holder dies; waits up to `waitMs`, then fails with VM_LOCKED. Start additionally
 * holds the VM's config lock, like qemu-server's vm_start.
 */

import { join } from 'node:path';
import { CvmError } from '../errors.js';
import { stateLayout } from '../store/root.js';
import { withFileLock } from '../util/lock.js';

export async function withVmRunLock<T>(root: string, vmid: number, fn: () => Promise<T>, waitMs = 10_000): Promise<T> {
  const target = join(stateLayout(root).lockDir, `run-${vmid}`);
  return withFileLock(target, fn, {
    timeoutMs: waitMs,
    timeoutMessage: `can't lock VM ${vmid} - another operation is running (lock file '${target}' - got timeout)`,
  });
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
