/**
 * The watch-fed config copy (cluster/watch-cache) and the session-lease locks on a real 3-member
 * etcd: a server lists its own writes at once and another node's (a separate `cvmctl` process)
 * within a bounded time; a copy whose watch broke answers nothing (the store reads etcd) and,
 * when etcd compacted the revision it would resume from, re-reads everything; a watch that
 * hangs silently (member frozen) is replaced through another member; concurrent
 * writers on two stores that both run a copy lose no update (writes never use the copy); one
 * lease serves all locks of a process, each write releases its lock in its own transaction, and
 * a write whose lock was lost meanwhile writes nothing; nextid confirms the copy's candidates
 * with a linearizable read.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../src/cluster/etcd-client.js';
import { clusterKeys, EtcdConfigStore } from '../../src/cluster/etcd-store.js';
import { clusterInit, clusterJoin } from '../../src/cluster/setup.js';
import { startWatchCache, watchCacheFor } from '../../src/cluster/watch-cache.js';
import type { VmConfig } from '../../src/config/types.js';
import type { CvmError } from '../../src/errors.js';
import { clusterClient, openConfigStore } from '../../src/store/open.js';
import { dataOf, startTestServer, type TestServer } from '../api/helpers.js';
import { EtcdCluster } from './etcd-harness.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'cvmctl');
const conf = (vmid: number, c: Record<string, string>): VmConfig => ({
  vmid,
  digest: '',
  conf: c,
  pending: {},
  special: {},
  snapshots: {},
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cvmctl(root: string, ...args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, '--root', root, ...args],
      { encoding: 'utf8', env: { ...process.env, CVMCTL_DEBUG: '', CVMCTL_ROOT: '' }, timeout: 60_000 },
      (err, _out, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stderr }),
    );
  });
}

/** Poll `probe` until it returns true; the elapsed ms, or a failed test after `limitMs`. */
async function within(limitMs: number, probe: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  while (!(await probe())) {
    if (Date.now() - t0 > limitMs) throw new Error(`not within ${limitMs} ms`);
    await sleep(20);
  }
  return Date.now() - t0;
}

