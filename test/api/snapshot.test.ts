/**
 * @module test/api/snapshot
 * The snapshot endpoints with the real qemu-img and QEMU under TCG (`kvm: 0`, `vga: none`,
 * 64 MiB, `scsi0: local:1,format=qcow2` allocated through the API): a snapshot of a stopped VM
 * as a `qmsnapshot` task (the qcow2 image gets it, the list shows it and `current`), the index,
 * its config and the description update, rollback restoring the disk contents (qemu-io
 * patterns), snapshot (also with RAM), rollback with `start` and delete of a running VM over QMP, the
 * refusals (reserved and invalid names, RAM of an SEV VM, unknown snapshots, a locked VM) and
 * PVE 9's privileges (VM.Snapshot; rollback with VM.Snapshot.Rollback, `start` also VM.PowerMgmt).
 */

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, QEMU_BINARY, SKIP_REASON } from '../integration/helpers.js';
import { type Credentials, dataOf, NODE, startTestServer, type TestServer } from './helpers.js';

if (!QEMU_BINARY) console.warn(`test/api/snapshot skipped: ${SKIP_REASON}`);

const VM = 9701;
const vmBase = `/nodes/${NODE}/qemu/${VM}`;
const base = `${vmBase}/snapshot`;

interface ListItem {
  name: string;
  description: string;
  parent?: string;
  snaptime?: number;
  vmstate?: number;
  running?: number;
  digest?: string;
}

