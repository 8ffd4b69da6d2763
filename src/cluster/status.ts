/**
 * @module cluster/status
 * `cluster status`: the members with online/offline (an online key exists while the node's
 * `serve` keeps its lease alive), each etcd member's health, the leader and whether etcd has
 * quorum (more than half of its members answer with a leader). Member health is asked of every
 * endpoint directly, so a dead member shows as such instead of being skipped by fail-over.
 */

import type { EtcdClient } from './etcd-client.js';
import { clusterNodes } from './membership.js';

export interface ClusterStatus {
  name: string;
  node: string;
  quorate: boolean;
  leader: string | undefined;
  etcd: { endpoint: string; healthy: boolean; name?: string; leader?: boolean; error?: string }[];
  members: { node: string; online: boolean; local: boolean; url?: string; fingerprint?: string }[];
}

export async function clusterStatus(client: EtcdClient, name: string, node: string): Promise<ClusterStatus> {
  const statuses = await Promise.all(client.endpoints.map(async (endpoint) => ({ endpoint, st: await client.memberStatus(endpoint) })));
  let names = new Map<string, string>();
  let total = client.endpoints.length;
  try {
    const list = await client.memberList();
    names = new Map(list.map((m) => [m.id, m.name]));
    total = list.length;
  } catch {
    // without any member answering, names stay unknown
  }
  const healthy = statuses.filter((s) => s.st.ok && s.st.leader !== '0');
  const leaderId = healthy[0]?.st.ok ? healthy[0].st.leader : undefined;
  const quorate = healthy.length > total / 2;
  const out: ClusterStatus = {
    name,
    node,
    quorate,
    leader: leaderId ? (names.get(leaderId) ?? leaderId) : undefined,
    etcd: statuses.map(({ endpoint, st }) =>
      st.ok
        ? { endpoint, healthy: st.leader !== '0', name: names.get(st.memberId) ?? st.memberId, leader: st.leader === st.memberId }
        : { endpoint, healthy: false, error: st.error },
    ),
    members: [],
  };
  if (!quorate && healthy.length === 0) return out;
  for (const m of await clusterNodes(client, name)) {
    out.members.push({
      node: m.node,
      online: m.online,
      local: m.node === node,
      ...(m.record?.url ? { url: m.record.url } : {}),
      ...(m.record?.fingerprint ? { fingerprint: m.record.fingerprint } : {}),
    });
  }
  return out;
}

export function formatClusterStatus(st: ClusterStatus): string {
  const lines = [
    `Cluster:  ${st.name}`,
    `Node:     ${st.node}`,
    `Quorate:  ${st.quorate ? 'Yes' : 'No'}`,
    `Leader:   ${st.leader ?? '-'}`,
    '',
    'etcd members:',
    ...st.etcd.map((e) => `  ${e.endpoint}  ${e.healthy ? 'healthy' : 'unhealthy'}${e.name ? `  ${e.name}` : ''}${e.leader ? '  (leader)' : ''}${e.error ? `  ${e.error}` : ''}`),
    '',
    'Nodes:',
    ...st.members.map((m) => `  ${m.node}  ${m.online ? 'online' : 'offline'}${m.local ? '  (local)' : ''}${m.url ? `  ${m.url}` : ''}`),
  ];
  return `${lines.join('\n')}\n`;
}
