/**
 * @module test/helpers/lock-child
 * Another process that holds a cvmctl lock, for lock tests: it takes the lock named on its
 * command line, prints `locked`, and then either blocks its event loop for N ms (a holder
 * busy in synchronous work, e.g. parsing a huge config), sleeps until killed, or logs
 * `in`/`out` lines around a short critical section into a file (mutual exclusion checks).
 * Usage: node --import tsx lock-child.ts <config|run> <path-or-root> <vmid> <block:MS|sleep|log:FILE:MS>
 */

import { appendFileSync } from 'node:fs';
import { withVmRunLock } from '../../src/run/lock.js';
import { withFileLock } from '../../src/util/lock.js';

const [kind, target, vmid, mode] = process.argv.slice(2) as [string, string, string, string];

async function critical(): Promise<void> {
  if (mode.startsWith('log:')) {
    const [, file, ms] = mode.split(':') as [string, string, string];
    appendFileSync(file, `in ${process.pid}\n`);
    await new Promise((r) => setTimeout(r, Number(ms)));
    appendFileSync(file, `out ${process.pid}\n`);
    return;
  }
  process.stdout.write('locked\n');
  if (mode.startsWith('block:')) {
    // a blocked event loop: no timer of this process runs while it holds the lock
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(mode.slice(6)));
    return;
  }
  await new Promise(() => setInterval(() => undefined, 1000));
}

const opts = { timeoutMs: 60_000 };
if (kind === 'run') await withVmRunLock(target, Number(vmid), critical, opts.timeoutMs);
else await withFileLock(target, critical, opts);
