/**
 * @module access/control.test
 * The AccessControl contract against real files in a temporary state root: password login and
 * renewal, ticket expiry and clock-skew window (injected clock), CSRF on non-GET requests,
 * API tokens in both header forms (expired, wrong secret, disabled user), ACL checks with PVE's
 * error texts, privilege-separated tokens, and a change by another writer seen by the next request.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejectedCvmError } from '../../test/helpers/cvm-error.js';
import { addToken, addUser, openAccessControl, setPassword, updateAcl } from './index.js';
import type { AccessControlImpl } from './control.js';

let root: string;
let clock = 1_800_000_000;
let access: AccessControlImpl;
let vmToken: string;
let fullToken: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cvmctl-access-'));
  access = openAccessControl(root, { now: () => clock });
  await setPassword(access.state, 'root@pam', 'root-secret-1');
  await addUser(access.state, { userid: 'alice@pve', password: 'alice-pass-1' });
  await addUser(access.state, { userid: 'bob@pve', password: 'bob-pass-12', enable: false });
  await updateAcl(access.state, { path: '/vms', roles: ['PVEVMUser'], users: ['alice@pve'] });
  vmToken = (await addToken(access.state, 'alice@pve', 'ci')).value;
  fullToken = (await addToken(access.state, 'alice@pve', 'full', { privsep: false })).value;
  await updateAcl(access.state, { path: '/vms/100', roles: ['PVEVMAdmin'], tokens: ['alice@pve!ci'] });
}, 60_000);

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('login', () => {
  it('issues a PVE-shaped ticket, CSRF token and cap for the right password', async () => {
    const r = await access.login({ username: 'alice', realm: 'pve', password: 'alice-pass-1' });
    expect(r.username).toBe('alice@pve');
    const stamp = clock.toString(16).toUpperCase().padStart(8, '0');
    expect(r.ticket).toMatch(new RegExp(`^PVE:alice@pve:${stamp}::[A-Za-z0-9+/]+=*$`));
    expect(r.CSRFPreventionToken).toMatch(new RegExp(`^${stamp}:[A-Za-z0-9+/]{43}$`));
    expect(r.cap.vms).toMatchObject({ 'VM.PowerMgmt': 1, 'VM.Audit': 1, 'VM.Console': 1 });
    expect(r.cap.vms?.['VM.Allocate']).toBeUndefined();
    expect(Object.keys(r.cap).sort()).toEqual(['access', 'dc', 'mapping', 'nodes', 'sdn', 'storage', 'vms']);
  });

  it('answers every failure with the same 401 text', async () => {
    for (const req of [
      { username: 'alice@pve', password: 'wrong-password' },
      { username: 'nobody@pve', password: 'alice-pass-1' },
      { username: 'bob@pve', password: 'bob-pass-12' }, // disabled
      { username: 'not a user', password: 'x' },
      { username: 'alice@ldap', password: 'alice-pass-1' },
    ]) {
      const err = await rejectedCvmError(access.login(req));
      expect(err.code).toBe('AUTH_FAILED');
      expect(err.message).toBe('authentication failure');
    }
  });

  it('renews with a valid ticket of the same user as password, not with another user’s', async () => {
    const first = await access.login({ username: 'alice@pve', password: 'alice-pass-1' });
    clock += 3600;
    const renewed = await access.login({ username: 'alice@pve', password: first.ticket });
    expect(renewed.ticket).not.toBe(first.ticket);
    const root1 = await access.login({ username: 'root@pam', password: 'root-secret-1' });
    // root@pam's ticket may create one for another user (PVE), alice's may not for root
    await expect(access.login({ username: 'alice@pve', password: root1.ticket })).resolves.toMatchObject({ username: 'alice@pve' });
    expect((await rejectedCvmError(access.login({ username: 'root@pam', password: renewed.ticket }))).message).toBe(
      'authentication failure',
    );
    clock += 7200; // first ticket is now 3 h old
    expect((await rejectedCvmError(access.login({ username: 'alice@pve', password: first.ticket }))).message).toBe(
      'authentication failure',
    );
  });
});

describe('authenticate', () => {
  it('accepts the cookie (raw and URI-escaped) and the Authorization form for GET', async () => {
    const { ticket } = await access.login({ username: 'alice@pve', password: 'alice-pass-1' });
    const want = { userid: 'alice@pve', authid: 'alice@pve', via: 'ticket' };
    await expect(access.authenticate({ method: 'GET', cookie: `PVEAuthCookie=${ticket}` })).resolves.toEqual(want);
    await expect(access.authenticate({ method: 'GET', cookie: `a=b; PVEAuthCookie=${encodeURIComponent(ticket)}` })).resolves.toEqual(want);
    await expect(access.authenticate({ method: 'GET', authorization: `PVEAuthCookie=${ticket}` })).resolves.toEqual(want);
  });

  it('rejects missing, forged and expired tickets; allows 5 min of clock skew', async () => {
    expect((await rejectedCvmError(access.authenticate({ method: 'GET' }))).message).toBe('No ticket');
    const { ticket } = await access.login({ username: 'alice@pve', password: 'alice-pass-1' });
    const forged = ticket.replace('alice@pve', 'root@pam');
    expect((await rejectedCvmError(access.authenticate({ method: 'GET', cookie: `PVEAuthCookie=${forged}` }))).message).toBe(
      'Authentication failed!',
    );
    const saved = clock;
    clock = saved - 299; // server clock behind the issuer: ticket 299 s in the future
    await expect(access.authenticate({ method: 'GET', cookie: `PVEAuthCookie=${ticket}` })).resolves.toMatchObject({ userid: 'alice@pve' });
    clock = saved - 300;
    expect((await rejectedCvmError(access.authenticate({ method: 'GET', cookie: `PVEAuthCookie=${ticket}` }))).code).toBe('AUTH_FAILED');
    clock = saved + 7199;
    await expect(access.authenticate({ method: 'GET', cookie: `PVEAuthCookie=${ticket}` })).resolves.toMatchObject({ userid: 'alice@pve' });
    clock = saved + 7200;
    expect((await rejectedCvmError(access.authenticate({ method: 'GET', cookie: `PVEAuthCookie=${ticket}` }))).message).toBe(
      'Authentication failed!',
    );
    clock = saved;
  });

  it('requires a matching CSRF token for every non-GET ticket request', async () => {
    const alice = await access.login({ username: 'alice@pve', password: 'alice-pass-1' });
    const rootLogin = await access.login({ username: 'root@pam', password: 'root-secret-1' });
    const cookie = `PVEAuthCookie=${alice.ticket}`;
    for (const method of ['POST', 'PUT', 'DELETE']) {
      expect((await rejectedCvmError(access.authenticate({ method, cookie }))).message).toBe('Permission denied - invalid csrf token');
      const other = access.authenticate({ method, cookie, csrfToken: rootLogin.CSRFPreventionToken });
      expect((await rejectedCvmError(other)).message).toBe('Permission denied - invalid csrf token');
      await expect(access.authenticate({ method, cookie, csrfToken: alice.CSRFPreventionToken })).resolves.toMatchObject({
        userid: 'alice@pve',
      });
    }
  });

  it('accepts API tokens in both header forms without CSRF, and rejects wrong or expired ones', async () => {
    const want = { userid: 'alice@pve', tokenid: 'ci', authid: 'alice@pve!ci', via: 'token' };
    await expect(access.authenticate({ method: 'POST', authorization: `PVEAPIToken=alice@pve!ci=${vmToken}` })).resolves.toEqual(want);
    await expect(access.authenticate({ method: 'DELETE', authorization: `PVEAPIToken alice@pve!ci=${vmToken}` })).resolves.toEqual(want);
    for (const authorization of [
      `PVEAPIToken=alice@pve!ci=${fullToken}`,
      `PVEAPIToken=alice@pve!nope=${vmToken}`,
      `PVEAPIToken=alice@pve!ci`,
      `PVEAPIToken=alice@pve=${vmToken}`,
    ]) {
      expect((await rejectedCvmError(access.authenticate({ method: 'GET', authorization }))).message).toBe('Authentication failed!');
    }
    const short = await addToken(access.state, 'alice@pve', 'short', { expire: clock + 10 });
    const authorization = `PVEAPIToken=alice@pve!short=${short.value}`;
    await expect(access.authenticate({ method: 'GET', authorization })).resolves.toMatchObject({ authid: 'alice@pve!short' });
    clock += 11;
    expect((await rejectedCvmError(access.authenticate({ method: 'GET', authorization }))).message).toBe('Authentication failed!');
  });
  it('invalidates every ticket when the signing key file is deleted', async () => {
    const { ticket } = await access.login({ username: 'alice@pve', password: 'alice-pass-1' });
    const cookie = `PVEAuthCookie=${ticket}`;
    await expect(access.authenticate({ method: 'GET', cookie })).resolves.toMatchObject({ userid: 'alice@pve' });
    rmSync(join(root, 'priv', 'authkey.key'));
    expect((await rejectedCvmError(access.authenticate({ method: 'GET', cookie }))).message).toBe('Authentication failed!');
    const fresh = await access.login({ username: 'alice@pve', password: 'alice-pass-1' });
    await expect(access.authenticate({ method: 'GET', cookie: `PVEAuthCookie=${fresh.ticket}` })).resolves.toMatchObject({
      userid: 'alice@pve',
    });
  });
});

describe('check', () => {
  const alice = { userid: 'alice@pve', authid: 'alice@pve', via: 'ticket' } as const;
  const ci = { userid: 'alice@pve', tokenid: 'ci', authid: 'alice@pve!ci', via: 'token' } as const;
  const full = { userid: 'alice@pve', tokenid: 'full', authid: 'alice@pve!full', via: 'token' } as const;

  it('passes held privileges and names path and privilege when one is missing', async () => {
    await expect(access.check(alice, '/vms/100', ['VM.PowerMgmt', 'VM.Audit'])).resolves.toBeUndefined();
    const err = await rejectedCvmError(access.check(alice, '/vms/100', ['VM.Audit', 'VM.Allocate']));
    expect(err.code).toBe('PERMISSION_DENIED');
    expect(err.message).toBe('Permission check failed (/vms/100, VM.Allocate)');
    expect((await rejectedCvmError(access.check(alice, '/', ['Sys.Audit', 'VM.Allocate'], { any: true }))).message).toBe(
      'Permission check failed (/, Sys.Audit|VM.Allocate)',
    );
    await expect(access.check(alice, '/vms/100', ['VM.Allocate', 'VM.Console'], { any: true })).resolves.toBeUndefined();
  });

  it('gives a privsep token the intersection, a non-privsep token its user’s privileges', async () => {
    // token: PVEVMAdmin on /vms/100; user: PVEVMUser on /vms -> intersection is PVEVMUser
    expect(await access.privileges(ci, '/vms/100')).toEqual(await access.privileges(alice, '/vms/100'));
    expect((await rejectedCvmError(access.check(ci, '/vms/100', ['VM.Allocate']))).message).toBe(
      'Permission check failed (/vms/100, VM.Allocate)',
    );
    expect((await access.privileges(ci, '/vms/101')).size).toBe(0);
    expect(await access.privileges(full, '/vms/101')).toEqual(await access.privileges(alice, '/vms/101'));
  });

  it('gives root@pam everything and refuses unknown privilege names loudly', async () => {
    const root = { userid: 'root@pam', authid: 'root@pam', via: 'ticket' } as const;
    await expect(access.check(root, '/nodes/x', ['Sys.Modify', 'Permissions.Modify', 'VM.Allocate'])).resolves.toBeUndefined();
    expect((await rejectedCvmError(access.check(root, '/', ['VM.Typo']))).code).toBe('INTERNAL');
  });

  it('sees an ACL change made through another AccessControl (another process) on the next call', async () => {
    await expect(access.check(alice, '/storage/local', ['Datastore.Audit'])).rejects.toThrow('Permission check failed');
    const other = openAccessControl(root);
    await updateAcl(other.state, { path: '/storage', roles: ['PVEDatastoreUser'], users: ['alice@pve'] });
    await expect(access.check(alice, '/storage/local', ['Datastore.Audit', 'Datastore.AllocateSpace'])).resolves.toBeUndefined();
  });

  it('checks a request against the ACLs it was authenticated with; the next request sees a change', async () => {
    const request = { method: 'GET', authorization: `PVEAPIToken=alice@pve!full=${fullToken}` };
    const during = await access.authenticate(request);
    await access.check(during, '/vms/300', ['VM.PowerMgmt']);
    await updateAcl(openAccessControl(root).state, { path: '/vms/300', roles: ['NoAccess'], users: ['alice@pve'] });
    // the request that was already authenticated keeps one consistent view
    await expect(access.check(during, '/vms/300', ['VM.PowerMgmt'])).resolves.toBeUndefined();
    const after = await access.authenticate(request);
    await expect(access.check(after, '/vms/300', ['VM.PowerMgmt'])).rejects.toThrow('Permission check failed (/vms/300, VM.PowerMgmt)');
  });
});
