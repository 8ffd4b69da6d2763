/**
 * @module cluster/etcd-client
 * A small etcd v3 client over etcd's JSON gateway (`POST /v3/kv/range`, `/v3/kv/txn`,
 * `/v3/lease/*`, `/v3/maintenance/status`, `/v3/cluster/member/list`) with node:http(s): no
 * dependency and nothing to load at start-up (etcd3 would cost ~340 ms of imports). Keys and
 * values travel base64-encoded, int64s as strings; this module turns them into strings and
 * numbers. Endpoints are tried in turn when one cannot be reached, so losing a member costs
 * one failed connect. etcd's "no leader" / "request timed out" answers (no quorum) become
 * CLUSTER_NOT_QUORATE with one line; no reachable member at all becomes CLUSTER_UNREACHABLE.
 * TLS endpoints (https://) use the CA and client certificate given in the options.
 * Connections are kept alive (one agent per client): a request costs no TCP/TLS handshake.
 * Every committed write is announced to `EtcdClient.onWrite` listeners with its revision, so
 * a watch-fed cache in this process can wait until it has seen this process's own writes.
 * `stream()` opens a long-lived streaming POST (the watch).
 */

import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { CvmError } from '../errors.js';

export interface EtcdTls {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface EtcdClientOptions {
  /** Per-request timeout in ms (default 5 s: longer than etcd's own proposal timeout on a fast cluster). */
  timeoutMs?: number;
  tls?: EtcdTls;
}

export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  lease: string | undefined;
}

/** One comparison of a transaction (etcd's Compare, with our names). */
export type Compare =
  | { key: string; target: 'create'; result: 'equal' | 'greater' | 'less'; createRevision: number }
  | { key: string; target: 'mod'; result: 'equal' | 'greater' | 'less'; modRevision: number }
  | { key: string; target: 'value'; result: 'equal'; value: string };

export type TxnOp =
  | { put: { key: string; value: string; lease?: string } }
  | { delete: { key: string; prefix?: boolean } }
  | { range: { key: string; prefix?: boolean } };

/** A committed write: the keys (or key prefixes) it changed and the revision it made. */
export interface WriteNotice {
  client: EtcdClient;
  keys: { key: string; prefix: boolean }[];
  revision: number;
}

export interface TxnResult {
  succeeded: boolean;
  revision: number;
  /** The key-values of each `range` op, in op order (empty arrays for put/delete). */
  ranges: KeyValue[][];
}

interface RawKv {
  key: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  lease?: string;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined) => (s === undefined ? '' : Buffer.from(s, 'base64').toString('utf8'));

/** The key just past every key that starts with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if ((bytes[i] as number) < 0xff) {
      const end = bytes.subarray(0, i + 1);
      end[i] = (end[i] as number) + 1;
      return end.toString('base64');
    }
  }
  return b64('\0');
}

/** The revision in an answer's header (etcd sends int64s as strings). */
function headerRevision(json: Record<string, unknown>): number {
  return Number((json.header as { revision?: string } | undefined)?.revision ?? 0);
}

const endpointUrl = (endpoint: string, path: string) => new URL(path, endpoint.endsWith('/') ? endpoint : `${endpoint}/`);

/** A request named a lease that no longer exists (expired or revoked): the caller grants a new one. */
export class LeaseNotFound extends Error {}

function toKv(raw: RawKv): KeyValue {
  return {
    key: unb64(raw.key),
    value: unb64(raw.value),
    createRevision: Number(raw.create_revision ?? 0),
    modRevision: Number(raw.mod_revision ?? 0),
    lease: raw.lease && raw.lease !== '0' ? raw.lease : undefined,
  };
}

function compareJson(c: Compare): Record<string, unknown> {
  const base = { key: b64(c.key), result: c.result.toUpperCase() };
  if (c.target === 'create') return { ...base, target: 'CREATE', create_revision: String(c.createRevision) };
  if (c.target === 'mod') return { ...base, target: 'MOD', mod_revision: String(c.modRevision) };
  return { ...base, target: 'VALUE', value: b64(c.value) };
}

