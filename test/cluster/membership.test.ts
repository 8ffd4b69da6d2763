/**
 * Membership through the API of real `serve` servers on three cluster roots over a real 3-member
 * etcd: each running server registers itself (URL, certificate fingerprint, load, memory, uptime) under a lease;
 * /nodes and /cluster/status show members online/offline; /cluster/resources lists every
 * node's VMs (stopped from an online node, unknown from an offline one; another node's running
 * VM with the usage that node published); /cluster/tasks lists every node's recent tasks from
 * either node, and an offline node's no more; nextid skips ids used
 * on any node; a server that shuts down shows offline at once; `cluster fence` takes over a dead
 * node's VMs only (never an online node's, never a locked VM).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem, uptime } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../src/cluster/etcd-client.js';
import { clusterKeys } from '../../src/cluster/etcd-store.js';
import { clusterFence } from '../../src/cluster/fence.js';
import { clusterInit, clusterJoin } from '../../src/cluster/setup.js';
import { CvmError } from '../../src/errors.js';
import { openConfigStore } from '../../src/store/open.js';
import { dataOf, startTestServer, type TestServer } from '../api/helpers.js';
import { waitFor } from '../integration/helpers.js';
import { EtcdCluster } from './etcd-harness.js';

describe('cluster membership through the API', () => {
  let etcd: EtcdCluster;
  let base: string;
  let sa: TestServer;
  let sb: TestServer | undefined;
  const roots: Record<string, string> = {};

  beforeAll(async () => {
    etcd = await EtcdCluster.start(3);
    base = mkdtempSync(join(tmpdir(), 'cvmctl-members-'));
    for (const n of ['a', 'b', 'c']) {
      roots[n] = join(base, n);
      mkdirSync(join(roots[n] as string, 'qemu-server'), { recursive: true });
    }
    writeFileSync(join(roots.a as string, 'qemu-server', '100.conf'), 'memory: 512\nname: on-a\n');
    writeFileSync(join(roots.c as string, 'qemu-server', '300.conf'), 'cores: 2\nname: on-c\n');
    await clusterInit({ root: roots.a as string, etcd: etcd.endpoints, node: 'node-a', name: 'lab' });
    await clusterJoin({ root: roots.b as string, etcd: etcd.endpoints, node: 'node-b' });
    await clusterJoin({ root: roots.c as string, etcd: etcd.endpoints, node: 'node-c' });
    await openConfigStore(roots.b as string).create(101, { vmid: 101, digest: '', conf: { name: 'on-b' }, pending: {}, special: {}, snapshots: {} });
    sa = await startTestServer({ root: roots.a as string, node: 'node-a' });
    sb = await startTestServer({ root: roots.b as string, node: 'node-b', seedAccess: false }); // users are the cluster's, made by sa
  });
  afterAll(async () => {
    await sa?.close();
    await sb?.close();
    await etcd?.stop();
    rmSync(base, { recursive: true, force: true });
  });

  it('GET /nodes shows the members online and offline, with the fingerprints they registered', async () => {
    const nodes = dataOf<Record<string, unknown>[]>(await sa.call('GET', '/nodes'));
    expect(nodes.map((n) => [n.node, n.status])).toEqual([
      ['node-a', 'online'],
      ['node-b', 'online'],
      ['node-c', 'offline'],
    ]);
    expect(nodes[0]?.ssl_fingerprint).toBe(sa.server.context.fingerprint);
    expect(nodes[1]?.ssl_fingerprint).toBe(sb?.server.context.fingerprint);
    expect(nodes[2]?.ssl_fingerprint).toBeUndefined();
    // node-b's load, memory and uptime as it registered them: the same host as this test, so the same totals
    expect(nodes[1]).toMatchObject({ maxcpu: availableParallelism(), maxmem: totalmem(), disk: 0, maxdisk: 0 });
    expect(nodes[1]?.mem as number).toBeGreaterThan(0);
    expect(nodes[1]?.mem as number).toBeLessThanOrEqual(totalmem());
    expect(nodes[1]?.cpu as number).toBeGreaterThanOrEqual(0);
    expect(nodes[1]?.cpu as number).toBeLessThanOrEqual(1);
    expect(Math.abs((nodes[1]?.uptime as number) - uptime())).toBeLessThan(30);
    // an offline node shows its name and status only
    expect(Object.keys(nodes[2] ?? {}).sort()).toEqual(['id', 'level', 'node', 'status', 'type']);
    // the same from the other node's API
    const fromB = dataOf<Record<string, unknown>[]>(await (sb as TestServer).call('GET', '/nodes'));
    expect(fromB.map((n) => [n.node, n.status])).toEqual(nodes.map((n) => [n.node, n.status]));
  });

  it('GET /cluster/status names the cluster, its quorum and each node', async () => {
    const st = dataOf<Record<string, unknown>[]>(await sa.call('GET', '/cluster/status'));
    expect(st[0]).toMatchObject({ type: 'cluster', name: 'lab', nodes: 3, quorate: 1 });
    expect(st.slice(1).map((n) => [n.name, n.online, n.local])).toEqual([
      ['node-a', 1, 1],
      ['node-b', 1, 0],
      ['node-c', 0, 0],
    ]);
    expect(st[2]?.ip).toBe('127.0.0.1');
  });

  it('GET /cluster/resources lists every node VM: stopped from online nodes, unknown from offline ones', async () => {
    const vms = dataOf<Record<string, unknown>[]>(await sa.call('GET', '/cluster/resources', { query: { type: 'vm' } }));
    expect(vms.map((v) => [v.vmid, v.node, v.name, v.status])).toEqual([
      [100, 'node-a', 'on-a', 'stopped'],
      [101, 'node-b', 'on-b', 'stopped'],
      [300, 'node-c', 'on-c', 'unknown'],
    ]);
    const nodes = dataOf<Record<string, unknown>[]>(await sa.call('GET', '/cluster/resources', { query: { type: 'node' } }));
    expect(nodes.map((n) => [n.node, n.status])).toEqual([
      ['node-a', 'online'],
      ['node-b', 'online'],
      ['node-c', 'offline'],
    ]);
  });

  it("/cluster/resources shows another node's running VM with the usage that node published", async () => {
    const b = sb as TestServer;
    const pidfile = join(roots.b as string, 'run', '101.pid');
    mkdirSync(join(roots.b as string, 'run'), { recursive: true });
    // a stand-in for QEMU on node-b: alive, -pidfile names the pid file (what store/liveness checks)
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '--', '-pidfile', pidfile], { stdio: 'ignore' });
    try {
      writeFileSync(pidfile, `${child.pid}\n`);
      const vm101 = async () => {
        const vms = dataOf<Record<string, unknown>[]>(await sa.call('GET', '/cluster/resources', { query: { type: 'vm' } }));
        return vms.find((v) => v.vmid === 101);
      };
      // node-b notices the VM at its next registration refresh (~3 s) and publishes its usage at once
      const seen = await waitFor(async () => {
        const v = await vm101();
        return v?.status === 'running' && (v.mem as number) > 0 ? v : undefined;
      }, 20_000);
      const rss = Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]) * 1024;
      expect(seen).toMatchObject({
        node: 'node-b',
        status: 'running',
        mem: expect.any(Number),
        cpu: expect.any(Number),
        uptime: expect.any(Number),
      });
      // the stand-in's resident memory, as node-b measured it a moment ago (within a factor of two)
      expect(seen?.mem as number).toBeGreaterThan(rss / 2);
      expect(seen?.mem as number).toBeLessThan(rss * 2);
      // node-b's own answer for its VM has the same kind of numbers
      const own = dataOf<Record<string, unknown>>(await b.call('GET', '/nodes/node-b/qemu/101/status/current'));
      expect(own.status).toBe('running');
    } finally {
      child.kill();
      rmSync(pidfile, { force: true });
    }
    // stopped: no usage left on the entry
    const stopped = await waitFor(async () => {
      const vms = dataOf<Record<string, unknown>[]>(await sa.call('GET', '/cluster/resources', { query: { type: 'vm' } }));
      const v = vms.find((x) => x.vmid === 101);
      return v?.status === 'stopped' ? v : undefined;
    }, 20_000);
    expect(stopped).toMatchObject({ mem: 0, cpu: 0, uptime: 0 });
  });

  it("GET /cluster/tasks lists every node's recent tasks, from either node", async () => {
    const b = sb as TestServer;
    const onB = await b.server.context.tasks.start({ type: 'qmstart', id: '101', user: 'root@pam' }, async () => {
      throw new Error('failed on b');
    });
    await b.server.context.tasks.wait(onB, 5000);
    const onA = await sa.server.context.tasks.start({ type: 'qmconfig', id: '100', user: 'root@pam' }, async () => {});
    await sa.server.context.tasks.wait(onA, 5000);
    // node-b republishes its list shortly after the task ended
    const rows = await waitFor(async () => {
      const list = dataOf<Record<string, unknown>[]>(await sa.call('GET', '/cluster/tasks'));
      return list.some((r) => r.upid === onB) ? list : undefined;
    }, 10_000);
    expect(rows?.find((r) => r.upid === onB)).toEqual({
      upid: onB,
      node: 'node-b',
      starttime: expect.any(Number),
      type: 'qmstart',
      id: '101',
      user: 'root@pam',
      endtime: expect.any(Number),
      status: 'failed on b',
    });
    expect(rows?.find((r) => r.upid === onA)).toMatchObject({ node: 'node-a', status: 'OK' });
    // node-b's API lists node-a's task too (node-a published it)
    const fromB = await waitFor(async () => {
      const list = dataOf<Record<string, unknown>[]>(await b.call('GET', '/cluster/tasks'));
      return list.some((r) => r.upid === onA) ? list : undefined;
    }, 10_000);
    expect(fromB?.some((r) => r.upid === onB)).toBe(true);
  });

  it('the per-node VM list and CVM badges come from the cluster store (this node VMs only)', async () => {
    const list = dataOf<Record<string, unknown>[]>(await sa.call('GET', '/nodes/node-a/qemu'));
    expect(list.map((v) => v.vmid)).toEqual([100]);
    const badges = dataOf<{ vmid: number; type: string | null }[]>(await sa.call('GET', '/nodes/node-a/cvm/vms'));
    expect(badges).toEqual([{ vmid: 100, type: null }]);
  });

  it('GET /cluster/nextid skips ids used on any node', async () => {
    expect(dataOf<string>(await sa.call('GET', '/cluster/nextid'))).toBe('102');
    const taken = await sa.call('GET', '/cluster/nextid', { query: { vmid: '300' } });
    expect(taken.status).toBe(400);
    expect(taken.body?.errors?.vmid).toBe('VM 300 already exists');
  });

  it('fence refuses an online node', async () => {
    const err = await clusterFence(roots.a as string, new EtcdClient(etcd.endpoints), 'node-b').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CvmError);
    expect((err as CvmError).message).toBe("node 'node-b' is online - only a dead node can be fenced (its registration expires 10 s after it stops)");
    expect(await openConfigStore(roots.b as string).exists(101)).toBe(true);
  });

  it('a node whose server stops shows offline, and its VMs unknown', async () => {
    await sb?.close();
    sb = undefined;
    const nodes = dataOf<Record<string, unknown>[]>(await sa.call('GET', '/nodes'));
    expect(nodes.map((n) => n.status)).toEqual(['online', 'offline', 'offline']);
    const vms = dataOf<Record<string, unknown>[]>(await sa.call('GET', '/cluster/resources', { query: { type: 'vm' } }));
    expect(vms.find((v) => v.vmid === 101)?.status).toBe('unknown');
    // its published task list went with its registration
    const tasks = dataOf<Record<string, unknown>[]>(await sa.call('GET', '/cluster/tasks'));
    expect(tasks.length).toBeGreaterThan(0);
    expect(tasks.every((r) => r.node === 'node-a')).toBe(true);
  });

  it('fence takes over a dead node VMs in one transaction each, but not while a VM lock is held', async () => {
    const client = new EtcdClient(etcd.endpoints);
    const lease = await client.leaseGrant(30); // node-b "died" holding the lock of VM 101
    await client.put(clusterKeys('lab').lock(101), 'node-b:1', lease);
    const err = await clusterFence(roots.a as string, client, 'node-b').catch((e: unknown) => e);
    expect((err as CvmError).code).toBe('VM_LOCKED');
    expect(await client.get(clusterKeys('lab').config('node-b', 101))).toBeDefined(); // (root b was removed with its server)
    await client.leaseRevoke(lease); // the lease expired
    const lines: string[] = [];
    expect(await clusterFence(roots.a as string, client, 'node-b', (l) => lines.push(l))).toEqual([101]);
    expect(lines).toEqual(["VM 101 taken over from node 'node-b'", "node 'node-b' fenced: 1 VM now on node 'node-a'"]);
    expect(await client.get(clusterKeys('lab').config('node-b', 101))).toBeUndefined();
    expect((await openConfigStore(roots.a as string).read(101)).config.conf.name).toBe('on-b');
    expect((await client.get(clusterKeys('lab').vmid(101)))?.value).toBe('node-a');
    const vms = dataOf<Record<string, unknown>[]>(await sa.call('GET', '/cluster/resources', { query: { type: 'vm' } }));
    expect(vms.find((v) => v.vmid === 101)).toMatchObject({ node: 'node-a', status: 'stopped' });
  });
});
