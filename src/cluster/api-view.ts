/**
 * @module cluster/api-view
 * What the API's /nodes, /cluster/status, /cluster/resources and /cluster/tasks need to know
 * about the other members: each node online or offline with its registration, which VMs run
 * where and what they use, and each node's recent tasks (what serve-hook publishes under the
 * node's lease; serializable reads, like the registrations). `undefined` on a root without
 * cluster.json, so single-node answers stay exactly as before.
 */

import { isClusterRoot, readClusterFile } from './cluster-file.js';
import { clusterKeys } from './etcd-store.js';
import { type ClusterNode, clusterNodes } from './membership.js';
import { clusterClient } from '../store/open.js';
import type { RecentTask } from '../tasks/recent.js';

/** The usage fields of a running VM's status object that other nodes show in /cluster/resources. */
export const USAGE_FIELDS = ['cpu', 'mem', 'memhost', 'uptime', 'netin', 'netout', 'diskread', 'diskwrite'] as const;
export type VmUsage = Partial<Record<(typeof USAGE_FIELDS)[number], number>>;

export async function clusterMembers(root: string): Promise<ClusterNode[] | undefined> {
  if (!isClusterRoot(root)) return undefined;
  const { client, cluster } = clusterClient(root);
  return clusterNodes(client, cluster);
}

/** The numbers of a registration's node usage, in the order of a node entry (foreign values skipped). */
const NODE_USAGE_FIELDS = ['cpu', 'maxcpu', 'mem', 'maxmem', 'uptime'] as const;

/**
 * The /nodes entry of another member: PVE shows an offline node with its name and status only,
 * an online one with the load, memory and uptime it last registered.
 */
export function remoteNodeEntry(m: ClusterNode): Record<string, string | number> {
  const out: Record<string, string | number> = {
    node: m.node,
    status: m.online ? 'online' : 'offline',
    id: `node/${m.node}`,
    type: 'node',
  };
  const usage = m.online ? m.record?.usage : undefined;
  if (usage) {
    copyNumbers(out, usage, NODE_USAGE_FIELDS);
    out.disk = 0;
    out.maxdisk = 0;
  }
  out.level = '';
  if (m.record?.fingerprint) out.ssl_fingerprint = m.record.fingerprint;
  return out;
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

/** The JSON documents every node published under `prefix` (`tasks/`, `usage/`), by node; foreign values skipped. */
async function perNodeDocuments<T>(
  root: string,
  pick: (keys: ReturnType<typeof clusterKeys>) => string,
): Promise<Map<string, T> | undefined> {
  if (!isClusterRoot(root)) return undefined;
  const { client, cluster } = clusterClient(root);
  const prefix = pick(clusterKeys(cluster));
  const { kvs } = await client.range(prefix, { prefix: true, serializable: true });
  const out = new Map<string, T>();
  for (const kv of kvs) {
    try {
      out.set(kv.key.slice(prefix.length), JSON.parse(kv.value) as T);
    } catch {
      // not a published document
    }
  }
  return out;
}

/** Each node's published recent tasks (tasks/recent's list). */
export function clusterTaskLists(root: string): Promise<Map<string, RecentTask[]> | undefined> {
  return perNodeDocuments<RecentTask[]>(root, (k) => k.tasks);
}

/** Each node's published usage of its running VMs, by vmid. */
export function clusterUsage(root: string): Promise<Map<string, Record<string, VmUsage>> | undefined> {
  return perNodeDocuments<Record<string, VmUsage>>(root, (k) => k.usage);
}

/** Copy the finite numbers among `fields` of a published (foreign) record onto `out`; nothing else gets through. */
function copyNumbers(out: Record<string, string | number>, record: object, fields: readonly string[]): void {
  for (const field of fields) {
    const value = (record as Record<string, unknown>)[field];
    if (typeof value === 'number' && Number.isFinite(value)) out[field] = value;
  }
}

/** Copy the numbers of a published usage record onto a VM's status object (nothing else gets through). */
export function applyUsage(st: Record<string, string | number>, usage: VmUsage | undefined): void {
  if (usage) copyNumbers(st, usage, USAGE_FIELDS);
}
