/**
 * @module access/permissions
 * Which privileges an identity has on an ACL path, resolved like PVE
 * (AccessControl.pm `roles`, RPCEnvironment.pm `permissions` / `compute_api_permission`):
 * walking from `/` down to the path, the entries on each level that apply (all roles on the
 * path itself, only propagated ones above it) replace what was collected so far; on one level a
 * token's own entries beat user entries, which beat group entries; `NoAccess` anywhere in the
 * result means no privileges. `root@pam` has every privilege. A privilege-separated token gets
 * the intersection of its own and its user's privileges, other tokens their user's. Pools are
 * not resolved (cvmctl has none). Pure functions over a parsed `UserConfig`.
 */

import { splitTokenid } from './ids.js';
import { PRIVILEGES } from './privileges.js';
import { ROOT_USER, rolePrivileges, type RoleGrants, type UserConfig } from './user-cfg.js';

/** Prefixes of a normalised path, `/` first: `/vms/100` -> `/`, `/vms`, `/vms/100`. */
function pathLevels(path: string): string[] {
  if (path === '/') return ['/'];
  const parts = path.slice(1).split('/');
  return ['/', ...parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`)];
}

function applicable(grants: RoleGrants | undefined, final: boolean): RoleGrants | undefined {
  if (!grants) return undefined;
  let result: RoleGrants | undefined;
  for (const [role, propagate] of grants) {
    if (!(final || propagate)) continue;
    result ??= new Map();
    result.set(role, propagate);
  }
  return result;
}

/**
 * The roles `authid` (user or token id) has on `path` from ACL entries, without the privsep
 * intersection. root@pam gets `Administrator`.
 */
export function rolesOn(cfg: UserConfig, authid: string, path: string): RoleGrants {
  if (authid === ROOT_USER) return new Map([['Administrator', true]]);
  const token = splitTokenid(authid);
  if (token) {
    const info = cfg.users.get(token.userid)?.tokens.get(token.tokenName);
    if (!info) return new Map();
    if (!info.privsep) return rolesOn(cfg, token.userid, path);
  }
  let roles: RoleGrants = new Map();
  const levels = pathLevels(path);
  levels.forEach((level, i) => {
    const node = cfg.acl.get(level);
    if (!node) return;
    const final = i === levels.length - 1;
    const own = applicable(node.tokens.get(authid), final) ?? applicable(node.users.get(authid), final);
    if (own) {
      roles = own;
      return;
    }
    const fromGroups: RoleGrants = new Map();
    for (const [group, grants] of node.groups) {
      if (!cfg.groups.get(group)?.users.has(authid)) continue;
      for (const [role, propagate] of applicable(grants, final) ?? []) fromGroups.set(role, propagate);
    }
    if (fromGroups.size > 0) roles = fromGroups;
  });
  const noAccess = roles.get('NoAccess');
  return noAccess === undefined ? roles : new Map([['NoAccess', noAccess]]);
}

function privilegesOfRoles(cfg: UserConfig, roles: RoleGrants): Set<string> {
  const privs = new Set<string>();
  for (const role of roles.keys()) for (const p of rolePrivileges(cfg, role) ?? []) privs.add(p);
  return privs;
}

/** The privileges `authid` has on the normalised `path` (PVE's `permissions`). */
export function privilegesOn(cfg: UserConfig, authid: string, path: string): Set<string> {
  if (authid === ROOT_USER) return new Set(PRIVILEGES);
  const token = splitTokenid(authid);
  if (token) {
    const info = cfg.users.get(token.userid)?.tokens.get(token.tokenName);
    if (!info) return new Set();
    const userPrivs = privilegesOn(cfg, token.userid, path);
    if (!info.privsep) return userPrivs;
    const tokenPrivs = privilegesOfRoles(cfg, rolesOn(cfg, authid, path));
    // root@pam's own privileges are all of them: the intersection is the token's
    if (token.userid === ROOT_USER) return tokenPrivs;
    return new Set([...tokenPrivs].filter((p) => userPrivs.has(p)));
  }
  return privilegesOfRoles(cfg, rolesOn(cfg, authid, path));
}

/** Privileges shown per top-level area in the login's `cap` (compute_api_permission). */
const CAP_AREAS: Readonly<Record<string, RegExp>> = {
  vms: /^(VM\.|Permissions\.Modify)/,
  access: /^((User|Group)\.|Permissions\.Modify)/,
  storage: /^(Datastore\.|Permissions\.Modify)/,
  nodes: /^(Sys\.|Permissions\.Modify)/,
  sdn: /^(SDN\.|Permissions\.Modify)/,
  dc: /^(Sys\.Audit|Sys\.Modify|SDN\.)/,
  mapping: /^(Mapping\.|Permissions.Modify)/,
};

const CAP_PATHS = ['/', '/nodes', '/access/groups', '/vms', '/storage', '/sdn', '/mapping'];

/** The `cap` object of the ticket response: for each area, the privileges held anywhere in it. */
export function computeCap(cfg: UserConfig, authid: string): Record<string, Record<string, 1>> {
  const cap: Record<string, Record<string, 1>> = {};
  for (const area of Object.keys(CAP_AREAS)) cap[area] = {};
  const paths = new Set([...CAP_PATHS, ...cfg.acl.keys()]);
  for (const path of paths) {
    const privs = privilegesOn(cfg, authid, path);
    const top = /^\/(\w+)/.exec(path)?.[1] ?? 'dc';
    if (top === 'pool') {
      for (const p of privs) {
        if (p.startsWith('VM.')) (cap.vms as Record<string, 1>)[p] = 1;
        else if (p.startsWith('Datastore.')) (cap.storage as Record<string, 1>)[p] = 1;
        else if (p === 'Permissions.Modify') {
          (cap.storage as Record<string, 1>)[p] = 1;
          (cap.vms as Record<string, 1>)[p] = 1;
        }
      }
      continue;
    }
    const re = CAP_AREAS[top];
    if (!re) continue;
    for (const p of privs) if (re.test(p)) (cap[top] as Record<string, 1>)[p] = 1;
  }
  return cap;
}
