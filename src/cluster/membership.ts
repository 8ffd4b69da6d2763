/**
 * @module cluster/membership
 * Liveness of cluster nodes, the way pmxcfs's status broadcast works but on etcd: a node's
 * `cvmctl serve` puts `<prefix>online/<node>` under a lease of ONLINE_TTL_SECONDS and keeps it
 * alive; the value carries the API URL, the TLS certificate's SHA-256 fingerprint (which other
 * nodes pin when they forward), the ids of the VMs running there and the node's load, memory
 * and uptime, refreshed on every keep-alive. A node that dies or is cut off stops refreshing, its key expires and every other
 * node sees it offline (and its VMs `unknown`) within the TTL. When the lease is lost (etcd
 * unreachable longer than the TTL) registration starts over with a fresh lease.
 * Other per-node documents (the recent task list, the running VMs' usage) are published under
 * the same lease with `publish`: they vanish with the node's registration and are put again
 * under a fresh lease.
 */

import type { NodeUsage } from '../host/local/usage.js';
import { type EtcdClient, LeaseNotFound } from './etcd-client.js';
import { clusterKeys } from './etcd-store.js';

export const ONLINE_TTL_SECONDS = 10;

export type { NodeUsage };

export interface OnlineRecord {
  url: string;
  fingerprint: string;
  /** VM ids running on the node at the last refresh. */
  running: number[];
  /** The node's own numbers at the last refresh (absent from registrations of older versions). */
  usage?: NodeUsage;
  updated: string;
}

export interface RegistrationOptions {
  client: EtcdClient;
  cluster: string;
  node: string;
  url: string;
  fingerprint: string;
  /** Ids of the VMs running on this node now. */
  running: () => Promise<number[]>;
  /** The node's own numbers now. */
  usage?: () => NodeUsage;
  ttlSeconds?: number;
  warn?: (msg: string) => void;
}

export class NodeRegistration {
  private lease: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly key: string;
  private readonly ttl: number;
  /** Documents to keep published under the lease, by key. */
  private readonly documents = new Map<string, string>();
  /** What of them is written under the current lease (a failed put is retried by the next refresh). */
  private readonly written = new Map<string, string>();

  constructor(private readonly opts: RegistrationOptions) {
    this.key = clusterKeys(opts.cluster).onlineNode(opts.node);
    this.ttl = opts.ttlSeconds ?? ONLINE_TTL_SECONDS;
  }

  private async record(): Promise<string> {
    const rec: OnlineRecord = {
      url: this.opts.url,
      fingerprint: this.opts.fingerprint,
      running: await this.opts.running(),
      ...(this.opts.usage ? { usage: this.opts.usage() } : {}),
      updated: new Date().toISOString(),
    };
    return JSON.stringify(rec);
  }

  /** Register now (errors propagate: a server that cannot register says so at start). */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((err: Error) => this.opts.warn?.(`cluster: unable to refresh node registration - ${err.message}`));
    }, Math.max(300, (this.ttl * 1000) / 3));
    this.timer.unref();
  }

  private async refresh(): Promise<void> {
    if (this.stopped) return;
    const { client } = this.opts;
    if (this.lease === undefined || !(await client.leaseKeepAlive(this.lease))) {
      this.lease = await client.leaseGrant(this.ttl);
      this.written.clear(); // the old lease took the published documents with it
    }
    await this.flush();
    await client.put(this.key, await this.record(), this.lease);
  }

  /** Put every document not yet written under the current lease. */
  private async flush(): Promise<void> {
    const lease = this.lease;
    if (lease === undefined) return;
    for (const [key, value] of this.documents) {
      if (this.written.get(key) === value) continue;
      await this.opts.client.put(key, value, lease);
      if (this.lease === lease) this.written.set(key, value);
    }
  }

  /**
   * Keep `value` under `key` bound to the registration's lease: written now, and again under a
   * fresh lease after a loss. Before the first registration it is only remembered; a put that
   * fails is retried by the next refresh.
   */
  async publish(key: string, value: string): Promise<void> {
    if (this.stopped) return;
    this.documents.set(key, value);
    try {
      await this.flush();
    } catch (err) {
      if (!(err instanceof LeaseNotFound)) throw err;
    }
  }

  /** Deregister: the node shows offline at once instead of after the TTL. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.lease !== undefined) await this.opts.client.leaseRevoke(this.lease).catch(() => undefined);
  }
}

export interface ClusterNode {
  node: string;
  online: boolean;
  record: OnlineRecord | undefined;
}

/** Every member with its online record (serializable reads: shown, maybe stale, without quorum). */
export async function clusterNodes(client: EtcdClient, cluster: string): Promise<ClusterNode[]> {
  const keys = clusterKeys(cluster);
  const [members, online] = await Promise.all([
    client.range(keys.members, { prefix: true, serializable: true }),
    client.range(keys.online, { prefix: true, serializable: true }),
  ]);
  const records = new Map<string, OnlineRecord>();
  for (const kv of online.kvs) {
    try {
      records.set(kv.key.slice(keys.online.length), JSON.parse(kv.value) as OnlineRecord);
    } catch {
      // a foreign value under online/ is no registration
    }
  }
  return members.kvs
    .map((kv) => kv.key.slice(keys.members.length))
    .map((node) => ({ node, online: records.has(node), record: records.get(node) }));
}