function opJson(op: TxnOp): Record<string, unknown> {
  if ('put' in op) return { request_put: { key: b64(op.put.key), value: b64(op.put.value), ...(op.put.lease ? { lease: op.put.lease } : {}) } };
  if ('delete' in op) return { request_delete_range: { key: b64(op.delete.key), ...(op.delete.prefix ? { range_end: prefixEnd(op.delete.key) } : {}) } };
  return { request_range: { key: b64(op.range.key), ...(op.range.prefix ? { range_end: prefixEnd(op.range.key) } : {}) } };
}

/** etcd's answers that mean "no quorum right now" (raft cannot commit). */
const NOT_QUORATE = /no leader|request timed out|leader changed|not capable|too many requests|timed out/i;

/** etcd's answer to a request naming a lease that has expired or was revoked. */
const LEASE_NOT_FOUND = /requested lease not found/i;

class Unreachable extends Error {}

/** Keep-alive sockets: 8 per endpoint is plenty for one process (writes are serialized by locks). */
const AGENT_OPTIONS = { keepAlive: true, maxSockets: 8, maxFreeSockets: 8 };

const writeListeners = new Set<(notice: WriteNotice) => void>();

/** OpenSSL's alert texts for a refused client certificate (TLS 1.2 and 1.3 name it differently). */
const CLIENT_CERT_REFUSED = /alert (bad certificate|certificate required|unknown ca|certificate unknown)/i;

/**
 * One readable line for a transport failure: a TLS handshake refused by etcd, or an etcd server
 * certificate we do not trust, names the option to fix instead of OpenSSL's internal error dump.
 */
export function transportMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const msg = e?.message ?? String(err);
  const alert = CLIENT_CERT_REFUSED.exec(msg);
  if (alert) return `TLS handshake refused by etcd (${alert[1]}): it wants a client certificate signed by its CA - check --etcd-cert/--etcd-key`;
  const code = e?.code ?? '';
  if (/CERT|SELF_SIGNED|VERIFY|ALTNAME/.test(code)) return `etcd's server certificate is not trusted (${msg}) - check --etcd-ca`;
  return msg;
}

export class EtcdClient {
  private readonly timeoutMs: number;
  /** Index of the endpoint that answered last: tried first next time. */
  private preferred = 0;
  private readonly httpAgent = new HttpAgent(AGENT_OPTIONS);
  private readonly httpsAgent: HttpsAgent;

  /** Listen to every committed write of every client of this process; returns the unsubscribe. */
  static onWrite(listener: (notice: WriteNotice) => void): () => void {
    writeListeners.add(listener);
    return () => writeListeners.delete(listener);
  }

  private announce(keys: { key: string; prefix: boolean }[], revision: number): void {
    if (keys.length === 0 || writeListeners.size === 0) return;
    for (const l of writeListeners) l({ client: this, keys, revision });
  }

  constructor(
    readonly endpoints: string[],
    private readonly opts: EtcdClientOptions = {},
  ) {
    if (endpoints.length === 0) throw new CvmError('PARAM_INVALID', 'etcd: invalid value \'\' - no endpoint (allowed: URL[,URL...])');
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.httpsAgent = new HttpsAgent({ ...AGENT_OPTIONS, ca: opts.tls?.ca, cert: opts.tls?.cert, key: opts.tls?.key });
  }

  private requestOptions(url: URL, extra: Record<string, unknown>) {
    const https = url.protocol === 'https:';
    return { doRequest: https ? httpsRequest : httpRequest, options: { ...extra, agent: https ? this.httpsAgent : this.httpAgent } };
  }

  /** POST one JSON request to one endpoint. */
  private postTo(endpoint: string, path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const url = endpointUrl(endpoint, path);
    const data = JSON.stringify(body);
    const { doRequest, options } = this.requestOptions(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      timeout: this.timeoutMs,
    });
    return new Promise((resolve, reject) => {
      const req = doRequest(
        url,
        options,
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
            } catch {
              reject(new Error(`etcd ${endpoint}: not JSON: ${text.slice(0, 200)}`));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.on('error', (err: NodeJS.ErrnoException) => {
        // a member that is down or unreachable: try the next one; a timeout on an accepted request may be lost quorum
        if (err.code === 'ECONNREFUSED' || err.code === 'EHOSTUNREACH' || err.code === 'ECONNRESET' || err.code === 'ENOTFOUND') {
          reject(new Unreachable(`${endpoint}: ${err.code}`));
        } else reject(err);
      });
      req.end(data);
    });
  }

