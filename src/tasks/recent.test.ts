/**
 * A node's recent tasks as pve-common's active_workers keeps them: every running task first
 * (even one older than all finished ones), then the newest finished ones up to 25 entries.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_RECENT_TASKS, recentTasks } from './recent.js';
import { TaskRunner } from './runner.js';

const root = mkdtempSync(join(tmpdir(), 'cvmctl-recent-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('recentTasks', () => {
  it('lists the running tasks first, then the newest finished ones up to 25 entries in all', async () => {
    let now = 1_700_000_000_000;
    const runner = new TaskRunner(root, 'n1', () => now);
    const forever = () => new Promise<void>(() => {});
    const oldRunning = await runner.start({ type: 'vncproxy', id: '100', user: 'root@pam' }, forever);
    const finished: string[] = [];
    for (let i = 0; i < 30; i++) {
      now += 1000;
      const upid = await runner.start({ type: 'qmconfig', id: String(200 + i), user: 'root@pam' }, async () => {});
      await runner.wait(upid, 5000);
      finished.push(upid);
    }
    now += 1000;
    const newRunning = await runner.start({ type: 'qmstart', id: '300', user: 'root@pam' }, forever);
    try {
      const list = await recentTasks(runner);
      expect(list).toHaveLength(MAX_RECENT_TASKS);
      expect(new Set(list.slice(0, 2).map((t) => t.upid))).toEqual(new Set([oldRunning, newRunning]));
      expect(list.slice(0, 2).every((t) => t.pid === process.pid && t.status === undefined && t.endtime === undefined)).toBe(true);
      // the 23 newest finished ones, newest first, each with its exit status and no pid
      expect(list.slice(2).map((t) => t.upid)).toEqual(finished.slice(-23).reverse());
      expect(list.slice(2).every((t) => t.status === 'OK' && t.pid === undefined && typeof t.endtime === 'number')).toBe(true);
      expect(list.every((t) => !('pstart' in t))).toBe(true);
    } finally {
      await runner.shutdown(0);
    }
  });
});
