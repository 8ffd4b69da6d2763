/**
 * @module access/permissions.test
 * ACL resolution against PVE's rules on a hand-written user.cfg: propagation, the more specific
 * path replacing (not merging) what was inherited, user entries beating group entries,
 * NoAccess, custom roles, privilege-separated and full tokens, root@pam; the built-in role
 * tables as pve-access-control 9.1 defines them; the login's `cap` object.
 */
import { describe, expect, it } from 'vitest';
import { computeCap, privilegesOn } from './permissions.js';
import { BUILTIN_ROLES, PRIVILEGES } from './privileges.js';
import { parseUserConfig } from './user-cfg.js';

const CFG = `
user:alice@pve:1:0::::::
user:bob@pve:1:0::::::
user:carol@pve:1:0::::::
user:root@pam:1:0::::::
token:alice@pve!priv:0:1::
token:alice@pve!full:0:0::
token:root@pam!ro:0:1::
group:ops:bob@pve,carol@pve::
role:VMStarter:VM.PowerMgmt,VM.Audit:
acl:1:/:@ops:PVEAuditor:
acl:1:/vms:alice@pve:PVEVMAdmin:
acl:0:/vms/100:alice@pve:NoAccess:
acl:1:/vms/200:@ops:PVEVMUser:
acl:1:/vms/200:carol@pve:NoAccess:
acl:0:/nodes:bob@pve:PVESysAdmin:
acl:1:/vms/400:bob@pve:VMStarter:
acl:1:/vms:alice@pve!priv:PVEVMUser:
acl:1:/vms/300:alice@pve!priv:PVEVMAdmin:
acl:1:/storage:alice@pve!full:PVEDatastoreAdmin:
acl:1:/vms:root@pam!ro:PVEAuditor:
`;

const { config: cfg, warnings } = parseUserConfig(CFG);
const privs = (authid: string, path: string): string[] => [...privilegesOn(cfg, authid, path)].sort();
const role = (name: string): string[] => [...(BUILTIN_ROLES.get(name) ?? [])].sort();

describe('built-in roles (pve-access-control 9.1 facts)', () => {
  it('PVEVMUser, PVEAuditor and NoAccess hold exactly PVE’s privileges', () => {
    expect(role('PVEVMUser')).toEqual(
      [
        'VM.Audit',
        'VM.Backup',
        'VM.Config.CDROM',
        'VM.Config.Cloudinit',
        'VM.Console',
        'VM.GuestAgent.Audit',
        'VM.GuestAgent.FileRead',
        'VM.GuestAgent.FileSystemMgmt',
        'VM.GuestAgent.FileWrite',
        'VM.PowerMgmt',
      ].sort(),
    );
    expect(role('PVEAuditor')).toEqual(
      ['Datastore.Audit', 'Mapping.Audit', 'Pool.Audit', 'SDN.Audit', 'Sys.Audit', 'VM.Audit', 'VM.GuestAgent.Audit'].sort(),
    );
    expect(role('NoAccess')).toEqual([]);
  });

  it('PVEVMAdmin adds the admin VM privileges; root-only privileges are Administrator’s alone', () => {
    for (const p of [
      'VM.Allocate',
      'VM.Config.Disk',
      'VM.Config.CPU',
      'VM.Config.Memory',
      'VM.Config.Options',
      'VM.Migrate',
      'VM.Snapshot',
    ]) {
      expect(role('PVEVMAdmin')).toContain(p);
    }
    expect(role('PVEVMAdmin').every((p) => p.startsWith('VM.'))).toBe(true);
    for (const p of ['Sys.Modify', 'Sys.PowerMgmt', 'Realm.Allocate', 'Permissions.Modify', 'Mapping.Modify']) {
      expect(role('PVEAdmin')).not.toContain(p);
      expect(role('Administrator')).toContain(p);
    }
    expect(role('Administrator')).toEqual([...PRIVILEGES].sort());
    expect(role('PVETemplateUser')).toEqual(['VM.Audit', 'VM.Clone']);
  });
});

describe('ACL resolution', () => {
  it('parses the test config without warnings', () => {
    expect(warnings).toEqual([]);
  });

  it('propagates down, and a more specific entry replaces what was inherited', () => {
    expect(privs('alice@pve', '/vms/101')).toEqual(role('PVEVMAdmin'));
    expect(privs('alice@pve', '/vms')).toEqual(role('PVEVMAdmin'));
    expect(privs('alice@pve', '/vms/100')).toEqual([]); // NoAccess on the VM itself
    expect(privs('alice@pve', '/')).toEqual([]);
    expect(privs('bob@pve', '/vms/555')).toEqual(role('PVEAuditor'));
    // group PVEVMUser on /vms/200 replaces the group's PVEAuditor from / (Sys.Audit is gone)
    expect(privs('bob@pve', '/vms/200')).toEqual(role('PVEVMUser'));
    expect(privs('bob@pve', '/vms/400')).toEqual(['VM.Audit', 'VM.PowerMgmt']); // custom role
  });

  it('applies a non-propagated entry on its own path only', () => {
    expect(privs('bob@pve', '/nodes')).toEqual(role('PVESysAdmin'));
    expect(privs('bob@pve', '/nodes/n1')).toEqual(role('PVEAuditor'));
  });

  it('lets a user entry beat the group entries on the same path', () => {
    expect(privs('carol@pve', '/vms/200')).toEqual([]);
    expect(privs('carol@pve', '/vms/201')).toEqual(role('PVEAuditor'));
  });

  it('intersects privilege-separated tokens with their user, gives full tokens their user’s privileges', () => {
    expect(privs('alice@pve!priv', '/vms/101')).toEqual(role('PVEVMUser'));
    expect(privs('alice@pve!priv', '/vms/300')).toEqual(role('PVEVMAdmin'));
    expect(privs('alice@pve!priv', '/vms/100')).toEqual([]); // the user has NoAccess there
    expect(privs('alice@pve!full', '/vms/101')).toEqual(role('PVEVMAdmin'));
    expect(privs('alice@pve!full', '/storage')).toEqual([]); // its own ACL does not count
    expect(privs('alice@pve!gone', '/vms/101')).toEqual([]);
  });

  it('gives root@pam every privilege everywhere, its privsep token only the token’s ACLs', () => {
    expect(privs('root@pam', '/nodes/x')).toEqual([...PRIVILEGES].sort());
    expect(privs('root@pam!ro', '/vms/100')).toEqual(role('PVEAuditor'));
    expect(privs('root@pam!ro', '/')).toEqual([]);
  });
});

describe('cap', () => {
  it('collects per area what the user holds on the standard and the ACL paths', () => {
    const cap = computeCap(cfg, 'bob@pve');
    expect(cap.dc).toEqual({ 'Sys.Audit': 1, 'SDN.Audit': 1 }); // dc: Sys.Audit|Sys.Modify|SDN.*
    expect(Object.keys(cap.nodes ?? {}).sort()).toEqual(['Sys.Audit', 'Sys.Console', 'Sys.Syslog']);
    expect(cap.vms).toMatchObject({ 'VM.PowerMgmt': 1, 'VM.Audit': 1 });
    expect(cap.vms?.['VM.Allocate']).toBeUndefined();
    expect(cap.access).toEqual({});
    expect(computeCap(cfg, 'root@pam').access).toEqual({ 'User.Modify': 1, 'Group.Allocate': 1, 'Permissions.Modify': 1 });
  });
});
