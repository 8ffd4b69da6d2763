/**
 * @module cluster/etcd-access
 * Users, tokens, ACLs and the ticket/CSRF keys of a cluster, shared by all nodes through etcd
 * (pmxcfs keeps them in /etc/pve/user.cfg and /etc/pve/priv/). The keys hold the same texts as
 * the single-node files: `<prefix>access/user.cfg`, `access/shadow.cfg`, `access/token.cfg`,
 * and `access/authkey.key` / `access/pve-www.key` (the 32-byte keys, base64). So a ticket
 * issued by one node is accepted by every other, and a user or token created anywhere works
 * everywhere. Reads: every snapshot asks etcd for the keys' revisions (one keys-only range,
 * shared by the calls of one request) and re-reads the texts only when one changed. Without
 * quorum the member's own copy answers (like pmxcfs's local copy), and when no member answers at
 * all the last snapshot keeps serving, so logins and tickets keep working while etcd recovers.
 * Writes are compare-and-swap on the revisions read, retried on conflict, and put every changed
 * text in one transaction: no lost update between nodes, never a token without its secret.
 * The keys are created once for the whole cluster by a "create if absent" transaction.
 */

import { randomBytes } from 'node:crypto';
import { CvmError, isCvmError } from '../errors.js';
import { parseShadow, parseTokenSecrets, serializeShadow, serializeTokenSecrets } from '../access/secrets.js';
import type { AccessDraft, AccessSnapshot, Keys } from '../access/state.js';
import type { AccessStore } from '../access/store.js';
import { parseUserConfig, serializeUserConfig } from '../access/user-cfg.js';
import type { EtcdClient, KeyValue, TxnOp } from './etcd-client.js';
import { clusterKeys } from './etcd-store.js';

/** The access keys of a cluster (one place for the store, init/join/leave, tests and docs). */
export function accessKeys(cluster: string) {
  const prefix = `${clusterKeys(cluster).prefix}access/`;
  return {
    prefix,
    userCfg: `${prefix}user.cfg`,
    shadowCfg: `${prefix}shadow.cfg`,
    tokenCfg: `${prefix}token.cfg`,
    authKey: `${prefix}authkey.key`,
    csrfKey: `${prefix}pve-www.key`,
  };
}

export type AccessKeys = ReturnType<typeof accessKeys>;

/** The texts of the access keys as read at one revision (mod_revision 0: absent). */
export interface AccessTexts {
  values: Map<string, string>;
  revisions: Map<string, number>;
}

const UPDATE_ATTEMPTS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** etcd could not answer (no quorum, no member): reads fall back to what is known. */
const unavailable = (err: unknown) => isCvmError(err) && (err.code === 'CLUSTER_NOT_QUORATE' || err.code === 'CLUSTER_UNREACHABLE');

/** A 32-byte key as stored (base64), checked. */
export function decodeKey(text: string, key: string): Buffer {
  const buf = Buffer.from(text, 'base64');
  if (buf.length < 32) throw new CvmError('IO', `unable to use '${key}' - key is missing or too short`);
  return buf;
}

/** Every access key's text and revision, linearizable (or the member's copy when `serializable`). */
export async function readAccessTexts(client: EtcdClient, keys: AccessKeys, serializable = false): Promise<AccessTexts> {
  const { kvs } = await client.range(keys.prefix, { prefix: true, serializable });
  return {
    values: new Map(kvs.map((kv) => [kv.key, kv.value])),
    revisions: new Map(kvs.map((kv) => [kv.key, kv.modRevision])),
  };
}

export class EtcdAccessStore implements AccessStore {
  readonly etcdKeys: AccessKeys;
  private cached: { version: string; snapshot: AccessSnapshot } | undefined;
  private cachedKeys: { version: string; keys: Keys } | undefined;
  /** The revisions check in flight (or just done): the calls of one request share one round trip. */
  private check: Promise<Map<string, number>> | undefined;
  private lastRevisions: Map<string, number> | undefined;
  /** etcd had no quorum at the last linearizable read: reads use the member's copy (see consistentRead). */
  private degraded = false;
  private probing = false;

  constructor(
    readonly client: EtcdClient,
    readonly cluster: string,
  ) {
    this.etcdKeys = accessKeys(cluster);
  }

  /** mod_revision of every access key; shared by the calls made until the next event-loop turn. */
  private revisions(): Promise<Map<string, number>> {
    if (this.check) return this.check;
    const check = this.readRevisions();
    this.check = check;
    const clear = () => setImmediate(() => {
      if (this.check === check) this.check = undefined;
    });
    check.then(clear, clear);
    return check;
  }

  /**
   * A read that is linearizable while etcd has quorum. When it cannot be (no quorum: etcd
   * answers only after its 5 s request timeout), the store turns degraded: reads use this
   * member's own copy at once, and one linearizable probe at a time runs in the background
   * until quorum is back. With no member reachable at all, `fallback` (the last known state)
   * answers if there is one.
   */
  private async consistentRead<T>(read: (serializable: boolean) => Promise<T>, fallback?: () => T | undefined): Promise<T> {
    const local = async () => {
      try {
        return await read(true);
      } catch (err) {
        const last = unavailable(err) ? fallback?.() : undefined;
        if (last === undefined) throw err;
        return last;
      }
    };
    if (this.degraded) {
      this.probe(() => read(false));
      return local();
    }
    try {
      return await read(false);
    } catch (err) {
      if (!unavailable(err)) throw err;
      this.degraded = true;
      return local();
    }
  }

