/**
 * @module access/ids
 * The identifiers of the access domain and their validation, with PVE's rules and texts
 * (pve-access-control Auth/Plugin.pm, AccessControl.pm): user ids `name@realm` (3..64
 * characters, no white space, `:` or `/` in the name, a realm `[A-Za-z][A-Za-z0-9.-_]+`),
 * token ids `user@realm!name`, group and role names, and ACL paths (`normalize_path` plus the
 * `check_path` whitelist, reduced to the paths cvmctl has objects for). Pure functions: every
 * error is a one-line PARAM_INVALID naming the value and what is allowed.
 */

import { CvmError } from '../errors.js';
import { quotedValue } from '../store/quote.js';

const USER_NAME = String.raw`[^\s:/]+`;
const REALM = String.raw`[A-Za-z][A-Za-z0-9.\-_]+`;
const USERID_RE = new RegExp(`^(${USER_NAME})@(${REALM})$`);
const TOKENID_RE = new RegExp(`^((${USER_NAME})@(${REALM}))!(${REALM})$`);
const TOKEN_NAME_RE = new RegExp(`^${REALM}$`);
const ROLE_RE = /^[A-Za-z0-9.\-_]+$/;
const GROUP_RE = /^[A-Za-z0-9.\-_]+$/;

/** The realms cvmctl authenticates itself (PVE's two built-in ones; see docs/access.md). */
export const REALMS = ['pam', 'pve'] as const;

function invalid(key: string, value: string, reason: string, allowed: string): never {
  throw new CvmError('PARAM_INVALID', `${key}: invalid value ${quotedValue(value)} - ${reason} (allowed: ${allowed})`, {
    details: { key, value },
  });
}

/** `user@realm` if the text is a well-formed user id (PVE's verify_username), else undefined. */
export function asUserid(text: string): { userid: string; name: string; realm: string } | undefined {
  if (text.length < 3 || text.length > 64) return undefined;
  const m = USERID_RE.exec(text);
  return m ? { userid: text, name: m[1] as string, realm: m[2] as string } : undefined;
}

/** Validates a user id; `key` names the input in the error. */
export function parseUserid(text: string, key = 'userid'): { userid: string; name: string; realm: string } {
  const allowed = 'user@realm, 3 to 64 characters, no spaces, colons or slashes in the user name';
  if (text.length < 3) invalid(key, text, 'user name is too short', allowed);
  if (text.length > 64) invalid(key, text, `user name is too long (${text.length} > 64)`, allowed);
  return asUserid(text) ?? invalid(key, text, 'value does not look like a valid user name', allowed);
}

/** Validates a user id whose realm cvmctl can authenticate (`pam` or `pve`). */
export function parseLocalUserid(text: string, key = 'userid'): { userid: string; name: string; realm: string } {
  const id = parseUserid(text, key);
  if (!(REALMS as readonly string[]).includes(id.realm)) {
    invalid(key, text, `auth domain '${id.realm}' does not exist`, `a user in realm ${REALMS.join(' or ')}`);
  }
  return id;
}

/** `{userid, tokenName}` of a full token id `user@realm!name`, else undefined (PVE's split_tokenid). */
export function splitTokenid(text: string): { userid: string; tokenName: string } | undefined {
  const m = TOKENID_RE.exec(text);
  if (!m || !asUserid(m[1] as string)) return undefined;
  return { userid: m[1] as string, tokenName: m[4] as string };
}

export function parseTokenid(text: string, key = 'tokenid'): { userid: string; tokenName: string } {
  return splitTokenid(text) ?? invalid(key, text, 'value does not look like a valid token ID', 'user@realm!tokenname');
}

/** Validates the user-specific part of a token id (`mytoken` of `root@pam!mytoken`). */
export function parseTokenName(text: string, key = 'tokenid'): string {
  if (!TOKEN_NAME_RE.test(text)) {
    invalid(
      key,
      text,
      'value does not match the token name pattern',
      'a letter, then letters, digits, ".", "-" or "_" (2 or more characters)',
    );
  }
  return text;
}

export function isRoleName(text: string): boolean {
  return ROLE_RE.test(text);
}

export function isGroupName(text: string): boolean {
  return GROUP_RE.test(text);
}

/** PVE's normalize_path: collapse `//`, drop a trailing `/`, add a leading one; undefined if unusable. */
export function normalizeAclPath(text: string): string | undefined {
  if (!text) return undefined;
  let path = text.replace(/\/+/g, '/').replace(/\/$/, '');
  if (!path) path = '/';
  if (!path.startsWith('/')) path = `/${path}`;
  return /^[A-Za-z0-9.\-_/]+$/.test(path) ? path : undefined;
}

/**
 * The ACL paths PVE accepts for the objects cvmctl has (check_path, without the sdn/mapping
 * families): `/`, `/access[/groups[/g]|/realm[/r]]`, `/nodes[/n]`, `/pool[/p]`, `/storage[/s]`,
 * `/vms[/vmid]`.
 */
const ACL_PATH_RE =
  /^(\/|\/access|\/access\/groups|\/access\/groups\/[A-Za-z0-9.\-_]+|\/access\/realm|\/access\/realm\/[A-Za-z0-9.\-_]+|\/nodes|\/nodes\/[A-Za-z0-9.\-_]+|\/pool|\/pool\/[A-Za-z0-9.\-_]+(?:\/[A-Za-z0-9.\-_]+){0,2}|\/storage|\/storage\/[A-Za-z0-9.\-_]+|\/vms|\/vms\/[1-9][0-9]{2,})$/;

/** Normalises and checks an ACL path for `acl modify` (PVE: `invalid ACL path '<path>'`). */
export function parseAclPath(text: string, key = 'path'): string {
  const path = normalizeAclPath(text);
  if (path === undefined || !ACL_PATH_RE.test(path)) {
    invalid(key, text, 'invalid ACL path', '/, /vms, /vms/<vmid>, /nodes[/<node>], /storage[/<id>], /pool[/<id>], /access[/groups|/realm]');
  }
  return path;
}

/** Seconds since the epoch, `0` = never (user and token `expire`). */
export function parseExpire(text: string, key = 'expire'): number {
  if (!/^\+?\d+$/.test(text)) invalid(key, text, "type check ('integer') failed", 'seconds since the epoch, 0 = never');
  const value = Number(text);
  if (!Number.isSafeInteger(value)) invalid(key, text, 'value is too large', 'seconds since the epoch, 0 = never');
  return value;
}

/** PVE's boolean parameters: exactly `0` or `1`. */
export function parseFlag(text: string, key: string): boolean {
  if (text !== '0' && text !== '1') invalid(key, text, "type check ('boolean') failed", '0 or 1');
  return text === '1';
}
