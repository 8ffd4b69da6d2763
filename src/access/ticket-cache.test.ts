/**
 * @module access/ticket-cache.test
 * Remembered tickets must never outlive what they stand for: the table answers exactly like
 * `verifyTicket` (validity window to the second on every hit, forged tickets never stored, a
 * bounded table), and through the real AccessControl on a temporary root a ticket accepted
 * (and so remembered) is refused by the next request once the signing key is rotated (file
 * replaced, rewritten in place, or deleted) or its user is disabled, also by another process;
 * the ticket path's narrower reads (user.cfg alone, the signing key alone for a GET) still see
 * a token added elsewhere and a deleted CSRF key at once.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejectedCvmError } from '../../test/helpers/cvm-error.js';
import type { AccessControlImpl } from './control.js';
import { addToken, addUser, modifyUser, openAccessControl, removeToken } from './index.js';
import { MAX_TICKETS, VerifiedTickets } from './ticket-cache.js';
import { assembleTicket, TICKET_LIFETIME_S, verifyTicket } from './tickets.js';

const T0 = 1_800_000_000;

describe('VerifiedTickets', () => {
  it('answers like verifyTicket at every age, also for a remembered ticket', () => {
    const key = randomBytes(32);
    const table = new VerifiedTickets();
    const ticket = assembleTicket(key, 'a@pve', T0);
    const ages = [0, 1, -299, -300, -301, TICKET_LIFETIME_S - 1, TICKET_LIFETIME_S, TICKET_LIFETIME_S + 5, 10, -10];
    for (const age of ages) {
      expect(table.userOf(key, ticket, T0 + age), `age ${age}`).toBe(verifyTicket(key, ticket, T0 + age)?.userid);
    }
    expect(table.userOf(key, ticket, T0 + TICKET_LIFETIME_S - 1)).toBe('a@pve');
    expect(table.userOf(key, ticket, T0 + TICKET_LIFETIME_S)).toBeUndefined();
  });

  it('refuses a ticket under another key and a tampered one, even after the original was remembered', () => {
    const key = randomBytes(32);
    const table = new VerifiedTickets();
    const ticket = assembleTicket(key, 'a@pve', T0);
    expect(table.userOf(key, ticket, T0)).toBe('a@pve');
    expect(table.userOf(randomBytes(32), ticket, T0)).toBeUndefined();
    // same bytes, another Buffer (a key file re-read after it changed): verified again, not looked up
    expect(table.userOf(Buffer.from(key), ticket, T0)).toBe('a@pve');
    expect(table.userOf(key, ticket.replace('a@pve', 'b@pve'), T0)).toBeUndefined();
    expect(table.userOf(key, `${ticket}x`, T0)).toBeUndefined();
  });

  it('keeps at most its bound per key, dropping the oldest, and still verifies dropped tickets', () => {
    const key = randomBytes(32);
    const table = new VerifiedTickets(3);
    const tickets = ['a@pve', 'b@pve', 'c@pve', 'd@pve'].map((u) => assembleTicket(key, u, T0));
    for (const t of tickets) table.userOf(key, t, T0);
    const stored = (table as unknown as { byKey: WeakMap<Buffer, Map<string, unknown>> }).byKey.get(key);
    expect([...(stored?.keys() ?? [])]).toEqual(tickets.slice(1));
    expect(table.userOf(key, tickets[0] as string, T0)).toBe('a@pve');
    expect(stored?.size).toBe(3);
    expect(MAX_TICKETS).toBeGreaterThanOrEqual(1024);
  });
});

describe('AccessControl with remembered tickets', () => {
  let root: string;
  const clock = T0;
  let access: AccessControlImpl;
  const keyFile = () => join(root, 'priv', 'authkey.key');

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'cvmctl-ticket-cache-'));
    access = openAccessControl(root, { now: () => clock });
    await addUser(access.state, { userid: 'carol@pve', password: 'carol-pass-1' });
  }, 60_000);

  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  async function acceptedCookie(): Promise<string> {
    const { ticket } = await access.login({ username: 'carol@pve', password: 'carol-pass-1' });
    const cookie = `PVEAuthCookie=${encodeURIComponent(ticket)}`;
    // twice: the second answer comes from the table
    for (let i = 0; i < 2; i++)
      await expect(access.authenticate({ method: 'GET', cookie })).resolves.toMatchObject({ userid: 'carol@pve' });
    return cookie;
  }

  const refused = async (cookie: string) => (await rejectedCvmError(access.authenticate({ method: 'GET', cookie }))).message;

  it('refuses a remembered ticket once the key file is replaced by a new key (rename)', async () => {
    const cookie = await acceptedCookie();
    writeFileSync(`${keyFile()}.new`, randomBytes(32), { mode: 0o600 });
    renameSync(`${keyFile()}.new`, keyFile());
    expect(await refused(cookie)).toBe('Authentication failed!');
    await acceptedCookie(); // a ticket under the new key works
  });

  it('refuses a remembered ticket once the key file is rewritten in place', async () => {
    const cookie = await acceptedCookie();
    writeFileSync(keyFile(), randomBytes(32));
    expect(await refused(cookie)).toBe('Authentication failed!');
  });

  it('refuses a remembered ticket once the key file is deleted, in the same event-loop turn', async () => {
    const cookie = await acceptedCookie();
    rmSync(keyFile());
    expect(await refused(cookie)).toBe('Authentication failed!');
  });

  it('refuses a remembered ticket of a user another process disabled (its own AccessControl on the root)', async () => {
    const cookie = await acceptedCookie();
    const other = openAccessControl(root, { now: () => clock });
    await modifyUser(other.state, 'carol@pve', { enable: false });
    expect(await refused(cookie)).toBe('Authentication failed!');
    await modifyUser(other.state, 'carol@pve', { enable: true });
    await expect(access.authenticate({ method: 'GET', cookie })).resolves.toMatchObject({ userid: 'carol@pve' });
  });

  it('sees a token another process added at once, between ticket requests', async () => {
    const cookie = await acceptedCookie();
    const other = openAccessControl(root, { now: () => clock });
    const { value } = await addToken(other.state, 'carol@pve', 'late', { privsep: false });
    const authorization = `PVEAPIToken=carol@pve!late=${value}`;
    await expect(access.authenticate({ method: 'GET', authorization })).resolves.toMatchObject({ authid: 'carol@pve!late' });
    await expect(access.authenticate({ method: 'GET', cookie })).resolves.toMatchObject({ userid: 'carol@pve' });
    await removeToken(other.state, 'carol@pve', 'late');
    expect((await rejectedCvmError(access.authenticate({ method: 'GET', authorization }))).message).toBe('Authentication failed!');
  });

  it('refuses the old CSRF token for a change once the CSRF key is deleted; GETs with the ticket go on', async () => {
    const login = await access.login({ username: 'carol@pve', password: 'carol-pass-1' });
    const cookie = `PVEAuthCookie=${encodeURIComponent(login.ticket)}`;
    const put = { method: 'PUT', cookie, csrfToken: login.CSRFPreventionToken };
    await expect(access.authenticate(put)).resolves.toMatchObject({ userid: 'carol@pve' });
    await expect(access.authenticate({ method: 'GET', cookie })).resolves.toMatchObject({ userid: 'carol@pve' });
    rmSync(join(root, 'priv', 'pve-www.key'));
    expect((await rejectedCvmError(access.authenticate(put))).message).toBe('Permission denied - invalid csrf token');
    await expect(access.authenticate({ method: 'GET', cookie })).resolves.toMatchObject({ userid: 'carol@pve' });
  });

  it('looks at the key file after the request asked: a deletion right after the call is seen by it', async () => {
    const cookie = await acceptedCookie();
    const pending = access.authenticate({ method: 'GET', cookie });
    rmSync(keyFile()); // same turn, after the call
    expect((await rejectedCvmError(pending)).message).toBe('Authentication failed!');
  });

  it('refuses a remembered ticket of a user disabled since', async () => {
    const cookie = await acceptedCookie();
    await modifyUser(access.state, 'carol@pve', { enable: false });
    expect(await refused(cookie)).toBe('Authentication failed!');
    await modifyUser(access.state, 'carol@pve', { enable: true });
    await expect(access.authenticate({ method: 'GET', cookie })).resolves.toMatchObject({ userid: 'carol@pve' });
  });
});
