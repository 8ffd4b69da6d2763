/**
 * `cvmctl cluster init|join|status|leave` through the built CLI, on three state roots and a real
 * 3-member etcd: configs imported on init/join (refused on an id clash before anything is
 * written), every command on a member root then working on etcd (create, set, config, list,
 * ids unique across nodes), status with members, quorum and leader, and leave moving the
 * configs back to files. A root without cluster.json keeps its files as before.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../src/cluster/etcd-client.js';
import { EtcdCluster } from './etcd-harness.js';
import { cvmctl, type Run } from './run-cli.js';


function expectOneLineError(r: Run, ...mustContain: string[]): void {
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  for (const s of mustContain) expect(r.stderr).toContain(s);
}

describe('cvmctl cluster on a real etcd', () => {
  let etcd: EtcdCluster;
  let base: string;
  let a: string;
  let b: string;
  let c: string;
  let urls: string;

  beforeAll(async () => {
    etcd = await EtcdCluster.start(3);
    urls = etcd.endpoints.join(',');
    base = mkdtempSync(join(tmpdir(), 'cvmctl-cluster-cli-'));
    [a, b, c] = ['a', 'b', 'c'].map((n) => join(base, n)) as [string, string, string];
    for (const r of [a, b, c]) mkdirSync(join(r, 'qemu-server'), { recursive: true });
    writeFileSync(join(a, 'qemu-server', '100.conf'), 'memory: 512\nname: vm-a\n');
    writeFileSync(join(b, 'qemu-server', '100.conf'), 'memory: 256\n'); // clashes with a's 100
    writeFileSync(join(c, 'qemu-server', '300.conf'), 'cores: 2\n');
  });
  afterAll(async () => {
    await etcd?.stop();
    rmSync(base, { recursive: true, force: true });
  });

  it('init imports the root configs and switches the root to etcd', async () => {
    const r = await cvmctl(a, 'cluster', 'init', '--etcd', urls, '--name', 'lab', '--node', 'node-a');
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain("node 'node-a' is a member of cluster 'lab' (1 VM config imported)");
    expect(JSON.parse(readFileSync(join(a, 'cluster.json'), 'utf8'))).toEqual({ name: 'lab', node: 'node-a', etcd: etcd.endpoints });
    expect(existsSync(join(a, 'qemu-server', '100.conf'))).toBe(false);
    expect(readFileSync(join(a, 'qemu-server.before-cluster', '100.conf'), 'utf8')).toBe('memory: 512\nname: vm-a\n');
    const kv = await new EtcdClient(etcd.endpoints).get('/cvmctl/lab/nodes/node-a/qemu-server/100.conf');
    expect(kv?.value).toBe('memory: 512\nname: vm-a\n');
    expect((await cvmctl(a, 'config', '100')).stdout).toBe('memory: 512\nname: vm-a\n');
    expectOneLineError(await cvmctl(a, 'cluster', 'init', '--etcd', urls, '--name', 'lab'), "already a member of cluster 'lab' as 'node-a'");
  });

  it('join refuses an id clash before writing anything, and joins after it is resolved', async () => {
    expectOneLineError(await cvmctl(b, 'cluster', 'join', '--etcd', urls, '--node', 'node-b'), "VM 100 already exists on node 'node-a'");
    expect(existsSync(join(b, 'cluster.json'))).toBe(false);
    expect(readFileSync(join(b, 'qemu-server', '100.conf'), 'utf8')).toBe('memory: 256\n');
    rmSync(join(b, 'qemu-server', '100.conf'));
    const r = await cvmctl(b, 'cluster', 'join', '--etcd', urls, '--node', 'node-b');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("node 'node-b' is a member of cluster 'lab' (0 VM configs imported)");
    expectOneLineError(await cvmctl(c, 'cluster', 'join', '--etcd', urls, '--node', 'node-b'), "node name 'node-b' is already a member of cluster 'lab'");
    const rc = await cvmctl(c, 'cluster', 'join', '--etcd', urls, '--node', 'node-c');
    expect(rc.stdout).toContain('(1 VM config imported)');
  });

  it('every command on a member root works on the cluster store; ids are unique across nodes', async () => {
    expect((await cvmctl(b, 'create', '101', '--memory', '1024', '--name', 'vm-b')).code).toBe(0);
    expectOneLineError(await cvmctl(a, 'create', '101', '--memory', '256'), "VM 101 already exists on node 'node-b'");
    expectOneLineError(await cvmctl(a, 'create', '300'), "VM 300 already exists on node 'node-c'");
    expect((await cvmctl(b, 'set', '101', '--cores', '3')).code).toBe(0);
    const stored = (await new EtcdClient(etcd.endpoints).get('/cvmctl/lab/nodes/node-b/qemu-server/101.conf'))?.value ?? '';
    expect(stored).toMatch(/^cores: 3\nmemory: 1024\nmeta: creation-qemu=\d+\.\d+\.\d+,ctime=\d+\nname: vm-b\nsmbios1: uuid=[-0-9a-f]{36}\nvmgenid: [-0-9a-f]{36}\n$/);
    expect((await cvmctl(b, 'config', '101')).stdout).toBe(stored);
    const list = JSON.parse((await cvmctl(b, 'list', '--json')).stdout) as { vmid: number }[];
    expect(list.map((v) => v.vmid)).toEqual([101]);
    expectOneLineError(await cvmctl(a, 'config', '101'), "Configuration file 'nodes/node-a/qemu-server/101.conf' does not exist");
    expect(existsSync(join(b, 'qemu-server', '101.conf'))).toBe(false);
  });

  it('status shows the members, quorum and leader', async () => {
    const r = await cvmctl(a, 'cluster', 'status', '--json');
    expect(r.code).toBe(0);
    const st = JSON.parse(r.stdout) as { name: string; node: string; quorate: boolean; leader: string; etcd: { healthy: boolean }[]; members: { node: string; local: boolean }[] };
    expect(st.name).toBe('lab');
    expect(st.node).toBe('node-a');
    expect(st.quorate).toBe(true);
    expect(['m0', 'm1', 'm2']).toContain(st.leader);
    expect(st.etcd.map((e) => e.healthy)).toEqual([true, true, true]);
    expect(st.members.map((m) => [m.node, m.local])).toEqual([
      ['node-a', true],
      ['node-b', false],
      ['node-c', false],
    ]);
    const text = await cvmctl(a, 'cluster', 'status');
    expect(text.stdout).toMatch(/^Cluster: +lab\nNode: +node-a\nQuorate: +Yes\n/);
  });

  it('leave moves the node configs back to files and frees their ids', async () => {
    const r = await cvmctl(c, 'cluster', 'leave');
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain("node 'node-c' left cluster 'lab' (1 VM config exported)");
    expect(existsSync(join(c, 'cluster.json'))).toBe(false);
    expect(readFileSync(join(c, 'qemu-server', '300.conf'), 'utf8')).toBe('cores: 2\n');
    expect((await cvmctl(c, 'config', '300')).stdout).toBe('cores: 2\n'); // a plain root again
    expect((await cvmctl(a, 'create', '300', '--memory', '128')).code).toBe(0); // the id is free in the cluster now
    const st = JSON.parse((await cvmctl(a, 'cluster', 'status', '--json')).stdout) as { members: { node: string }[] };
    expect(st.members.map((m) => m.node)).toEqual(['node-a', 'node-b']);
  });
});
