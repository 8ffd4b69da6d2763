/**
 * @module test/api/vm
 * VM endpoints end to end on a temporary root: create as a task (UPID shape, task status and
 * log), the config as typed JSON with digest, PUT with digest/delete/revert and PVE's error
 * answers, pending rows, nextid, cluster resources and the VM list, destroy, and the missing-VM
 * and existing-VM texts that clients match on.
 */

import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataOf, NODE, startTestServer, type TestServer } from './helpers.js';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const UPID_RE = /^UPID:testnode:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:([^:]+):(\d*):([^:]+):$/;

async function createVm(vmid: number, form: Record<string, string> = {}): Promise<string> {
  const r = await t.call('POST', `/nodes/${NODE}/qemu`, { form: { vmid: String(vmid), ...form } });
  expect(r.status, r.reason).toBe(200);
  const upid = r.body?.data as string;
  expect(upid).toMatch(UPID_RE);
  return upid;
}

describe('create and read', () => {
  it('creates a VM in a qmcreate task whose log ends with TASK OK', async () => {
    const upid = await createVm(100, { name: 'web1', memory: '1024', cores: '2', numa: '0', cpulimit: '1.5' });
    expect(UPID_RE.exec(upid)?.slice(1)).toEqual(['qmcreate', '100', 'root@pam']);
    expect(upid.split(':')).toHaveLength(9);
    const st = await t.waitTask(upid);
    expect(st).toMatchObject({ status: 'stopped', exitstatus: 'OK', type: 'qmcreate', id: '100', user: 'root@pam', node: NODE, upid });
    expect(typeof st.pid).toBe('number');
    const log = await t.call('GET', `/nodes/${NODE}/tasks/${upid}/log`);
    const lines = log.body?.data as { n: number; t: string }[];
    expect(lines[lines.length - 1]).toEqual({ n: lines.length, t: 'TASK OK' });
    expect(log.body?.total).toBe(lines.length);
    expect(readFileSync(join(t.root, 'qemu-server', '100.conf'), 'utf8')).toMatch(/^name: web1$/m);
  });

  it("logs create_disks' lines in the qmcreate task: the import with its progress, the new drive, the Windows machine pin", async () => {
    const { execFileSync } = await import('node:child_process');
    const source = join(t.root, 'import-source.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', source, '8M']);
    const upid = await createVm(190, { ostype: 'win11', scsi0: `local:0,import-from=${source}`, efidisk0: 'local:1' });
    expect((await t.waitTask(upid)).exitstatus).toBe('OK');
    const log = await t.call('GET', `/nodes/${NODE}/tasks/${upid}/log`, { query: { limit: '100' } });
    const lines = ((log.body?.data ?? []) as { t: string }[]).map((l) => l.t);
    // the EFI vars size is the host firmware's template size
    expect(lines[0]).toMatch(/^efidisk0: successfully created disk 'local:190\/vm-190-disk-0\.raw,size=\d+K'$/);
    expect(lines).toEqual(
      expect.arrayContaining([
        'transferred 8.00 MiB of 8.00 MiB (100.00%)',
        "scsi0: successfully created disk 'local:190/vm-190-disk-1.raw,size=8M'",
      ]),
    );
    expect(lines.indexOf("scsi0: successfully created disk 'local:190/vm-190-disk-1.raw,size=8M'")).toBeGreaterThan(
      lines.indexOf('transferred 8.00 MiB of 8.00 MiB (100.00%)'),
    );
    expect(lines.some((l) => /^pinning machine type to 'pc-i440fx-\d+\.\d+(\+pve\d+)?' for Windows guest OS$/.test(l))).toBe(true);
    expect(readFileSync(join(t.root, 'qemu-server', '190.conf'), 'utf8')).toMatch(/^machine: pc-i440fx-\d+\.\d+(\+pve\d+)?$/m);
    const destroyed = await t.call('DELETE', `/nodes/${NODE}/qemu/190`);
    expect((await t.waitTask(destroyed.body?.data as string)).exitstatus).toBe('OK');
  });

  it('returns the config with PVE types and the file digest', async () => {
    const r = await t.call('GET', `/nodes/${NODE}/qemu/100/config`);
    const data = r.body?.data as Record<string, unknown>;
    expect(data.cores).toBe(2);
    expect(data.numa).toBe(0);
    expect(data.memory).toBe('1024');
    expect(data.cpulimit).toBe('1.5');
    expect(data.name).toBe('web1');
    expect(data.smbios1).toMatch(/^uuid=/);
    const { createHash } = await import('node:crypto');
    const raw = readFileSync(join(t.root, 'qemu-server', '100.conf'));
    expect(data.digest).toBe(createHash('sha1').update(raw).digest('hex'));
  });

  it('answers the config file as it is at each request: pending merged unless current=1, another writer seen at once', async () => {
    const file = join(t.root, 'qemu-server', '110.conf');
    const get = async (query?: Record<string, string>) =>
      dataOf(await t.call('GET', `/nodes/${NODE}/qemu/110/config`, query ? { query } : {}));
    writeFileSync(file, 'memory: 512\nname: before\n\n[PENDING]\nmemory: 1024\n');
    for (let i = 0; i < 2; i++) {
      expect(await get()).toMatchObject({ memory: '1024', name: 'before' });
      expect(await get({ current: '1' })).toMatchObject({ memory: '512', name: 'before' });
    }
    writeFileSync(file, 'memory: 768\nname: after\ncores: 3\n');
    const { createHash } = await import('node:crypto');
    const digest = createHash('sha1').update(readFileSync(file)).digest('hex');
    expect(await get()).toEqual({ memory: '768', name: 'after', cores: 3, digest });
    expect(await get({ current: '1' })).toEqual({ memory: '768', name: 'after', cores: 3, digest });
    rmSync(file);
    expect((await t.call('GET', `/nodes/${NODE}/qemu/110/config`)).status).toBe(500);
  });

  it('refuses an existing vmid at once with PVE text', async () => {
    const r = await t.call('POST', `/nodes/${NODE}/qemu`, { form: { vmid: '100' } });
    expect(r.status).toBe(500);
    expect(r.reason).toBe(`unable to create VM 100 - VM 100 already exists on node '${NODE}'`);
  });

  it('validates config keys with the option table before creating anything', async () => {
    const r = await t.call('POST', `/nodes/${NODE}/qemu`, { form: { vmid: '101', memory: 'abc', cores: '0', numa: 'yes', bogus: '1' } });
    expect(r.status).toBe(400);
    expect(r.reason).toBe('Parameter verification failed.');
    expect(Object.keys(r.body?.errors ?? {}).sort()).toEqual(['bogus', 'cores', 'memory', 'numa']);
    expect(r.body?.errors?.numa).toBe("type check ('boolean') failed - got 'yes'");
    expect(r.body?.errors?.cores).toMatch(/minimum value of 1/);
    expect(r.body?.errors?.bogus).toBe('property is not defined in schema and the schema does not allow additional properties');
    expect((await t.call('GET', `/nodes/${NODE}/qemu/101/config`)).status).toBe(500);
  });

  it('vmid outside 100..999999999 or not a number is a 400 on vmid', async () => {
    for (const bad of ['99', '..', '1e3', '0100', '100 ']) {
      const r = await t.call('GET', `/nodes/${NODE}/qemu/${encodeURIComponent(bad)}/config`);
      expect(r.status, bad).toBe(400);
      expect(Object.keys(r.body?.errors ?? {})).toEqual(['vmid']);
    }
  });

  it('an encoded slash in a path segment cannot reach another route', async () => {
    const r = await t.call('GET', `/nodes/${NODE}/qemu/${encodeURIComponent('../../version')}/config`);
    expect(r.status).toBe(501);
    expect(r.reason).toMatch(/^Method 'GET \/nodes\/testnode\/qemu\/\.\.\/\.\.\/version\/config' not implemented$/);
  });

  it('a missing VM is 500 with the pmxcfs file name', async () => {
    const r = await t.call('GET', `/nodes/${NODE}/qemu/4242/config`);
    expect(r.status).toBe(500);
    expect(r.reason).toBe(`Configuration file 'nodes/${NODE}/qemu-server/4242.conf' does not exist`);
    expect(r.body?.message).toBe(`Configuration file 'nodes/${NODE}/qemu-server/4242.conf' does not exist\n`);
  });

  it('nextid skips used ids, as a string; a taken vmid is 400', async () => {
    expect((await t.call('GET', '/cluster/nextid')).body?.data).toBe('101');
    const taken = await t.call('GET', '/cluster/nextid', { query: { vmid: '100' } });
    expect(taken.status).toBe(400);
    expect(taken.body?.errors).toEqual({ vmid: 'VM 100 already exists' });
    expect((await t.call('GET', '/cluster/nextid', { query: { vmid: '555' } })).body?.data).toBe('555');
  });

  it('lists the VM in /nodes/{node}/qemu and /cluster/resources with numeric fields', async () => {
    const list = (await t.call('GET', `/nodes/${NODE}/qemu`)).body?.data as Record<string, unknown>[];
    expect(list).toEqual([expect.objectContaining({ vmid: 100, name: 'web1', status: 'stopped', cpus: 2, maxmem: 1024 * 1024 * 1024 })]);
    const res = (await t.call('GET', '/cluster/resources', { query: { type: 'vm' } })).body?.data as Record<string, unknown>[];
    expect(res).toEqual([
      expect.objectContaining({ id: 'qemu/100', vmid: 100, type: 'qemu', node: NODE, name: 'web1', status: 'stopped', template: 0 }),
    ]);
    const all = (await t.call('GET', '/cluster/resources')).body?.data as Record<string, unknown>[];
    expect(all.map((e) => e.type).sort()).toEqual(['node', 'qemu', 'storage']);
  });

  it('/cluster/resources shows a VM whose pid file names its live process as running, with its pid', async () => {
    const runDir = join(t.root, 'run');
    mkdirSync(runDir, { recursive: true });
    const pidfile = join(runDir, '100.pid');
    // a stand-in for QEMU: alive, and its command line names the pid file after -pidfile (what store/liveness checks)
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '--', '-pidfile', pidfile], { stdio: 'ignore' });
    try {
      writeFileSync(pidfile, `${child.pid}\n`);
      const res = (await t.call('GET', '/cluster/resources', { query: { type: 'vm' } })).body?.data as Record<string, unknown>[];
      expect(res).toEqual([expect.objectContaining({ vmid: 100, status: 'running', pid: child.pid })]);
    } finally {
      child.kill();
      rmSync(pidfile, { force: true });
    }
    const after = (await t.call('GET', '/cluster/resources', { query: { type: 'vm' } })).body?.data as Record<string, unknown>[];
    expect(after).toEqual([expect.objectContaining({ vmid: 100, status: 'stopped' })]);
  });
});

