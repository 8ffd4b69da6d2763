/**
 * Documents published with a node's registration (its recent tasks, its VMs' usage) against a
 * real etcd: remembered before the registration and written with it, bound to its lease, put
 * again under the fresh lease after the old one was lost, and gone when the node deregisters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../src/cluster/etcd-client.js';
import { clusterKeys } from '../../src/cluster/etcd-store.js';
import { NodeRegistration } from '../../src/cluster/membership.js';
import { waitFor } from '../integration/helpers.js';
import { EtcdCluster } from './etcd-harness.js';

describe('NodeRegistration.publish', () => {
  let etcd: EtcdCluster;
  let client: EtcdClient;
  const keys = clusterKeys('docs');

  beforeAll(async () => {
    etcd = await EtcdCluster.start(1);
    client = new EtcdClient(etcd.endpoints);
  }, 60_000);
  afterAll(async () => {
    await etcd?.stop();
  });

  it('writes documents under the registration lease, again after a lost lease, and drops them on stop', async () => {
    const reg = new NodeRegistration({
      client,
      cluster: 'docs',
      node: 'n1',
      url: 'https://127.0.0.1:1',
      fingerprint: 'AA',
      running: async () => [],
      ttlSeconds: 3,
    });
    await reg.publish(keys.tasksNode('n1'), '["early"]'); // before the registration: only remembered
    expect(await client.get(keys.tasksNode('n1'))).toBeUndefined();
    await reg.start();
    try {
      const online = await client.get(keys.onlineNode('n1'));
      const tasks = await client.get(keys.tasksNode('n1'));
      expect(tasks?.value).toBe('["early"]');
      expect(tasks?.lease).toBe(online?.lease);
      await reg.publish(keys.usageNode('n1'), '{"100":{"mem":1}}');
      expect((await client.get(keys.usageNode('n1')))?.lease).toBe(online?.lease);
      // the lease is lost (revoked behind the node's back): both documents come back under the new one
      await client.leaseRevoke(online?.lease as string);
      expect(await client.get(keys.tasksNode('n1'))).toBeUndefined();
      const back = await waitFor(async () => {
        const [t, u, o] = await Promise.all([
          client.get(keys.tasksNode('n1')),
          client.get(keys.usageNode('n1')),
          client.get(keys.onlineNode('n1')),
        ]);
        return t && u && o ? { t, u, o } : undefined;
      }, 10_000);
      expect([back?.t.value, back?.u.value]).toEqual(['["early"]', '{"100":{"mem":1}}']);
      expect(back?.t.lease).toBe(back?.o.lease);
      expect(back?.o.lease).not.toBe(online?.lease);
    } finally {
      await reg.stop();
    }
    expect(await client.get(keys.tasksNode('n1'))).toBeUndefined();
    expect(await client.get(keys.usageNode('n1'))).toBeUndefined();
  });
});
