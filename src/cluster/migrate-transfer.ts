/**
 * @module cluster/migrate-transfer
 * How a local volume gets from the source node to the target node (different hosts: no shared
 * filesystem is assumed). The source owns the migration: it writes a transfer record
 * `<prefix>transfers/<id>` (VM, source, target, the volumes with their byte counts) under a
 * lease it keeps alive, and streams each volume file in ordered HTTPS `PUT`s of at most 1 GiB of
 * the file to the target's `…/qemu/{vmid}/migrate-volume` endpoint, at the URL the target
 * registered and pinned to the certificate fingerprint it registered (the API proxy's
 * connection, api/proxy). A chunk travels as the file's extents (migrate-extents): its data,
 * and a short record per hole, so a sparse volume costs what it holds. The 256-bit random id is
 * the credential: the target accepts only what an existing record for itself names (etcd is the
 * cluster's root of trust; whoever can write it can do anything anyway). The target writes to a
 * hidden temporary file (mode 0644 less the umask, as qemu-img creates volumes), counts and
 * hashes (SHA-256) each chunk's full content (holes as zeros) and, after the last, fsyncs and
 * links the file into place only if the name is still free; it answers each chunk with its count
 * and hash, which the source compares with its own. The record's key disappears either in the source's ownership transaction (the VM is the
 * target's now) or when the source gives up or dies (lease revoked or expired): the target
 * watches it and, once it is gone and the VM is not its own, removes what it received.
 */

import { createHash, randomBytes } from 'node:crypto';
import { type FileHandle, link, open, readdir, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Target } from '../api/proxy.js';
import { CvmError } from '../errors.js';
import { renderBytes } from '../storage/convert.js';
import { volumePath } from '../storage/path.js';
import type { StorageConfig } from '../storage/types.js';
import { parseVolumeId, storageConfig } from '../storage/volume.js';
import { makeDirs } from '../util/mkdirs.js';
import type { EtcdClient } from './etcd-client.js';
import { clusterKeys } from './etcd-store.js';
import { decodeExtents, encodeExtents, extentsIn, fileExtents, hashZeros, wireBytes } from './migrate-extents.js';

/** Lease of a transfer record: how long a dead source's half-done migration lingers. */
export const TRANSFER_TTL_SECONDS = 15;
export const TRANSFER_ID_RE = /^[0-9a-f]{64}$/;

export interface TransferVolume {
  volid: string;
  /** Copied (local) or only checked to exist on the target (shared). */
  shared: boolean;
  /** Bytes of the volume file (local volumes). */
  bytes?: number;
}

export interface TransferRecord {
  vmid: number;
  source: string;
  target: string;
  volumes: TransferVolume[];
  created: string;
}

export const transferKey = (cluster: string, id: string) => `${clusterKeys(cluster).prefix}transfers/${id}`;

// ---------------------------------------------------------------- source side

/** The record under a kept-alive lease; `close()` revokes it (the target then drops its copies). */
export class TransferSession {
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly client: EtcdClient,
    readonly id: string,
    readonly key: string,
    private readonly lease: string,
  ) {}

  static async open(client: EtcdClient, cluster: string, record: TransferRecord): Promise<TransferSession> {
    const id = randomBytes(32).toString('hex');
    const key = transferKey(cluster, id);
    const lease = await client.leaseGrant(TRANSFER_TTL_SECONDS);
    await client.put(key, JSON.stringify(record), lease);
    const session = new TransferSession(client, id, key, lease);
    session.timer = setInterval(
      () => {
        client.leaseKeepAlive(lease).catch(() => undefined); // a missed refresh is retried; the TTL covers two misses
      },
      (TRANSFER_TTL_SECONDS * 1000) / 3,
    );
    session.timer.unref();
    return session;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.client.leaseRevoke(this.lease).catch(() => undefined); // else it expires by itself
  }
}

/**
 * Where the target node's API is and a pinned TLS connection to it: the API proxy's (the URL and
 * SHA-256 fingerprint the node registered; nothing is sent before the certificate matched).
 */
export async function targetEndpoint(root: string, source: string, target: string): Promise<NodeEndpoint> {
  const { NodeProxy, ProxyError } = await import('../api/proxy.js');
  const proxy = new NodeProxy(root, source);
  const asCvmError = (err: unknown) => (err instanceof ProxyError ? new CvmError('CLUSTER_UNREACHABLE', err.message, { cause: err }) : err);
  let found: Target | undefined;
  try {
    found = await proxy.targetOf(target);
  } catch (err) {
    throw asCvmError(err);
  }
  if (!found) throw new CvmError('CLUSTER_CONFIG', `no such cluster node '${target}'`);
  const t = found;
  return {
    url: t.url.href,
    connect: () => proxy.connect(target, t).catch((err: unknown) => Promise.reject(asCvmError(err))),
  };
}

