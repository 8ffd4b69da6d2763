/**
 * @module test/api/tasks
 * Tasks without a VM in the way: UPID encode/decode round trips and PVE's example, the task
 * runner's logs (`WARN:` lines and `TASK WARNINGS: n`, one-line `TASK ERROR:`), a task found
 * without final line whose process is gone (after a restart) reading as `unexpected status`,
 * shutdown ending running tasks as failed, and the task endpoints' errors (unparsable UPID,
 * unknown task, log paging, `%21`-encoded token UPIDs, another user's task), and the recent
 * task list of `GET /cluster/tasks` on a single node.
 */

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeUpid, encodeUpid, TaskRunner } from '../../src/tasks/index.js';
import { AUDIT_PASSWORD, dataOf, NODE, startTestServer, type TestServer } from './helpers.js';

describe('UPID', () => {
  it('decodes PVE example and encodes it back with the trailing colon', () => {
    const text = 'UPID:pve:0003A1F2:00C4B3A1:66A1B2C3:qmstart:100:root@pam:';
    const u = decodeUpid(text);
    expect(u).toEqual({ node: 'pve', pid: 0x3a1f2, pstart: 0xc4b3a1, starttime: 0x66a1b2c3, type: 'qmstart', id: '100', user: 'root@pam' });
    expect(encodeUpid(u as NonNullable<typeof u>)).toBe(text);
  });

  it('refuses malformed ones', () => {
    for (const bad of [
      'UPID:pve:1:2:3:qmstart:100:root@pam:',
      'UPID:pve:0003A1F2:00C4B3A1:66A1B2C3:qmstart:100:root@pam',
      'UPID:pve:0003A1F2:00C4B3A1:66A1B2C3:qm/start:100:root@pam:',
      '',
    ]) {
      expect(decodeUpid(bad), bad).toBeUndefined();
    }
  });
});

describe('TaskRunner', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'cvmctl-tasks-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes WARN lines and ends with TASK WARNINGS: n', async () => {
    const runner = new TaskRunner(root, 'n1');
    const upid = await runner.start({ type: 'qmconfig', id: '100', user: 'root@pam' }, async (task) => {
      task.log('step one');
      task.warn('first\nproblem');
      task.warn('second');
    });
    await runner.wait(upid, 5000);
    expect(readFileSync(join(root, 'tasks', upid), 'utf8')).toBe('step one\nWARN: first problem\nWARN: second\nTASK WARNINGS: 2\n');
    expect((await runner.store.status(upid, () => false)).exitstatus).toBe('WARNINGS: 2');
  });

  it('an error becomes one TASK ERROR line', async () => {
    const runner = new TaskRunner(root, 'n1');
    const upid = await runner.start({ type: 'qmstart', id: '100', user: 'root@pam' }, async () => {
      throw new Error('line one\nline two\n');
    });
    await runner.wait(upid, 5000);
    expect(readFileSync(join(root, 'tasks', upid), 'utf8')).toBe('TASK ERROR: line one line two\n');
    expect((await runner.store.status(upid, () => false)).exitstatus).toBe('line one line two');
  });

  it('two tasks of the same kind in one second get distinct UPIDs', async () => {
    const runner = new TaskRunner(root, 'n1', () => 1_700_000_000_000);
    const a = await runner.start({ type: 'qmstop', id: '1', user: 'u@pve' }, async () => {});
    const b = await runner.start({ type: 'qmstop', id: '1', user: 'u@pve' }, async () => {});
    expect(a).not.toBe(b);
  });

  it('a log without final line whose process is gone reads as stopped, unexpected status', async () => {
    const upid = encodeUpid({
      node: 'n1',
      pid: 0x7ffffffe,
      pstart: 1,
      starttime: 1_700_000_000,
      type: 'qmstart',
      id: '100',
      user: 'root@pam',
    });
    mkdirSync(join(root, 'tasks'), { recursive: true });
    writeFileSync(join(root, 'tasks', upid), 'starting\n');
    const st = await new TaskRunner(root, 'n1').store.status(upid, () => false);
    expect(st).toMatchObject({ status: 'stopped', exitstatus: 'unexpected status' });
  });

  it('shutdown lets quick tasks finish and ends slow ones as failed', async () => {
    const runner = new TaskRunner(root, 'n1');
    const quick = await runner.start({ type: 'qmstart', id: '1', user: 'root@pam' }, async () => {
      await new Promise((r) => setTimeout(r, 20));
    });
    const slow = await runner.start(
      { type: 'qmstart', id: '2', user: 'root@pam' },
      (task) => new Promise((r) => task.signal.addEventListener('abort', () => setTimeout(r, 10_000))),
    );
    await runner.shutdown(300);
    expect((await runner.store.status(quick, () => false)).exitstatus).toBe('OK');
    const st = await runner.store.status(slow, (u) => runner.isRunning(u));
    expect(st).toMatchObject({ status: 'stopped', exitstatus: 'server shut down' });
    expect(runner.activeCount).toBe(0);
  });
});

