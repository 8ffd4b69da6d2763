/**
 * @module cluster/lock-session
 * One etcd lease per client and process for all of its VM locks (etcd's own "session"
 * pattern), instead of a lease granted and revoked per lock: a lease grant and a revoke are two
 * raft commits each config write paid. The lease is granted on first use, kept alive every
 * TTL/3 while locks are held (and shortly after), and left to expire when the process has been
 * idle for a TTL or dies: a crashed node's locks still vanish within the TTL. Locks are
 * released by a compare-and-delete on the lock key's create revision (never someone else's
 * lock); a release that cannot reach etcd is retried on the keep-alive tick, and while it is
 * pending the lease is kept alive (so the lock stays ours until we really drop it).
 * When etcd answers "lease not found" (expired while the process stalled) the caller asks for
 * a fresh lease with `renew()`.
 */

import type { EtcdClient } from './etcd-client.js';

export class LeaseSession {
  private lease: string | undefined;
  private granting: Promise<string> | undefined;
  private users = 0;
  private lastUse = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Lock keys (with their create revision) whose release did not reach etcd yet. */
  private readonly pendingReleases = new Map<string, number>();

  constructor(
    private readonly client: EtcdClient,
    readonly ttlSeconds: number,
    private readonly warn?: (msg: string) => void,
  ) {}

  /** The session lease, for one lock; pair every call with `done()`. */
  async acquire(): Promise<string> {
    this.users++; // counted before any await: the keep-alive tick must not drop a lease being handed out
    this.lastUse = Date.now();
    try {
      return await this.current();
    } catch (err) {
      this.users--;
      throw err;
    }
  }

  done(): void {
    this.users--;
    this.lastUse = Date.now();
  }

  /** The lease `id` is gone (etcd said so): the next `current()` grants a new one. */
  renew(id: string): Promise<string> {
    if (this.lease === id) this.lease = undefined;
    return this.current();
  }

  private current(): Promise<string> {
    if (this.lease !== undefined) return Promise.resolve(this.lease);
    if (!this.granting) {
      this.granting = this.client
        .leaseGrant(this.ttlSeconds)
        .then((id) => {
          this.lease = id;
          this.startKeepAlive();
          return id;
        })
        .finally(() => {
          this.granting = undefined;
        });
    }
    return this.granting;
  }

  /** Delete the lock key if it is still the one we created; retried later if etcd cannot be reached. */
  async release(key: string, createRevision: number): Promise<void> {
    try {
      await this.client.txn([{ key, target: 'create', result: 'equal', createRevision }], [{ delete: { key } }]);
      this.pendingReleases.delete(key);
    } catch (err) {
      this.pendingReleases.set(key, createRevision);
      this.warn?.(`unable to release cluster lock ${key} (${(err as Error).message}); retrying`);
    }
  }

  private startKeepAlive(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), Math.max(500, (this.ttlSeconds * 1000) / 3));
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const id = this.lease;
    if (id === undefined) return;
    for (const [key, rev] of [...this.pendingReleases]) await this.release(key, rev);
    const idle = this.users === 0 && this.pendingReleases.size === 0 && Date.now() - this.lastUse > this.ttlSeconds * 1000;
    if (idle) {
      // nothing held: stop refreshing and let the lease expire on its own (no keys are under it)
      this.lease = undefined;
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    const alive = await this.client.leaseKeepAlive(id).catch(() => true); // a missed refresh is retried; the TTL covers two misses
    if (!alive && this.lease === id) {
      this.lease = undefined;
      if (this.users > 0) this.warn?.('cluster lock lease expired while locks were held; they are lost');
    }
  }
}

const sessions = new WeakMap<EtcdClient, Map<number, LeaseSession>>();

/** The lock session of `client` for leases of `ttlSeconds` (one per process). */
export function lockSession(client: EtcdClient, ttlSeconds: number, warn?: (msg: string) => void): LeaseSession {
  let byTtl = sessions.get(client);
  if (!byTtl) {
    byTtl = new Map();
    sessions.set(client, byTtl);
  }
  let s = byTtl.get(ttlSeconds);
  if (!s) {
    s = new LeaseSession(client, ttlSeconds, warn);
    byTtl.set(ttlSeconds, s);
  }
  return s;
}
