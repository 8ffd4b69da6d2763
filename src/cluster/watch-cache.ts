/**
 * @module cluster/watch-cache
 * A per-process copy of one etcd key prefix (the cluster's VM configs), kept current by an etcd
 * watch instead of re-reading the prefix per request: one serializable range at start, then a
 * watch from the next revision streams every change in revision order. `revision` is the
 * consistency token: the copy reflects every change up to it. A reader asks `snapshot()`, which
 * first waits (bounded) until the copy has caught up with this process's own writes under the
 * prefix (the client announces each committed write with its revision), so a config written
 * here is listed here at once; another node's write shows as soon as its event arrives. When
 * the copy cannot answer (not synced yet, watch broken and reconnecting, or lagging behind a
 * write of this process) `snapshot()` says so and the caller reads etcd directly: the cache
 * makes reads faster, never staler than a serializable read. A broken watch reconnects from
 * the next revision (to whichever member answers); if etcd compacted that revision away the
 * copy is re-read in full. A watch that hangs silently (a member frozen or cut off without a
 * reset) is caught by a watchdog: every few seconds it asks etcd (through the client's normal
 * failover) for the newest mod_revision under the prefix; if the copy has not reached what the
 * previous check saw, the watch is reconnected. The same happens when a reader gave up
 * waiting for this process's own write. Writes never use the copy: they re-read inside the lock and
 * compare-and-swap on the revision. Derived values (parsed configs) are memoized per key and
 * mod_revision, so each config is parsed once per change, not once per request.
 */

import type { IncomingMessage } from 'node:http';
import { EtcdClient, type KeyValue, prefixEnd, type WriteNotice } from './etcd-client.js';
import { LineSplitter, parseWatchLine, type WatchMessage } from './watch-stream.js';

export interface WatchCacheOptions {
  warn?: (msg: string) => void;
  /** How long `snapshot()` waits for this process's own writes to arrive before giving up (ms). */
  catchUpMs?: number;
  /** Longest wait between reconnect attempts of a broken watch (ms). */
  maxBackoffMs?: number;
  /** Interval of the watchdog that catches a silently hanging watch (ms). */
  watchdogMs?: number;
}

export class WatchCache {
  private readonly entries = new Map<string, KeyValue>();
  private readonly memos = new Map<string, { modRevision: number; value: unknown }>();
  /** Every change up to this revision is in `entries`. */
  revision = 0;
  /** Highest revision of a write of this process under the prefix (what readers must see). */
  private expected = 0;
  private live = false;
  private closed = false;
  private stream: { close: () => void } | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  /** The newest mod_revision under the prefix that the previous watchdog check saw. */
  private seenByWatchdog = 0;
  private backoff = 50;
  private readonly waiters = new Set<() => void>();
  private readonly unsubscribe: () => void;
  private readonly catchUpMs: number;
  private readonly maxBackoffMs: number;
  /** Full re-reads after the first (compaction, or a watch that could not resume): for tests and the bench. */
  resyncs = 0;

  constructor(
    readonly client: EtcdClient,
    readonly prefix: string,
    private readonly opts: WatchCacheOptions = {},
  ) {
    this.catchUpMs = opts.catchUpMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 2000;
    this.unsubscribe = EtcdClient.onWrite((n) => this.noteWrite(n));
  }

  /** First sync; resolves when the copy is live, or (etcd unreachable) once retrying is scheduled. */
  async start(): Promise<void> {
    await this.sync(false);
    this.watchdog = setInterval(() => void this.checkProgress(), this.opts.watchdogMs ?? 5000);
    this.watchdog.unref();
  }

  /** Reconnect a live watch that did not deliver what etcd already had at the previous check. */
  private async checkProgress(): Promise<void> {
    if (!this.live) return;
    const stuck = this.revision < this.seenByWatchdog;
    try {
      const { kvs } = await this.client.range(this.prefix, {
        prefix: true,
        serializable: true,
        keysOnly: true,
        limit: 1,
        newestFirst: true,
      });
      this.seenByWatchdog = kvs[0]?.modRevision ?? 0;
    } catch {
      return; // etcd unreachable: nothing to compare with; a broken connection shows by itself
    }
    if (stuck && this.live)
      this.retry(`watch stuck at revision ${this.revision} while etcd has changes up to ${this.seenByWatchdog}`, false);
  }

  close(): void {
    this.closed = true;
    this.live = false;
    this.unsubscribe();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    this.stream?.close();
    this.stream = undefined;
    this.wake();
  }

  /** True while the watch is connected and the copy is complete. */
  get isLive(): boolean {
    return this.live;
  }

  private noteWrite(n: WriteNotice): void {
    if (n.client.endpoints.join(',') !== this.client.endpoints.join(',')) return; // another etcd cluster
    const touches = n.keys.some((k) => k.key.startsWith(this.prefix) || (k.prefix && this.prefix.startsWith(k.key)));
    if (touches && n.revision > this.expected) this.expected = n.revision;
  }