export interface NodeEndpoint {
  url: string;
  connect: () => Promise<TLSSocket>;
}

/** One request to another node's API over a pinned connection; resolves with the envelope's data. */
export async function nodeRequest(
  endpoint: NodeEndpoint,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  body?: { open: () => Readable; length: number },
): Promise<unknown> {
  const base = new URL(endpoint.url);
  const socket = await endpoint.connect();
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: base.hostname,
        port: base.port,
        method,
        path: `/api2/json${path}`,
        createConnection: () => socket,
        headers: body ? { 'content-type': 'application/octet-stream', 'content-length': body.length } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: { data?: unknown; message?: string } = {};
          try {
            json = text ? JSON.parse(text) : {};
          } catch {
            // the status line says enough
          }
          if (res.statusCode === 200) resolve(json.data);
          else reject(new CvmError('CLUSTER_UNREACHABLE', `${(json.message ?? res.statusMessage ?? `HTTP ${res.statusCode}`).trim()}`));
        });
        res.on('error', reject);
      },
    );
    req.on('error', (err) => reject(new CvmError('CLUSTER_UNREACHABLE', `${base.host}: ${err.message}`, { cause: err })));
    if (!body) {
      req.end();
      return;
    }
    const stream = body.open();
    stream.on('error', (err) => req.destroy(err));
    stream.pipe(req);
  });
}

/**
 * Bytes per `PUT` (a volume goes in as many as it needs): each request stays well inside the
 * API server's request timeout (300 s) even at 10 MB/s.
 */
export const CHUNK_BYTES = 1 << 30;

/**
 * Send one volume file to the target, chunk by chunk in order, as its extents (data, and hole
 * records for what the file system has not allocated: migrate-extents); progress lines every
 * 10 % (and at the end) in the wording of qemu-server's copy progress, then what went over the
 * wire. For each chunk the target's byte count and SHA-256 of the full content (holes as zeros)
 * must match ours.
 */
export async function sendVolume(args: {
  endpoint: NodeEndpoint;
  target: string;
  vmid: number;
  transfer: string;
  volid: string;
  path: string;
  bytes: number;
  log: (line: string) => void;
  chunkBytes?: number;
}): Promise<{ wireBytes: number }> {
  const chunkBytes = args.chunkBytes ?? CHUNK_BYTES;
  const map = await fileExtents(args.path, args.bytes);
  let sent = 0;
  let onWire = 0;
  let nextReport = 10;
  const progress = (n: number) => {
    sent += n;
    const percent = args.bytes === 0 ? 100 : (sent * 100) / args.bytes;
    if (percent >= nextReport && percent < 100) {
      args.log(`transferred ${renderBytes(sent)} of ${renderBytes(args.bytes)} (${percent.toFixed(2)}%)`);
      nextReport = Math.floor(percent / 10) * 10 + 10;
    }
  };
  let offset = 0;
  do {
    const length = Math.min(chunkBytes, args.bytes - offset);
    const extents = extentsIn(map, offset, length);
    const wire = wireBytes(extents);
    const hash = createHash('sha256');
    let counted = 0;
    // hashes the full content and counts it as it goes out; the file is opened only once the connection is verified
    const onContent = (piece: Buffer | number) => {
      const n = typeof piece === 'number' ? piece : piece.length;
      if (typeof piece === 'number') hashZeros(hash, piece);
      else hash.update(piece);
      counted += n;
      progress(n);
    };
    const query = new URLSearchParams({ transfer: args.transfer, volid: args.volid, offset: String(offset) }).toString();
    const answer = (await nodeRequest(args.endpoint, 'PUT', `/nodes/${args.target}/qemu/${args.vmid}/migrate-volume?${query}`, {
      open: () => Readable.from(encodeExtents(args.path, extents, onContent), { objectMode: false }),
      length: wire,
    })) as { bytes?: number; sha256?: string } | null;
    const digest = hash.digest('hex');
    if (counted !== length || answer?.bytes !== length || answer?.sha256 !== digest) {
      throw new CvmError(
        'STORAGE',
        `transfer of '${args.volid}' is incomplete: sent ${counted} bytes at offset ${offset} (sha256 ${digest}), target received ${answer?.bytes ?? '?'} (sha256 ${answer?.sha256 ?? '?'})`,
      );
    }
    onWire += wire;
    offset += length;
  } while (offset < args.bytes);
  args.log(`transferred ${renderBytes(sent)} of ${renderBytes(args.bytes)} (100.00%)`);
  const holes = map.reduce((n, e) => n + (e.data ? 0 : e.length), 0);
  args.log(
    `'${args.volid}': sent ${renderBytes(onWire)} over the wire for ${renderBytes(args.bytes)} (${renderBytes(holes)} of holes not sent)`,
  );
  return { wireBytes: onWire };
}

