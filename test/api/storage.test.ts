/**
 * @module test/api/storage
 * Storage endpoints on a temporary root whose `local` dir storage is the default: a VM created
 * over the API with `scsi0: local:1` gets a real 1 GiB raw image (qemu-img), which the storage
 * list, the content list and the volume details report (path, size, format); unknown storages
 * and volume names that would leave the storage are PVE's "does not exist" 500s. Also the
 * CLI and the server changing one VM at the same time without losing an update.
 */

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QEMU_IMG } from '../integration/helpers.js';
import { dataOf, NODE, startTestServer, type TestServer } from './helpers.js';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'cvmctl');
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

describe.skipIf(!QEMU_IMG)('storage', () => {
  let volid: string;

  beforeAll(async () => {
    const r = await t.call('POST', `/nodes/${NODE}/qemu`, { form: { vmid: '200', scsi0: 'local:1' } });
    expect((await t.waitTask(dataOf<string>(r))).exitstatus).toBe('OK');
    volid = dataOf<{ scsi0: string }>(await t.call('GET', `/nodes/${NODE}/qemu/200/config`)).scsi0.split(',')[0] as string;
    expect(volid).toBe('local:200/vm-200-disk-0.raw');
  }, 60_000);

  it('lists the local storage with its content types and sizes', async () => {
    const list = dataOf<Record<string, unknown>[]>(await t.call('GET', `/nodes/${NODE}/storage`));
    const local = list.find((s) => s.storage === 'local');
    expect(local).toMatchObject({ type: 'dir', enabled: 1, active: 1, shared: 0 });
    expect(String(local?.content).split(',')).toContain('images');
    expect(local?.total as number).toBeGreaterThan(0);
    const images = dataOf<unknown[]>(await t.call('GET', `/nodes/${NODE}/storage`, { query: { content: 'images' } }));
    expect(images.length).toBeGreaterThanOrEqual(1);
    expect(dataOf<unknown[]>(await t.call('GET', `/nodes/${NODE}/storage`, { query: { content: 'nosuch' } }))).toEqual([]);
  });

  it('lists the VM image and its details; raw and %2F-encoded volume ids both work', async () => {
    const content = dataOf<Record<string, unknown>[]>(await t.call('GET', `/nodes/${NODE}/storage/local/content`));
    expect(content).toContainEqual(expect.objectContaining({ volid, format: 'raw', vmid: 200, size: 1024 ** 3, content: 'images' }));
    for (const path of [
      `/nodes/${NODE}/storage/local/content/${volid}`,
      `/nodes/${NODE}/storage/local/content/${encodeURIComponent(volid)}`,
    ]) {
      const vol = dataOf<{ path: string; size: number; format: string; used: number }>(await t.call('GET', path));
      expect(vol).toMatchObject({ size: 1024 ** 3, format: 'raw' });
      expect(existsSync(vol.path)).toBe(true);
      expect(vol.path.startsWith(t.root)).toBe(true);
    }
  });

  it('unknown storages and escaping volume names do not exist', async () => {
    const none = await t.call('GET', `/nodes/${NODE}/storage/nosuch/content`);
    expect([none.status, none.reason]).toEqual([500, "storage 'nosuch' does not exist"]);
    for (const bad of ['local:200/../../../../etc/passwd', '../../etc/passwd', 'local:200/vm-200-disk-9.raw']) {
      const r = await t.call('GET', `/nodes/${NODE}/storage/local/content/${encodeURIComponent(bad)}`);
      expect(r.status, bad).toBe(500);
      expect(r.reason, bad).toMatch(/^volume '.*' does not exist$/);
    }
  });

  it('resize grows a disk in a resize task; bad sizes and disks are 400s, shrinking fails the task', async () => {
    const r = await t.call('PUT', `/nodes/${NODE}/qemu/200/resize`, { form: { disk: 'scsi0', size: '+1G' } });
    expect(r.status, r.reason).toBe(200);
    const upid = dataOf<string>(r);
    expect(upid.split(':')[5]).toBe('resize');
    expect((await t.waitTask(upid)).exitstatus).toBe('OK');
    const vol = dataOf<{ size: number }>(await t.call('GET', `/nodes/${NODE}/storage/local/content/${volid}`));
    expect(vol.size).toBe(2 * 1024 ** 3);
    expect(dataOf<{ scsi0: string }>(await t.call('GET', `/nodes/${NODE}/qemu/200/config`)).scsi0).toMatch(/,size=2G(,|$)/);
    const shrink = await t.call('PUT', `/nodes/${NODE}/qemu/200/resize`, { form: { disk: 'scsi0', size: '1G' } });
    expect((await t.waitTask(dataOf<string>(shrink))).exitstatus).toMatch(/shrink/i);
    for (const form of [
      { disk: 'scsi0', size: '1X' },
      { disk: 'scsi99', size: '+1G' },
    ]) {
      expect((await t.call('PUT', `/nodes/${NODE}/qemu/200/resize`, { form })).status).toBe(400);
    }
  }, 60_000);

  it('move_disk copies to a storage added to storage.cfg while the server runs', async () => {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(join(t.root, 'other'));
    writeFileSync(
      join(t.root, 'storage.cfg'),
      `dir: local\n\tpath ${t.root}\n\tcontent images,iso\n\ndir: other\n\tpath ${join(t.root, 'other')}\n\tcontent images\n`,
    );
    const r = await t.call('POST', `/nodes/${NODE}/qemu/200/move_disk`, { form: { disk: 'scsi0', storage: 'other', format: 'qcow2' } });
    expect(r.status, r.reason).toBe(200);
    expect(dataOf<string>(r).split(':')[5]).toBe('qmmove');
    expect((await t.waitTask(dataOf<string>(r), 120_000)).exitstatus).toBe('OK');
    const conf = dataOf<Record<string, string>>(await t.call('GET', `/nodes/${NODE}/qemu/200/config`));
    expect(conf.scsi0).toMatch(/^other:200\/vm-200-disk-0\.qcow2,/);
    expect(conf.unused0).toBe(volid);
    // $load_and_check_move runs before the task: its refusals answer the request (user errors are
    // 400s in cvmctl's one code-to-status mapping, qemu-server's plain dies 500s) and start no task
    const tasksBefore = dataOf<unknown[]>(await t.call('GET', `/nodes/${NODE}/tasks`, { query: { limit: '1000' } })).length;
    const unknown = await t.call('POST', `/nodes/${NODE}/qemu/200/move_disk`, { form: { disk: 'scsi0', storage: 'nosuch' } });
    expect([unknown.status, unknown.reason]).toEqual([500, "storage 'nosuch' does not exist"]);
    const same = await t.call('POST', `/nodes/${NODE}/qemu/200/move_disk`, { form: { disk: 'scsi0', storage: 'other' } });
    expect([same.status, same.reason]).toEqual([400, "you can't move to the same storage with same format"]);
    const missing = await t.call('POST', `/nodes/${NODE}/qemu/200/move_disk`, { form: { disk: 'scsi3', storage: 'local' } });
    expect([missing.status, missing.reason]).toEqual([400, "disk 'scsi3' does not exist"]);
    expect(dataOf<unknown[]>(await t.call('GET', `/nodes/${NODE}/tasks`, { query: { limit: '1000' } })).length).toBe(tasksBefore);
  }, 120_000);

  it("move_disk of a running VM mirrors in a qmmove task with qemu-server's lines and bwlimit", async () => {
    const created = await t.call('POST', `/nodes/${NODE}/qemu`, {
      form: { vmid: '201', kvm: '0', memory: '64', vga: 'none', scsi0: 'local:0.03125,format=qcow2' },
    });
    expect((await t.waitTask(dataOf<string>(created))).exitstatus).toBe('OK');
    expect((await t.waitTask(dataOf<string>(await t.call('POST', `/nodes/${NODE}/qemu/201/status/start`)), 60_000)).exitstatus).toBe('OK');
    try {
      const bad = await t.call('POST', `/nodes/${NODE}/qemu/201/move_disk`, { form: { disk: 'scsi0', storage: 'other', bwlimit: '-1' } });
      expect(bad.status).toBe(400);
      const r = await t.call('POST', `/nodes/${NODE}/qemu/201/move_disk`, { form: { disk: 'scsi0', storage: 'other', bwlimit: '65536' } });
      expect(r.status, r.reason).toBe(200);
      const upid = dataOf<string>(r);
      expect(upid.split(':')[5]).toBe('qmmove');
      expect((await t.waitTask(upid, 120_000)).exitstatus).toBe('OK');
      const log = dataOf<{ t: string }[]>(await t.call('GET', `/nodes/${NODE}/tasks/${upid}/log`)).map((l) => l.t);
      expect(log).toContain('drive mirror is starting for drive-scsi0 with bandwidth limit: 65536 KiB/s');
      expect(log.filter((l) => l.startsWith('mirror-scsi0: transferred ')).at(-1)).toMatch(/ of 32\.0 MiB \(100\.00%\) in \d+s, ready$/);
      expect(log).toContain("all 'mirror' jobs are ready");
      expect(log).toContain('mirror-scsi0: mirror-job finished');
      expect(log).toContain("adding source volume 'local:201/vm-201-disk-0.qcow2' as 'unused0' to config");
      const conf = dataOf<Record<string, string>>(await t.call('GET', `/nodes/${NODE}/qemu/201/config`));
      expect(conf.scsi0).toBe('other:201/vm-201-disk-0.qcow2,size=32M');
      expect(dataOf<{ status: string }>(await t.call('GET', `/nodes/${NODE}/qemu/201/status/current`)).status).toBe('running');

      // a user who may not change the storages' limits cannot raise them: local's `bwlimit move=` applies
      const { writeFileSync } = await import('node:fs');
      writeFileSync(
        join(t.root, 'storage.cfg'),
        `dir: local\n\tpath ${t.root}\n\tcontent images,iso\n\tbwlimit move=32768\n\ndir: other\n\tpath ${join(t.root, 'other')}\n\tcontent images\n`,
      );
      await t.addUser('mover@pve', 'mover-secret', { '/vms': ['PVEVMAdmin'], '/storage': ['PVEDatastoreUser'] });
      const mover = await t.login('mover@pve', 'mover-secret');
      const back = await t.call('POST', `/nodes/${NODE}/qemu/201/move_disk`, {
        form: { disk: 'scsi0', storage: 'local', format: 'raw', bwlimit: '65536' },
        as: mover,
      });
      expect(back.status, back.reason).toBe(200);
      expect((await t.waitTask(dataOf<string>(back), 120_000)).exitstatus).toBe('OK');
      const backLog = dataOf<{ t: string }[]>(await t.call('GET', `/nodes/${NODE}/tasks/${dataOf<string>(back)}/log`)).map((l) => l.t);
      expect(backLog).toContain('drive mirror is starting for drive-scsi0 with bandwidth limit: 32768 KiB/s');
      expect(dataOf<Record<string, string>>(await t.call('GET', `/nodes/${NODE}/qemu/201/config`)).scsi0).toMatch(
        /^local:201\/vm-201-disk-\d+\.raw,size=32M$/,
      );
    } finally {
      await t.waitTask(dataOf<string>(await t.call('POST', `/nodes/${NODE}/qemu/201/status/stop`)), 60_000);
    }
  }, 180_000);

  it('a user without datastore rights sees no storages', async () => {
    await t.addUser('vmonly@pve', 'vmonly-secret', { '/vms': ['PVEVMUser'] });
    const creds = await t.login('vmonly@pve', 'vmonly-secret');
    expect(dataOf<unknown[]>(await t.call('GET', `/nodes/${NODE}/storage`, { as: creds }))).toEqual([]);
    const r = await t.call('GET', `/nodes/${NODE}/storage/local/content`, { as: creds });
    expect(r.status).toBe(403);
  });
});

