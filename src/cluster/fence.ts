/**
 * @module cluster/fence
 * `cluster fence NODE`: the explicit take-over of a dead node's VMs (what PVE's HA fencing and
 * a manual move of `/etc/pve/nodes/<dead>/qemu-server/*.conf` do). Refused while NODE is online
 * (its lease is alive), so a live node's VMs are never claimed behind its back: no split brain.
 * Each VM moves in one transaction, only if its config is unchanged since it was read and no
 * lock is held on it (a crashed node's lock expires with its lease first): the config key moves
 * to this node's directory and the id's owner changes with it. `fenced/<node>` records who
 * fenced it and when, for `cluster status` and for the node itself when it comes back.
 */

import { CvmError } from '../errors.js';
import { readClusterFile } from './cluster-file.js';
import type { EtcdClient } from './etcd-client.js';
import { clusterKeys } from './etcd-store.js';
import { ONLINE_TTL_SECONDS } from './membership.js';

export async function clusterFence(root: string, client: EtcdClient, target: string, log: (line: string) => void = () => undefined): Promise<number[]> {
  const file = readClusterFile(root);
  const keys = clusterKeys(file.name);
  if (target === file.node) throw new CvmError('PARAM_INVALID', `node: invalid value '${target}' - this node cannot fence itself`);
  if (!(await client.get(keys.member(target)))) throw new CvmError('CLUSTER_CONFIG', `node '${target}' is not a member of cluster '${file.name}'`);
  if (await client.get(keys.onlineNode(target))) {
    throw new CvmError('CLUSTER_CONFIG', `node '${target}' is online - only a dead node can be fenced (its registration expires ${ONLINE_TTL_SECONDS} s after it stops)`);
  }
  await client.put(`${keys.prefix}fenced/${target}`, JSON.stringify({ by: file.node, at: new Date().toISOString() }));
  const { kvs } = await client.range(keys.nodeConfigDir(target), { prefix: true });
  const moved: number[] = [];
  for (const kv of kvs) {
    const vmid = Number(/(\d+)\.conf$/.exec(kv.key)?.[1]);
    if (!Number.isInteger(vmid)) continue;
    const r = await client.txn(
      [
        { key: kv.key, target: 'mod', result: 'equal', modRevision: kv.modRevision },
        { key: keys.config(file.node, vmid), target: 'create', result: 'equal', createRevision: 0 },
        { key: keys.lock(vmid), target: 'create', result: 'equal', createRevision: 0 },
      ],
      [{ delete: { key: kv.key } }, { put: { key: keys.config(file.node, vmid), value: kv.value } }, { put: { key: keys.vmid(vmid), value: file.node } }],
    );
    if (!r.succeeded) {
      throw new CvmError('VM_LOCKED', `VM ${vmid} of node '${target}' is locked or changed - try again when its lock has expired (${moved.length} VMs taken over so far)`);
    }
    moved.push(vmid);
    log(`VM ${vmid} taken over from node '${target}'`);
  }
  log(`node '${target}' fenced: ${moved.length} VM${moved.length === 1 ? '' : 's'} now on node '${file.node}'`);
  return moved;
}