describe('watch-fed config copy and session locks on a real etcd', () => {
  let etcd: EtcdCluster;
  let client: EtcdClient;
  let base: string;
  let sa: TestServer | undefined;
  const roots: Record<string, string> = {};

  beforeAll(async () => {
    etcd = await EtcdCluster.start(3);
    client = new EtcdClient(etcd.endpoints);
    base = mkdtempSync(join(tmpdir(), 'cvmctl-watch-'));
    for (const n of ['a', 'b']) {
      roots[n] = join(base, n);
      mkdirSync(join(roots[n] as string, 'qemu-server'), { recursive: true });
    }
    await clusterInit({ root: roots.a as string, etcd: etcd.endpoints, node: 'node-a', name: 'wc' });
    await clusterJoin({ root: roots.b as string, etcd: etcd.endpoints, node: 'node-b' });
    sa = await startTestServer({ root: roots.a as string, node: 'node-a' });
  }, 60_000);
  afterAll(async () => {
    await sa?.close();
    await etcd?.stop();
    rmSync(base, { recursive: true, force: true });
  });

  const resources = async () =>
    dataOf<Record<string, unknown>[]>(await (sa as TestServer).call('GET', '/cluster/resources', { query: { type: 'vm' } }));

  it("lists the server's own writes at once and another node's within a bounded time", { timeout: 120_000 }, async () => {
    const { client: serverClient } = clusterClient(roots.a as string);
    expect(watchCacheFor(serverClient, clusterKeys('wc').nodesPrefix)?.isLive).toBe(true);
    // this process's write: listed by the very next request, no polling
    await openConfigStore(roots.a as string).create(110, conf(110, { name: 'own' }));
    expect((await resources()).map((v) => [v.vmid, v.node, v.name])).toEqual([[110, 'node-a', 'own']]);

    // node B is another process: its writes reach A only through A's watch
    expect((await cvmctl(roots.b as string, 'create', '210', '--name', 'from-b')).code).toBe(0);
    const created = await within(5000, async () => (await resources()).some((v) => v.vmid === 210 && v.name === 'from-b'));
    expect((await cvmctl(roots.b as string, 'set', '210', '--name', 'renamed')).code).toBe(0);
    const changed = await within(5000, async () => (await resources()).some((v) => v.vmid === 210 && v.name === 'renamed'));
    expect((await cvmctl(roots.b as string, 'destroy', '210')).code).toBe(0);
    const gone = await within(5000, async () => !(await resources()).some((v) => v.vmid === 210));
    console.log(`another node's create/set/destroy visible after ${created} / ${changed} / ${gone} ms`);
    expect((await resources()).map((v) => v.vmid)).toEqual([110]);
  });

  it('nextid takes candidates from the copy but confirms each in etcd: an id the copy has not seen is skipped', async () => {
    const nextid = async (query?: Record<string, string>) => (sa as TestServer).call('GET', '/cluster/nextid', query ? { query } : {});
    expect(dataOf<string>(await nextid())).toBe('100');
    // 100 and 101 claimed in vmids/ only: the copy (configs) never sees them, a linearizable read does
    await client.put(clusterKeys('wc').vmid(100), 'node-x');
    await client.put(clusterKeys('wc').vmid(101), 'node-x');
    try {
      expect(dataOf<string>(await nextid())).toBe('102');
      const taken = await nextid({ vmid: '101' });
      expect(taken.status).toBe(400);
      expect(taken.body?.errors?.vmid).toBe('VM 101 already exists');
      expect(dataOf<string>(await nextid({ vmid: '102' }))).toBe('102');
    } finally {
      await client.delete(clusterKeys('wc').vmid(100));
      await client.delete(clusterKeys('wc').vmid(101));
    }
    expect(dataOf<string>(await nextid())).toBe('100');
  });

  it('answers nothing while its watch is broken, and re-reads everything after etcd compacted its resume point', {
    timeout: 120_000,
  }, async () => {
    const keys = clusterKeys('cmp');
    await client.put(keys.config('n1', 501), 'name: one\n');
    await client.put(keys.config('n1', 502), 'name: two\n');
    // a copy that can only reach member 2, so killing that member breaks its watch
    const lonely = new EtcdClient([etcd.endpoint(2)], { timeoutMs: 1000 });
    const { cache, release } = await startWatchCache(lonely, keys.nodesPrefix, { maxBackoffMs: 200 });
    try {
      await within(5000, async () => (await cache.snapshot())?.size === 2);
      await etcd.kill(2);
      await within(5000, async () => !cache.isLive);
      expect(await cache.snapshot()).toBeUndefined(); // the store then reads etcd directly

      await client.delete(keys.config('n1', 501));
      await client.put(keys.config('n1', 503), 'name: three\n');
      const { revision } = await client.range(keys.prefix, { keysOnly: true, limit: 1 });
      const compacted = await fetch(`${etcd.endpoint(0)}/v3/kv/compaction`, {
        method: 'POST',
        body: JSON.stringify({ revision: String(revision), physical: true }),
      });
      expect(compacted.ok).toBe(true);
      expect(cache.resyncs).toBe(0);

      etcd.restart(2);
      await within(60_000, async () => {
        const copy = await cache.snapshot();
        return copy !== undefined && [...copy.keys()].sort().join() === [keys.config('n1', 502), keys.config('n1', 503)].join();
      });
      expect(cache.resyncs).toBeGreaterThanOrEqual(1); // resumed from a compacted revision: read again in full
      expect((await cache.snapshot())?.get(keys.config('n1', 503))?.value).toBe('name: three\n');
    } finally {
      release();
      await etcd.waitHealthy(30_000);
    }
  });

  it('reconnects a watch that hangs silently (its member frozen), found by the watchdog', { timeout: 120_000 }, async () => {
    const keys = clusterKeys('hang');
    await client.put(keys.config('n1', 601), 'name: before\n');
    // the copy's watch goes to member 1 first; members 0 and 2 keep the quorum while 1 is frozen
    const c = new EtcdClient([etcd.endpoint(1), etcd.endpoint(0), etcd.endpoint(2)], { timeoutMs: 1000 });
    const { cache, release } = await startWatchCache(c, keys.nodesPrefix, { watchdogMs: 300, maxBackoffMs: 200 });
    try {
      await within(5000, async () => (await cache.snapshot())?.has(keys.config('n1', 601)) === true);
      etcd.pause(1);
      const writer = new EtcdClient([etcd.endpoint(0), etcd.endpoint(2)]);
      await writer.put(keys.config('n1', 602), 'name: while frozen\n');
      // no reset, no event: only the watchdog can notice; the copy then follows through another member
      const took = await within(30_000, async () => (await cache.snapshot())?.get(keys.config('n1', 602))?.value === 'name: while frozen\n');
      console.log(`frozen member's watch replaced after ${took} ms`);
      expect(cache.isLive).toBe(true);
    } finally {
      release();
      etcd.resume(1);
      await etcd.waitHealthy(30_000);
    }
  });

  it('loses no update between two stores that both run a copy, and a digest from a stale listing is refused', {
    timeout: 120_000,
  }, async () => {
    const prefix = clusterKeys('wc').nodesPrefix;
    const [c1, c2] = [new EtcdClient(etcd.endpoints), new EtcdClient([...etcd.endpoints].reverse())];
    const caches = [await startWatchCache(c1, prefix), await startWatchCache(c2, prefix)];
    try {
      const mk = (c: EtcdClient) =>
        new EtcdConfigStore(c, { cluster: 'wc', node: 'node-a', root: mkdtempSync(join(base, 'w-')), lockTimeoutMs: 60_000 });
      const [s1, s2] = [mk(c1), mk(c2)];
      await s1.create(120, conf(120, { cores: '1' }));
      const bump = (s: EtcdConfigStore) => s.update(120, (c) => ({ ...c, conf: { ...c.conf, cores: String(Number(c.conf.cores) + 1) } }));
      await Promise.all(
        [s1, s2].map(async (s) => {
          for (let i = 0; i < 15; i++) await bump(s);
        }),
      );
      expect((await s1.read(120)).config.conf.cores).toBe('31');
      for (const s of [s1, s2]) await within(5000, async () => (await s.listAll()).find((v) => v.vmid === 120)?.config.conf.cores === '31');

      const listed = (await s1.listAll()).find((v) => v.vmid === 120)?.config as VmConfig;
      expect(Object.isFrozen(listed)).toBe(true); // shared with other requests: nobody may change it
      await bump(s2);
      const stale = await s1.update(120, (c) => c, { digest: listed.digest }).catch((e: unknown) => e);
      expect((stale as CvmError).code).toBe('DIGEST_MISMATCH');
      expect((await s1.read(120)).config.conf.cores).toBe('32');
    } finally {
      for (const c of caches) c.release();
    }
  });

  it('holds every lock of a process under one lease, releases it with the write, and writes nothing once the lock is lost', {
    timeout: 120_000,
  }, async () => {
    const keys = clusterKeys('wc');
    const leases = async () =>
      ((await (await fetch(`${etcd.endpoint(0)}/v3/lease/leases`, { method: 'POST', body: '{}' })).json()) as { leases?: unknown[] }).leases
        ?.length ?? 0;
    const s = new EtcdConfigStore(new EtcdClient(etcd.endpoints), { cluster: 'wc', node: 'node-a', root: mkdtempSync(join(base, 'l-')) });
    await s.create(130, conf(130, { cores: '1' }));
    const before = await leases();
    for (let i = 2; i <= 11; i++) {
      await s.update(130, (c) => ({ ...c, conf: { ...c.conf, cores: String(i) } }));
      expect(await client.get(keys.lock(130))).toBeUndefined(); // released by the write's own transaction
    }
    await s.withLock(130, async () => expect((await client.get(keys.lock(130)))?.value).toMatch(/^node-a:\d+$/));
    expect(await client.get(keys.lock(130))).toBeUndefined();
    expect(await leases()).toBeLessThanOrEqual(before + 1); // not one lease per lock

    // the lock's lease expires while the change is being computed (a stalled process): nothing is written
    const err = await s
      .update(130, async (c) => {
        const lease = (await client.get(keys.lock(130)))?.lease as string;
        await client.leaseRevoke(lease);
        return { ...c, conf: { ...c.conf, cores: '99' } };
      })
      .catch((e: unknown) => e);
    expect((err as CvmError).code).toBe('VM_LOCKED');
    expect((err as CvmError).message).toBe('lost the cluster lock of VM 130 (its lease expired) - nothing written');
    expect((await s.read(130)).config.conf.cores).toBe('11');
    // the next change gets a fresh lease and works
    await s.update(130, (c) => ({ ...c, conf: { ...c.conf, cores: '12' } }));
    expect((await s.read(130)).config.conf.cores).toBe('12');
  });
});
