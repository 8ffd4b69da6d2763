/**
 * Issue 11's "Done when", as a new user would do it with the README's commands: a real 3-member
 * etcd, three state roots on one machine joined into a cluster with `cvmctl cluster init|join`,
 * a `cvmctl serve` on each (loopback, port 0). A VM with a qcow2 disk is created through node A's
 * API, started through node B's API (forwarded to A), seen running through node C's, refused
 * migration while running, stopped through B; then an etcd member is killed and the VM is
 * migrated to C through B's API with its disk; after the member is back, everything is checked:
 * the disk's bytes and the config text on C, nothing left on A, every node's view, and the VM
 * starting on C through A's API.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../src/cluster/etcd-client.js';
import { clusterKeys } from '../../src/cluster/etcd-store.js';
import { cvmctl } from '../clients/harness.js';
import { EtcdCluster } from './etcd-harness.js';
import { type ServeNode, startServe } from './serve-harness.js';

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

function must(root: string, ...args: string[]): string {
  const r = cvmctl(root, args);
  if (r.code !== 0) throw new Error(`cvmctl ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

describe('issue 11 done-when: three nodes, a VM created on A, started through B, migrated to C with an etcd member down', () => {
  let etcd: EtcdCluster;
  let base: string;
  const roots: Record<string, string> = {};
  const nodes: Record<string, ServeNode> = {};

  beforeAll(async () => {
    etcd = await EtcdCluster.start(3);
    base = mkdtempSync(join(tmpdir(), 'cvmctl-done-when-'));
    for (const n of ['a', 'b', 'c']) {
      roots[n] = join(base, n);
      mkdirSync(roots[n] as string);
    }
    const urls = etcd.endpoints.join(',');
    const token = JSON.parse(must(roots.a as string, 'user', 'token', 'add', 'root@pam', 'ci', '--privsep', '0', '--json')) as Record<
      string,
      string
    >;
    expect(must(roots.a as string, 'cluster', 'init', '--etcd', urls, '--name', 'lab', '--node', 'node-a')).toContain(
      "node 'node-a' is a member of cluster 'lab'",
    );
    must(roots.b as string, 'cluster', 'join', '--etcd', urls, '--node', 'node-b');
    must(roots.c as string, 'cluster', 'join', '--etcd', urls, '--node', 'node-c');
    const tok = { id: String(token['full-tokenid']), secret: String(token.value) };
    for (const n of ['a', 'b', 'c']) nodes[n] = await startServe({ node: `node-${n}`, root: roots[n] as string, token: tok });
  }, 120_000);

  afterAll(async () => {
    await nodes.a?.call('POST', '/nodes/node-c/qemu/100/status/stop').catch(() => undefined);
    await nodes.a?.call('POST', '/nodes/node-a/qemu/100/status/stop').catch(() => undefined);
    for (const n of Object.values(nodes)) await n.stop();
    await etcd?.stop();
    rmSync(base, { recursive: true, force: true });
  }, 60_000);

  it('works end to end', async () => {
    const a = nodes.a as ServeNode;
    const b = nodes.b as ServeNode;
    const c = nodes.c as ServeNode;
    const status = must(roots.a as string, 'cluster', 'status');
    expect(status).toContain('Quorate:  Yes');
    expect(status).toMatch(/node-a {2}online {2}\(local\)/);
    expect(status).toMatch(/node-c {2}online/);

    // created on node A through A's API, with a 1 GiB qcow2 disk allocated on A's `local`
    const created = await a.task('POST', '/nodes/node-a/qemu', {
      vmid: 100,
      name: 'done-when',
      memory: 64,
      kvm: 0,
      vga: 'none',
      serial0: 'socket',
      scsi0: 'local:1,format=qcow2',
    });
    expect(created.exitstatus, created.log.join('\n')).toBe('OK');
    const diskOnA = join(roots.a as string, 'images', '100', 'vm-100-disk-0.qcow2');
    execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x7e 1M 3M', diskOnA]);
    const diskSum = sha256(diskOnA);

    // started through node B's API (forwarded to A), seen running through C's
    const started = await b.task('POST', '/nodes/node-a/qemu/100/status/start', {}, 90_000);
    expect(started.exitstatus, started.log.join('\n')).toBe('OK');
    expect(started.reply.data as string).toMatch(/^UPID:node-a:/);
    const current = await c.call('GET', '/nodes/node-a/qemu/100/status/current');
    expect((current.data as { status: string }).status).toBe('running');
    const refused = await b.call('POST', '/nodes/node-a/qemu/100/migrate', { target: 'node-c', 'with-local-disks': 1 });
    expect([refused.status, refused.message]).toEqual([500, "can't migrate running VM without --online"]);
    const stopped = await b.task('POST', '/nodes/node-a/qemu/100/status/stop', {}, 60_000);
    expect(stopped.exitstatus, stopped.log.join('\n')).toBe('OK');

    // one of three etcd members dies; the migration (through B, run by A) still goes through
    const client = new EtcdClient(etcd.endpoints);
    const keys = clusterKeys('lab');
    const configText = (await client.get(keys.config('node-a', 100)))?.value;
    await etcd.kill(1);
    const migrated = await b.task('POST', '/nodes/node-a/qemu/100/migrate', { target: 'node-c', 'with-local-disks': 1 }, 120_000);
    expect(migrated.exitstatus, migrated.log.join('\n')).toBe('OK');
    expect(migrated.log).toContain("found local disk 'local:100/vm-100-disk-0.qcow2' (attached)");
    expect(migrated.log.some((l) => /^migration finished successfully \(duration \d\d:\d\d:\d\d\)$/.test(l))).toBe(true);
    etcd.restart(1);
    await etcd.waitHealthy(30_000);

    // checked afterwards: config text and disk bytes on C, nothing on A, every node agrees
    expect((await client.get(keys.config('node-c', 100)))?.value).toBe(configText);
    expect(await client.get(keys.config('node-a', 100))).toBeUndefined();
    expect((await client.get(keys.vmid(100)))?.value).toBe('node-c');
    expect(sha256(join(roots.c as string, 'images', '100', 'vm-100-disk-0.qcow2'))).toBe(diskSum);
    expect(existsSync(diskOnA)).toBe(false);
    for (const via of [a, b, c]) {
      const vms = (await via.call('GET', '/cluster/resources', { type: 'vm' })).data as { vmid: number; node: string; status: string }[];
      expect(vms.filter((v) => v.vmid === 100).map((v) => [v.node, v.status])).toEqual([['node-c', 'stopped']]);
    }
    expect(must(roots.c as string, 'config', '100')).toContain('scsi0: local:100/vm-100-disk-0.qcow2,size=1G');
    expect(cvmctl(roots.a as string, ['config', '100']).code).toBe(1);

    // and it runs on C, started through A's API
    const onC = await a.task('POST', '/nodes/node-c/qemu/100/status/start', {}, 90_000);
    expect(onC.exitstatus, onC.log.join('\n')).toBe('OK');
    expect((await b.call('GET', '/nodes/node-c/qemu/100/status/current')).data).toMatchObject({ status: 'running', name: 'done-when' });
    const offC = await a.task('POST', '/nodes/node-c/qemu/100/status/stop', {}, 60_000);
    expect(offC.exitstatus).toBe('OK');
    expect(must(roots.c as string, 'cluster', 'status')).toContain('Quorate:  Yes');
  }, 300_000);
});
