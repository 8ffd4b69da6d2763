/**
 * @module access/manage
 * Changing users, passwords, API tokens, groups and ACLs, with pveum's rules and texts
 * (pve-access-control API2/User.pm, ACL.pm, Group.pm): the operations behind `cvmctl passwd`,
 * `cvmctl user …`, `cvmctl group …` and `cvmctl acl …`. They run as the state root's owner, who
 * is the local administrator (pveum runs as root@pam), so no privilege checks happen here.
 * Every change is one locked read-change-write (state.ts); slow password hashing happens
 * before the lock is taken.
 */

import { CvmError } from '../errors.js';
import { quotedValue } from '../store/quote.js';
import { isGroupName, normalizeAclPath, parseAclPath, parseLocalUserid, parseTokenName, parseTokenid, parseUserid } from './ids.js';
import { entryOf } from './maps.js';
import { hashPassword, hashTokenSecret, newTokenSecret } from './secrets.js';
import type { AccessStore } from './store.js';
import { emptyAclEntries, ROOT_USER, roleExists, type TokenEntry, type UserConfig, type UserEntry } from './user-cfg.js';

function paramError(key: string, value: string, reason: string, allowed: string): CvmError {
  return new CvmError('PARAM_INVALID', `${key}: invalid value ${quotedValue(value)} - ${reason} (allowed: ${allowed})`, {
    details: { key, value },
  });
}

/** PVE: passwords of 8 to 64 characters. */
export function checkPassword(password: string): void {
  const shown = `(${password.length} characters)`;
  if (password.length < 8 || password.length > 64) {
    throw new CvmError(
      'PARAM_INVALID',
      `password: invalid value ${shown} - length must be 8 to 64 characters (allowed: 8 to 64 characters)`,
      {
        details: { key: 'password' },
      },
    );
  }
}

const EMAIL_RE = /^[\w+\-~]+(\.[\w+\-~]+)*@[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)*$/;

function checkText(key: string, value: string | undefined, max: number): void {
  if (value !== undefined && value.length > max)
    throw paramError(key, value, `value may only be ${max} characters long`, `up to ${max} characters`);
}

const noSuchUser = (userid: string): CvmError =>
  new CvmError('PARAM_INVALID', `no such user ('${userid}')`, { details: { key: 'userid', value: userid } });

function existingUser(cfg: UserConfig, userid: string): UserEntry {
  const user = cfg.users.get(userid);
  if (!user) throw noSuchUser(userid);
  return user;
}

export async function setPassword(state: AccessStore, userid: string, password: string): Promise<void> {
  parseLocalUserid(userid);
  checkPassword(password);
  const hash = await hashPassword(password);
  await state.update((draft) => {
    existingUser(draft.config, userid);
    draft.shadow.set(userid, hash);
    draft.changed.shadow = true;
  });
}

export interface NewUser {
  userid: string;
  enable?: boolean;
  expire?: number;
  firstname?: string;
  lastname?: string;
  email?: string;
  comment?: string;
  groups?: string[];
  password?: string;
}

export async function addUser(state: AccessStore, user: NewUser): Promise<void> {
  parseLocalUserid(user.userid);
  checkUserFields(user);
  if (user.password !== undefined) checkPassword(user.password);
  const hash = user.password === undefined ? undefined : await hashPassword(user.password);
  await state.update((draft) => {
    const cfg = draft.config;
    if (cfg.users.has(user.userid))
      throw new CvmError('PARAM_INVALID', `user '${user.userid}' already exists`, { details: { key: 'userid', value: user.userid } });
    for (const group of user.groups ?? []) if (!cfg.groups.has(group)) throw new CvmError('PARAM_INVALID', `no such group '${group}'`);
    cfg.users.set(user.userid, {
      enable: user.enable ?? true,
      expire: user.expire ?? 0,
      firstname: user.firstname || undefined,
      lastname: user.lastname || undefined,
      email: user.email || undefined,
      comment: user.comment || undefined,
      tokens: new Map(),
    });
    for (const group of user.groups ?? []) cfg.groups.get(group)?.users.add(user.userid);
    draft.changed.config = true;
    if (hash !== undefined) {
      draft.shadow.set(user.userid, hash);
      draft.changed.shadow = true;
    }
  });
}