// ---------------------------------------------------------------- target side

/** The transfer record `id` names, if it is for VM `vmid` on this node (else one clear refusal). */
export async function readTransfer(client: EtcdClient, cluster: string, node: string, vmid: number, id: string): Promise<TransferRecord> {
  const kv = TRANSFER_ID_RE.test(id) ? await client.get(transferKey(cluster, id)) : undefined;
  const rec = kv ? (JSON.parse(kv.value) as TransferRecord) : undefined;
  if (!rec || rec.vmid !== vmid || rec.target !== node) {
    throw new CvmError('AUTH_FAILED', `no migration of VM ${vmid} to node '${node}' with this transfer id`);
  }
  return rec;
}

/** qemu-server's storage checks on the target: every storage the VM uses exists here and takes images; no local volume exists yet. */
export async function checkTargetStorage(storage: StorageConfig, node: string, rec: TransferRecord): Promise<void> {
  for (const v of rec.volumes) {
    const id = parseVolumeId(v.volid);
    if (!id) continue;
    let def: StorageConfig[string];
    try {
      def = storageConfig(storage, id.storeid);
    } catch {
      throw new CvmError('STORAGE', `storage '${id.storeid}' is not available on node '${node}'`);
    }
    if (!def.content.includes('images'))
      throw new CvmError('STORAGE', `${v.volid}: content type 'images' is not available on storage '${id.storeid}'`);
    if (v.shared) continue;
    if (!def.path) throw new CvmError('STORAGE', `can't migrate '${v.volid}' - storage type '${def.type}' not supported on node '${node}'`);
    const exists = await stat(volumePath(storage, v.volid)).then(
      () => true,
      () => false,
    );
    if (exists) throw new CvmError('STORAGE', `volume '${v.volid}' already exists on node '${node}'`);
  }
}

/** The hidden temporary file a volume is received into, beside its final place. */
export function receivingPath(storage: StorageConfig, id: string, volid: string): { path: string; tmp: string } {
  const path = volumePath(storage, volid);
  return { path, tmp: join(dirname(path), `.migrate-${id.slice(0, 16)}-${basename(path)}`) };
}

/** Holes are made per file-system block (4 KiB on ext4/xfs/btrfs). */
const SPARSE_BLOCK = 4096;
const ZERO_BLOCK = Buffer.alloc(SPARSE_BLOCK);

/**
 * Write `buf` at `pos` of a file that was never written there, leaving block-aligned all-zero
 * runs unwritten: they read back as zeros, and a sparse volume (qcow2 with preallocated
 * metadata, a thin raw disk) stays sparse on the target instead of being allocated in full.
 * Non-zero runs are written with one call each.
 */
export async function writeSparse(fh: FileHandle, buf: Buffer, pos: number): Promise<void> {
  let runStart = -1;
  let i = 0;
  while (i < buf.length) {
    const end = Math.min(buf.length, i + SPARSE_BLOCK - ((pos + i) % SPARSE_BLOCK));
    const zero = buf.compare(ZERO_BLOCK, 0, end - i, i, end) === 0;
    if (!zero && runStart < 0) runStart = i;
    else if (zero && runStart >= 0) {
      await fh.write(buf, runStart, i - runStart, pos + runStart);
      runStart = -1;
    }
    i = end;
  }
  if (runStart >= 0) await fh.write(buf, runStart, buf.length - runStart, pos + runStart);
}

/**
 * Receive one chunk of a volume at `offset`: chunks come in order into a hidden temporary file
 * next to the final place (the first creates it, each later one must start where the file
 * ends), never more than the announced bytes. The last chunk fsyncs the file and links it into
 * place only if the name is still free. A failed chunk removes the temporary file: nothing half
 * received stays behind.
 */