  /** Every endpoint with its index, the preferred one first (read once: concurrent requests move it). */
  private failoverOrder(): { i: number; endpoint: string }[] {
    const first = this.preferred;
    const n = this.endpoints.length;
    return this.endpoints.map((_, k) => ({ i: (first + k) % n, endpoint: this.endpoints[(first + k) % n] as string }));
  }

  /** POST to the preferred endpoint, failing over to the others when one cannot be reached. */
  private async post(path: string, body: unknown): Promise<Record<string, unknown>> {
    const problems: string[] = [];
    for (const { i, endpoint } of this.failoverOrder()) {
      let answer: { status: number; json: Record<string, unknown> };
      try {
        answer = await this.postTo(endpoint, path, body);
      } catch (err) {
        if (err instanceof Unreachable) {
          problems.push(err.message);
          continue;
        }
        const msg = transportMessage(err);
        if (NOT_QUORATE.test(msg)) {
          problems.push(`${endpoint}: ${msg}`);
          continue;
        }
        throw new CvmError('CLUSTER_UNREACHABLE', `etcd ${endpoint}: ${msg}`, { cause: err });
      }
      if (answer.status >= 200 && answer.status < 300) {
        this.preferred = i;
        return answer.json;
      }
      const msg = String(answer.json.error ?? answer.json.message ?? `HTTP ${answer.status}`);
      if (LEASE_NOT_FOUND.test(msg)) throw new LeaseNotFound(msg);
      if (NOT_QUORATE.test(msg)) {
        problems.push(`${endpoint}: ${msg}`);
        continue;
      }
      throw new CvmError('CLUSTER_UNREACHABLE', `etcd ${endpoint}: ${msg}`);
    }
    if (problems.some((p) => NOT_QUORATE.test(p))) {
      throw new CvmError('CLUSTER_NOT_QUORATE', `cluster not quorate - etcd cannot commit (${problems.join('; ')})`);
    }
    throw new CvmError('CLUSTER_UNREACHABLE', `cluster not reachable - no etcd member answers (${problems.join('; ')})`);
  }

  /**
   * Keys equal to `key` (or starting with it when `prefix`); `serializable` reads the member's local copy (works without quorum);
   * `newestFirst` sorts by mod_revision, highest first (with `limit: 1`: the latest change under a prefix).
   */
  async range(
    key: string,
    opts: { prefix?: boolean; serializable?: boolean; keysOnly?: boolean; limit?: number; newestFirst?: boolean } = {},
  ): Promise<{ kvs: KeyValue[]; revision: number }> {
    const json = await this.post('v3/kv/range', {
      key: b64(key),
      ...(opts.prefix ? { range_end: prefixEnd(key) } : {}),
      ...(opts.serializable ? { serializable: true } : {}),
      ...(opts.keysOnly ? { keys_only: true } : {}),
      ...(opts.limit ? { limit: String(opts.limit) } : {}),
      ...(opts.newestFirst ? { sort_target: 'MOD', sort_order: 'DESCEND' } : {}),
    });
    const header = json.header as { revision?: string } | undefined;
    return { kvs: ((json.kvs as RawKv[] | undefined) ?? []).map(toKv), revision: Number(header?.revision ?? 0) };
  }

  async get(key: string, opts: { serializable?: boolean } = {}): Promise<KeyValue | undefined> {
    return (await this.range(key, opts)).kvs[0];
  }

  async put(key: string, value: string, lease?: string): Promise<void> {
    const json = await this.post('v3/kv/put', { key: b64(key), value: b64(value), ...(lease ? { lease } : {}) });
    this.announce([{ key, prefix: false }], headerRevision(json));
  }

  async delete(key: string, opts: { prefix?: boolean } = {}): Promise<number> {
    const json = await this.post('v3/kv/deleterange', { key: b64(key), ...(opts.prefix ? { range_end: prefixEnd(key) } : {}) });
    const deleted = Number(json.deleted ?? 0);
    if (deleted > 0) this.announce([{ key, prefix: opts.prefix === true }], headerRevision(json));
    return deleted;
  }