export type UserChanges = Partial<Pick<NewUser, 'enable' | 'expire' | 'firstname' | 'lastname' | 'email' | 'comment'>>;

function checkUserFields(user: UserChanges): void {
  checkText('firstname', user.firstname, 1024);
  checkText('lastname', user.lastname, 1024);
  checkText('comment', user.comment, 2048);
  if (user.email && (user.email.length > 254 || !EMAIL_RE.test(user.email))) {
    throw paramError('email', user.email, 'value does not look like a valid email address', 'user@domain, up to 254 characters');
  }
}

/** pveum user modify: given fields replace the stored ones (an empty text clears it). */
export async function modifyUser(state: AccessStore, userid: string, changes: UserChanges): Promise<void> {
  parseUserid(userid);
  checkUserFields(changes);
  await state.update((draft) => {
    const user = existingUser(draft.config, userid);
    if (changes.enable !== undefined) user.enable = changes.enable;
    if (changes.expire !== undefined) user.expire = changes.expire;
    for (const key of ['firstname', 'lastname', 'email', 'comment'] as const) {
      if (changes[key] !== undefined) user[key] = changes[key] || undefined;
    }
    draft.changed.config = true;
  });
}

/** Removes ACL entries matching `member` of the given kind everywhere. */
function dropAclMember(cfg: UserConfig, kind: 'users' | 'groups' | 'tokens', match: (id: string) => boolean): void {
  for (const node of cfg.acl.values()) for (const id of [...node[kind].keys()]) if (match(id)) node[kind].delete(id);
}

export async function deleteUser(state: AccessStore, userid: string): Promise<void> {
  parseUserid(userid);
  if (userid === ROOT_USER)
    throw new CvmError('PARAM_INVALID', `userid: invalid value '${ROOT_USER}' - ${ROOT_USER} cannot be deleted (allowed: any other user)`);
  await state.update((draft) => {
    const cfg = draft.config;
    existingUser(cfg, userid);
    cfg.users.delete(userid);
    for (const group of cfg.groups.values()) group.users.delete(userid);
    dropAclMember(cfg, 'users', (id) => id === userid);
    dropAclMember(cfg, 'tokens', (id) => id.startsWith(`${userid}!`));
    for (const tokenid of [...draft.tokenSecrets.keys()]) if (tokenid.startsWith(`${userid}!`)) draft.tokenSecrets.delete(tokenid);
    draft.shadow.delete(userid);
    draft.changed = { config: true, shadow: true, tokenSecrets: true };
  });
}

export interface TokenOptions {
  privsep?: boolean;
  expire?: number;
  comment?: string;
}

export interface NewToken {
  'full-tokenid': string;
  info: { privsep: 0 | 1; expire?: number; comment?: string };
  /** The secret: shown once, stored only as a digest. */
  value: string;
}

export async function addToken(state: AccessStore, userid: string, tokenName: string, options: TokenOptions = {}): Promise<NewToken> {
  parseUserid(userid);
  parseTokenName(tokenName);
  checkText('comment', options.comment, 2048);
  const value = newTokenSecret();
  const fullTokenid = `${userid}!${tokenName}`;
  return state.update((draft) => {
    const user = existingUser(draft.config, userid);
    if (user.tokens.has(tokenName))
      throw new CvmError('PARAM_INVALID', 'tokenid: Token already exists.', { details: { key: 'tokenid', value: tokenName } });
    const entry: TokenEntry = { privsep: options.privsep ?? true, expire: options.expire ?? 0, comment: options.comment || undefined };
    user.tokens.set(tokenName, entry);
    draft.tokenSecrets.set(fullTokenid, hashTokenSecret(value));
    draft.changed.config = true;
    draft.changed.tokenSecrets = true;
    const info: NewToken['info'] = { privsep: entry.privsep ? 1 : 0 };
    if (options.expire !== undefined) info.expire = options.expire;
    if (entry.comment) info.comment = entry.comment;
    return { 'full-tokenid': fullTokenid, info, value };
  });
}

const noSuchToken = (userid: string, tokenName: string): CvmError =>
  new CvmError('PARAM_INVALID', `no such token '${tokenName}' for user '${userid}'`, { details: { key: 'tokenid', value: tokenName } });