describe('CLI and server on one root', () => {
  it('concurrent changes from cvmctl set and PUT …/config all survive', async () => {
    const r = await t.call('POST', `/nodes/${NODE}/qemu`, { form: { vmid: '300' } });
    expect((await t.waitTask(dataOf<string>(r))).exitstatus).toBe('OK');
    const changes: Record<string, string>[] = [{ cores: '3' }, { sockets: '2' }, { onboot: '1' }, { tablet: '0' }];
    const api = changes.map((form) => t.call('PUT', `/nodes/${NODE}/qemu/300/config`, { form }));
    const cli = [
      ['--name', 'from-cli'],
      ['--memory', '768'],
      ['--description', 'set by the CLI'],
      ['--cpulimit', '2'],
    ].map((args) => run(process.execPath, [BIN, '--root', t.root, 'set', '300', ...args]));
    const replies = await Promise.all(api);
    for (const reply of replies) expect(reply.status, reply.reason).toBe(200);
    await Promise.all(cli);
    const conf = dataOf<Record<string, unknown>>(await t.call('GET', `/nodes/${NODE}/qemu/300/config`));
    expect(conf).toMatchObject({
      cores: 3,
      sockets: 2,
      onboot: 1,
      tablet: 0,
      name: 'from-cli',
      memory: '768',
      description: 'set by the CLI',
      cpulimit: '2',
    });
  }, 60_000);
});
