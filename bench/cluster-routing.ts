/**
 * @module bench/cluster-routing
 * What forwarding costs (issue 11, point 4): two real `serve` servers on two members of a real
 * 3-member etcd on loopback; `GET /nodes/node-b/qemu/100/config` asked of node B itself (local)
 * and of node A, which forwards it to B over TLS pinned to B's fingerprint (forwarded), one
 * client connection each with keep-alive, p50/p99 of the same number of requests. No target:
 * the line shows the overhead a client pays for talking to any node instead of the owner.
 */

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterInit, clusterJoin } from '../src/cluster/setup.js';
import { parseVmConfig } from '../src/config/file/parse.js';
import { openConfigStore } from '../src/store/open.js';
import { startTestServer, type TestServer } from '../test/api/helpers.js';
import { EtcdCluster } from '../test/cluster/etcd-harness.js';
import { pct } from './cluster.js';
import { CONFIG_30_LINES } from './config.js';

const ROUNDS = 300;
const WARMUP = 30;

async function times(server: TestServer): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < ROUNDS + WARMUP; i++) {
    const t0 = process.hrtime.bigint();
    const r = await server.call('GET', '/nodes/node-b/qemu/100/config');
    if (r.status !== 200) throw new Error(`GET config: ${r.status} ${r.reason}`);
    if (i >= WARMUP) out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}

export async function run(): Promise<void> {
  console.log('== cluster routing (GET config of a VM on node-b, 2 serve nodes, 3-member etcd on loopback)');
  const etcd = await EtcdCluster.start(3);
  const base = mkdtempSync(join(tmpdir(), 'cvmctl-bench-routing-'));
  let sa: TestServer | undefined;
  let sb: TestServer | undefined;
  try {
    const [a, b] = [join(base, 'a'), join(base, 'b')];
    mkdirSync(a);
    mkdirSync(b);
    await clusterInit({ root: a, etcd: etcd.endpoints, node: 'node-a', name: 'bench' });
    await clusterJoin({ root: b, etcd: etcd.endpoints, node: 'node-b' });
    await openConfigStore(b).create(100, parseVmConfig('/qemu-server/100.conf', CONFIG_30_LINES, { strict: false }));
    sa = await startTestServer({ root: a, node: 'node-a' });
    sb = await startTestServer({ root: b, node: 'node-b', seedAccess: false });
    const local = await times(sb);
    const forwarded = await times(sa);
    const show = (v: number[]) => `${pct(v, 50).toFixed(2)} / ${pct(v, 99).toFixed(2)} ms`;
    console.log(`${'GET config at the owner (local) p50 / p99'.padEnd(44)} ${show(local).padStart(16)}`);
    console.log(`${'GET config at another node (forwarded)'.padEnd(44)} ${show(forwarded).padStart(16)}`);
    console.log(`${'  forwarding overhead p50'.padEnd(44)} ${`${(pct(forwarded, 50) - pct(local, 50)).toFixed(2)} ms`.padStart(16)}`);
  } finally {
    await sa?.close();
    await sb?.close();
    await etcd.stop();
    rmSync(base, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