describe.skipIf(!QEMU_BINARY)('snapshot API with qemu-img and QEMU under TCG', () => {
  let t: TestServer;
  let vmUser: Credentials;
  let rollbacker: Credentials;
  let pid: number | undefined;

  const image = () => join(t.root, 'images', String(VM), `vm-${VM}-disk-0.qcow2`);
  const confPath = () => join(t.root, 'qemu-server', `${VM}.conf`);
  const qemuIo = (cmd: string) => execFileSync('qemu-io', ['-f', 'qcow2', '-c', cmd, image()], { encoding: 'utf8' });
  const hasPattern = (byte: number) => !/Pattern verification failed/.test(qemuIo(`read -P ${byte} 0 64k`));
  const imageSnapshots = () =>
    (
      (
        JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', image()], { encoding: 'utf8' })) as {
          snapshots?: { name: string }[];
        }
      ).snapshots ?? []
    ).map((s) => s.name);
  const list = async () => dataOf<ListItem[]>(await t.call('GET', base));
  const logOf = async (upid: string) =>
    dataOf<{ t: string }[]>(await t.call('GET', `/nodes/${NODE}/tasks/${upid}/log`))
      .map((l) => l.t)
      .join('\n');
  /** Start a task; resolves with its type, exit status and log. */
  const task = async (method: string, path: string, form: Record<string, string> = {}) => {
    const r = await t.call(method, path, method === 'DELETE' ? { query: form } : { form });
    expect(r.status, `${method} ${path}: ${r.reason}`).toBe(200);
    const upid = r.body?.data as string;
    const st = await t.waitTask(upid, 120_000);
    return { type: upid.split(':')[5], exitstatus: st.exitstatus, log: await logOf(upid) };
  };
  const status = async () => dataOf<{ status: string; pid?: number }>(await t.call('GET', `${vmBase}/status/current`));

  beforeAll(async () => {
    t = await startTestServer();
    for (const [vmid, extra] of [
      [VM, { scsi0: 'local:1,format=qcow2' }],
      [9702, { 'amd-sev': 'type=std' }],
    ] as const) {
      const r = await t.call('POST', `/nodes/${NODE}/qemu`, {
        form: { vmid: String(vmid), memory: '64', cores: '1', kvm: '0', vga: 'none', ...extra },
      });
      const st = await t.waitTask(r.body?.data as string);
      expect(st.exitstatus, `create ${vmid}`).toBe('OK');
    }
    await t.addUser('vmuser@pve', 'vmuser-secret', { [`/vms/${VM}`]: ['PVEVMUser'] });
    vmUser = await t.login('vmuser@pve', 'vmuser-secret');
    // a custom role with rollback but without VM.Snapshot and VM.PowerMgmt
    await t.access.state.update((draft) => {
      draft.config.roles.set('SnapRollback', new Set(['VM.Snapshot.Rollback', 'VM.Audit']));
      draft.changed.config = true;
    });
    await t.addUser('rollback@pve', 'rollback-secret', { [`/vms/${VM}`]: ['SnapRollback'] });
    rollbacker = await t.login('rollback@pve', 'rollback-secret');
  }, 120_000);

  afterAll(async () => {
    if (t && (await status().catch(() => undefined))?.status === 'running') {
      await task('POST', `${vmBase}/status/stop`).catch(() => undefined);
    }
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    await t?.close();
  }, 120_000);

  it('a new VM lists only `current`', async () => {
    const [current, ...rest] = await list();
    expect(rest).toEqual([]);
    expect(current).toMatchObject({ name: 'current', description: 'You are here!', running: 0 });
    expect(current?.parent).toBeUndefined();
    expect(current?.digest).toMatch(/^[0-9a-f]{40}$/);
  });

  it('takes a snapshot of the stopped VM in a qmsnapshot task', async () => {
    qemuIo('write -P 0xaa 0 64k');
    const res = await task('POST', base, { snapname: 'first', description: 'before the upgrade' });
    expect(res.type).toBe('qmsnapshot');
    expect(res.exitstatus, res.log).toBe('OK');
    expect(res.log).toContain(`snapshotting 'drive-scsi0' (local:${VM}/vm-${VM}-disk-0.qcow2)`);
    expect(imageSnapshots()).toEqual(['first']);
    const items = await list();
    expect(items.map((i) => i.name)).toEqual(['first', 'current']);
    expect(items[0]).toMatchObject({ name: 'first', description: 'before the upgrade', vmstate: 0 });
    expect(Math.abs((items[0]?.snaptime ?? 0) - Date.now() / 1000)).toBeLessThan(600);
    expect(items[1]).toMatchObject({ name: 'current', parent: 'first', running: 0 });
    expect(readFileSync(confPath(), 'utf8')).toContain('\n[first]\n#before the upgrade\n');
  }, 120_000);

  it('the snapshot index, its config and the description update', async () => {
    expect(dataOf(await t.call('GET', `${base}/first`))).toEqual([{ cmd: 'rollback' }, { cmd: 'config' }]);
    const cfg = dataOf<Record<string, unknown>>(await t.call('GET', `${base}/first/config`));
    expect(cfg).toMatchObject({
      description: 'before the upgrade',
      cores: 1,
      memory: '64',
      scsi0: `local:${VM}/vm-${VM}-disk-0.qcow2,size=1G`,
    });
    expect(cfg.snapstate).toBeUndefined();
    const put = await t.call('PUT', `${base}/first/config`, { form: { description: 'renamed\nwith two lines' } });
    expect([put.status, put.body?.data]).toEqual([200, null]);
    expect(dataOf<Record<string, unknown>>(await t.call('GET', `${base}/first/config`)).description).toBe('renamed\nwith two lines');
    expect(readFileSync(confPath(), 'utf8')).toContain('\n[first]\n#renamed\n#with two lines\n');
    // no description: nothing changes
    const before = readFileSync(confPath(), 'utf8');
    expect((await t.call('PUT', `${base}/first/config`)).status).toBe(200);
    expect(readFileSync(confPath(), 'utf8')).toBe(before);
  });

  it('refuses reserved, invalid and taken names, RAM of an SEV VM, unknown snapshots and a locked VM', async () => {
    for (const name of ['current', 'PENDING']) {
      const r = await t.call('POST', base, { form: { snapname: name } });
      expect([r.status, r.reason]).toEqual([
        400,
        `unable to use snapshot name '${name.toLowerCase() === 'pending' ? 'pending' : name}' (reserved name)`,
      ]);
    }
    const bad = await t.call('POST', base, { form: { snapname: '1st' } });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body?.errors ?? {})).toEqual(['snapname']);
    const long = await t.call('POST', base, { form: { snapname: `s${'x'.repeat(40)}` } });
    expect(long.status).toBe(400);
    const taken = await task('POST', base, { snapname: 'first' });
    expect(taken.exitstatus).toBe("snapshot name 'first' already used");
    const sev = await t.call('POST', `/nodes/${NODE}/qemu/9702/snapshot`, { form: { snapname: 'ram', vmstate: '1' } });
    expect([sev.status, sev.reason]).toEqual([500, 'Cannot live-migrate, snapshot (with RAM), or hibernate a VM with: amd-sev']);
    for (const [method, path] of [
      ['GET', `${base}/nope/config`],
      ['PUT', `${base}/nope/config?description=x`],
    ] as const) {
      const r = await t.call(method, path.split('?')[0] as string, method === 'PUT' ? { form: { description: 'x' } } : {});
      expect([r.status, r.reason]).toEqual([500, "snapshot 'nope' does not exist"]);
    }
    expect((await task('POST', `${base}/nope/rollback`)).exitstatus).toBe("snapshot 'nope' does not exist");
    expect((await task('DELETE', `${base}/nope`)).exitstatus).toBe("snapshot 'nope' does not exist");
    // a VM with a lock: the description stays
    const text = readFileSync(confPath(), 'utf8');
    writeFileSync(confPath(), text.replace(/^(memory: 64)$/m, '$1\nlock: backup'));
    const locked = await t.call('PUT', `${base}/first/config`, { form: { description: 'x' } });
    expect([locked.status, locked.reason]).toEqual([500, 'VM is locked (backup)']);
    writeFileSync(confPath(), text);
    expect(dataOf<Record<string, unknown>>(await t.call('GET', `${base}/first/config`)).description).toBe('renamed\nwith two lines');
  }, 120_000);

  it('privileges: VM.Audit reads, VM.Snapshot changes, VM.Snapshot.Rollback rolls back but may not start', async () => {
    expect((await t.call('GET', base, { as: vmUser })).status).toBe(200);
    expect((await t.call('GET', `${base}/first/config`, { as: vmUser })).status).toBe(200);
    for (const [method, path, form] of [
      ['POST', base, { snapname: 'other' }],
      ['PUT', `${base}/first/config`, { description: 'x' }],
      ['POST', `${base}/first/rollback`, {}],
      ['DELETE', `${base}/first`, {}],
    ] as const) {
      expect(
        (await t.call(method, path, method === 'DELETE' ? { as: vmUser } : { as: vmUser, form: { ...form } })).status,
        `${method} ${path}`,
      ).toBe(403);
    }
    expect((await t.call('POST', base, { as: rollbacker, form: { snapname: 'other' } })).status).toBe(403);
    const start = await t.call('POST', `${base}/first/rollback`, { as: rollbacker, form: { start: '1' } });
    expect(start.status).toBe(403);
    // without start the rollback role suffices (the disk gets the snapshot's contents back)
    qemuIo('write -P 0xbb 0 64k');
    const r = await t.call('POST', `${base}/first/rollback`, { as: rollbacker });
    expect(r.status).toBe(200);
    expect((await t.waitTask(r.body?.data as string, 120_000)).exitstatus).toBe('OK');
    expect(hasPattern(0xaa)).toBe(true);
  }, 120_000);

  it('a running VM: snapshot over QMP, rollback with start, delete', async () => {
    const started = await task('POST', `${vmBase}/status/start`);
    expect(started.exitstatus, started.log).toBe('OK');
    pid = (await status()).pid;
    const snap = await task('POST', base, { snapname: 'live' });
    expect(snap.exitstatus, snap.log).toBe('OK');
    expect(snap.log).toContain(`snapshotting 'drive-scsi0' (local:${VM}/vm-${VM}-disk-0.qcow2)`);
    expect((await list()).find((i) => i.name === 'current')).toMatchObject({ running: 1, parent: 'live' });
    expect(imageSnapshots()).toEqual(['first', 'live']);

    const rb = await task('POST', `${base}/first/rollback`, { start: '1' });
    expect(rb.type).toBe('qmrollback');
    expect(rb.exitstatus, rb.log).toBe('OK');
    const after = await status();
    expect(after.status).toBe('running');
    expect(after.pid).not.toBe(pid);
    expect(pid !== undefined && alive(pid)).toBe(false);
    pid = after.pid;
    expect((await list()).find((i) => i.name === 'current')).toMatchObject({ parent: 'first', running: 1 });

    // with RAM: a vmstate volume, the guest keeps running
    const ram = await task('POST', base, { snapname: 'ram', vmstate: '1', description: 'with RAM' });
    expect(ram.exitstatus, ram.log).toBe('OK');
    expect((await list()).find((i) => i.name === 'ram')).toMatchObject({ vmstate: 1, description: 'with RAM', parent: 'first' });
    const stateVolume = dataOf<Record<string, unknown>>(await t.call('GET', `${base}/ram/config`)).vmstate;
    expect(stateVolume).toBe(`local:${VM}/vm-${VM}-state-ram.raw`);
    const statePath = join(t.root, 'images', String(VM), `vm-${VM}-state-ram.raw`);
    expect(existsSync(statePath)).toBe(true);
    expect((await status()).status).toBe('running');
    const delRam = await task('DELETE', `${base}/ram`);
    expect(delRam.exitstatus, delRam.log).toBe('OK');
    expect(existsSync(statePath)).toBe(false);

    const del = await task('DELETE', `${base}/live`);
    expect(del.type).toBe('qmdelsnapshot');
    expect(del.exitstatus, del.log).toBe('OK');
    expect((await list()).map((i) => i.name)).toEqual(['first', 'current']);
    const stop = await task('POST', `${vmBase}/status/stop`);
    expect(stop.exitstatus).toBe('OK');
    expect(imageSnapshots()).toEqual(['first']);
  }, 300_000);

  it('deletes the last snapshot of the stopped VM', async () => {
    const del = await task('DELETE', `${base}/first`, { force: '1' });
    expect(del.exitstatus, del.log).toBe('OK');
    expect(imageSnapshots()).toEqual([]);
    const items = await list();
    expect(items.map((i) => i.name)).toEqual(['current']);
    expect(items[0]?.parent).toBeUndefined();
    expect(readFileSync(confPath(), 'utf8')).not.toContain('[first]');
  }, 120_000);
});
