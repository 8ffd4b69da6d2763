/**
 * @module access/tickets
 * Authentication tickets and CSRF prevention tokens in PVE's shapes (pve-common Ticket.pm,
 * pve-access-control AccessControl.pm): a ticket is `PVE:<userid>:<%08X time>::<base64 sig>`
 * (the userid with `:` percent-escaped), valid while `-300 < now - time < 7200` (2 h lifetime,
 * 5 min clock-skew grace into the future); a CSRF token is
 * `<%08X time>:<base64 HMAC-SHA256("<time>:<userid>", secret)>` with the same window. PVE signs
 * tickets with RSA; cvmctl signs them with HMAC-SHA256 under a key in `priv/` (only this host
 * verifies them, and clients treat tickets as opaque). Pure functions of key, text and time.
 */

import { createHmac, timingSafeEqual } from 'node:crypto';

/** PVE: `$ticket_lifetime = 3600 * 2`. */
export const TICKET_LIFETIME_S = 7200;
/** PVE: `$auth_graceperiod = 60 * 5` (a ticket may be this far in the future). */
export const AUTH_GRACE_S = 300;

const hex8 = (time: number): string => (time >>> 0).toString(16).toUpperCase().padStart(8, '0');

/** Whether a ticket or CSRF token of this age (seconds, `now - time`) is inside the validity window. */
export function ticketAgeOk(age: number): boolean {
  return age > -AUTH_GRACE_S && age < TICKET_LIFETIME_S;
}

const ageOk = (stamp: string, now: number): boolean => ticketAgeOk(now - Number.parseInt(stamp, 16));

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const escapeColon = (text: string): string => text.replace(/%/g, '%25').replace(/:/g, '%3A');

function unescapeData(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

const sign = (key: Buffer, plain: string): string => createHmac('sha256', key).update(plain, 'utf8').digest('base64');

export function assembleTicket(key: Buffer, userid: string, now: number): string {
  const plain = `PVE:${escapeColon(userid)}:${hex8(now)}`;
  return `${plain}::${sign(key, plain)}`;
}

/** The userid and age of a valid ticket, else undefined. */
export function verifyTicket(key: Buffer, ticket: string, now: number): { userid: string; age: number } | undefined {
  const m = /^(PVE:\S+)::([^:\s]+)$/.exec(ticket);
  if (!m) return undefined;
  const plain = m[1] as string;
  if (!sameText(sign(key, plain), m[2] as string)) return undefined;
  const parts = /^PVE:(\S+):([A-Z0-9]{8})$/.exec(plain);
  if (!parts || !ageOk(parts[2] as string, now)) return undefined;
  const userid = unescapeData(parts[1] as string);
  return userid === undefined ? undefined : { userid, age: now - Number.parseInt(parts[2] as string, 16) };
}

// Perl's hmac_sha256_base64 leaves out the `=` padding
const csrfDigest = (secret: Buffer, stamp: string, userid: string): string =>
  createHmac('sha256', secret).update(`${stamp}:${userid}`, 'utf8').digest('base64').replace(/=+$/, '');

export function assembleCsrfToken(secret: Buffer, userid: string, now: number): string {
  const stamp = hex8(now);
  return `${stamp}:${csrfDigest(secret, stamp, userid)}`;
}

export function verifyCsrfToken(secret: Buffer, userid: string, token: string, now: number): boolean {
  const m = /^([A-Z0-9]{8}):(\S+)$/.exec(token);
  if (!m) return false;
  const stamp = m[1] as string;
  return sameText(csrfDigest(secret, stamp, userid), m[2] as string) && ageOk(stamp, now);
}
