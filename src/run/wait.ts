/**
 * @module run/wait
 * Polling helpers for processes that are not our children (a daemonized QEMU is reparented
 * to init, so there is no `exit` event to wait on).
 */

import { processAlive } from './runtime-files.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Wait until `pid` is gone; true if it went within `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await processAlive(pid))) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}