export async function removeToken(state: AccessStore, userid: string, tokenName: string): Promise<void> {
  parseUserid(userid);
  await state.update((draft) => {
    const user = existingUser(draft.config, userid);
    if (!user.tokens.delete(tokenName)) throw noSuchToken(userid, tokenName);
    const fullTokenid = `${userid}!${tokenName}`;
    dropAclMember(draft.config, 'tokens', (id) => id === fullTokenid);
    draft.tokenSecrets.delete(fullTokenid);
    draft.changed.config = true;
    draft.changed.tokenSecrets = true;
  });
}

export async function addGroup(state: AccessStore, group: string, comment?: string): Promise<void> {
  if (!isGroupName(group))
    throw paramError('groupid', group, 'group name contains invalid characters', 'letters, digits, ".", "-" and "_"');
  checkText('comment', comment, 2048);
  await state.update((draft) => {
    if (draft.config.groups.has(group))
      throw new CvmError('PARAM_INVALID', `group '${group}' already exists`, { details: { key: 'groupid', value: group } });
    draft.config.groups.set(group, { users: new Set(), comment: comment || undefined });
    draft.changed.config = true;
  });
}

export async function deleteGroup(state: AccessStore, group: string): Promise<void> {
  await state.update((draft) => {
    if (!draft.config.groups.delete(group))
      throw new CvmError('PARAM_INVALID', `group '${group}' does not exist`, { details: { key: 'groupid', value: group } });
    dropAclMember(draft.config, 'groups', (id) => id === group);
    draft.changed.config = true;
  });
}

export interface AclChange {
  path: string;
  roles: string[];
  users?: string[];
  groups?: string[];
  tokens?: string[];
  /** Default: propagate. */
  propagate?: boolean;
  /** Remove these grants instead of adding them. */
  delete?: boolean;
}

/** pveum acl modify / acl delete (PVE's update_acl, run as root@pam). */
export async function updateAcl(state: AccessStore, change: AclChange): Promise<void> {
  const users = change.users ?? [];
  const groups = change.groups ?? [];
  const tokens = change.tokens ?? [];
  if (users.length + groups.length + tokens.length === 0) {
    throw new CvmError('USAGE', "either 'users', 'groups' or 'tokens' is required.");
  }
  if (change.roles.length === 0) throw new CvmError('USAGE', "'roles' is required.");
  // like PVE, removing grants from a path outside the whitelist is allowed (cleaning up old entries)
  const path = (change.delete ? normalizeAclPath(change.path) : undefined) ?? parseAclPath(change.path);
  for (const userid of users) parseUserid(userid, 'users');
  for (const tokenid of tokens) parseTokenid(tokenid, 'tokens');
  const propagate = change.propagate ?? true;
  await state.update((draft) => {
    const cfg = draft.config;
    const node = cfg.acl.get(path) ?? emptyAclEntries();
    for (const role of change.roles) {
      if (!roleExists(cfg, role))
        throw new CvmError('PARAM_INVALID', `role '${role}' does not exist`, { details: { key: 'roles', value: role } });
      const apply = (map: Map<string, Map<string, boolean>>, id: string): void => {
        if (change.delete) {
          map.get(id)?.delete(role);
          if (map.get(id)?.size === 0) map.delete(id);
          return;
        }
        entryOf(map, id, () => new Map<string, boolean>()).set(role, propagate);
      };
      for (const group of groups) {
        if (!cfg.groups.has(group))
          throw new CvmError('PARAM_INVALID', `group '${group}' does not exist`, { details: { key: 'groups', value: group } });
        apply(node.groups, group);
      }
      for (const userid of users) {
        if (!cfg.users.has(userid))
          throw new CvmError('PARAM_INVALID', `user '${userid}' does not exist`, { details: { key: 'users', value: userid } });
        apply(node.users, userid);
      }
      for (const tokenid of tokens) {
        const { userid, tokenName } = parseTokenid(tokenid, 'tokens');
        if (!cfg.users.has(userid)) throw noSuchUser(userid);
        if (!cfg.users.get(userid)?.tokens.has(tokenName)) throw noSuchToken(userid, tokenName);
        apply(node.tokens, tokenid);
      }
    }
    if (node.users.size + node.groups.size + node.tokens.size > 0) cfg.acl.set(path, node);
    else cfg.acl.delete(path);
    draft.changed.config = true;
  });
}
