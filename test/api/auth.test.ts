/**
 * @module test/api/auth
 * Authentication and authorization through the API with the real access control: CSRF
 * tokens (missing, wrong, another user's), ticket expiry after 2 h and renewal with a ticket
 * as password, wrong and expired API tokens, privilege-separated tokens (intersection with the
 * user's rights), ACL denials with PVE's `Permission check failed (…)`, lists filtered by
 * VM.Audit, per-key config privileges, and the root@pam-only keys (`amd-sev`, `args`), which
 * even a root token may not set, as in qemu-server.
 */

import { appendFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessPaths } from '../../src/access/index.js';
import { dataOf, NODE, ROOT_PASSWORD, startTestServer, type TestServer } from './helpers.js';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
  for (const vmid of ['100', '101']) {
    const r = await t.call('POST', `/nodes/${NODE}/qemu`, { form: { vmid, name: `vm${vmid}`, cores: '1' } });
    await t.waitTask(dataOf<string>(r));
  }
  await t.addUser('vmuser@pve', 'vmuser-secret', { '/vms/100': ['PVEVMUser'] });
  await t.addUser('vmadmin@pve', 'vmadmin-secret', { '/vms': ['PVEVMAdmin'], '/storage': ['PVEDatastoreUser'] });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

const config = (vmid: string) => `/nodes/${NODE}/qemu/${vmid}/config`;

describe('tickets and CSRF', () => {
  it('a wrong CSRF token, or another user’s, is 401 invalid csrf token with an empty body', async () => {
    const wrong = await t.call('PUT', config('100'), { as: { ticket: t.root_.ticket, csrf: '00000000:bogus' }, form: { cores: '1' } });
    expect([wrong.status, wrong.reason, wrong.text]).toEqual([401, 'Permission denied - invalid csrf token', '']);
    const other = await t.login('vmuser@pve', 'vmuser-secret');
    const mixed = await t.call('PUT', config('100'), { as: { ticket: t.root_.ticket, csrf: other.csrf }, form: { cores: '1' } });
    expect(mixed.reason).toBe('Permission denied - invalid csrf token');
  });

  it('GET needs no CSRF token; DELETE does', async () => {
    expect((await t.call('GET', config('100'), { as: { ticket: t.root_.ticket } })).status).toBe(200);
    const del = await t.call('DELETE', `/nodes/${NODE}/qemu/101`, { as: { ticket: t.root_.ticket } });
    expect(del.reason).toBe('Permission denied - invalid csrf token');
  });

  it('401 answers come after the configured delay', async () => {
    const t0 = Date.now();
    const r = await t.call('GET', '/version', { anonymous: true });
    expect(r.status).toBe(401);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
  });

  it('a ticket renews with itself as password and expires after 2 hours', async () => {
    const creds = await t.login('vmadmin@pve', 'vmadmin-secret');
    const renewed = await t.call('POST', '/access/ticket', {
      anonymous: true,
      form: { username: 'vmadmin@pve', password: creds.ticket as string },
    });
    expect(renewed.status).toBe(200);
    expect(dataOf<{ username: string }>(renewed).username).toBe('vmadmin@pve');
    t.advanceClock(2 * 3600 + 60);
    try {
      const r = await t.call('GET', config('100'), { as: creds });
      expect([r.status, r.reason, r.text]).toEqual([401, 'Authentication failed!', '']);
      const again = await t.call('POST', '/access/ticket', {
        anonymous: true,
        form: { username: 'vmadmin@pve', password: creds.ticket as string },
      });
      expect(again.status).toBe(401);
      expect(again.reason).toBe('authentication failure');
    } finally {
      t.advanceClock(-(2 * 3600 + 60));
    }
  });

  it('realm given separately is joined to the user name', async () => {
    const r = await t.call('POST', '/access/ticket', {
      anonymous: true,
      form: { username: 'root', realm: 'pam', password: ROOT_PASSWORD },
    });
    expect(dataOf<{ username: string }>(r).username).toBe('root@pam');
  });
});

