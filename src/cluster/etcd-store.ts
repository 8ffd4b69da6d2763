/**
 * @module cluster/etcd-store
 * VM configs in etcd, laid out like pmxcfs: `<prefix>nodes/<node>/qemu-server/<vmid>.conf` holds
 * the exact config text (so the digest is the SHA-1 of the text, as with files), and
 * `<prefix>vmids/<vmid>` names the node that owns the id, which makes ids unique across the
 * cluster: a create is one transaction that succeeds only if neither key exists yet. Every
 * change is a compare-and-swap on the config key's mod_revision, so a write based on a stale
 * read fails instead of losing someone's update, and a config is never half-written. The
 * per-VM lock is `<prefix>locks/qemu-server/<vmid>`, put under the process's session lease
 * (cluster/lock-session, kept alive while locks are held): a node that crashes loses its locks
 * when the lease expires. An update costs two round trips: the lock transaction also reads the
 * config (linearizably), and the compare-and-swap also releases the lock, committing only while
 * the lock is still ours. Listings come from the watch-fed copy when `serve` runs one
 * (cluster/watch-cache), else from one serializable range. Within one process
 * (and between processes on one root) the local file lock is taken first, so waiters queue
 * there instead of hammering etcd. Like pmxcfs's `/etc/pve/qemu-server`, this store sees the
 * VMs of its own node; `clusterVmids()` and `listAll()` see every node's.
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { CvmError } from '../errors.js';
import { parseVmConfig } from '../config/file/parse.js';
import { freezeConfig } from '../config/file/views.js';
import { writeVmConfig } from '../config/file/write.js';
import type { VmConfig } from '../config/types.js';
import type { ConfigStore } from '../store/config-store.js';
import { CREATE_LOCK, DIGEST_MISMATCH_MESSAGE, FsConfigStore, type ListedVm, type StoreOptions, type StoredConfig, type UpdateOptions } from '../store/fs-store.js';
import { withFileLock } from '../util/fs.js';
import { type Compare, type EtcdClient, type KeyValue, LeaseNotFound, type TxnOp, type TxnResult } from './etcd-client.js';
import { lockSession } from './lock-session.js';
import { watchCacheFor } from './watch-cache.js';

/** Lease TTL of a VM lock in seconds: how long a crashed node's lock outlives it. */
export const LOCK_TTL_SECONDS = 15;

export interface EtcdStoreOptions extends StoreOptions {
  /** The cluster name: keys live under `/cvmctl/<cluster>/`. */
  cluster: string;
  node: string;
  /** State root of this node (local lock files). */
  root: string;
  lockTtlSeconds?: number;
}

/** Keys of a cluster (one place, so tests, the bench and docs agree). */
export function clusterKeys(cluster: string) {
  const prefix = `/cvmctl/${cluster}/`;
  return {
    prefix,
    nodesPrefix: `${prefix}nodes/`,
    nodeConfigDir: (node: string) => `${prefix}nodes/${node}/qemu-server/`,
    config: (node: string, vmid: number) => `${prefix}nodes/${node}/qemu-server/${vmid}.conf`,
    vmidsPrefix: `${prefix}vmids/`,
    vmid: (vmid: number) => `${prefix}vmids/${vmid}`,
    lock: (vmid: number) => `${prefix}locks/qemu-server/${vmid}`,
    members: `${prefix}members/`,
    member: (node: string) => `${prefix}members/${node}`,
    online: `${prefix}online/`,
    onlineNode: (node: string) => `${prefix}online/${node}`,
    /** A node's recent tasks (JSON list), under its registration lease. */
    tasks: `${prefix}tasks/`,
    tasksNode: (node: string) => `${prefix}tasks/${node}`,
    /** Usage of a node's running VMs (JSON by vmid), under its registration lease. */
    usage: `${prefix}usage/`,
    usageNode: (node: string) => `${prefix}usage/${node}`,
  };
}

export type ClusterKeys = ReturnType<typeof clusterKeys>;

/** A cluster lock this process holds: its key and create revision (what its release compares). */
interface HeldLock {
  key: string;
  createRevision: number;
  /** Released already (by a write that folded the unlock in). */
  released: boolean;
}

