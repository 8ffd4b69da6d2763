/**
 * @module access/privileges
 * PVE's privilege names and built-in roles, as pve-access-control 9.1 derives them
 * (AccessControl.pm `$privgroups` / `create_roles`): privileges come in categories, each split
 * into root-only, admin, user and audit groups. `PVE<Cat>Admin` gets admin+user+audit of its
 * category, `PVE<Cat>User` user+audit (for categories with user privileges), `PVEAuditor` every
 * audit privilege, `PVEAdmin` every admin+user+audit privilege except Mapping.Modify,
 * `Administrator` all privileges (root-only ones and Permissions.Modify included), `NoAccess`
 * none, `PVETemplateUser` VM.Clone+VM.Audit. Pure data, computed once.
 */

interface PrivGroup {
  root: readonly string[];
  admin: readonly string[];
  user: readonly string[];
  audit: readonly string[];
}

/** The categories, as upstream lists them (facts, not code). */
const PRIV_GROUPS: Readonly<Record<string, PrivGroup>> = {
  VM: {
    root: [],
    admin: [
      'VM.Config.Disk',
      'VM.Config.CPU',
      'VM.Config.Memory',
      'VM.Config.Network',
      'VM.Config.HWType',
      'VM.Config.Options',
      'VM.Allocate',
      'VM.Clone',
      'VM.GuestAgent.Unrestricted',
      'VM.Migrate',
      'VM.Replicate',
      'VM.Snapshot',
      'VM.Snapshot.Rollback',
    ],
    user: [
      'VM.Config.CDROM',
      'VM.Config.Cloudinit',
      'VM.Console',
      'VM.Backup',
      'VM.GuestAgent.FileRead',
      'VM.GuestAgent.FileSystemMgmt',
      'VM.GuestAgent.FileWrite',
      'VM.PowerMgmt',
    ],
    audit: ['VM.Audit', 'VM.GuestAgent.Audit'],
  },
  Sys: {
    root: ['Sys.PowerMgmt', 'Sys.Modify', 'Sys.Incoming', 'Sys.AccessNetwork'],
    admin: ['Sys.Console', 'Sys.Syslog'],
    user: [],
    audit: ['Sys.Audit'],
  },
  Datastore: {
    root: [],
    admin: ['Datastore.Allocate', 'Datastore.AllocateTemplate'],
    user: ['Datastore.AllocateSpace'],
    audit: ['Datastore.Audit'],
  },
  SDN: { root: [], admin: ['SDN.Allocate', 'SDN.Audit'], user: ['SDN.Use'], audit: ['SDN.Audit'] },
  User: { root: ['Realm.Allocate'], admin: ['User.Modify', 'Group.Allocate', 'Realm.AllocateUser'], user: [], audit: [] },
  Pool: { root: [], admin: ['Pool.Allocate'], user: ['Pool.Audit'], audit: ['Pool.Audit'] },
  Mapping: { root: [], admin: ['Mapping.Modify'], user: ['Mapping.Use'], audit: ['Mapping.Audit'] },
};

function buildTables(): { privileges: ReadonlySet<string>; roles: ReadonlyMap<string, ReadonlySet<string>> } {
  const all = new Set<string>(['Permissions.Modify']);
  const roles = new Map<string, Set<string>>();
  const add = (role: string, privs: readonly string[]): void => {
    const set = roles.get(role) ?? new Set<string>();
    roles.set(role, set);
    for (const p of privs) set.add(p);
  };
  add('NoAccess', []);
  for (const [cat, g] of Object.entries(PRIV_GROUPS)) {
    for (const p of [...g.root, ...g.admin, ...g.user, ...g.audit]) all.add(p);
    add(`PVE${cat}Admin`, [...g.admin, ...g.user, ...g.audit]);
    add('PVEAdmin', [...g.admin, ...g.user, ...g.audit]);
    if (g.user.length > 0) add(`PVE${cat}User`, [...g.user, ...g.audit]);
    add('PVEAuditor', g.audit);
  }
  // only Administrator, root@pam and PVEMappingAdmin may modify mappings
  roles.get('PVEAdmin')?.delete('Mapping.Modify');
  add('PVETemplateUser', ['VM.Clone', 'VM.Audit']);
  add('Administrator', [...all]);
  return { privileges: all, roles };
}

const TABLES = buildTables();

/** Every valid privilege name. */
export const PRIVILEGES: ReadonlySet<string> = TABLES.privileges;

/** The built-in roles (PVE's "special" roles): name -> privileges. They cannot be changed. */
export const BUILTIN_ROLES: ReadonlyMap<string, ReadonlySet<string>> = TABLES.roles;

export function isPrivilege(name: string): boolean {
  return PRIVILEGES.has(name);
}

export function isBuiltinRole(name: string): boolean {
  return BUILTIN_ROLES.has(name);
}