export async function receiveVolume(
  storage: StorageConfig,
  rec: TransferRecord,
  id: string,
  volid: string,
  offset: number,
  body: Readable,
): Promise<{ path: string; tmp: string; bytes: number; sha256: string; complete: boolean }> {
  const vol = rec.volumes.find((v) => v.volid === volid && !v.shared);
  if (!vol || vol.bytes === undefined)
    throw new CvmError('PARAM_INVALID', `volid: invalid value '${volid}' - not a local volume of this migration`);
  const { path, tmp } = receivingPath(storage, id, volid);
  if (offset === 0) await makeDirs(dirname(path));
  // 0644 less the umask, as qemu-img creates a volume file (a local `create` gives the same mode)
  const fh = await open(tmp, offset === 0 ? 'wx' : 'r+', 0o644);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    const have = (await fh.stat()).size;
    if (have !== offset)
      throw new CvmError('STORAGE', `'${volid}': a chunk at offset ${offset} does not follow the ${have} bytes received`);
    for await (const piece of decodeExtents(body, volid)) {
      const length = 'hole' in piece ? piece.hole : piece.data.length;
      if (offset + bytes + length > vol.bytes) throw new CvmError('STORAGE', `'${volid}': more data than the announced ${vol.bytes} bytes`);
      // a hole is left unwritten (it reads as zeros); its zeros count in the hash all the same
      if ('hole' in piece) hashZeros(hash, piece.hole);
      else {
        hash.update(piece.data);
        await writeSparse(fh, piece.data, offset + bytes);
      }
      bytes += length;
    }
    // skipped zero blocks at the end still count: the file is as long as what arrived
    if (bytes > 0) await fh.truncate(offset + bytes);
    const complete = offset + bytes === vol.bytes;
    if (complete) {
      await fh.sync();
      await fh.close();
      await link(tmp, path).catch((err: NodeJS.ErrnoException) => {
        throw new CvmError(
          'STORAGE',
          err.code === 'EEXIST' ? `volume '${volid}' already exists` : `unable to place '${volid}' - ${err.message}`,
        );
      });
      await unlink(tmp);
    } else await fh.close();
    return { path, tmp, bytes, sha256: hash.digest('hex'), complete };
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Transfers this process received volumes for: id → files. */
const received = new Map<string, { files: Set<string>; timer: NodeJS.Timeout }>();

/**
 * After a volume arrived: watch the transfer record; when it is gone and VM `vmid` is not this
 * node's, the migration did not commit, so the received files go (a committed one keeps them).
 */
export function watchTransfer(args: {
  client: EtcdClient;
  cluster: string;
  node: string;
  vmid: number;
  id: string;
  /** What this node received (or is receiving) for the transfer. */
  files: string[];
  log?: (line: string) => void;
  intervalMs?: number;
}): void {
  const known = received.get(args.id);
  if (known) {
    for (const f of args.files) known.files.add(f);
    return;
  }
  const keys = clusterKeys(args.cluster);
  const entry = { files: new Set(args.files), timer: setInterval(() => void check(), args.intervalMs ?? 1000) };
  entry.timer.unref();
  received.set(args.id, entry);
  let busy = false;
  async function check(): Promise<void> {
    if (busy) return;
    busy = true;
    try {
      if (await args.client.get(transferKey(args.cluster, args.id))) return;
      // gone: committed (the VM is ours now) or given up; the owner no longer changes for it
      const owner = (await args.client.get(keys.vmid(args.vmid)))?.value;
      clearInterval(entry.timer);
      received.delete(args.id);
      if (owner === args.node) return;
      for (const file of entry.files) {
        await rm(file, { force: true });
        await rmdir(dirname(file)).catch(() => undefined); // only when empty
      }
      args.log?.(`migration of VM ${args.vmid} did not complete: removed what was received (${[...entry.files].join(', ')})`);
    } catch {
      // etcd not answering: try again at the next tick
    } finally {
      busy = false;
    }
  }
}

/**
 * At `serve` start: temporary files of transfers that no longer exist (this node was killed or
 * restarted while receiving) are removed. A file belongs to a transfer by the first 16 hex
 * digits of its id in the name; the file of a transfer that still exists is watched like a
 * received one (kept if the VM becomes this node's, else removed when the record goes).
 */
export async function sweepStaleTransfers(args: {
  client: EtcdClient;
  cluster: string;
  node: string;
  storage: StorageConfig;
  log?: (line: string) => void;
}): Promise<string[]> {
  const removed: string[] = [];
  const prefix = `${clusterKeys(args.cluster).prefix}transfers/`;
  for (const def of Object.values(args.storage)) {
    if (!def.path || def.shared) continue;
    const images = join(def.path, 'images');
    for (const vmdir of await readdir(images).catch(() => [] as string[])) {
      const dir = join(images, vmdir);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        const m = /^\.migrate-([0-9a-f]{16})-/.exec(name);
        if (!m) continue;
        const live = await args.client.range(`${prefix}${m[1]}`, { prefix: true, keysOnly: true });
        const id = live.kvs[0]?.key.slice(prefix.length);
        if (id !== undefined) {
          // still running (or its source just died): decided when the record goes
          watchTransfer({ ...args, node: args.node, vmid: Number(vmdir), id, files: [join(dir, name)] });
          continue;
        }
        await rm(join(dir, name), { force: true });
        await rmdir(dir).catch(() => undefined); // only when empty
        removed.push(join(dir, name));
        args.log?.(`removed '${join(dir, name)}' left by an unfinished migration`);
      }
    }
  }
  return removed;
}