  private probe(read: () => Promise<unknown>): void {
    if (this.probing) return;
    this.probing = true;
    read().then(
      () => {
        this.degraded = false;
        this.probing = false;
      },
      () => {
        this.probing = false;
      },
    );
  }

  private async readRevisions(): Promise<Map<string, number>> {
    const revisions = await this.consistentRead(
      async (serializable) => {
        const { kvs } = await this.client.range(this.etcdKeys.prefix, { prefix: true, keysOnly: true, serializable });
        return new Map(kvs.map((kv: KeyValue) => [kv.key, kv.modRevision]));
      },
      () => this.lastRevisions,
    );
    this.lastRevisions = revisions;
    return revisions;
  }

  private version(revisions: Map<string, number>, ...keys: string[]): string {
    return keys.map((k) => revisions.get(k) ?? 0).join('|');
  }

  async snapshot(): Promise<AccessSnapshot> {
    const { userCfg, tokenCfg } = this.etcdKeys;
    const version = this.version(await this.revisions(), userCfg, tokenCfg);
    if (this.cached?.version === version) return this.cached.snapshot;
    const texts = await this.readTexts();
    const snapshot = snapshotOf(texts.values, this.etcdKeys);
    this.cached = { version: this.version(texts.revisions, userCfg, tokenCfg), snapshot };
    return snapshot;
  }

  private readTexts(): Promise<AccessTexts> {
    return this.consistentRead((serializable) => readAccessTexts(this.client, this.etcdKeys, serializable));
  }

  async shadow(): Promise<Map<string, string>> {
    return parseShadow((await this.readTexts()).values.get(this.etcdKeys.shadowCfg) ?? '');
  }

  async keys(): Promise<Keys> {
    const { authKey, csrfKey } = this.etcdKeys;
    const version = this.version(await this.revisions(), authKey, csrfKey);
    if (this.cachedKeys?.version === version && !version.split('|').includes('0')) return this.cachedKeys.keys;
    // existing keys are read (so tickets keep working without quorum); only missing ones need the create transaction
    const { values, revisions } = version.split('|').includes('0') ? { values: new Map<string, string>(), revisions: new Map<string, number>() } : await this.readTexts();
    const existing = (key: string) => {
      const value = values.get(key);
      return value === undefined ? undefined : { key: decodeKey(value, key), revision: revisions.get(key) ?? 0 };
    };
    const [ticket, csrf] = await Promise.all([existing(authKey) ?? this.loadOrCreateKey(authKey), existing(csrfKey) ?? this.loadOrCreateKey(csrfKey)]);
    const keys = { ticket: ticket.key, csrf: csrf.key };
    this.cachedKeys = { version: `${ticket.revision}|${csrf.revision}`, keys };
    return keys;
  }

  /** The key's value, created (random) if absent: one transaction, so all nodes agree on one key. */
  private async loadOrCreateKey(key: string): Promise<{ key: Buffer; revision: number }> {
    const r = await this.client.txn(
      [{ key, target: 'create', result: 'equal', createRevision: 0 }],
      [{ put: { key, value: randomBytes(32).toString('base64') } }, { range: { key } }],
      [{ range: { key } }],
    );
    const kv = r.ranges[r.succeeded ? 1 : 0]?.[0];
    if (!kv) throw new CvmError('IO', `unable to read '${key}' from etcd`);
    return { key: decodeKey(kv.value, key), revision: kv.modRevision };
  }

  async update<T>(change: (draft: AccessDraft) => T | Promise<T>): Promise<T> {
    const k = this.etcdKeys;
    for (let attempt = 1; ; attempt++) {
      const texts = await readAccessTexts(this.client, k);
      const draft: AccessDraft = { ...snapshotOf(texts.values, k), shadow: parseShadow(texts.values.get(k.shadowCfg) ?? ''), changed: {} };
      const result = await change(draft);
      const puts: TxnOp[] = [];
      if (draft.changed.shadow) puts.push({ put: { key: k.shadowCfg, value: serializeShadow(draft.shadow) } });
      if (draft.changed.tokenSecrets) puts.push({ put: { key: k.tokenCfg, value: serializeTokenSecrets(draft.tokenSecrets) } });
      if (draft.changed.config) puts.push({ put: { key: k.userCfg, value: serializeUserConfig(draft.config) } });
      if (puts.length === 0) return result;
      // every text the change was based on must be unchanged: compare all three revisions
      const compare = [k.userCfg, k.shadowCfg, k.tokenCfg].map((key) => ({
        key,
        target: 'mod' as const,
        result: 'equal' as const,
        modRevision: texts.revisions.get(key) ?? 0,
      }));
      if ((await this.client.txn(compare, puts)).succeeded) {
        this.cached = undefined;
        this.check = undefined;
        return result;
      }
      if (attempt >= UPDATE_ATTEMPTS) {
        throw new CvmError('DIGEST_MISMATCH', 'unable to change the access configuration - it kept changing on other nodes; try again');
      }
      await sleep(Math.random() * 20 * attempt);
    }
  }
}

/** The snapshot of the texts read (user.cfg with PVE's defaults; absent texts are empty). */
export function snapshotOf(values: Map<string, string>, keys: AccessKeys): AccessSnapshot {
  const parsed = parseUserConfig(values.get(keys.userCfg) ?? '');
  return { config: parsed.config, warnings: parsed.warnings, tokenSecrets: parseTokenSecrets(values.get(keys.tokenCfg) ?? '') };
}
