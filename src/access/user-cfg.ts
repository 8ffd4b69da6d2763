/**
 * @module access/user-cfg
 * PVE's `user.cfg` text format, read and written like pve-access-control's
 * `parse_user_config` / `write_user_config`: colon-separated lines `user:`, `token:`, `group:`,
 * `pool:`, `role:` and `acl:`, free text (names, comments) percent-encoded like
 * `PVE::Tools::encode_text`. Parsing forces PVE's defaults (`root@pam` exists, enabled) and
 * skips invalid lines with a warning, as PVE does; writing is canonical (sorted, root@pam's ACL
 * entries omitted because root@pam always has every privilege). Pools are kept verbatim:
 * cvmctl has no pools, but a file shared with PVE tools must not lose them. Pure functions.
 */

import { asUserid, isGroupName, isRoleName, normalizeAclPath, splitTokenid } from './ids.js';
import { entryOf } from './maps.js';
import { BUILTIN_ROLES, isBuiltinRole, isPrivilege } from './privileges.js';

export interface TokenEntry {
  privsep: boolean;
  /** Seconds since the epoch, 0 = never. */
  expire: number;
  comment?: string;
}

export interface UserEntry {
  enable: boolean;
  /** Seconds since the epoch, 0 = never. */
  expire: number;
  firstname?: string;
  lastname?: string;
  email?: string;
  comment?: string;
  /** TFA keys field, kept as read (cvmctl has no TFA). */
  keys?: string;
  tokens: Map<string, TokenEntry>;
}

export interface GroupEntry {
  users: Set<string>;
  comment?: string;
}

/** Role name -> propagate flag. */
export type RoleGrants = Map<string, boolean>;

export interface AclEntries {
  users: Map<string, RoleGrants>;
  groups: Map<string, RoleGrants>;
  tokens: Map<string, RoleGrants>;
}

export interface UserConfig {
  users: Map<string, UserEntry>;
  groups: Map<string, GroupEntry>;
  /** Custom roles only; the built-in ones live in privileges.ts. */
  roles: Map<string, Set<string>>;
  /** Normalised ACL path -> entries. */
  acl: Map<string, AclEntries>;
  /** `pool:` lines, verbatim. */
  pools: string[];
}

export const ROOT_USER = 'root@pam';

