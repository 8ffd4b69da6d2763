/**
 * @module cluster/etcd-store
 * VM configs in etcd, laid out like pmxcfs: `<prefix>nodes/<node>/qemu-server/<vmid>.conf` holds
 * the exact config text (so the digest is the SHA-1 of the text, as with files), and
 * `<prefix>vmids/<vmid>` names the node that owns the id, which makes ids unique across the
 * cluster: a create is one transaction that succeeds only if neither key exists yet. Every
 * change is a compare-and-swap on the config key's mod_revision, so a write based on a stale
 * read fails instead of losing someone's update, and a config is never half-written. The
 * per-VM lock is `<prefix>locks/qemu-server/<vmid>`, put under a lease that is kept alive
 * while held: a node that crashes loses its locks when the lease expires. Within one process
 * (and between processes on one root) the local file lock is taken first, so waiters queue
 * there instead of hammering etcd. Like pmxcfs's `/etc/pve/qemu-server`, this store sees the
 * VMs of its own node; `clusterVmids()` and `listAll()` see every node's.
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { CvmError } from '../errors.js';
import { parseVmConfig } from '../config/file/parse.js';
import { writeVmConfig } from '../config/file/write.js';
import type { VmConfig } from '../config/types.js';
import type { ConfigStore } from '../store/config-store.js';
import { CREATE_LOCK, DIGEST_MISMATCH_MESSAGE, FsConfigStore, type ListedVm, type StoreOptions, type StoredConfig, type UpdateOptions } from '../store/fs-store.js';
import { withFileLock } from '../util/fs.js';
import type { EtcdClient, KeyValue } from './etcd-client.js';

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
  };
}

export type ClusterKeys = ReturnType<typeof clusterKeys>;

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
    const { kvs } = await this.client.range(this.keys.nodeConfigDir(node), { prefix: true, serializable: true });
    return this.parseListing(kvs);
  }

  /** Every VM of every node, by ascending vmid. */
  async listAll(): Promise<(ListedVm & { node: string })[]> {
    const { kvs } = await this.client.range(this.keys.nodesPrefix, { prefix: true, serializable: true });
    return this.parseListing(kvs);
  }

  private parseListing(kvs: KeyValue[]): (ListedVm & { node: string })[] {
    const out: (ListedVm & { node: string })[] = [];
    const re = new RegExp(`^${this.keys.nodesPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^/]+)/qemu-server/(\\d+)\\.conf$`);
    for (const kv of kvs) {
      const m = re.exec(kv.key);
      if (!m) continue;
      const node = m[1] as string;
      const vmid = Number(m[2]);
      try {
        out.push({ vmid, node, config: this.parse(vmid, kv.value, node) });
      } catch (err) {
        this.warn?.(`unable to read config of VM ${vmid} - ${(err as Error).message}`);
      }
    }
    return out.sort((a, b) => a.vmid - b.vmid);
  }

  /** Every VM id in the cluster with the node that owns it. */
  async clusterVmids(): Promise<Map<number, string>> {
    const { kvs } = await this.client.range(this.keys.vmidsPrefix, { prefix: true });
    const out = new Map<number, string>();
    for (const kv of kvs) out.set(Number(kv.key.slice(this.keys.vmidsPrefix.length)), kv.value);
    return out;
  }

  withLock<T>(vmid: number, fn: () => Promise<T>): Promise<T> {
    return withFileLock(this.local.lockPath(vmid), () => this.withEtcdLock(vmid, fn), {
      timeoutMs: this.lockTimeoutMs,
      timeoutMessage: `can't lock file '${this.local.lockPath(vmid)}' - got timeout`,
    });
  }

  /** Hold `locks/qemu-server/<vmid>` under a kept-alive lease while `fn` runs. */
  private async withEtcdLock<T>(vmid: number, fn: () => Promise<T>): Promise<T> {
    const key = this.keys.lock(vmid);
    const held = heldEtcdLocks.getStore();
    if (held?.has(key)) return fn();
    const deadline = Date.now() + this.lockTimeoutMs;
    const lease = await this.client.leaseGrant(this.lockTtl);
    let acquired = false;
    try {
      let delay = 20;
      for (;;) {
        const r = await this.client.txn([{ key, target: 'create', result: 'equal', createRevision: 0 }], [{ put: { key, value: `${this.node}:${process.pid}`, lease } }], [{ range: { key } }]);
        if (r.succeeded) break;
        if (Date.now() >= deadline) {
          const holder = r.ranges[0]?.[0]?.value ?? 'unknown';
          throw new CvmError('VM_LOCKED', `can't lock VM ${vmid} in the cluster - got timeout (held by ${holder})`);
        }
        await sleep(delay);
        delay = Math.min(delay * 2, 250);
      }
      acquired = true;
      const keepAlive = setInterval(() => {
        this.client.leaseKeepAlive(lease).catch(() => undefined); // a missed refresh is retried; the TTL covers two misses
      }, Math.max(500, (this.lockTtl * 1000) / 3));
      keepAlive.unref();
      try {
        return await heldEtcdLocks.run(new Set([...(held ?? []), key]), fn);
      } finally {
        clearInterval(keepAlive);
      }
    } finally {
      // revoking deletes the lock key; if etcd is unreachable the lease simply expires
      await this.client.leaseRevoke(lease).catch(() => {
        if (acquired) this.warn?.(`unable to release cluster lock of VM ${vmid}; it expires in ${this.lockTtl} s`);
      });
    }
  }

  async create(vmid: number, conf: VmConfig | (() => VmConfig | Promise<VmConfig>), opts: { undo?: () => Promise<void> } = {}): Promise<VmConfig> {
    return this.withLock(vmid, async () => {
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
      return this.replace(vmid, built);
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
    return this.withLock(vmid, async () => {
      const kv = await this.readKv(vmid);
      const config = this.parse(vmid, kv.value);
      if (opts.digest && opts.digest !== config.digest) {
        throw new CvmError('DIGEST_MISMATCH', DIGEST_MISMATCH_MESSAGE, { details: { expected: opts.digest, actual: config.digest } });
      }
      return this.replace(vmid, await mutate(config), kv.modRevision);
    });
  }

  async destroy(vmid: number, guard?: (current: VmConfig) => void | Promise<void>): Promise<void> {
    await this.withLock(vmid, async () => {
      const kv = await this.readKv(vmid);
      if (guard) await guard(this.parse(vmid, kv.value));
      const configKey = this.keys.config(this.node, vmid);
      const r = await this.client.txn([{ key: configKey, target: 'mod', result: 'equal', modRevision: kv.modRevision }], [
        { delete: { key: configKey } },
        { delete: { key: this.keys.vmid(vmid) } },
      ]);
      if (!r.succeeded) throw new CvmError('DIGEST_MISMATCH', DIGEST_MISMATCH_MESSAGE);
    });
  }

  /**
   * Render (which validates everything), then swap the text in only if the key is still at the
   * revision read (`expectRevision`, else re-read here under the lock).
   */
  private async replace(vmid: number, conf: VmConfig, expectRevision?: number): Promise<VmConfig> {
    const text = writeVmConfig({ ...conf, vmid });
    const configKey = this.keys.config(this.node, vmid);
    const rev = expectRevision ?? (await this.readKv(vmid)).modRevision;
    const r = await this.client.txn([{ key: configKey, target: 'mod', result: 'equal', modRevision: rev }], [{ put: { key: configKey, value: text } }]);
    if (!r.succeeded) throw new CvmError('DIGEST_MISMATCH', DIGEST_MISMATCH_MESSAGE);
    return this.parse(vmid, text);
  }
}