describe('API tokens', () => {
  it('a wrong secret or an unknown token is 401 Authentication failed!', async () => {
    for (const token of ['root@pam!ci=00000000-0000-0000-0000-000000000000', 'root@pam!nope=x']) {
      const r = await t.call('GET', '/version', { as: { token } });
      expect([r.status, r.reason]).toEqual([401, 'Authentication failed!']);
    }
  });

  it('an expired token is refused', async () => {
    const token = await t.addToken('vmadmin@pve', 'short', { privsep: false, expire: Math.floor(Date.now() / 1000) + 60 });
    expect((await t.call('GET', config('100'), { as: { token } })).status).toBe(200);
    t.advanceClock(120);
    try {
      expect((await t.call('GET', config('100'), { as: { token } })).reason).toBe('Authentication failed!');
    } finally {
      t.advanceClock(-120);
    }
  });

  it('a privilege-separated token has only what both it and its user have', async () => {
    const token = await t.addToken('vmadmin@pve', 'audit', { privsep: true, acl: { '/vms/100': ['PVEAuditor'] } });
    expect((await t.call('GET', config('100'), { as: { token } })).status).toBe(200);
    const put = await t.call('PUT', config('100'), { as: { token }, form: { cores: '2' } });
    expect(put.status).toBe(403);
    expect(put.reason).toMatch(/^Permission check failed \(\/vms\/100, /);
    const other = await t.call('GET', config('101'), { as: { token } });
    expect([other.status, other.reason]).toEqual([403, 'Permission check failed (/vms/101, VM.Audit)']);
    const list = dataOf<{ vmid: number }[]>(await t.call('GET', `/nodes/${NODE}/qemu`, { as: { token } }));
    expect(list.map((v) => v.vmid)).toEqual([100]);
  });
});

describe('ACLs', () => {
  it('lists show only the VMs a user may audit', async () => {
    const creds = await t.login('vmuser@pve', 'vmuser-secret');
    expect(dataOf<{ vmid: number }[]>(await t.call('GET', `/nodes/${NODE}/qemu`, { as: creds })).map((v) => v.vmid)).toEqual([100]);
    const res = dataOf<{ vmid?: number; type: string }[]>(await t.call('GET', '/cluster/resources', { as: creds, query: { type: 'vm' } }));
    expect(res.map((v) => v.vmid)).toEqual([100]);
  });

  it('reading another VM is 403 Permission check failed', async () => {
    const creds = await t.login('vmuser@pve', 'vmuser-secret');
    const r = await t.call('GET', config('101'), { as: creds });
    expect([r.status, r.reason]).toEqual([403, 'Permission check failed (/vms/101, VM.Audit)']);
    expect(r.body).toEqual({ data: null, message: 'Permission check failed (/vms/101, VM.Audit)\n' });
  });

  it('config keys need their privilege group: PVEVMUser may not change CPUs but may power the VM', async () => {
    const creds = await t.login('vmuser@pve', 'vmuser-secret');
    const r = await t.call('PUT', config('100'), { as: creds, form: { cores: '2' } });
    expect([r.status, r.reason]).toEqual([403, 'Permission check failed (/vms/100, VM.Config.CPU)']);
    const create = await t.call('POST', `/nodes/${NODE}/qemu`, { as: creds, form: { vmid: '102' } });
    expect([create.status, create.reason]).toEqual([403, 'Permission check failed (/vms/102, VM.Allocate)']);
  });

  it('a cloud-init drive needs VM.Config.Cloudinit besides VM.Config.CDROM, wherever file= stands in the value', async () => {
    // a role with VM.Config.CDROM alone (user.cfg is re-read when it changes)
    appendFileSync(accessPaths(t.root).userCfg, 'role:CdromOnly:VM.Audit,VM.Config.CDROM:\n');
    await t.addUser('cdrom@pve', 'cdrom-secret', { '/vms/101': ['CdromOnly'] });
    const creds = await t.login('cdrom@pve', 'cdrom-secret');
    for (const ide2 of ['local:cloudinit', 'media=cdrom,file=local:cloudinit']) {
      const r = await t.call('PUT', config('101'), { as: creds, form: { ide2 } });
      expect([r.status, r.reason], ide2).toEqual([403, 'Permission check failed (/vms/101, VM.Config.Cloudinit)']);
    }
    const iso = await t.call('PUT', config('101'), { as: creds, form: { ide2: 'none,media=cdrom' } });
    expect(iso.status, iso.reason).toBe(200);
  });

  it('amd-sev and args are root@pam only, even for a root token', async () => {
    const admin = await t.login('vmadmin@pve', 'vmadmin-secret');
    const ok = await t.call('PUT', config('100'), { as: admin, form: { cores: '2', name: 'renamed' } });
    expect(ok.status, ok.reason).toBe(200);
    for (const [key, value] of [
      ['amd-sev', 'type=snp'],
      ['args', '-no-reboot'],
    ]) {
      for (const as of [admin, { token: t.rootToken }]) {
        const r = await t.call('PUT', config('100'), { as, form: { [key as string]: value as string } });
        expect([r.status, r.reason]).toEqual([403, `only root can set '${key}' config`]);
      }
    }
    const root = await t.call('PUT', config('100'), { form: { args: '-no-reboot' } });
    expect(root.status, root.reason).toBe(200);
  });

  it('deleting a key needs the same privilege as setting it', async () => {
    const creds = await t.login('vmuser@pve', 'vmuser-secret');
    const r = await t.call('PUT', config('100'), { as: creds, form: { delete: 'args' } });
    expect([r.status, r.reason]).toEqual([403, "only root can set 'args' config"]);
  });
});
