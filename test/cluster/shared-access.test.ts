/**
 * Users, tokens, ACLs and ticket keys shared by all nodes of a cluster, on a real 3-member etcd
 * with two real `serve` servers: `init`/`join` merge the roots' own users (a join whose entries
 * differ from the cluster's is refused, naming them, with nothing written); a user made on one
 * node logs in on the other; a ticket issued by A is accepted by B; a token made on B works on
 * A; an ACL change on A is seen by B's next request; concurrent changes from both nodes all
 * survive (compare-and-swap); the keys are created once; `leave` writes the cluster's state back
 * to the root's files, where the cluster's tickets still verify.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessState, addToken, addUser, modifyUser, openAccessControl, openAccessStore, setPassword, updateAcl } from '../../src/access/index.js';
import { ACCESS_BACKUP_DIR } from '../../src/cluster/access-sync.js';
import { EtcdAccessStore, accessKeys } from '../../src/cluster/etcd-access.js';
import { EtcdClient } from '../../src/cluster/etcd-client.js';
import { clusterInit, clusterJoin, clusterLeave } from '../../src/cluster/setup.js';
import { CvmError } from '../../src/errors.js';
import { ROOT_PASSWORD, startTestServer, type TestServer } from '../api/helpers.js';
import { EtcdCluster } from './etcd-harness.js';
import { cvmctl } from './run-cli.js';

describe('users, tokens and ACLs shared by the cluster', () => {
  let etcd: EtcdCluster;
  let base: string;
  let sa: TestServer;
  let sb: TestServer;
  const roots: Record<string, string> = {};
  const joinLog: string[] = [];
  let bobToken: string;

  beforeAll(async () => {
    etcd = await EtcdCluster.start(3);
    base = mkdtempSync(join(tmpdir(), 'cvmctl-shared-access-'));
    for (const n of ['a', 'b', 'c']) {
      roots[n] = join(base, n);
      mkdirSync(roots[n] as string, { recursive: true });
    }
    // each root has its own users before it becomes a member
    const a = new AccessState(roots.a as string);
    await setPassword(a, 'root@pam', ROOT_PASSWORD);
    await addUser(a, { userid: 'alice@pve', password: 'alice-pass-1', email: 'alice@example.com' });
    await updateAcl(a, { path: '/nodes', roles: ['PVEAuditor'], users: ['alice@pve'] });
    await a.keys(); // a's keys become the cluster's
    const b = new AccessState(roots.b as string);
    await setPassword(b, 'root@pam', 'b-root-password');
    await addUser(b, { userid: 'bob@pve', password: 'bob-pass-12' });
    bobToken = `bob@pve!ci=${(await addToken(b, 'bob@pve', 'ci', { privsep: false })).value}`;
    await b.keys(); // b issued tickets with its own key before joining
    const c = new AccessState(roots.c as string);
    await addUser(c, { userid: 'alice@pve', email: 'other@example.com' });
    await updateAcl(c, { path: '/nodes', roles: ['PVEAdmin'], users: ['alice@pve'] });

    await clusterInit({ root: roots.a as string, etcd: etcd.endpoints, node: 'node-a', name: 'lab' });
    await clusterJoin({ root: roots.b as string, etcd: etcd.endpoints, node: 'node-b', log: (l) => joinLog.push(l) });
    sa = await startTestServer({ root: roots.a as string, node: 'node-a', seedAccess: false });
    sb = await startTestServer({ root: roots.b as string, node: 'node-b', seedAccess: false });
  }, 120_000);
  afterAll(async () => {
    await sa?.close();
    await sb?.close();
    await etcd?.stop();
    rmSync(base, { recursive: true, force: true });
  });

  it('join merged the joining root: its users came along, the cluster kept its root password and keys, and said so', async () => {
    expect(joinLog).toEqual([
      "user 'root@pam': the cluster's password applies",
      "ticket key: the cluster's applies (tickets this node issued before are no longer valid)",
      "CSRF key: the cluster's applies (CSRF tokens this node issued before are no longer valid)",
      "users and permissions of this node merged into cluster 'lab'",
      "node 'node-b' is a member of cluster 'lab' (0 VM configs imported)",
    ]);
    // the root's own files are kept aside, no longer in use
    expect(existsSync(join(roots.b as string, ACCESS_BACKUP_DIR, 'access', 'user.cfg'))).toBe(true);
    expect(existsSync(join(roots.b as string, 'access'))).toBe(false);
    const users = (await openAccessStore(roots.a as string).snapshot()).config.users;
    expect([...users.keys()].sort()).toEqual(['alice@pve', 'bob@pve', 'root@pam']);
  });

  it('a join whose entries differ from the cluster is refused, naming them, and writes nothing', async () => {
    const client = new EtcdClient(etcd.endpoints);
    const before = (await client.get(accessKeys('lab').userCfg))?.modRevision;
    const err = await clusterJoin({ root: roots.c as string, etcd: etcd.endpoints, node: 'node-c' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CvmError);
    expect((err as CvmError).message).toBe(
      "unable to import users and permissions: user 'alice@pve', acl '/nodes' user 'alice@pve' differ between this node and cluster 'lab' - make them equal or remove them on this node first",
    );
    expect((await client.get(accessKeys('lab').userCfg))?.modRevision).toBe(before);
    expect(await client.get('/cvmctl/lab/members/node-c')).toBeUndefined();
    expect(existsSync(join(roots.c as string, 'cluster.json'))).toBe(false);
    expect(readFileSync(join(roots.c as string, 'access', 'user.cfg'), 'utf8')).toContain('other@example.com');
  });

  it('users of either root log in on either node', async () => {
    await expect(sb.login('alice@pve', 'alice-pass-1')).resolves.toMatchObject({ ticket: expect.stringContaining('PVE:alice@pve:') });
    await expect(sa.login('bob@pve', 'bob-pass-12')).resolves.toMatchObject({ ticket: expect.stringContaining('PVE:bob@pve:') });
    // root@pam has the cluster's (node A's) password everywhere
    await expect(sb.login('root@pam', ROOT_PASSWORD)).resolves.toBeDefined();
    await expect(sb.login('root@pam', 'b-root-password')).rejects.toThrow('login failed: 401');
  });

  it('a user created on node A logs in on node B; a ticket issued by A is accepted by B', async () => {
    await addUser(openAccessStore(roots.a as string), { userid: 'carol@pve', password: 'carol-pass-1' });
    const creds = await sb.login('carol@pve', 'carol-pass-1');
    const fromA = await sa.login('carol@pve', 'carol-pass-1');
    expect((await sb.call('GET', '/version', { as: fromA })).status).toBe(200);
    expect((await sa.call('GET', '/version', { as: creds })).status).toBe(200);
    // and a ticket renewal on B of A's ticket
    const renewed = await sb.call('POST', '/access/ticket', { anonymous: true, form: { username: 'carol@pve', password: fromA.ticket as string } });
    expect(renewed.status).toBe(200);
  });

  it('a token created on node B works on node A, and its removal or the user disabled on A is seen on B', async () => {
    const token = await addToken(openAccessStore(roots.b as string), 'carol@pve', 'auto', { privsep: false });
    const value = `${token['full-tokenid']}=${token.value}`;
    expect((await sa.call('GET', '/version', { as: { token: value } })).status).toBe(200);
    // the token bob made on his own root before joining still works, on both nodes
    expect((await sa.call('GET', '/version', { as: { token: bobToken } })).status).toBe(200);
    await modifyUser(openAccessStore(roots.a as string), 'carol@pve', { enable: false });
    expect((await sb.call('GET', '/version', { as: { token: value } })).status).toBe(401);
    await modifyUser(openAccessStore(roots.a as string), 'carol@pve', { enable: true });
  });

  it('an ACL change made on node A is seen by node B', async () => {
    const carol = await sb.login('carol@pve', 'carol-pass-1');
    expect((await sb.call('GET', '/nodes/node-b/status', { as: carol })).status).toBe(403);
    await updateAcl(openAccessStore(roots.a as string), { path: '/nodes', roles: ['PVEAuditor'], users: ['carol@pve'] });
    expect((await sb.call('GET', '/nodes/node-b/status', { as: carol })).status).toBe(200);
  });

  it('the CLI on either root changes the users and ACLs of both', async () => {
    expect(await cvmctl(roots.a as string, 'user', 'add', 'dave@pve', '--comment', 'made on a')).toMatchObject({ code: 0 });
    expect(await cvmctl(roots.b as string, 'acl', 'modify', '/vms/900', '--roles', 'PVEVMUser', '--users', 'dave@pve')).toMatchObject({ code: 0 });
    const users = await cvmctl(roots.b as string, 'user', 'list', '--json');
    expect(users.code, users.stderr).toBe(0);
    expect((JSON.parse(users.stdout) as { userid: string; comment?: string }[]).find((u) => u.userid === 'dave@pve')?.comment).toBe('made on a');
    const acl = await cvmctl(roots.a as string, 'acl', 'list', '--json');
    expect(acl.code, acl.stderr).toBe(0);
    expect(JSON.parse(acl.stdout)).toContainEqual(expect.objectContaining({ path: '/vms/900', ugid: 'dave@pve', roleid: 'PVEVMUser' }));
  });

  it('concurrent changes from both nodes all survive (compare-and-swap, no lost update)', async () => {
    const stores = [openAccessStore(roots.a as string), openAccessStore(roots.b as string)];
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        i % 2 === 0
          ? addUser(stores[i % 2] as ReturnType<typeof openAccessStore>, { userid: `u${i}@pve` })
          : updateAcl(stores[i % 2] as ReturnType<typeof openAccessStore>, { path: `/vms/${100 + i}`, roles: ['PVEVMUser'], users: ['bob@pve'] }),
      ),
    );
    const { config } = await openAccessStore(roots.b as string).snapshot();
    for (let i = 0; i < 12; i += 2) expect(config.users.has(`u${i}@pve`)).toBe(true);
    for (let i = 1; i < 12; i += 2) expect(config.acl.get(`/vms/${100 + i}`)?.users.get('bob@pve')?.get('PVEVMUser')).toBe(true);
  });

  it('the ticket and CSRF keys are created once for the whole cluster, whoever asks first', async () => {
    const client = new EtcdClient(etcd.endpoints);
    const stores = Array.from({ length: 4 }, () => new EtcdAccessStore(new EtcdClient(etcd.endpoints), 'fresh'));
    const keys = await Promise.all(stores.map((s) => s.keys()));
    for (const k of keys) {
      expect(k.ticket.length).toBe(32);
      expect(k.ticket.equals(keys[0]?.ticket as Buffer)).toBe(true);
      expect(k.csrf.equals(keys[0]?.csrf as Buffer)).toBe(true);
    }
    expect(k0(await client.get(accessKeys('fresh').authKey))).toEqual(keys[0]?.ticket);
  });

  it('without quorum logins, tickets and tokens keep working from the members copy; changes fail in one line; all recovers', async () => {
    const token = `root@pam!quorum=${(await addToken(openAccessStore(roots.a as string), 'root@pam', 'quorum', { privsep: false })).value}`;
    await etcd.kill(1);
    await etcd.kill(2);
    try {
      expect((await sb.call('GET', '/version', { as: { token } })).status).toBe(200);
      const carol = await sb.login('carol@pve', 'carol-pass-1');
      expect((await sa.call('GET', '/nodes/node-a/status', { as: carol })).status).toBe(200);
      const refused = await addUser(openAccessStore(roots.b as string), { userid: 'late@pve' }).catch((e: unknown) => e);
      expect((refused as CvmError).code).toBe('CLUSTER_NOT_QUORATE');
      expect((refused as CvmError).message).toMatch(/^cluster not quorate - etcd cannot commit \(/);
    } finally {
      etcd.restart(1);
      etcd.restart(2);
      await etcd.waitHealthy(30_000);
    }
    expect((await openAccessStore(roots.a as string).snapshot()).config.users.has('late@pve')).toBe(false); // nothing half-written
    await addUser(openAccessStore(roots.a as string), { userid: 'late@pve', password: 'late-pass-12' });
    await expect(sb.login('late@pve', 'late-pass-12')).resolves.toBeDefined();
  }, 120_000);

  it('leave writes the cluster users, tokens, ACLs and keys back to the root files, where the cluster tickets still verify', async () => {
    const fromA = await sa.login('carol@pve', 'carol-pass-1');
    await clusterLeave(roots.b as string, new EtcdClient(etcd.endpoints));
    const files = new AccessState(roots.b as string);
    const { config } = await files.snapshot();
    expect(config.users.has('carol@pve')).toBe(true);
    expect(config.acl.get('/nodes')?.users.get('carol@pve')?.get('PVEAuditor')).toBe(true);
    const local = openAccessControl(roots.b as string);
    await expect(local.authenticate({ method: 'GET', cookie: `PVEAuthCookie=${fromA.ticket}` })).resolves.toMatchObject({ userid: 'carol@pve' });
    await expect(local.login({ username: 'bob@pve', password: 'bob-pass-12' })).resolves.toMatchObject({ username: 'bob@pve' });
  });
});


function k0(kv: { value: string } | undefined): Buffer | undefined {
  return kv ? Buffer.from(kv.value, 'base64') : undefined;
}