/** What `withEtcdLock` acquired: the lock, and the config key read in the lock's transaction (null: absent; undefined: not read). */
interface Acquired {
  lock: HeldLock;
  config: KeyValue | null | undefined;
}

/** The etcd lock keys this async context holds (re-entrancy, like the file lock's). */
const heldEtcdLocks = new AsyncLocalStorage<Set<string>>();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class EtcdConfigStore implements ConfigStore {
  readonly keys: ClusterKeys;
  readonly node: string;
  private readonly local: FsConfigStore;
  private readonly warn: ((msg: string) => void) | undefined;
  private readonly lockTimeoutMs: number;
  private readonly lockTtl: number;
  /** `<prefix>nodes/<node>/qemu-server/<vmid>.conf` -> node, vmid. */
  private readonly configKeyRe: RegExp;

  constructor(
    readonly client: EtcdClient,
    opts: EtcdStoreOptions,
  ) {
    this.keys = clusterKeys(opts.cluster);
    this.node = opts.node;
    this.warn = opts.warn;
    this.lockTimeoutMs = opts.lockTimeoutMs ?? 10_000;
    this.lockTtl = opts.lockTtlSeconds ?? LOCK_TTL_SECONDS;
    this.local = new FsConfigStore(opts.root, { lockTimeoutMs: this.lockTimeoutMs });
    this.configKeyRe = new RegExp(`^${this.keys.nodesPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^/]+)/qemu-server/(\\d+)\\.conf$`);
  }

  configPath(vmid: number): string {
    return `nodes/${this.node}/qemu-server/${vmid}.conf`;
  }

  private notFound(vmid: number): CvmError {
    return new CvmError('VM_NOT_FOUND', `Configuration file '${this.configPath(vmid)}' does not exist`);
  }

  private parse(vmid: number, text: string, node = this.node): VmConfig {
    return parseVmConfig(`nodes/${node}/qemu-server/${vmid}.conf`, text, { strict: false, warn: this.warn });
  }

  /** Linearizable: what a change is based on must be the latest text (the CAS checks it anyway). */
  private async readKv(vmid: number): Promise<KeyValue> {
    const kv = await this.client.get(this.keys.config(this.node, vmid));
    if (!kv) throw this.notFound(vmid);
    return kv;
  }

  async exists(vmid: number): Promise<boolean> {
    return (await this.client.get(this.keys.config(this.node, vmid), { serializable: true })) !== undefined;
  }

  /** Serializable (the member's own copy): reading works without quorum, like pmxcfs's local copy. */
  async read(vmid: number): Promise<StoredConfig> {
    const kv = await this.client.get(this.keys.config(this.node, vmid), { serializable: true });
    if (!kv) throw this.notFound(vmid);
    return { raw: kv.value, config: this.parse(vmid, kv.value) };
  }

  async list(): Promise<ListedVm[]> {
    return (await this.listNode(this.node)).map(({ vmid, config }) => ({ vmid, config }));
  }

  /** The VMs of one node, by ascending vmid; unparsable configs are skipped with a warning. */
  async listNode(node: string): Promise<(ListedVm & { node: string })[]> {
    return this.listing(this.keys.nodeConfigDir(node));
  }

  /** Every VM of every node, by ascending vmid. */
  async listAll(): Promise<(ListedVm & { node: string })[]> {
    return this.listing(this.keys.nodesPrefix);
  }

  /**
   * The configs under `prefix`: from this process's watch-fed copy when `serve` runs one (each
   * config parsed once per change; the parsed configs are shared and frozen), else one
   * serializable range.
   */
  private async listing(prefix: string): Promise<(ListedVm & { node: string })[]> {
    const cache = watchCacheFor(this.client, this.keys.nodesPrefix);
    const copy = await cache?.snapshot();
    const out: (ListedVm & { node: string })[] = [];
    if (cache && copy) {
      for (const kv of copy.values()) {
        if (!kv.key.startsWith(prefix)) continue;
        const vm = cache.memo(kv, (x) => this.parseListed(x, true));
        if (vm instanceof Error) this.warn?.(vm.message);
        else if (vm) out.push(vm);
      }
    } else {
      const { kvs } = await this.client.range(prefix, { prefix: true, serializable: true });
      for (const kv of kvs) {
        const vm = this.parseListed(kv, false);
        if (vm instanceof Error) this.warn?.(vm.message);
        else if (vm) out.push(vm);
      }
    }
    return out.sort((a, b) => a.vmid - b.vmid);
  }

  /**
   * Parse every config of the watch-fed copy ahead of the first listing, a few hundred per
   * event-loop turn so requests arriving meanwhile are not held up (`serve` runs it at start).
   */
  async warmListing(batch = 250): Promise<number> {
    const cache = watchCacheFor(this.client, this.keys.nodesPrefix);
    const copy = await cache?.snapshot();
    if (!cache || !copy) return 0;
    let n = 0;
    for (const kv of [...copy.values()]) {
      cache.memo(kv, (x) => this.parseListed(x, true));
      if (++n % batch === 0) await new Promise((r) => setImmediate(r));
    }
    return n;
  }

  /** One listed config (undefined: not a config key; an Error: unparsable, to be warned about). */
  private parseListed(kv: KeyValue, freeze: boolean): (ListedVm & { node: string }) | Error | undefined {
    const m = this.configKeyRe.exec(kv.key);
    if (!m) return undefined;
    const node = m[1] as string;
    const vmid = Number(m[2]);
    try {
      const config = this.parseShared(vmid, kv.value, node, freeze);
      return freeze ? Object.freeze({ vmid, node, config }) : { vmid, node, config };
    } catch (err) {
      return new Error(`unable to read config of VM ${vmid} - ${(err as Error).message}`);
    }
  }

  /** Parse; a cached (shared) parse is frozen so no caller can change the copy other requests see. */
  private parseShared(vmid: number, text: string, node: string, freeze: boolean): VmConfig {
    const config = this.parse(vmid, text, node);
    return freeze ? freezeConfig(config) : config;
  }

  /** Every VM id in the cluster with the node that owns it. */
  async clusterVmids(): Promise<Map<number, string>> {
    const { kvs } = await this.client.range(this.keys.vmidsPrefix, { prefix: true });
    const out = new Map<number, string>();
    for (const kv of kvs) out.set(Number(kv.key.slice(this.keys.vmidsPrefix.length)), kv.value);
    return out;
  }

  /** The node owning `vmid` cluster-wide (linearizable), undefined when the id is free. */
  async vmidOwner(vmid: number): Promise<string | undefined> {
    return (await this.client.get(this.keys.vmid(vmid)))?.value;
  }

  /**
   * The first id in [from, to] no node uses, free at a linearizable read: with the watch-fed copy
   * the candidates skip every id it knows and each is confirmed by one read of `vmids/<id>` (an
   * id the copy has not seen yet is skipped then), instead of reading all of `vmids/`.
   */
  async firstFreeVmid(from: number, to: number): Promise<number | undefined> {
    const copy = await watchCacheFor(this.client, this.keys.nodesPrefix)?.snapshot();
    if (!copy) {
      const used = await this.clusterVmids();
      for (let id = from; id <= to; id++) if (!used.has(id)) return id;
      return undefined;
    }
    const known = new Set<number>();
    for (const key of copy.keys()) {
      const m = this.configKeyRe.exec(key);
      if (m) known.add(Number(m[2]));
    }
    for (let id = from; id <= to; id++) {
      if (!known.has(id) && (await this.vmidOwner(id)) === undefined) return id;
    }
    return undefined;
  }

  withLock<T>(vmid: number, fn: () => Promise<T>): Promise<T> {
    return this.locked(vmid, () => fn());
  }

  /**
   * The local file lock, then the cluster lock. `fn` gets what this call acquired (undefined when
   * the lock was already held by this async context): the lock, and with `readConfig` the config
   * key as it was when the lock was taken (read in the lock's own transaction: no extra round trip).
   */
  private locked<T>(vmid: number, fn: (acquired: Acquired | undefined) => Promise<T>, readConfig = false): Promise<T> {
    return withFileLock(this.local.lockPath(vmid), () => this.withEtcdLock(vmid, fn, readConfig), {
      timeoutMs: this.lockTimeoutMs,
      timeoutMessage: `can't lock file '${this.local.lockPath(vmid)}' - got timeout`,
    });
  }

  /** Hold `locks/qemu-server/<vmid>` under this process's session lease while `fn` runs. */
  private async withEtcdLock<T>(vmid: number, fn: (acquired: Acquired | undefined) => Promise<T>, readConfig: boolean): Promise<T> {
    const key = this.keys.lock(vmid);
    const held = heldEtcdLocks.getStore();
    if (held?.has(key)) return fn(undefined);
    const deadline = Date.now() + this.lockTimeoutMs;
    const session = lockSession(this.client, this.lockTtl, this.warn);
    let lease = await session.acquire();
    try {
      let delay = 20;
      let renewed = false;
      let r: TxnResult;
      for (;;) {
        try {
          r = await this.client.txn(
            [{ key, target: 'create', result: 'equal', createRevision: 0 }],
            [{ put: { key, value: `${this.node}:${process.pid}`, lease } }, ...(readConfig ? [{ range: { key: this.keys.config(this.node, vmid) } }] : [])],
            [{ range: { key } }],
          );
        } catch (err) {
          // the session lease expired (the process stalled longer than its TTL): once, with a fresh one
          if (!(err instanceof LeaseNotFound) || renewed) throw err;
          renewed = true;
          lease = await session.renew(lease);
          continue;
        }
        if (r.succeeded) break;
        if (Date.now() >= deadline) {
          const holder = r.ranges[0]?.[0]?.value ?? 'unknown';
          throw new CvmError('VM_LOCKED', `can't lock VM ${vmid} in the cluster - got timeout (held by ${holder})`);
        }
        await sleep(delay);
        delay = Math.min(delay * 2, 250);
      }
      // a write txn's header revision is the revision it made: the lock key's create revision
      const lock: HeldLock = { key, createRevision: r.revision, released: false };
      try {
        return await heldEtcdLocks.run(new Set([...(held ?? []), key]), () => fn({ lock, config: readConfig ? (r.ranges[1]?.[0] ?? null) : undefined }));
      } finally {
        // unless the final write released it in its own transaction; if etcd is unreachable the session retries
        if (!lock.released) await session.release(key, lock.createRevision);
      }
    } finally {
      session.done();
    }
  }

  /**
   * Compare and ops that make a write also release `lock` (when this call acquired it): the write
   * commits only while the lock is still ours, and the unlock costs no extra round trip.
   */
  private foldUnlock(lock: HeldLock | undefined): { compare: Compare[]; ops: TxnOp[]; failure: TxnOp[] } {
    if (!lock) return { compare: [], ops: [], failure: [] };
    return {
      compare: [{ key: lock.key, target: 'create', result: 'equal', createRevision: lock.createRevision }],
      ops: [{ delete: { key: lock.key } }],
      failure: [{ range: { key: lock.key } }],
    };
  }

  /** A failed write with a folded unlock: the lock lost (lease expired) or the config changed. */
  private writeRefused(vmid: number, lock: HeldLock | undefined, r: TxnResult): CvmError {
    if (lock && r.ranges[0]?.[0]?.createRevision !== lock.createRevision) {
      lock.released = true; // not ours any more: nothing to release
      return new CvmError('VM_LOCKED', `lost the cluster lock of VM ${vmid} (its lease expired) - nothing written`);
    }
    return new CvmError('DIGEST_MISMATCH', DIGEST_MISMATCH_MESSAGE);
  }

  async create(vmid: number, conf: VmConfig | (() => VmConfig | Promise<VmConfig>), opts: { undo?: () => Promise<void> } = {}): Promise<VmConfig> {
    return this.locked(vmid, async (acquired) => {
      const first = typeof conf === 'function' ? { vmid, digest: '', conf: { lock: CREATE_LOCK }, pending: {}, special: {}, snapshots: {} } : conf;
      const text = writeVmConfig({ ...first, vmid });
      await this.reserve(vmid, text);
      if (typeof conf !== 'function') return this.parse(vmid, text);
      let built: VmConfig;
      try {
        built = await conf();
      } catch (err) {
        await opts.undo?.();
        await this.client
          .txn([{ key: this.keys.config(this.node, vmid), target: 'value', result: 'equal', value: text }], [
            { delete: { key: this.keys.config(this.node, vmid) } },
            { delete: { key: this.keys.vmid(vmid) } },
          ])
          .catch(() => undefined);
        throw err;
      }
      return this.replace(vmid, built, undefined, acquired?.lock);
    });
  }

  /** Claim the id cluster-wide and write the first text, in one transaction. */
  private async reserve(vmid: number, text: string): Promise<void> {
    const configKey = this.keys.config(this.node, vmid);
    const idKey = this.keys.vmid(vmid);
    const r = await this.client.txn(
      [
        { key: idKey, target: 'create', result: 'equal', createRevision: 0 },
        { key: configKey, target: 'create', result: 'equal', createRevision: 0 },
      ],
      [{ put: { key: idKey, value: this.node } }, { put: { key: configKey, value: text } }],
      [{ range: { key: idKey } }],
    );
    if (r.succeeded) return;
    const owner = r.ranges[0]?.[0]?.value;
    if (owner && owner !== this.node) throw new CvmError('VM_EXISTS', `unable to create VM ${vmid}: VM ${vmid} already exists on node '${owner}'`);
    throw new CvmError('VM_EXISTS', `unable to create VM ${vmid}: config file already exists`);
  }

  async update(vmid: number, mutate: (current: VmConfig) => VmConfig | Promise<VmConfig>, opts: UpdateOptions = {}): Promise<VmConfig> {
    return this.locked(
      vmid,
      async (acquired) => {
        const kv = await this.lockedRead(vmid, acquired);
        const config = this.parse(vmid, kv.value);
        if (opts.digest && opts.digest !== config.digest) {
          throw new CvmError('DIGEST_MISMATCH', DIGEST_MISMATCH_MESSAGE, { details: { expected: opts.digest, actual: config.digest } });
        }
        return this.replace(vmid, await mutate(config), kv.modRevision, acquired?.lock);
      },
      true,
    );
  }

  async destroy(vmid: number, guard?: (current: VmConfig) => void | Promise<void>): Promise<void> {
    await this.locked(
      vmid,
      async (acquired) => {
        const kv = await this.lockedRead(vmid, acquired);
        if (guard) await guard(this.parse(vmid, kv.value));
        const configKey = this.keys.config(this.node, vmid);
        const unlock = this.foldUnlock(acquired?.lock);
        const r = await this.client.txn(
          [{ key: configKey, target: 'mod', result: 'equal', modRevision: kv.modRevision }, ...unlock.compare],
          [{ delete: { key: configKey } }, { delete: { key: this.keys.vmid(vmid) } }, ...unlock.ops],
          unlock.failure,
        );
        if (!r.succeeded) throw this.writeRefused(vmid, acquired?.lock, r);
        if (acquired) acquired.lock.released = true;
      },
      true,
    );
  }

  /** The config as the lock transaction read it, or (lock already held here) a linearizable read now. */
  private async lockedRead(vmid: number, acquired: Acquired | undefined): Promise<KeyValue> {
    if (acquired?.config === undefined) return this.readKv(vmid);
    if (acquired.config === null) throw this.notFound(vmid);
    return acquired.config;
  }

  /**
   * Render (which validates everything), then swap the text in only if the key is still at the
   * revision read (`expectRevision`, else re-read here under the lock); with `lock` (acquired by
   * the caller's own call) the same transaction releases it.
   */
  private async replace(vmid: number, conf: VmConfig, expectRevision?: number, lock?: HeldLock): Promise<VmConfig> {
    const text = writeVmConfig({ ...conf, vmid });
    const configKey = this.keys.config(this.node, vmid);
    const rev = expectRevision ?? (await this.readKv(vmid)).modRevision;
    const unlock = this.foldUnlock(lock);
    const r = await this.client.txn(
      [{ key: configKey, target: 'mod', result: 'equal', modRevision: rev }, ...unlock.compare],
      [{ put: { key: configKey, value: text } }, ...unlock.ops],
      unlock.failure,
    );
    if (!r.succeeded) throw this.writeRefused(vmid, lock, r);
    if (lock) lock.released = true;
    return this.parse(vmid, text);
  }
}
