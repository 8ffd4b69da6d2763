/**
 * @module access/tickets.property.test
 * Tickets, CSRF tokens and the credential parsers: PVE's shapes and validity window at its
 * edges, the token header forms (split on the last `=`), URI-unescaping as Perl's uri_unescape,
 * and properties over generated input: every issued ticket verifies for its user and only
 * within the window, any tampering fails, and arbitrary text never throws from a parser.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extractAuthValue, parseApiToken, requestCredential, uriUnescape } from './credentials.js';
import { asUserid, splitTokenid } from './ids.js';
import { assembleCsrfToken, assembleTicket, verifyCsrfToken, verifyTicket } from './tickets.js';

const key = randomBytes(32);
const otherKey = randomBytes(32);
const T0 = 1_800_000_000;

describe('tickets and CSRF tokens', () => {
  it('have PVE’s shapes', () => {
    expect(assembleTicket(key, 'root@pam', 0x6b49d200)).toMatch(/^PVE:root@pam:6B49D200::[A-Za-z0-9+/]{43}=$/);
    expect(assembleCsrfToken(key, 'root@pam', 0x6b49d200)).toMatch(/^6B49D200:[A-Za-z0-9+/]{43}$/);
  });

  it('are valid from 5 min before their time until just under 2 h after it', () => {
    const ticket = assembleTicket(key, 'a@pve', T0);
    const csrf = assembleCsrfToken(key, 'a@pve', T0);
    for (const [now, ok] of [
      [T0 - 300, false],
      [T0 - 299, true],
      [T0, true],
      [T0 + 7199, true],
      [T0 + 7200, false],
    ] as const) {
      expect(verifyTicket(key, ticket, now)?.userid).toBe(ok ? 'a@pve' : undefined);
      expect(verifyCsrfToken(key, 'a@pve', csrf, now)).toBe(ok);
    }
    expect(verifyTicket(otherKey, ticket, T0)).toBeUndefined();
    expect(verifyCsrfToken(key, 'b@pve', csrf, T0)).toBe(false);
    expect(verifyCsrfToken(otherKey, 'a@pve', csrf, T0)).toBe(false);
  });

  it('verify for their user only, and fail when any character changes (property)', () => {
    const userid = fc
      .tuple(fc.stringMatching(/^[^\s:/]{1,20}$/), fc.stringMatching(/^[A-Za-z][A-Za-z0-9.\-_]{1,10}$/))
      .map(([n, r]) => `${n}@${r}`)
      .filter((u) => asUserid(u) !== undefined);
    fc.assert(
      fc.property(userid, fc.integer({ min: 0, max: 7000 }), fc.nat(), fc.integer({ min: 1, max: 127 }), (user, age, pos, code) => {
        const ticket = assembleTicket(key, user, T0);
        expect(verifyTicket(key, ticket, T0 + age)).toEqual({ userid: user, age });
        const i = pos % ticket.length;
        const changed = ticket.slice(0, i) + String.fromCharCode(code) + ticket.slice(i + 1);
        if (changed !== ticket) expect(verifyTicket(key, changed, T0 + age)).toBeUndefined();
        const csrf = assembleCsrfToken(key, user, T0);
        expect(verifyCsrfToken(key, user, csrf, T0 + age)).toBe(true);
        const j = pos % csrf.length;
        const changedCsrf = csrf.slice(0, j) + String.fromCharCode(code) + csrf.slice(j + 1);
        if (changedCsrf !== csrf) expect(verifyCsrfToken(key, user, changedCsrf, T0 + age)).toBe(false);
      }),
    );
  });

  it('never throw on arbitrary text (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        expect(verifyTicket(key, text, T0)).toBeUndefined();
        expect(verifyTicket(key, `PVE:${text}`, T0)).toBeUndefined();
        expect(verifyCsrfToken(key, 'a@pve', text, T0)).toBe(false);
        parseApiToken(text);
        extractAuthValue(text, 'PVEAuthCookie');
        requestCredential(text, text);
        splitTokenid(text);
      }),
    );
  });
});

describe('credentials', () => {
  const uuid = '0b7a1c2e-1111-4222-8333-444455556666';

  it('reads the cookie first, then Authorization PVEAuthCookie, then the API token', () => {
    expect(requestCredential('x=1; PVEAuthCookie=PVE%3Aa%40pve%3A1::s', 'PVEAPIToken=a@pve!t1=s')).toEqual({
      kind: 'ticket',
      ticket: 'PVE:a@pve:1::s',
    });
    expect(requestCredential(undefined, 'PVEAuthCookie=T1')).toEqual({ kind: 'ticket', ticket: 'T1' });
    expect(requestCredential('other=1', `PVEAPIToken=a@pve!t1=${uuid}`)).toEqual({ kind: 'token', value: `a@pve!t1=${uuid}` });
    expect(requestCredential('XPVEAuthCookie=T', undefined)).toEqual({ kind: 'none' });
    expect(requestCredential('PVEAuthCookie=', 'Basic abc')).toEqual({ kind: 'none' });
  });

  it('URI-unescapes like URI::Escape: every valid %XX, nothing else (property)', () => {
    // uri_unescape's definition: s/%([0-9A-Fa-f]{2})/chr(hex($1))/eg
    const perl = (text: string) => text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    const piece = fc.oneof(
      fc.constantFrom('%', '%%', '%2', '%3A', '%3a', '%Zz', '%g1', '%1G', '%25', '%FF', '%00', '%e9', 'PVE', ':', 'é', '€'),
      fc.string({ maxLength: 4 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const text = pieces.join('');
        expect(uriUnescape(text)).toBe(perl(text));
      }),
      { numRuns: 2000 },
    );
    expect(uriUnescape('PVE%3Aa%40pve%3A1%3A%3As%2B%2F%3D%')).toBe('PVE:a@pve:1::s+/=%');
    expect(uriUnescape('%%41%4')).toBe('%A%4');
  });

  it('parses both token header forms and splits on the last =', () => {
    const want = { tokenid: 'root@pam!tok', userid: 'root@pam', tokenName: 'tok', secret: uuid };
    expect(parseApiToken(extractAuthValue(`PVEAPIToken=root@pam!tok=${uuid}`, 'PVEAPIToken') ?? '')).toEqual(want);
    expect(parseApiToken(extractAuthValue(`PVEAPIToken root@pam!tok=${uuid}`, 'PVEAPIToken') ?? '')).toEqual(want);
    // the last `=` splits: `root@pam!tok=a` is no token id (PVE: authentication failure)
    expect(parseApiToken('root@pam!tok=a=b')).toBeUndefined();
    expect(parseApiToken('root@pam!tok=')).toEqual({ ...want, secret: '' });
    expect(parseApiToken('root@pam=x')).toBeUndefined();
    expect(parseApiToken('root@pam!t')).toBeUndefined();
  });

  it('round-trips generated token ids (property)', () => {
    const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9.\-_]{1,15}$/);
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9._-]{1,20}$/),
        fc.constantFrom('pam', 'pve'),
        name,
        fc.uuid(),
        (user, realm, token, secret) => {
          const value = `${user}@${realm}!${token}=${secret}`;
          expect(parseApiToken(value)).toEqual({
            tokenid: `${user}@${realm}!${token}`,
            userid: `${user}@${realm}`,
            tokenName: token,
            secret,
          });
        },
      ),
    );
  });
});
