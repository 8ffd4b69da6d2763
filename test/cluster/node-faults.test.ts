/**
 * Node faults with real `cvmctl serve` processes on three cluster roots over a real 3-member
 * etcd. A node killed with SIGKILL in the middle of a migration it runs: the other nodes show
 * it offline and its VMs `unknown` within the registration TTL, its VM lock and the transfer
 * record expire with their leases, the target keeps nothing it had received, and only then can
 * `cluster fence` take the VM over. A node cut off from etcd longer than its lease (its process
 * stopped with SIGSTOP) comes back (SIGCONT), registers again under a fresh lease and sees the
 * current state, without duplicating or clobbering any key.
 */
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, type KeyValue } from '../../src/cluster/etcd-client.js';
import { clusterKeys, LOCK_TTL_SECONDS } from '../../src/cluster/etcd-store.js';
import { clusterFence } from '../../src/cluster/fence.js';
import { ONLINE_TTL_SECONDS } from '../../src/cluster/membership.js';
import { TRANSFER_TTL_SECONDS } from '../../src/cluster/migrate-transfer.js';
import { waitFor } from '../integration/helpers.js';
import { EtcdCluster } from './etcd-harness.js';
import { type ClusterRoot, makeClusterRoot, type ServeNode, startServe } from './serve-harness.js';