describe('task endpoints', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('an unparsable UPID and an unknown one are 400 on upid', async () => {
    const bad = await t.call('GET', `/nodes/${NODE}/tasks/UPID:nope/status`);
    expect(bad.status).toBe(400);
    expect(bad.body?.errors).toEqual({ upid: 'unable to parse worker upid' });
    const unknown = encodeUpid({ node: NODE, pid: 1, pstart: 1, starttime: 1, type: 'qmstart', id: '1', user: 'root@pam' });
    const r = await t.call('GET', `/nodes/${NODE}/tasks/${unknown}/status`);
    expect(r.status).toBe(400);
    expect(r.body?.errors).toEqual({ upid: 'no such task' });
    const trav = await t.call('GET', `/nodes/${NODE}/tasks/${encodeURIComponent('UPID:..:')}/log`);
    expect(trav.status).toBe(400);
  });

  it('token tasks: the UPID names the token, %21 in the path works, status splits user and tokenid', async () => {
    const token = { token: t.rootToken };
    const r = await t.call('POST', `/nodes/${NODE}/qemu`, { as: token, form: { vmid: '300' } });
    const upid = r.body?.data as string;
    expect(upid.endsWith(':root@pam!ci:')).toBe(true);
    const st = await t.call('GET', `/nodes/${NODE}/tasks/${upid.replace('!', '%21')}/status`, { as: token });
    expect(st.status).toBe(200);
    expect(st.body?.data).toMatchObject({ user: 'root@pam', tokenid: 'ci' });
    await t.waitTask(upid);
  });

  it('log paging: start/limit and total; an empty log says no content', async () => {
    const runner = t.server.context.tasks;
    const upid = await runner.start({ type: 'qmconfig', id: '300', user: 'root@pam' }, async (task) => {
      for (let i = 1; i <= 5; i++) task.log(`line ${i}`);
    });
    await runner.wait(upid, 5000);
    const page = await t.call('GET', `/nodes/${NODE}/tasks/${upid}/log`, { query: { start: '2', limit: '2' } });
    expect(page.body).toEqual({
      data: [
        { n: 3, t: 'line 3' },
        { n: 4, t: 'line 4' },
      ],
      total: 6,
    });
    const empty = await runner.start({ type: 'qmconfig', id: '300', user: 'root@pam' }, () => new Promise(() => {}));
    const log = await t.call('GET', `/nodes/${NODE}/tasks/${empty}/log`);
    expect(log.body).toEqual({ data: [{ n: 1, t: 'no content' }], total: 1 });
    expect((await t.call('GET', `/nodes/${NODE}/tasks/${empty}/status`)).body?.data).toMatchObject({ status: 'running' });
    expect(dataOf(await t.call('GET', `/nodes/${NODE}/tasks/${empty}/status`)).exitstatus).toBeUndefined();
    const del = await t.call('DELETE', `/nodes/${NODE}/tasks/${empty}`);
    expect(del.status).toBe(200);
    expect((await t.call('GET', `/nodes/${NODE}/tasks/${empty}/status`)).body?.data).toMatchObject({
      status: 'stopped',
      exitstatus: 'received interrupt',
    });
  });

  it('lists tasks newest first, finished ones with their exit status', async () => {
    const r = await t.call('GET', `/nodes/${NODE}/tasks`, { query: { vmid: '300' } });
    const rows = r.body?.data as Record<string, unknown>[];
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(r.body?.total).toBe(rows.length);
    expect(rows.map((x) => x.status)).toContain('OK');
  });

  it("another user's task needs Sys.Audit on the node", async () => {
    const runner = t.server.context.tasks;
    const upid = await runner.start({ type: 'qmstart', id: '1', user: 'other@pve' }, async () => {});
    const audit = await t.login('audit@pve', AUDIT_PASSWORD);
    expect((await t.call('GET', `/nodes/${NODE}/tasks/${upid}/status`, { as: audit })).status).toBe(200);
    await t.addUser('nosys@pve', 'nosys-secret', { '/vms': ['PVEVMUser'] });
    const nosys = await t.login('nosys@pve', 'nosys-secret');
    const r = await t.call('GET', `/nodes/${NODE}/tasks/${upid}/status`, { as: nosys });
    expect(r.status).toBe(403);
    expect(r.reason).toBe(`Permission check failed (/nodes/${NODE}, Sys.Audit)`);
  });

  it('GET /cluster/tasks: running tasks with pid, finished ones with endtime and status; others only with Sys.Audit on /', async () => {
    const runner = t.server.context.tasks;
    const before = Math.floor(Date.now() / 1000);
    const failed = await runner.start({ type: 'qmstart', id: '301', user: 'nosys@pve' }, async () => {
      throw new Error('boom');
    });
    await runner.wait(failed, 5000);
    const hanging = await runner.start({ type: 'vncproxy', id: '301', user: 'root@pam' }, () => new Promise(() => {}));
    const tokenTask = await runner.start({ type: 'qmconfig', id: '301', user: 'root@pam!ci' }, async () => {});
    await runner.wait(tokenTask, 5000);
    try {
      const rows = dataOf<Record<string, unknown>[]>(await t.call('GET', '/cluster/tasks'));
      expect(rows[0]).toEqual({
        upid: hanging,
        node: NODE,
        pid: process.pid,
        starttime: decodeUpid(hanging)?.starttime,
        type: 'vncproxy',
        id: '301',
        user: 'root@pam',
      });
      const byUpid = new Map(rows.map((r) => [r.upid, r]));
      const f = byUpid.get(failed) as Record<string, unknown>;
      expect(f).toEqual({
        upid: failed,
        node: NODE,
        starttime: decodeUpid(failed)?.starttime,
        type: 'qmstart',
        id: '301',
        user: 'nosys@pve',
        endtime: expect.any(Number),
        status: 'boom',
      });
      expect(f.endtime as number).toBeGreaterThanOrEqual(before);
      expect(f.endtime as number).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
      expect(byUpid.get(tokenTask)).toMatchObject({ user: 'root@pam', tokenid: 'ci', status: 'OK' });
      // PVE lists running tasks and finished ones up to 25 entries
      expect(rows.length).toBeLessThanOrEqual(25);
      expect(rows.filter((r) => r.pid !== undefined).map((r) => r.upid)).toEqual([hanging]);
      // without Sys.Audit on / a user sees only their own tasks
      const nosys = await t.login('nosys@pve', 'nosys-secret');
      const own = dataOf<Record<string, unknown>[]>(await t.call('GET', '/cluster/tasks', { as: nosys }));
      expect(own.map((r) => r.upid)).toEqual([failed]);
      const audit = await t.login('audit@pve', AUDIT_PASSWORD);
      expect(dataOf<unknown[]>(await t.call('GET', '/cluster/tasks', { as: audit }))).toHaveLength(rows.length);
    } finally {
      await runner.stop(hanging);
    }
    const after = dataOf<Record<string, unknown>[]>(await t.call('GET', '/cluster/tasks'));
    expect(after.find((r) => r.upid === hanging)).toMatchObject({ status: 'received interrupt', endtime: expect.any(Number) });
    expect((await t.call('GET', '/cluster')).body?.data).toContainEqual({ name: 'tasks' });
  });
});
