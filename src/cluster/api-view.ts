/**
 * @module cluster/api-view
 * What the API's /nodes, /cluster/status and /cluster/resources need to know about the other
 * members: each node online or offline with its registration, and which VMs run where.
 * `undefined` on a root without cluster.json, so single-node answers stay exactly as before.
 */

import { isClusterRoot, readClusterFile } from './cluster-file.js';
import { clusterKeys } from './etcd-store.js';
import { type ClusterNode, clusterNodes } from './membership.js';
import { clusterClient } from '../store/open.js';

export async function clusterMembers(root: string): Promise<ClusterNode[] | undefined> {
  if (!isClusterRoot(root)) return undefined;
  const { client, cluster } = clusterClient(root);
  return clusterNodes(client, cluster);
}

/** The /nodes entry of another member (PVE shows an offline node with its name and status only). */
export function remoteNodeEntry(m: ClusterNode): Record<string, string | number> {
  return {
    node: m.node,
    status: m.online ? 'online' : 'offline',
    id: `node/${m.node}`,
    type: 'node',
    level: '',
    ...(m.record?.fingerprint ? { ssl_fingerprint: m.record.fingerprint } : {}),
  };
}

/** Running state of a VM on `node` as the members report it: `unknown` when the node is offline. */
export function remoteVmStatus(members: ClusterNode[], node: string, vmid: number): 'running' | 'stopped' | 'unknown' {
  const m = members.find((x) => x.node === node);
  if (!m?.online || !m.record) return 'unknown';
  return m.record.running.includes(vmid) ? 'running' : 'stopped';
}

/** The cluster's name and whether etcd has quorum now (a linearizable read commits only with it). */
export async function clusterQuorum(root: string): Promise<{ name: string; quorate: boolean }> {
  const { name } = readClusterFile(root);
  const { client } = clusterClient(root);
  try {
    await client.get(`${clusterKeys(name).prefix}cluster`);
    return { name, quorate: true };
  } catch {
    return { name, quorate: false };
  }
}
