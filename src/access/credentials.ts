/**
 * @module access/credentials
 * Where a request's credential is read, like pve-http-server (AnyEvent.pm, Formatter.pm
 * `extract_auth_value`): the `PVEAuthCookie` cookie first, then `Authorization:
 * PVEAuthCookie=<ticket>`, then `Authorization: PVEAPIToken=<user@realm!name>=<secret>` (also
 * with a space instead of the first `=`); values are URI-unescaped; the token value is split on
 * its last `=`. Pure string handling, no verification.
 */

import { splitTokenid } from './ids.js';

export const COOKIE_NAME = 'PVEAuthCookie';
export const API_TOKEN_NAME = 'PVEAPIToken';

function uriUnescape(text: string): string {
  // like URI::Escape::uri_unescape: every valid %XX, nothing else (never throws)
  if (!text.includes('%')) return text;
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Compiled once per key name (every request looks for the same two). */
const keyPatterns = new Map<string, RegExp>();

/** `(?:^|\s)KEY(?:=| )([^;]*)` in a header, URI-unescaped; undefined when absent or empty. */
export function extractAuthValue(header: string | undefined, key: string): string | undefined {
  if (!header) return undefined;
  let pattern = keyPatterns.get(key);
  if (!pattern) {
    pattern = new RegExp(`(?:^|\\s)${escapeRegExp(key)}(?:=| )([^;]*)`);
    keyPatterns.set(key, pattern);
  }
  const m = pattern.exec(header);
  const value = m?.[1];
  return value ? uriUnescape(value) : undefined;
}

export type Credential = { kind: 'ticket'; ticket: string } | { kind: 'token'; value: string } | { kind: 'none' };

/** Which credential a request carries (a ticket wins over a token, as in PVE). */
export function requestCredential(cookie: string | undefined, authorization: string | undefined): Credential {
  const ticket = extractAuthValue(cookie, COOKIE_NAME) ?? extractAuthValue(authorization, COOKIE_NAME);
  if (ticket) return { kind: 'ticket', ticket };
  const token = extractAuthValue(authorization, API_TOKEN_NAME);
  if (token) return { kind: 'token', value: token };
  return { kind: 'none' };
}

export interface ApiToken {
  /** `user@realm!name`. */
  tokenid: string;
  userid: string;
  tokenName: string;
  secret: string;
}

/** `user@realm!name=secret`, split on the last `=`; undefined when malformed. */
export function parseApiToken(value: string): ApiToken | undefined {
  const eq = value.lastIndexOf('=');
  if (eq < 0) return undefined;
  const tokenid = value.slice(0, eq);
  const split = splitTokenid(tokenid);
  if (!split) return undefined;
  return { tokenid, userid: split.userid, tokenName: split.tokenName, secret: value.slice(eq + 1) };
}