describe('update', () => {
  const digestOf = async () => dataOf<{ digest: string }>(await t.call('GET', `/nodes/${NODE}/qemu/100/config`)).digest;

  it('PUT applies at once on a stopped VM and returns null', async () => {
    const r = await t.call('PUT', `/nodes/${NODE}/qemu/100/config`, { form: { cores: '4', digest: await digestOf() } });
    expect(r.status, r.reason).toBe(200);
    expect(r.body).toEqual({ data: null });
    expect(dataOf<{ cores: number }>(await t.call('GET', `/nodes/${NODE}/qemu/100/config`)).cores).toBe(4);
  });

  it('a stale digest is 500 checksum mismatch', async () => {
    const r = await t.call('PUT', `/nodes/${NODE}/qemu/100/config`, { form: { cores: '3', digest: '0'.repeat(40) } });
    expect(r.status).toBe(500);
    expect(r.reason).toBe('checksum mismatch (file change by other user?)');
  });

  it('delete with the same key set is a 400 on delete', async () => {
    const r = await t.call('PUT', `/nodes/${NODE}/qemu/100/config`, { form: { cores: '3', delete: 'cores' } });
    expect(r.status).toBe(400);
    expect(r.body?.errors).toEqual({ delete: "you can't use '-cores' and -delete cores' at the same time" });
  });

  it('delete removes keys (repeated form keys are joined)', async () => {
    await t.call('PUT', `/nodes/${NODE}/qemu/100/config`, { form: { onboot: '1', tablet: '0' } });
    const r = await t.call('PUT', `/nodes/${NODE}/qemu/100/config`, { form: { delete: ['onboot', 'tablet'] } });
    expect(r.status, r.reason).toBe(200);
    const data = (await t.call('GET', `/nodes/${NODE}/qemu/100/config`)).body?.data as Record<string, unknown>;
    expect(data.onboot).toBeUndefined();
    expect(data.tablet).toBeUndefined();
  });

  it('skiplock is root@pam only', async () => {
    const r = await t.call('PUT', `/nodes/${NODE}/qemu/100/config`, {
      as: { token: t.rootToken },
      form: { cores: '2', skiplock: '1' },
    });
    expect(r.status).toBe(400);
    expect(r.body?.errors).toEqual({ skiplock: 'Only root may use this option.' });
  });

  it('POST config runs a qmconfig task; background_delay waits for it', async () => {
    const r = await t.call('POST', `/nodes/${NODE}/qemu/100/config`, { form: { cores: '2' } });
    const upid = r.body?.data as string;
    expect(upid).toMatch(UPID_RE);
    expect((await t.waitTask(upid)).exitstatus).toBe('OK');
    const d = await t.call('POST', `/nodes/${NODE}/qemu/100/config`, { form: { sockets: '2', background_delay: '5' } });
    expect(d.status, d.reason).toBe(200);
    expect(d.body).toEqual({ data: null });
  });

  it('POST config with background_delay reports a failed task as failed to update', async () => {
    const r = await t.call('POST', `/nodes/${NODE}/qemu/100/config`, { form: { scsi1: 'nosuchstore:1', background_delay: '10' } });
    expect(r.status).toBe(500);
    expect(r.reason).toMatch(/^failed to update VM 100: .*nosuchstore/);
  });

  it('pending lists every key with its value and the digest', async () => {
    const rows = (await t.call('GET', `/nodes/${NODE}/qemu/100/pending`)).body?.data as Record<string, unknown>[];
    expect(rows).toContainEqual({ key: 'sockets', value: 2 });
    expect(rows.find((r) => r.key === 'digest')?.value).toMatch(/^[0-9a-f]{40}$/);
  });

  it('20 parallel PUTs with the same digest: exactly one wins', async () => {
    const digest = await digestOf();
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.call('PUT', `/nodes/${NODE}/qemu/100/config`, { form: { description: `writer ${i}`, digest } }),
      ),
    );
    const ok = replies.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    for (const r of replies.filter((x) => x.status !== 200)) {
      expect(r.status).toBe(500);
      expect(r.reason).toBe('checksum mismatch (file change by other user?)');
    }
    const winner = replies.indexOf(ok[0] as (typeof replies)[number]);
    expect(dataOf<{ description: string }>(await t.call('GET', `/nodes/${NODE}/qemu/100/config`)).description).toBe(`writer ${winner}`);
  });
});

