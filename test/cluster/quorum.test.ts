/**
 * Losing etcd quorum, through the built CLI on a cluster root over a real 3-member etcd: with
 * two of three members killed, a change fails with one line "cluster not quorate …" and writes
 * nothing, reading the node's configs keeps working, and once the members are back the same
 * command succeeds without anything being restarted on the cvmctl side.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../src/cluster/etcd-client.js';
import { clusterInit } from '../../src/cluster/setup.js';
import { EtcdCluster } from './etcd-harness.js';
import { cvmctl } from './run-cli.js';


describe('etcd quorum lost and regained', () => {
  let etcd: EtcdCluster;
  let root: string;
  const key = '/cvmctl/q/nodes/node-q/qemu-server/100.conf';

  beforeAll(async () => {
    etcd = await EtcdCluster.start(3);
    root = mkdtempSync(join(tmpdir(), 'cvmctl-quorum-'));
    mkdirSync(join(root, 'qemu-server'));
    writeFileSync(join(root, 'qemu-server', '100.conf'), 'cores: 1\nmemory: 512\n');
    await clusterInit({ root, etcd: etcd.endpoints, node: 'node-q', name: 'q' });
  });
  afterAll(async () => {
    await etcd?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses changes in one line without quorum, keeps reads working, and recovers by itself', async () => {
    await etcd.kill(1);
    await etcd.kill(2);
    const refused = await cvmctl(root, 'set', '100', '--cores', '4');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/^cluster not quorate - /);
    const read = await cvmctl(root, 'config', '100');
    expect(read.stdout).toBe('cores: 1\nmemory: 512\n');
    const status = await cvmctl(root, 'cluster', 'status', '--json');
    expect(status.code).toBe(1); // not quorate
    expect((JSON.parse(status.stdout) as { quorate: boolean }).quorate).toBe(false);

    etcd.restart(1);
    etcd.restart(2);
    await etcd.waitHealthy(30_000);
    expect((await new EtcdClient(etcd.endpoints).get(key))?.value).toBe('cores: 1\nmemory: 512\n'); // nothing half-written
    const ok = await cvmctl(root, 'set', '100', '--cores', '4');
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect((await cvmctl(root, 'config', '100')).stdout).toBe('cores: 4\nmemory: 512\n');
  });
});