/** Poll every 100 ms until `fn` gives a value; resolves with it and the time it took. */
async function until<T>(fn: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<{ value: T | undefined; ms: number }> {
  const t0 = Date.now();
  const value = await waitFor(fn, timeoutMs, 100);
  return { value, ms: Date.now() - t0 };
}

describe('node death and partition-return', () => {
  let etcd: EtcdCluster;
  let client: EtcdClient;
  let base: string;
  const roots: Record<string, ClusterRoot> = {};
  const nodes: Record<string, ServeNode> = {};
  const keys = clusterKeys('lab');

  beforeAll(async () => {
    etcd = await EtcdCluster.start(3);
    client = new EtcdClient(etcd.endpoints);
    base = mkdtempSync(join(tmpdir(), 'cvmctl-faults-'));
    roots.a = await makeClusterRoot(base, 'node-a', etcd.endpoints, { init: true });
    roots.b = await makeClusterRoot(base, 'node-b', etcd.endpoints, {
      token: roots.a.token,
      prepare: (root) => {
        mkdirSync(join(root, 'images', '200'), { recursive: true });
        const fd = openSync(join(root, 'images', '200', 'vm-200-disk-0.raw'), 'w');
        for (let i = 0; i < 256; i++) writeSync(fd, randomBytes(1 << 20));
        closeSync(fd);
        writeFileSync(join(root, 'qemu-server', '200.conf'), 'name: dies-with-b\nscsi0: local:200/vm-200-disk-0.raw,size=256M\n');
      },
    });
    roots.c = await makeClusterRoot(base, 'node-c', etcd.endpoints, {
      token: roots.a.token,
      prepare: (root) => writeFileSync(join(root, 'qemu-server', '300.conf'), 'name: on-c\nmemory: 256\n'),
    });
    for (const n of ['a', 'b', 'c']) nodes[n] = await startServe(roots[n] as ClusterRoot);
  }, 120_000);

  afterAll(async () => {
    for (const n of Object.values(nodes)) await n.stop();
    await etcd?.stop();
    rmSync(base, { recursive: true, force: true });
  }, 60_000);

  const resources = async (via: ServeNode) => {
    const r = await via.call('GET', '/cluster/resources', { type: 'vm' });
    return new Map(
      ((r.data as { vmid: number; node: string; status: string }[] | null) ?? []).map((v) => [v.vmid, `${v.node}:${v.status}`]),
    );
  };

  it('a node killed mid-migration: offline and unknown within the TTL, its lock and transfer expire, the target keeps nothing, fence takes over', async () => {
    const a = nodes.a as ServeNode;
    const b = nodes.b as ServeNode;
    expect((await resources(a)).get(200)).toBe('node-b:stopped');
    const started = await b.call('POST', '/nodes/node-b/qemu/200/migrate', { target: 'node-a', 'with-local-disks': 1 });
    expect(started.status, started.message).toBe(200);
    // node-b holds VM 200's cluster lock and a transfer record while the volume arrives on node-a
    const incoming = join(roots.a?.root as string, 'images', '200');
    const arriving = await until(
      () => (existsSync(incoming) && readdirSync(incoming).some((n) => n.startsWith('.migrate-')) ? true : undefined),
      60_000,
    );
    const lock = await client.get(keys.lock(200));
    const transfers = (await client.range(`${keys.prefix}transfers/`, { prefix: true })).kvs;
    await b.kill();
    expect(arriving.value).toBe(true);
    expect(lock?.value).toBe(`node-b:${b.child.pid}`);
    expect(transfers).toHaveLength(1);

    // offline and unknown within the registration TTL (plus a refresh period of slack on a loaded machine)
    const unknown = await until(
      async () => ((await resources(a)).get(200) === 'node-b:unknown' ? true : undefined),
      (ONLINE_TTL_SECONDS + 5) * 1000,
    );
    expect(unknown.value).toBe(true);
    expect(unknown.ms).toBeLessThan((ONLINE_TTL_SECONDS + 5) * 1000);
    const nodesList = (await a.call('GET', '/nodes')).data as { node: string; status: string }[];
    expect(nodesList.find((n) => n.node === 'node-b')?.status).toBe('offline');
    // fence is refused while the dead node's lock lives (unless it already expired on a slow machine)
    if (await client.get(keys.lock(200))) {
      await expect(clusterFence(roots.a?.root as string, client, 'node-b')).rejects.toThrow(/VM 200 of node 'node-b' is locked or changed/);
    }
    // the lock and the transfer record expire with their leases
    const lockGone = await until(async () => ((await client.get(keys.lock(200))) ? undefined : true), (LOCK_TTL_SECONDS + 5) * 1000);
    expect(lockGone.value).toBe(true);
    const transferGone = await until(
      async () => ((await client.range(`${keys.prefix}transfers/`, { prefix: true })).kvs.length === 0 ? true : undefined),
      (TRANSFER_TTL_SECONDS + 5) * 1000,
    );
    expect(transferGone.value).toBe(true);
    // node-a kept nothing: the cut-off upload's temporary file went with the connection
    expect(existsSync(incoming) ? readdirSync(incoming) : []).toEqual([]);
    expect(await client.get(keys.config('node-a', 200))).toBeUndefined();
    expect((await client.get(keys.vmid(200)))?.value).toBe('node-b');
    // only now, explicitly, does the VM move
    expect(await clusterFence(roots.a?.root as string, client, 'node-b')).toEqual([200]);
    expect((await resources(a)).get(200)).toBe('node-a:stopped');
  }, 120_000);

  it('a node partitioned longer than its lease comes back, registers again and sees the current state, clobbering nothing', async () => {
    const a = nodes.a as ServeNode;
    const c = nodes.c as ServeNode;
    const snapshot = async () => {
      const { kvs } = await client.range(keys.prefix, { prefix: true });
      // the lease-bound per-node status (registration, task list, VM usage) is rewritten as nodes go: not state
      const status = [keys.online, keys.tasks, keys.usage];
      return new Map(
        kvs
          .filter((kv) => !status.some((prefix) => kv.key.startsWith(prefix)) && !kv.key.includes('/locks/'))
          .map((kv): [string, KeyValue] => [kv.key, kv]),
      );
    };
    const before = await snapshot();
    const leaseBefore = (await client.get(keys.onlineNode('node-c')))?.lease;
    expect(leaseBefore).toBeDefined();

    c.child.kill('SIGSTOP');
    try {
      const offline = await until(
        async () => ((await client.get(keys.onlineNode('node-c'))) ? undefined : true),
        (ONLINE_TTL_SECONDS + 5) * 1000,
      );
      expect(offline.value).toBe(true);
      expect((await resources(a)).get(300)).toBe('node-c:unknown');
      // the cluster moves on meanwhile: a new VM on node-a
      const created = await a.task('POST', '/nodes/node-a/qemu', { vmid: 301, name: 'made-while-c-was-away', memory: 128 });
      expect(created.exitstatus, created.log.join('\n')).toBe('OK');
    } finally {
      c.child.kill('SIGCONT');
    }

    const back = await until(async () => (await client.get(keys.onlineNode('node-c')))?.lease, (ONLINE_TTL_SECONDS + 5) * 1000);
    expect(back.value).toBeDefined();
    expect(back.value).not.toBe(leaseBefore); // a fresh lease: the old one had expired
    expect((await client.range(keys.onlineNode('node-c'), { prefix: true })).kvs).toHaveLength(1);
    // node-c's task list and VM usage went with the old lease and are back under the new one
    expect((await client.get(keys.tasksNode('node-c')))?.lease).toBe(back.value);
    expect((await client.get(keys.usageNode('node-c')))?.lease).toBe(back.value);

    // nothing duplicated or clobbered: every key as before, plus exactly the new VM's two keys
    const after = await snapshot();
    const added = [...after.keys()].filter((k) => !before.has(k)).sort();
    expect(added).toEqual([keys.config('node-a', 301), keys.vmid(301)]);
    for (const [k, kv] of before)
      expect({ k, rev: after.get(k)?.modRevision, value: after.get(k)?.value }).toEqual({ k, rev: kv.modRevision, value: kv.value });

    // node-c sees the current state through its own API and serves its own VM again
    expect((await resources(c)).get(301)).toBe('node-a:stopped');
    expect((await resources(a)).get(300)).toBe('node-c:stopped');
    const cfg = await c.call('GET', '/nodes/node-c/qemu/300/config');
    expect((cfg.data as Record<string, unknown>).name).toBe('on-c');
    const nodesList = (await c.call('GET', '/nodes')).data as { node: string; status: string }[];
    expect(nodesList.map((n) => [n.node, n.status])).toEqual([
      ['node-a', 'online'],
      ['node-b', 'offline'],
      ['node-c', 'online'],
    ]);
  }, 120_000);
});
