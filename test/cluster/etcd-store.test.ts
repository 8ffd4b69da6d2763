/**
 * EtcdConfigStore against a real 3-member etcd: pmxcfs-like keys with the exact config text,
 * digest = SHA-1 of the text, cluster-wide unique ids (concurrent creates: one wins),
 * compare-and-swap updates under the lease-backed lock (no lost update between two roots of one
 * node), a crashed holder's lock expiring with its lease, and losing one etcd member.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../src/cluster/etcd-client.js';
import { EtcdConfigStore, clusterKeys } from '../../src/cluster/etcd-store.js';
import type { VmConfig } from '../../src/config/types.js';
import { CvmError } from '../../src/errors.js';
import { EtcdCluster } from './etcd-harness.js';

const conf = (vmid: number, c: Record<string, string>): VmConfig => ({ vmid, digest: '', conf: c, pending: {}, special: {}, snapshots: {} });

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CvmError) return `${err.code}: ${err.message}`;
    throw err;
  }
  throw new Error('expected a CvmError');
}

describe('EtcdConfigStore on a real etcd', () => {
  let etcd: EtcdCluster;
  let client: EtcdClient;
  const roots: string[] = [];
  const store = (node: string, extra: { lockTimeoutMs?: number; lockTtlSeconds?: number } = {}) => {
    const root = mkdtempSync(join(tmpdir(), 'cvmctl-cluster-'));
    roots.push(root);
    return new EtcdConfigStore(client, { cluster: 't1', node, root, ...extra });
  };

  beforeAll(async () => {
    etcd = await EtcdCluster.start(3);
    client = new EtcdClient(etcd.endpoints);
  });
  afterAll(async () => {
    await etcd?.stop();
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  it('keeps the exact config text under nodes/<node>/qemu-server/<vmid>.conf, digest = SHA-1 of it', async () => {
    const a = store('alpha');
    const created = await a.create(100, conf(100, { name: 'web', memory: '1024', cores: '2' }));
    const kv = await client.get('/cvmctl/t1/nodes/alpha/qemu-server/100.conf');
    expect(kv?.value).toBe('cores: 2\nmemory: 1024\nname: web\n');
    expect(created.digest).toBe(createHash('sha1').update(kv?.value ?? '').digest('hex'));
    expect((await client.get('/cvmctl/t1/vmids/100'))?.value).toBe('alpha');
    const read = await a.read(100);
    expect(read.raw).toBe(kv?.value);
    expect(read.config.conf.name).toBe('web');
    expect((await a.list()).map((v) => v.vmid)).toEqual([100]);
    expect(await store('beta').list()).toEqual([]); // another node's directory
    expect(await codeOf(store('beta').read(100))).toBe("VM_NOT_FOUND: Configuration file 'nodes/beta/qemu-server/100.conf' does not exist");
  });

  it('refuses an id used on another node, and of concurrent creates of one id exactly one wins', async () => {
    expect(await codeOf(store('beta').create(100, conf(100, { cores: '1' })))).toBe(
      "VM_EXISTS: unable to create VM 100: VM 100 already exists on node 'alpha'",
    );
    const contenders = ['n1', 'n2', 'n3', 'n4'].map((n) => store(n));
    const results = await Promise.allSettled(contenders.map((s, i) => s.create(200, conf(200, { cores: String(i + 1) }))));
    const winners = results.filter((r) => r.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as CvmError).code).toBe('VM_EXISTS');
    const owner = (await client.get(clusterKeys('t1').vmid(200)))?.value as string;
    const { kvs } = await client.range('/cvmctl/t1/nodes/', { prefix: true });
    expect(kvs.filter((kv) => kv.key.endsWith('/200.conf')).map((kv) => kv.key)).toEqual([`/cvmctl/t1/nodes/${owner}/qemu-server/200.conf`]);
  });

  it('loses no update when two roots of one node change a VM at once, and refuses a stale digest', async () => {
    const a1 = store('gamma');
    const a2 = store('gamma');
    await a1.create(300, conf(300, { description: '' }));
    const bump = (s: EtcdConfigStore, tag: string) =>
      s.update(300, (c) => ({ ...c, conf: { ...c.conf, description: `${c.conf.description ?? ''}${tag}` } }));
    await Promise.all([...'abcdef'].map((t, i) => bump(i % 2 ? a1 : a2, t)));
    const desc = (await a1.read(300)).config.conf.description ?? '';
    expect([...desc].sort().join('')).toBe('abcdef');
    const stale = (await a1.read(300)).config.digest;
    await bump(a2, 'g');
    expect(await codeOf(a1.update(300, (c) => c, { digest: stale }))).toBe('DIGEST_MISMATCH: checksum mismatch (file change by other user?)');
    await a2.destroy(300);
    expect(await client.get(clusterKeys('t1').vmid(300))).toBeUndefined();
    expect(await a1.exists(300)).toBe(false);
  });

  it('waits for a held lock, gives up with VM_LOCKED, and gets the lock once a crashed holder lease expires', async () => {
    const key = clusterKeys('t1').lock(400);
    const lease = await client.leaseGrant(2); // a "crashed" holder: nobody keeps this lease alive
    await client.put(key, 'dead-node:1', lease);
    const s = store('delta', { lockTimeoutMs: 300 });
    expect(await codeOf(s.withLock(400, async () => 1))).toBe("VM_LOCKED: can't lock VM 400 in the cluster - got timeout (held by dead-node:1)");
    const patient = store('delta', { lockTimeoutMs: 15_000 });
    const t0 = Date.now();
    expect(await patient.withLock(400, async () => (await client.get(key))?.value)).toMatch(/^delta:\d+$/);
    expect(Date.now() - t0).toBeGreaterThan(500); // it had to wait for the expiry
    expect(await client.get(key)).toBeUndefined(); // released (lease revoked) after the work
  });

  it('keeps working with one of three etcd members killed', async () => {
    await etcd.kill(0);
    try {
      const s = store('epsilon');
      await s.create(500, conf(500, { cores: '4' }));
      await s.update(500, (c) => ({ ...c, conf: { ...c.conf, cores: '8' } }));
      expect((await s.read(500)).config.conf.cores).toBe('8');
    } finally {
      etcd.restart(0);
      await etcd.waitHealthy(30_000);
    }
  });
});
