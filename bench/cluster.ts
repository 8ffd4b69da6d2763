/**
 * @module bench/cluster
 * The cluster line (issue 11, point 8): 10,000 VM configs (the 30-line one) across 32 registered
 * (simulated) nodes in a real 3-member etcd on loopback; `GET /cluster/resources?type=vm` through
 * a real API server on one member (target ≤ 300 ms at 10,000 VMs; answered from the server's
 * watch-fed copy of the configs) and config write (`update`: lock txn that also reads the config,
 * then the CAS txn that also releases the lock) and read p50/p99 through etcd (write target
 * p50 ≤ 10 ms), next to the single-node file store doing the same operations in the same run, and
 * etcd's own floor: a bare put (one raft commit, fsync'd by etcd on the real disk under the temp
 * dir) and a bare txn. The data dirs are where `os.tmpdir()` is; the bench says whether that is tmpfs.
 */

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdClient } from '../src/cluster/etcd-client.js';
import { clusterKeys, EtcdConfigStore } from '../src/cluster/etcd-store.js';
import { clusterInit } from '../src/cluster/setup.js';
import type { ConfigStore } from '../src/store/config-store.js';
import { FsConfigStore } from '../src/store/fs-store.js';
import { clusterClient } from '../src/store/open.js';
import { watchCacheFor } from '../src/cluster/watch-cache.js';
import { startTestServer } from '../test/api/helpers.js';
import { EtcdCluster } from '../test/cluster/etcd-harness.js';
import { CONFIG_30_LINES } from './config.js';

const VMS = 10_000;
const NODES = 32;
const OPS = 200;
const RESOURCES_ROUNDS = 7;
const RESOURCES_TARGET_MS = 300;
const WRITE_P50_TARGET_MS = 10;
const FRESHNESS_SAMPLES = 50;
const SINGLE_ROUNDS = 3;
/** How long after serve's start the single node's first request comes. */
const SINGLE_WARMUP_MS = 3000;

/** The p-th percentile (nearest rank below) of `values`; bench/cluster-routing uses it too. */
export function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))] as number;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function opTimes(store: ConfigStore, vmid: number): Promise<{ write: number[]; read: number[] }> {
  const write: number[] = [];
  const read: number[] = [];
  for (let i = 0; i < OPS; i++) {
    write.push(await timed(() => store.update(vmid, (c) => ({ ...c, conf: { ...c.conf, description: `round ${i}` } }))));
    read.push(await timed(() => store.read(vmid)));
  }
  return { write, read };
}

/** etcd's floor on this machine: a bare put and a bare one-compare txn, p50 of OPS each. */
async function etcdFloor(client: EtcdClient, text: string): Promise<{ put: number[]; txn: number[] }> {
  const put: number[] = [];
  const txn: number[] = [];
  for (let i = 0; i < OPS; i++) {
    put.push(await timed(() => client.put('/bench-floor/put', `v${i}`)));
    txn.push(await timed(() => client.txn([{ key: '/bench-floor/put', target: 'mod', result: 'greater', modRevision: 0 }], [{ put: { key: '/bench-floor/txn', value: text } }])));
  }
  return { put, txn };
}

/**
 * How soon another node's config write reaches the serving node's watch-fed copy: the writer has
 * its own client (as another node would; endpoints in another order so this process does not
 * treat the write as its own), and the time runs from sending the write (a txn: compare it with
 * the bare txn) until the copy has its revision (the event often arrives before the txn's answer).
 */
