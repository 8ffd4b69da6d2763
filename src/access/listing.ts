/**
 * @module access/listing
 * Read-only views of the access configuration in the shapes of PVE's API (and hence of
 * `pveum … list --output-format json`): users with their tokens, a user's tokens, ACL entries
 * (`{path, type, ugid, roleid, propagate}`), groups and roles (`{roleid, privs, special}`).
 * Pure functions of a parsed `UserConfig`.
 */

import { parseUserid } from './ids.js';
import { BUILTIN_ROLES } from './privileges.js';
import { aclPathOrder, type UserConfig } from './user-cfg.js';

export interface TokenInfo {
  tokenid: string;
  privsep: 0 | 1;
  expire: number;
  comment?: string;
}

export interface UserInfo {
  userid: string;
  enable: 0 | 1;
  expire: number;
  firstname?: string;
  lastname?: string;
  email?: string;
  comment?: string;
  groups?: string;
  tokens: TokenInfo[];
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function withOptional<T extends object>(base: T, extra: Record<string, string | undefined>): T {
  for (const [key, value] of Object.entries(extra)) if (value) (base as Record<string, unknown>)[key] = value;
  return base;
}

export function listTokens(cfg: UserConfig, userid: string): TokenInfo[] {
  const user = cfg.users.get(userid);
  if (!user) {
    parseUserid(userid);
    return [];
  }
  return [...user.tokens.keys()].sort(byName).map((tokenid) => {
    const t = user.tokens.get(tokenid)!;
    return withOptional<TokenInfo>({ tokenid, privsep: t.privsep ? 1 : 0, expire: t.expire }, { comment: t.comment });
  });
}

export function listUsers(cfg: UserConfig): UserInfo[] {
  return [...cfg.users.keys()].sort(byName).map((userid) => {
    const u = cfg.users.get(userid)!;
    const groups = [...cfg.groups.entries()]
      .filter(([, g]) => g.users.has(userid))
      .map(([name]) => name)
      .sort(byName)
      .join(',');
    const info: UserInfo = { userid, enable: u.enable ? 1 : 0, expire: u.expire, tokens: [] };
    withOptional(info, { firstname: u.firstname, lastname: u.lastname, email: u.email, comment: u.comment, groups });
    // keep `tokens` last, as PVE's full listing does
    const { tokens: _omit, ...rest } = info;
    return { ...rest, tokens: listTokens(cfg, userid) };
  });
}

export interface AclInfo {
  path: string;
  type: 'user' | 'group' | 'token';
  ugid: string;
  roleid: string;
  propagate: 0 | 1;
}

export function listAcl(cfg: UserConfig): AclInfo[] {
  const out: AclInfo[] = [];
  for (const path of [...cfg.acl.keys()].sort(aclPathOrder)) {
    const node = cfg.acl.get(path)!;
    for (const [type, members] of [
      ['user', node.users],
      ['group', node.groups],
      ['token', node.tokens],
    ] as const) {
      for (const ugid of [...members.keys()].sort(byName)) {
        const grants = members.get(ugid)!;
        for (const roleid of [...grants.keys()].sort(byName)) out.push({ path, type, ugid, roleid, propagate: grants.get(roleid) ? 1 : 0 });
      }
    }
  }
  return out;
}

export interface GroupInfo {
  groupid: string;
  users: string;
  comment?: string;
}

export function listGroups(cfg: UserConfig): GroupInfo[] {
  return [...cfg.groups.keys()].sort(byName).map((groupid) => {
    const g = cfg.groups.get(groupid)!;
    return withOptional<GroupInfo>({ groupid, users: [...g.users].sort(byName).join(',') }, { comment: g.comment });
  });
}

export interface RoleInfo {
  roleid: string;
  privs: string;
  special: 0 | 1;
}

export function listRoles(cfg: UserConfig): RoleInfo[] {
  const roles: RoleInfo[] = [];
  for (const [roleid, privs] of BUILTIN_ROLES) roles.push({ roleid, privs: [...privs].sort(byName).join(','), special: 1 });
  for (const [roleid, privs] of cfg.roles) roles.push({ roleid, privs: [...privs].sort(byName).join(','), special: 0 });
  return roles.sort((a, b) => byName(a.roleid, b.roleid));
}