/** PVE's encode_text: control and non-ASCII bytes, `%` and `:` percent-encoded. */
export function encodeText(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const safe = byte >= 0x20 && byte <= 0x7e && byte !== 0x25 && byte !== 0x3a;
    out += safe ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function decodeText(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text[i] === '%' ? text.slice(i + 1, i + 3) : '';
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i] as string, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** PVE's split_list: on NUL if present, else on `,`, `;` and white space. */
export function splitList(text: string): string[] {
  if (text.includes('\0')) return text.split('\0');
  return text.replace(/[,;]/g, ' ').trim().split(/\s+/).filter(Boolean);
}

export function emptyAclEntries(): AclEntries {
  return { users: new Map(), groups: new Map(), tokens: new Map() };
}

export function emptyUserConfig(): UserConfig {
  const cfg: UserConfig = { users: new Map(), groups: new Map(), roles: new Map(), acl: new Map(), pools: [] };
  forceDefaults(cfg);
  return cfg;
}

function forceDefaults(cfg: UserConfig): void {
  if (!cfg.users.has(ROOT_USER)) cfg.users.set(ROOT_USER, { enable: true, expire: 0, tokens: new Map() });
}

export function roleExists(cfg: UserConfig, role: string): boolean {
  return isBuiltinRole(role) || cfg.roles.has(role);
}

/** The privileges of a role (built-in or custom), undefined for an unknown role. */
export function rolePrivileges(cfg: UserConfig, role: string): ReadonlySet<string> | undefined {
  return BUILTIN_ROLES.get(role) ?? cfg.roles.get(role);
}

export interface ParsedUserConfig {
  config: UserConfig;
  /** One line per skipped entry, PVE's texts (`user config - ignore …`). */
  warnings: string[];
}

const optional = (text: string | undefined): string | undefined => (text ? decodeText(text) : undefined);

export function parseUserConfig(raw: string): ParsedUserConfig {
  const cfg: UserConfig = { users: new Map(), groups: new Map(), roles: new Map(), acl: new Map(), pools: [] };
  const warnings: string[] = [];
  const warn = (msg: string): void => {
    warnings.push(`user config - ${msg}`);
  };
  forceDefaults(cfg);
  for (const rawLine of raw.split('\n')) {
    const line = rawLine.trim();
    if (!line) continue;
    const data = line.split(':').map((d) => d.trim());
    const kind = data.shift();
    if (kind === 'user') {
      const [user = '', enable, expire = '', firstname, lastname, email, comment, keys] = data;
      if (!asUserid(user)) {
        warn(`ignore user '${user}' - invalid user name`);
        continue;
      }
      if (!/^\d*$/.test(expire)) {
        warn(`ignore user '${user}' - (illegal characters in expire '${expire}')`);
        continue;
      }
      cfg.users.set(user, {
        enable: Boolean(enable) && enable !== '0',
        expire: expire ? Number(expire) : 0,
        firstname: optional(firstname),
        lastname: optional(lastname),
        email: email || undefined,
        comment: optional(comment),
        keys: keys || undefined,
        tokens: cfg.users.get(user)?.tokens ?? new Map(),
      });
    } else if (kind === 'token') {
      const [tokenid = '', expire = '', privsep, comment] = data;
      const split = splitTokenid(tokenid);
      if (!split) {
        warn(`ignore invalid tokenid '${tokenid}'`);
        continue;
      }
      if (!/^\d*$/.test(expire)) {
        warn(`ignore token '${tokenid}' - (illegal characters in expire '${expire}')`);
        continue;
      }
      const user = cfg.users.get(split.userid);
      if (!user) {
        warn(`ignore token '${tokenid}' - user does not exist`);
        continue;
      }
      user.tokens.set(split.tokenName, {
        privsep: Boolean(privsep) && privsep !== '0',
        expire: expire ? Number(expire) : 0,
        comment: optional(comment),
      });
    } else if (kind === 'group') {
      const [group = '', userlist = '', comment] = data;
      if (!isGroupName(group)) {
        warn(`ignore group '${group}' - invalid characters in group name`);
        continue;
      }
      const entry = cfg.groups.get(group) ?? { users: new Set<string>() };
      cfg.groups.set(group, entry);
      if (comment) entry.comment = decodeText(comment);
      for (const user of splitList(userlist)) {
        if (asUserid(user) && cfg.users.has(user)) entry.users.add(user);
        else warn(`ignore invalid group member '${user}'`);
      }
    } else if (kind === 'role') {
      const [role = '', privlist = ''] = data;
      if (!isRoleName(role)) {
        warn(`ignore role '${role}' - invalid characters in role name`);
        continue;
      }
      if (isBuiltinRole(role)) continue; // built-in roles cannot be redefined
      const privs = cfg.roles.get(role) ?? new Set<string>();
      cfg.roles.set(role, privs);
      for (const priv of splitList(privlist)) {
        if (isPrivilege(priv)) privs.add(priv);
        else warn(`ignore invalid privilege '${priv}'`);
      }
    } else if (kind === 'acl') {
      parseAclLine(cfg, data, warn);
    } else if (kind === 'pool') {
      cfg.pools.push(line);
    } else {
      warn(`ignore config line: ${line}`);
    }
  }
  return { config: cfg, warnings };
}

function parseAclLine(cfg: UserConfig, data: string[], warn: (msg: string) => void): void {
  const [propagateText, pathText = '', uglist = '', rolelist = ''] = data;
  const propagate = Boolean(propagateText) && propagateText !== '0';
  const path = normalizeAclPath(pathText);
  if (!path) {
    warn(`ignore invalid path in acl '${pathText}'`);
    return;
  }
  const entries = (): AclEntries => entryOf(cfg.acl, path, emptyAclEntries);
  const grant = (map: Map<string, RoleGrants>, id: string, role: string): void => {
    entryOf(map, id, (): RoleGrants => new Map()).set(role, propagate);
  };
  for (const role of splitList(rolelist)) {
    if (!isRoleName(role)) {
      warn(`ignore invalid role name '${role}' in acl`);
      continue;
    }
    if (!roleExists(cfg, role)) {
      warn(`ignore invalid acl role '${role}'`);
      continue;
    }
    for (const ug of splitList(uglist)) {
      const group = /^@(\S+)$/.exec(ug)?.[1];
      const token = splitTokenid(ug);
      if (group && isGroupName(group)) {
        if (!cfg.groups.has(group)) warn(`ignore invalid acl group '${group}'`);
        grant(entries().groups, group, role);
      } else if (asUserid(ug)) {
        if (!cfg.users.has(ug)) warn(`ignore invalid acl member '${ug}'`);
        grant(entries().users, ug, role);
      } else if (token) {
        if (cfg.users.get(token.userid)?.tokens.has(token.tokenName)) grant(entries().tokens, ug, role);
        else warn(`ignore invalid acl token '${ug}'`);
      } else {
        warn(`invalid user/group '${ug}' in acl`);
      }
    }
  }
}

const sorted = <T>(items: Iterable<T>): T[] => [...items].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** ACL paths in PVE's iterate_acl_tree order: depth first, children sorted. */
export function aclPathOrder(a: string, b: string): number {
  const sa = a === '/' ? [] : a.slice(1).split('/');
  const sb = b === '/' ? [] : b.slice(1).split('/');
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const x = sa[i] as string;
    const y = sb[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return sa.length - sb.length;
}

export function serializeUserConfig(cfg: UserConfig): string {
  let data = '';
  const text = (value: string | undefined): string => (value ? encodeText(value) : '');
  for (const userid of sorted(cfg.users.keys())) {
    const u = cfg.users.get(userid) as UserEntry;
    data += `user:${userid}:${u.enable ? 1 : 0}:${u.expire}:${text(u.firstname)}:${text(u.lastname)}:${u.email ?? ''}:${text(u.comment)}:${u.keys ?? ''}:\n`;
    for (const name of sorted(u.tokens.keys())) {
      const t = u.tokens.get(name) as TokenEntry;
      data += `token:${userid}!${name}:${t.expire}:${t.privsep ? 1 : 0}:${text(t.comment)}:\n`;
    }
  }
  data += '\n';
  for (const group of sorted(cfg.groups.keys())) {
    const g = cfg.groups.get(group) as GroupEntry;
    data += `group:${group}:${sorted(g.users).join(',')}:${text(g.comment)}:\n`;
  }
  data += '\n';
  for (const line of cfg.pools) data += `${line}\n`;
  data += '\n';
  for (const role of sorted(cfg.roles.keys())) data += `role:${role}:${sorted(cfg.roles.get(role) ?? []).join(',')}:\n`;
  data += '\n';
  for (const path of [...cfg.acl.keys()].sort(aclPathOrder)) {
    const node = cfg.acl.get(path) as AclEntries;
    // propagate flag -> role list -> members
    const byFlag: [Map<string, string[]>, Map<string, string[]>] = [new Map(), new Map()];
    const collect = (members: Map<string, RoleGrants>, prefix: string): void => {
      for (const [member, grants] of members) {
        if (prefix === '' && member === ROOT_USER) continue;
        for (const flag of [0, 1] as const) {
          const roles = sorted([...grants].filter(([, p]) => (p ? 1 : 0) === flag).map(([r]) => r)).join(',');
          if (!roles) continue;
          const list = byFlag[flag].get(roles) ?? [];
          byFlag[flag].set(roles, [...list, `${prefix}${member}`]);
        }
      }
    };
    collect(node.groups, '@');
    collect(node.users, '');
    collect(node.tokens, '');
    for (const flag of [0, 1] as const) {
      for (const roles of sorted(byFlag[flag].keys())) {
        data += `acl:${flag}:${path}:${sorted(byFlag[flag].get(roles) ?? []).join(',')}:${roles}:\n`;
      }
    }
  }
  return data;
}