async function freshness(root: string, endpoints: string[], keys: ReturnType<typeof clusterKeys>, text: string): Promise<number[]> {
  const cache = watchCacheFor(clusterClient(root).client, keys.nodesPrefix);
  if (!cache) throw new Error('the server runs no watch-fed copy');
  const other = new EtcdClient([...endpoints].reverse());
  const out: number[] = [];
  for (let i = 0; i < FRESHNESS_SAMPLES; i++) {
    const t0 = process.hrtime.bigint();
    const r = await other.txn([], [{ put: { key: keys.config('node-1', 1001), value: `${text}#${i}\n` } }]);
    while (cache.revision < r.revision) await new Promise((resolve) => setImmediate(resolve));
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}

/**
 * `/cluster/resources?type=vm` of a single node (file store, no cluster) with the same VMs: the
 * first request a few seconds after the server started (its background warm-up parses the
 * configs meanwhile, as it does before a real client's first request) and the median of the
 * following ones, against the same 300 ms target.
 */
async function singleNodeResources(root: string, text: string): Promise<{ first: number; times: number[] }> {
  mkdirSync(join(root, 'qemu-server'), { recursive: true });
  for (let i = 0; i < VMS; i++) writeFileSync(join(root, 'qemu-server', `${1000 + i}.conf`), text);
  const server = await startTestServer({ root, node: 'node-0' });
  try {
    await new Promise((resolve) => setTimeout(resolve, SINGLE_WARMUP_MS));
    const times: number[] = [];
    let first = 0;
    for (let r = 0; r < SINGLE_ROUNDS + 1; r++) {
      let count = 0;
      const t = await timed(async () => {
        const reply = await server.call('GET', '/cluster/resources', { query: { type: 'vm' } });
        count = ((reply.body?.data as unknown[] | undefined) ?? []).length;
      });
      if (count !== VMS) throw new Error(`single node /cluster/resources listed ${count} VMs, expected ${VMS}`);
      if (r > 0) times.push(t);
      else first = t;
    }
    return { first, times };
  } finally {
    await server.close();
  }
}

/** The single-node lines (also alone: `node --import tsx bench/cluster.ts single`, no etcd needed). */
async function singleNodeLines(dir: string, text: string): Promise<void> {
  const single = await singleNodeResources(dir, text);
  const p50 = pct(single.times, 50);
  line(`/cluster/resources single node (median of ${SINGLE_ROUNDS})`, `${p50.toFixed(0)} ms`, `≤ ${RESOURCES_TARGET_MS} ms`, p50 <= RESOURCES_TARGET_MS);
  line(`  first request ${SINGLE_WARMUP_MS / 1000} s after serve start`, `${single.first.toFixed(0)} ms`, `≤ ${RESOURCES_TARGET_MS} ms`, single.first <= RESOURCES_TARGET_MS);
}

/** The file system type of the etcd data dirs (tmpfs would make fsync free and the numbers flattering). */
function fsType(dir: string): string {
  try {
    return execFileSync('findmnt', ['-n', '-o', 'FSTYPE', '-T', dir], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

const line = (what: string, measured: string, target: string, ok: boolean | undefined) =>
  console.log(`${what.padEnd(44)} ${measured.padStart(12)}   ${target ? `target ${target.padEnd(10)} ${ok ? 'OK' : 'OVER'}` : ''}`);

export async function run(): Promise<void> {
  console.log(`== cluster on etcd (3-member etcd on loopback, ${VMS} VMs on ${NODES} nodes)`);
  const etcd = await EtcdCluster.start(3);
  const fstype = fsType(etcd.dir);
  console.log(`etcd data dirs on ${fstype}${fstype === 'tmpfs' ? ' (NO real fsync: write figures are optimistic)' : ' (real disk, etcd fsyncs every commit)'}`);
  const base = mkdtempSync(join(tmpdir(), 'cvmctl-bench-cluster-'));
  try {
    const root = join(base, 'node-0');
    mkdirSync(root);
    await clusterInit({ root, etcd: etcd.endpoints, node: 'node-0', name: 'bench' });
    const client = new EtcdClient(etcd.endpoints);
    const keys = clusterKeys('bench');
    // 31 more members registered online (simulated nodes), then the configs, 50 VMs per transaction
    for (let n = 1; n < NODES; n++) {
      await client.put(keys.member(`node-${n}`), JSON.stringify({ node: `node-${n}` }));
      const lease = await client.leaseGrant(600);
      await client.put(keys.onlineNode(`node-${n}`), JSON.stringify({ url: `https://127.0.0.${n}:8006`, fingerprint: 'AA', running: [], updated: '' }), lease);
    }
    const text = CONFIG_30_LINES;
    for (let first = 0; first < VMS; first += 50) {
      const ops = [];
      for (let i = first; i < Math.min(VMS, first + 50); i++) {
        const vmid = 1000 + i;
        const node = `node-${i % NODES}`;
        ops.push({ put: { key: keys.config(node, vmid), value: text } }, { put: { key: keys.vmid(vmid), value: node } });
      }
      await client.txn([], ops);
    }
    const t0 = process.hrtime.bigint();
    const server = await startTestServer({ root, node: 'node-0' }); // includes the first full read of the configs into its copy
    const startMs = Number(process.hrtime.bigint() - t0) / 1e6;
    try {
      const times: number[] = [];
      let times0: number | undefined;
      let count = 0;
      for (let r = 0; r < RESOURCES_ROUNDS + 1; r++) {
        const t = await timed(async () => {
          const reply = await server.call('GET', '/cluster/resources', { query: { type: 'vm' } });
          count = ((reply.body?.data as unknown[] | undefined) ?? []).length;
        });
        if (r > 0) times.push(t); // the first request parses every config into the copy (and warms the JIT)
        else times0 = t;
      }
      if (count !== VMS) throw new Error(`/cluster/resources listed ${count} VMs, expected ${VMS}`);
      const p50 = pct(times, 50);
      line(`/cluster/resources (${VMS} VMs, median of ${RESOURCES_ROUNDS})`, `${p50.toFixed(0)} ms`, `≤ ${RESOURCES_TARGET_MS} ms`, p50 <= RESOURCES_TARGET_MS);
      line('  first request right after serve start', `${(times0 ?? 0).toFixed(0)} ms`, '', undefined);
      line('  serve start incl. reading all configs', `${startMs.toFixed(0)} ms`, '', undefined);
      const nextid: number[] = [];
      for (let r = 0; r < RESOURCES_ROUNDS; r++) nextid.push(await timed(() => server.call('GET', '/cluster/nextid')));
      line(`/cluster/nextid (${VMS} ids used, median of ${RESOURCES_ROUNDS})`, `${pct(nextid, 50).toFixed(1)} ms`, '', undefined);
      const fresh = await freshness(root, etcd.endpoints, keys, text);
      line(`  other node's write -> this copy p50 / p99`, `${pct(fresh, 50).toFixed(2)} / ${pct(fresh, 99).toFixed(2)} ms`, '', undefined);
    } finally {
      await server.close(); // removes the root
    }
    await singleNodeLines(join(base, 'single'), text);

    const etcdStore = new EtcdConfigStore(client, { cluster: 'bench', node: 'node-0', root: join(base, 'ops') });
    const etcdOps = await opTimes(etcdStore, 1000);
    const fsRoot = join(base, 'fs');
    const fsStore = new FsConfigStore(fsRoot);
    await fsStore.create(1000, { vmid: 1000, digest: '', conf: {}, pending: {}, special: {}, snapshots: {} });
    await fsStore.update(1000, () => etcdStore.read(1000).then((r) => r.config));
    const fsOps = await opTimes(fsStore, 1000);
    const floor = await etcdFloor(client, text);
    const w50 = pct(etcdOps.write, 50);
    line('config write via etcd p50 / p99', `${w50.toFixed(2)} / ${pct(etcdOps.write, 99).toFixed(2)} ms`, `p50 ≤ ${WRITE_P50_TARGET_MS} ms`, w50 <= WRITE_P50_TARGET_MS);
    line('  etcd floor: bare put p50 / p99', `${pct(floor.put, 50).toFixed(2)} / ${pct(floor.put, 99).toFixed(2)} ms`, '', undefined);
    line('  etcd floor: bare txn p50 / p99', `${pct(floor.txn, 50).toFixed(2)} / ${pct(floor.txn, 99).toFixed(2)} ms`, '', undefined);
    line('config write, file store p50 / p99', `${pct(fsOps.write, 50).toFixed(2)} / ${pct(fsOps.write, 99).toFixed(2)} ms`, '', undefined);
    line('config read via etcd p50 / p99', `${pct(etcdOps.read, 50).toFixed(2)} / ${pct(etcdOps.read, 99).toFixed(2)} ms`, '', undefined);
    line('config read, file store p50 / p99', `${pct(fsOps.read, 50).toFixed(2)} / ${pct(fsOps.read, 99).toFixed(2)} ms`, '', undefined);
  } finally {
    await etcd.stop();
    rmSync(base, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] === 'single') {
    const dir = mkdtempSync(join(tmpdir(), 'cvmctl-bench-single-'));
    console.log(`== single node, file store (${VMS} VMs)`);
    await singleNodeLines(dir, CONFIG_30_LINES).finally(() => rmSync(dir, { recursive: true, force: true }));
  } else await run();
}
