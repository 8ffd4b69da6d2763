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

/** The value of a hex digit's character code, -1 for any other character. */
function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  const lower = code | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1; // a-f, A-F
}

/**
 * Like URI::Escape::uri_unescape (`s/%([0-9A-Fa-f]{2})/chr(hex($1))/eg`): every valid %XX becomes
 * the character of that code, anything else stays; never throws. A loop rather than a regular
 * expression with a replacer: a URI-escaped ticket cookie has a dozen escapes on every request.
 */
export function uriUnescape(text: string): string {
  let at = text.indexOf('%');
  if (at === -1) return text;
  let out = '';
  let copied = 0;
  while (at !== -1 && at + 2 < text.length) {
    const high = hexValue(text.charCodeAt(at + 1));
    const low = high === -1 ? -1 : hexValue(text.charCodeAt(at + 2));
    if (low === -1) {
      at = text.indexOf('%', at + 1);
      continue;
    }
    out += text.slice(copied, at) + String.fromCharCode(high * 16 + low);
    copied = at + 3;
    at = text.indexOf('%', copied);
  }
  return out + text.slice(copied);
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