  /**
   * The current copy (key -> key-value), after it caught up with this process's writes; undefined
   * when it cannot answer now (the caller reads etcd). Treat the map as read-only.
   */
  async snapshot(): Promise<ReadonlyMap<string, KeyValue> | undefined> {
    if (!this.live) return undefined;
    if (this.revision < this.expected) {
      const deadline = Date.now() + this.catchUpMs;
      while (this.live && this.revision < this.expected && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, Math.max(1, deadline - Date.now()));
          function done() {
            clearTimeout(timer);
            resolve();
          }
          this.waiters.add(done);
        });
      }
      if (!this.live) return undefined;
      if (this.revision < this.expected) {
        this.retry(`behind this node's own write (at ${this.revision}, wanted ${this.expected}); reading etcd directly meanwhile`, false);
        return undefined;
      }
    }
    return this.entries;
  }

  /** `compute(kv)` once per key and mod_revision (e.g. the parsed config). */
  memo<T>(kv: KeyValue, compute: (kv: KeyValue) => T): T {
    const hit = this.memos.get(kv.key);
    if (hit && hit.modRevision === kv.modRevision) return hit.value as T;
    const value = compute(kv);
    this.memos.set(kv.key, { modRevision: kv.modRevision, value });
    return value;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
    this.waiters.clear();
  }

  /** Read the whole prefix, then watch from the next revision. */
  private async sync(resync: boolean): Promise<void> {
    if (this.closed) return;
    this.live = false;
    try {
      const { kvs, revision } = await this.client.range(this.prefix, { prefix: true, serializable: true });
      if (this.closed) return;
      this.entries.clear();
      for (const kv of kvs) this.entries.set(kv.key, kv);
      for (const key of this.memos.keys()) if (!this.entries.has(key)) this.memos.delete(key);
      this.revision = revision;
      if (resync) this.resyncs++;
      await this.watchFrom(revision + 1);
    } catch (err) {
      this.retry(`unable to read ${this.prefix} - ${(err as Error).message}`, true);
    }
  }

  private retry(why: string, full: boolean): void {
    this.live = false;
    this.stream?.close();
    this.stream = undefined;
    this.wake();
    if (this.closed || this.retryTimer) return;
    this.opts.warn?.(`cluster cache: ${why}; retrying`);
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.maxBackoffMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void (full
        ? this.sync(true)
        : this.watchFrom(this.revision + 1).catch((err: Error) => this.retry(`watch failed - ${err.message}`, false)));
    }, delay);
    this.retryTimer.unref();
  }

  private async watchFrom(startRevision: number): Promise<void> {
    if (this.closed) return;
    const { response, close } = await this.client.stream('v3/watch', {
      create_request: {
        key: Buffer.from(this.prefix).toString('base64'),
        range_end: prefixEnd(this.prefix),
        start_revision: String(startRevision),
      },
    });
    if (this.closed) {
      close();
      return;
    }
    this.stream = { close };
    response.socket?.unref(); // the watch alone keeps no process alive
    this.read(response);
  }

  private read(response: IncomingMessage): void {
    const lines = new LineSplitter();
    let ended = false;
    const end = (why: string) => {
      if (ended) return;
      ended = true;
      if (this.stream && !this.closed) this.retry(why, false);
    };
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      for (const line of lines.push(chunk)) {
        if (ended) return;
        this.handle(parseWatchLine(line), end);
      }
    });
    response.on('end', () => end('watch closed by etcd'));
    response.on('error', (err) => end(`watch broken - ${err.message}`));
    response.on('close', () => end('watch connection closed'));
  }

  private handle(msg: WatchMessage, end: (why: string) => void): void {
    if (msg.kind === 'error') {
      end(msg.message);
      return;
    }
    if (msg.kind === 'compacted' || msg.kind === 'canceled') {
      this.stream?.close();
      this.stream = undefined;
      end('');
      // the revision to resume from is gone: only a full re-read can restore a complete copy
      if (msg.kind === 'compacted')
        this.retry(`watch start revision compacted (at ${msg.compactRevision}) - reading ${this.prefix} again`, true);
      else this.retry(`watch canceled - ${msg.reason}`, false);
      return;
    }
    if (msg.created) {
      this.live = true;
      this.backoff = 50;
    }
    let top = this.revision;
    for (const { type, kv } of msg.events) {
      if (kv.modRevision > top) top = kv.modRevision;
      if (type === 'delete') {
        this.entries.delete(kv.key);
        this.memos.delete(kv.key);
      } else this.entries.set(kv.key, kv);
    }
    // only the events' own revisions count: a catching-up watch sends long histories in batches
    // whose header already names the newest revision, so the header would claim too much
    if (top > this.revision) this.revision = top;
    if (this.waiters.size > 0) this.wake();
  }
}

/** The caches this process runs, by client and prefix (shared by every store on that client). */
const active = new Map<EtcdClient, Map<string, { cache: WatchCache; users: number }>>();

/** The running cache of `prefix` on `client`, if `serve` started one in this process. */
export function watchCacheFor(client: EtcdClient, prefix: string): WatchCache | undefined {
  return active.get(client)?.get(prefix)?.cache;
}

/** Start (or share) the cache of `prefix`; the returned `release` stops it with its last user. */
export async function startWatchCache(
  client: EtcdClient,
  prefix: string,
  opts: WatchCacheOptions = {},
): Promise<{ cache: WatchCache; release: () => void }> {
  let byPrefix = active.get(client);
  if (!byPrefix) {
    byPrefix = new Map();
    active.set(client, byPrefix);
  }
  let slot = byPrefix.get(prefix);
  if (!slot) {
    slot = { cache: new WatchCache(client, prefix, opts), users: 0 };
    byPrefix.set(prefix, slot);
    await slot.cache.start();
  }
  slot.users++;
  const owned = slot;
  let released = false;
  return {
    cache: owned.cache,
    release: () => {
      if (released) return;
      released = true;
      if (--owned.users > 0) return;
      owned.cache.close();
      byPrefix?.delete(prefix);
      if (byPrefix?.size === 0) active.delete(client);
    },
  };
}