describe('server and CLI on one root', () => {
  it('a config written by someone else is seen by the next request, digest included', async () => {
    const { writeFileSync, renameSync } = await import('node:fs');
    const { createHash } = await import('node:crypto');
    const before = dataOf<{ digest: string }>(await t.call('GET', `/nodes/${NODE}/qemu/100/config`));
    const path = join(t.root, 'qemu-server', '100.conf');
    const text = readFileSync(path, 'utf8').replace(/^cores: \d+$/m, 'cores: 7');
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
    const after = dataOf<{ cores: number; digest: string }>(await t.call('GET', `/nodes/${NODE}/qemu/100/config`));
    expect(after.cores).toBe(7);
    expect(after.digest).toBe(createHash('sha1').update(text).digest('hex'));
    expect(after.digest).not.toBe(before.digest);
    const stale = await t.call('PUT', `/nodes/${NODE}/qemu/100/config`, { form: { cores: '1', digest: before.digest } });
    expect(stale.reason).toBe('checksum mismatch (file change by other user?)');
  });

  it('a config replaced in place (same inode) is seen too', async () => {
    const { writeFileSync } = await import('node:fs');
    const path = join(t.root, 'qemu-server', '100.conf');
    writeFileSync(path, readFileSync(path, 'utf8').replace(/^cores: \d+$/m, 'cores: 5'));
    expect(dataOf<{ cores: number }>(await t.call('GET', `/nodes/${NODE}/qemu/100/config`)).cores).toBe(5);
  });
});

describe('destroy', () => {
  it('destroys in a qmdestroy task; afterwards the VM does not exist', async () => {
    await t.waitTask(await createVm(150, { name: 'tmp' }));
    const r = await t.call('DELETE', `/nodes/${NODE}/qemu/150`);
    const upid = r.body?.data as string;
    expect(UPID_RE.exec(upid)?.[1]).toBe('qmdestroy');
    expect((await t.waitTask(upid)).exitstatus).toBe('OK');
    const gone = await t.call('GET', `/nodes/${NODE}/qemu/150/status/current`);
    expect(gone.status).toBe(500);
    expect(gone.reason).toMatch(/does not exist$/);
  });
});