  /** One atomic transaction: if every `compare` holds, `success` runs, else `failure`. */
  async txn(compare: Compare[], success: TxnOp[], failure: TxnOp[] = []): Promise<TxnResult> {
    const json = await this.post('v3/kv/txn', {
      compare: compare.map(compareJson),
      success: success.map(opJson),
      failure: failure.map(opJson),
    });
    const responses = (json.responses as Record<string, { kvs?: RawKv[]; deleted?: string }>[] | undefined) ?? [];
    const succeeded = json.succeeded === true;
    const revision = headerRevision(json);
    // what the executed branch changed: every put, and the deletes that removed something
    const written: { key: string; prefix: boolean }[] = [];
    (succeeded ? success : failure).forEach((op, i) => {
      if ('put' in op) written.push({ key: op.put.key, prefix: false });
      else if ('delete' in op && Number(responses[i]?.response_delete_range?.deleted ?? 0) > 0) written.push({ key: op.delete.key, prefix: op.delete.prefix === true });
    });
    this.announce(written, revision);
    return { succeeded, revision, ranges: responses.map((r) => (r.response_range?.kvs ?? []).map(toKv)) };
  }

  /** A new lease of `ttlSeconds`; its id as etcd's decimal string. */
  async leaseGrant(ttlSeconds: number): Promise<string> {
    const json = await this.post('v3/lease/grant', { TTL: String(ttlSeconds) });
    return String(json.ID);
  }

  /** Refresh a lease; false when it has already expired (keys under it are gone). */
  async leaseKeepAlive(id: string): Promise<boolean> {
    const json = await this.post('v3/lease/keepalive', { ID: id });
    const result = json.result as { TTL?: string } | undefined;
    return Number(result?.TTL ?? 0) > 0;
  }

  async leaseRevoke(id: string): Promise<void> {
    await this.post('v3/lease/revoke', { ID: id });
  }

  /**
   * A long-lived streaming POST (etcd's `/v3/watch`): the first endpoint that accepts it, in the
   * usual order. The caller reads newline-delimited JSON from `response` and calls `close()`.
   */
  async stream(path: string, body: unknown): Promise<{ endpoint: string; response: IncomingMessage; close: () => void }> {
    const problems: string[] = [];
    for (const { endpoint } of this.failoverOrder()) {
      const url = endpointUrl(endpoint, path);
      const data = JSON.stringify(body);
      // a stream of its own (no pooled socket): it lives as long as the watch
      const { doRequest, options } = this.requestOptions(url, { method: 'POST', headers: { 'content-type': 'application/json' } });
      try {
        const opened = await new Promise<{ response: IncomingMessage; close: () => void }>((resolve, reject) => {
          const req = doRequest(url, { ...options, agent: false, ...(url.protocol === 'https:' ? this.opts.tls : {}) }, (res) => {
            if (res.statusCode !== 200) {
              res.resume();
              reject(new Error(`HTTP ${res.statusCode}`));
              return;
            }
            resolve({ response: res, close: () => req.destroy() });
          });
          req.setTimeout(this.timeoutMs, () => req.destroy(new Error('request timed out'))); // until the answer starts
          req.on('response', () => req.setTimeout(0));
          req.on('error', reject);
          req.end(data);
        });
        return { endpoint, ...opened };
      } catch (err) {
        problems.push(`${endpoint}: ${transportMessage(err)}`);
      }
    }
    throw new CvmError('CLUSTER_UNREACHABLE', `cluster not reachable - no etcd member answers (${problems.join('; ')})`);
  }

  /** Status of one member (its leader, raft term, db size), or an error text when it does not answer. */
  async memberStatus(endpoint: string): Promise<{ ok: true; leader: string; memberId: string; raftTerm: number; dbSize: number } | { ok: false; error: string }> {
    try {
      const { status, json } = await this.postTo(endpoint, 'v3/maintenance/status', {});
      if (status !== 200) return { ok: false, error: String(json.error ?? `HTTP ${status}`) };
      const header = json.header as { member_id?: string } | undefined;
      return {
        ok: true,
        leader: String(json.leader ?? '0'),
        memberId: String(header?.member_id ?? '0'),
        raftTerm: Number(json.raftTerm ?? 0),
        dbSize: Number(json.dbSize ?? 0),
      };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  /** The cluster's members as etcd knows them. */
  async memberList(): Promise<{ id: string; name: string; clientUrls: string[] }[]> {
    const json = await this.post('v3/cluster/member/list', {});
    const members = (json.members as { ID?: string; name?: string; clientURLs?: string[] }[] | undefined) ?? [];
    return members.map((m) => ({ id: String(m.ID ?? '0'), name: m.name ?? '', clientUrls: m.clientURLs ?? [] }));
  }
}
