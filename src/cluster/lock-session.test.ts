/**
 * The session lease's bookkeeping (pure logic, against an in-memory stand-in for the few etcd
 * calls it makes; the real etcd behaviour is in test/cluster/watch-cache.test.ts): one grant
 * shared by concurrent and later locks, kept alive while used and left to expire when idle, a
 * failed release retried on the next tick, a lease found expired dropped and replaced.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EtcdClient } from './etcd-client.js';
import { LeaseSession } from './lock-session.js';

class FakeEtcd {
  grants = 0;
  keepAlives: string[] = [];
  alive = true;
  failTxns = 0;
  deleted: string[] = [];
  async leaseGrant(): Promise<string> {
    await Promise.resolve();
    return String(++this.grants);
  }
  async leaseKeepAlive(id: string): Promise<boolean> {
    this.keepAlives.push(id);
    return this.alive;
  }
  async txn(compare: { key: string }[]): Promise<{ succeeded: boolean }> {
    if (this.failTxns > 0) {
      this.failTxns--;
      throw new Error('cluster not reachable');
    }
    this.deleted.push(compare[0]?.key as string);
    return { succeeded: true };
  }
}

describe('LeaseSession', () => {
  let etcd: FakeEtcd;
  let warnings: string[];
  let session: LeaseSession;
  beforeEach(() => {
    vi.useFakeTimers();
    etcd = new FakeEtcd();
    warnings = [];
    session = new LeaseSession(etcd as unknown as EtcdClient, 15, (m) => warnings.push(m));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('grants one lease for concurrent and later locks, and keeps it alive every TTL/3 while used', async () => {
    const ids = await Promise.all([session.acquire(), session.acquire(), session.acquire()]);
    expect(ids).toEqual(['1', '1', '1']);
    expect(etcd.grants).toBe(1);
    session.done();
    session.done();
    expect(await session.acquire()).toBe('1');
    await vi.advanceTimersByTimeAsync(5000);
    expect(etcd.keepAlives).toEqual(['1']);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(etcd.keepAlives).toEqual(['1', '1', '1']);
    expect(etcd.grants).toBe(1);
  });

  it('stops refreshing an idle lease after a TTL and grants a new one on the next lock', async () => {
    await session.acquire();
    session.done();
    await vi.advanceTimersByTimeAsync(20_000); // ticks at 5, 10, 15 s: still within a TTL of the last use; 20 s: idle
    const refreshed = etcd.keepAlives.length;
    expect(refreshed).toBeGreaterThanOrEqual(2);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(etcd.keepAlives.length).toBe(refreshed); // no more refreshes: it expires by itself
    expect(await session.acquire()).toBe('2');
    expect(etcd.grants).toBe(2);
  });

  it('retries a release that could not reach etcd, and keeps the lease alive until it is done', async () => {
    await session.acquire();
    etcd.failTxns = 2;
    await session.release('/locks/100', 7);
    expect(etcd.deleted).toEqual([]);
    expect(warnings[0]).toMatch(/^unable to release cluster lock \/locks\/100 \(cluster not reachable\); retrying$/);
    session.done();
    await vi.advanceTimersByTimeAsync(5000); // fails again
    expect(etcd.deleted).toEqual([]);
    await vi.advanceTimersByTimeAsync(25_000); // idle for longer than the TTL, but a release is pending: not dropped
    expect(etcd.deleted).toEqual(['/locks/100']);
    expect(etcd.keepAlives.length).toBeGreaterThanOrEqual(2);
  });

  it('drops a lease etcd says has expired (warning when locks were held), and renews on demand', async () => {
    await session.acquire();
    etcd.alive = false;
    await vi.advanceTimersByTimeAsync(5000);
    expect(warnings).toEqual(['cluster lock lease expired while locks were held; they are lost']);
    etcd.alive = true;
    expect(await session.acquire()).toBe('2');
    expect(await session.renew('2')).toBe('3'); // "lease not found" from etcd: a fresh one
    expect(await session.renew('2')).toBe('3'); // a stale id does not throw the current one away
  });
});
