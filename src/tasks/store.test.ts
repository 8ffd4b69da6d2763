/**
 * Task status read from the log file: a final line wins; without one the task runs while its
 * worker lives and is `unexpected status` once it died. The race that once made a migration
 * that failed properly report `unexpected status`: the worker writes its final line and leaves
 * the running set between the status read of the file and the liveness check.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TaskRunner } from './runner.js';
import type { TaskStore } from './store.js';
import { encodeUpid, processStartTicks } from './upid.js';

const root = mkdtempSync(join(tmpdir(), 'cvmctl-taskstore-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let second = 1_700_000_000;
/** A fresh log of a task of this process with the given lines. */
function taskLog(store: TaskStore, lines: string[]): string {
  const upid = encodeUpid({
    node: 'n1',
    pid: process.pid,
    pstart: processStartTicks(),
    starttime: second++,
    type: 'qmigrate',
    id: '105',
    user: 'root@pam',
  });
  writeFileSync(store.logPath(upid), lines.map((l) => `${l}\n`).join(''));
  return upid;
}

describe('TaskStore.status', () => {
  const runner = new TaskRunner(root, 'n1');
  const store = runner.store;

  it('reports the final line written between reading the log and the liveness check, not "unexpected status"', async () => {
    await runner.start({ type: 'noop', id: '', user: 'root@pam' }, async () => undefined); // creates the tasks dir
    const upid = taskLog(store, ['starting migration of VM 105']);
    // the worker ends exactly between the two steps: final line appended, then it leaves the running set
    const finishedMeanwhile = (u: string) => {
      appendFileSync(
        store.logPath(u),
        "TASK ERROR: storage migration for 'local:105/vm-105-disk-0.raw' to storage 'local' failed - gone\n",
      );
      return false;
    };
    const st = await store.status(upid, finishedMeanwhile);
    expect([st.status, st.exitstatus]).toEqual([
      'stopped',
      "storage migration for 'local:105/vm-105-disk-0.raw' to storage 'local' failed - gone",
    ]);
  });

  it('a task without a final line runs while its worker runs, and is "unexpected status" once it is gone', async () => {
    const upid = taskLog(store, ['line one']);
    expect((await store.status(upid, () => true)).status).toBe('running');
    const gone = await store.status(upid, () => false);
    expect([gone.status, gone.exitstatus]).toEqual(['stopped', 'unexpected status']);
  });

  it('a worker that died elsewhere (pid not alive) is "unexpected status"; its final line wins when present', async () => {
    const dead = encodeUpid({ node: 'n1', pid: 0x7ffffffe, pstart: 1, starttime: second++, type: 'qmstart', id: '100', user: 'root@pam' });
    writeFileSync(store.logPath(dead), 'starting\n');
    expect((await store.status(dead, () => true)).exitstatus).toBe('unexpected status');
    appendFileSync(store.logPath(dead), 'TASK WARNINGS: 2\n');
    expect((await store.status(dead, () => true)).exitstatus).toBe('WARNINGS: 2');
  });

  it('every status read while real tasks finish is running or their own final status', async () => {
    const upids: string[] = [];
    for (let i = 0; i < 40; i++) {
      upids.push(
        await runner.start({ type: 'race', id: String(i), user: 'root@pam' }, async (t) => {
          t.log('working');
          await new Promise((r) => setImmediate(r));
          throw new Error(`failed ${i}`);
        }),
      );
    }
    const seen = new Set<string>();
    while (runner.activeCount > 0) {
      // all reads at once, so some of them overlap a worker's final write
      const all = await Promise.all(upids.map((u) => store.status(u, (x) => runner.isRunning(x))));
      for (const [i, st] of all.entries()) {
        if (st.status === 'stopped') expect(st.exitstatus).toBe(`failed ${i}`);
        seen.add(st.status);
      }
    }
    expect(seen.has('stopped')).toBe(true);
  });
});
