/**
 * @module api/proxy
 * Requests for another cluster node, forwarded the way pveproxy does (pve-http-server
 * AnyEvent.pm `proxy_request`): a request to `/api2/json/nodes/<other>/…`, authenticated here,
 * goes to the URL `<other>` registered under `online/<other>` over TLS, pinning the SHA-256
 * certificate fingerprint registered with it (no CA is trusted: the peer is checked before a
 * single byte of the request, credentials included, is sent). Forwarded are the method, the path
 * and query as received, the body as received (streamed), `Content-Type`/`Content-Length`,
 * the credential rebuilt as pveproxy does (`PVEAuthCookie` cookie or `PVEAPIToken`
 * Authorization), `CSRFPreventionToken`, `Host`, `PVEClientIP` and `PVEDisableProxy: true`; a
 * request that arrives with `PVEDisableProxy` and would need forwarding again is a loop
 * (`500 proxy loop detected`). The answer streams back as is: status, reason phrase, headers
 * (hop-by-hop ones dropped), body. Failures are answered like AnyEvent::HTTP reports them to
 * pveproxy: 595 when the node cannot be reached (`node '<x>' seems to be offline` when it has no
 * registration, the connect error otherwise), 596 for a TLS failure or a fingerprint mismatch.
 * WebSocket upgrades (the serial console) are tunnelled the same way, byte for byte.
 */

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Agent, request as httpRequest } from 'node:http';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { API_TOKEN_NAME, COOKIE_NAME, requestCredential } from '../access/credentials.js';
import { NAME_RE } from '../cluster/cluster-file.js';
import { clusterKeys } from '../cluster/etcd-store.js';
import type { OnlineRecord } from '../cluster/membership.js';
import { clusterClient } from '../store/open.js';

/** Why a forward failed, as pveproxy's status and message. */
export class ProxyError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Raised while connecting: nothing of the request was sent. */
    readonly beforeSend = false,
  ) {
    super(message);
  }
}

/** A reused keep-alive connection the peer had closed: the GET is sent again on a new one. */
class StaleConnection extends Error {}

export const PROXY_HEADER = 'pvedisableproxy';
/** Idle pooled connections close before the peer's keep-alive timeout (30 s) would close them. */
const POOL_IDLE_MS = 10_000;
/** How long a node's registration (address, fingerprint) is used without asking etcd again. */
const TARGET_TTL_MS = 2_000;
const CONNECT_TIMEOUT_MS = 10_000;
/** pveproxy gives a proxied request 30 s; synchronous handlers here may take longer (a start). */
const IDLE_TIMEOUT_MS = 120_000;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

export interface Target {
  url: URL;
  fingerprint: string;
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** The headers pveproxy sends to the node that answers (never the client's other headers). */
function forwardedHeaders(req: IncomingMessage): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { PVEDisableProxy: 'true', PVEClientIP: req.socket.remoteAddress ?? '' };
  const credential = requestCredential(header(req, 'cookie'), header(req, 'authorization'));
  if (credential.kind === 'ticket') out.Cookie = `${COOKIE_NAME}=${encodeURIComponent(credential.ticket)}`;
  if (credential.kind === 'token') out.Authorization = `${API_TOKEN_NAME}=${credential.value}`;
  // a body goes along only where pveproxy sends one (never with GET/HEAD, which are not piped)
  const body = req.method !== 'GET' && req.method !== 'HEAD' ? ['content-type', 'content-length'] : [];
  for (const name of ['csrfpreventiontoken', 'host', ...body]) {
    const value = header(req, name);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

export class NodeProxy {
  private readonly agents = new Map<string, { key: string; agent: Agent }>();
  private readonly targets = new Map<string, { target: Target | undefined; until: number }>();

  constructor(
    private readonly root: string,
    private readonly localNode: string,
  ) {}

  /**
   * Whether a request naming `node` goes elsewhere: a valid name of another member. A name that
   * is no member stays here (and gets the local "no such cluster node" answer). Registrations
   * are remembered for TARGET_TTL_MS: one that is out of date only makes a connection fail,
   * which looks again (`tryForward`); the pinning never depends on it being fresh.
   */
  async targetOf(node: string, fresh = false): Promise<Target | undefined> {
    if (node === this.localNode || !NAME_RE.test(node)) return undefined;
    const known = this.targets.get(node);
    if (!fresh && known && known.until > Date.now()) return known.target;
    this.targets.delete(node);
    const target = await this.lookup(node);
    this.targets.set(node, { target, until: Date.now() + TARGET_TTL_MS });
    return target;
  }

  private async lookup(node: string): Promise<Target | undefined> {
    const { client, cluster } = clusterClient(this.root);
    const keys = clusterKeys(cluster);
    const [online, member] = await Promise.all([
      client.get(keys.onlineNode(node), { serializable: true }),
      client.get(keys.member(node), { serializable: true }),
    ]);
    if (!member) return undefined;
    if (!online) throw new ProxyError(595, `node '${node}' seems to be offline`);
    let record: OnlineRecord;
    let url: URL;
    try {
      record = JSON.parse(online.value) as OnlineRecord;
      url = new URL(record.url);
    } catch {
      throw new ProxyError(595, `node '${node}' has an invalid registration`);
    }
    if (url.protocol !== 'https:' || typeof record.fingerprint !== 'string') throw new ProxyError(595, `node '${node}' has an invalid registration`);
    return { url, fingerprint: record.fingerprint };
  }

  /** A TLS connection to the node whose certificate has the registered fingerprint. */
  connect(node: string, target: Target): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const host = target.url.hostname.replace(/^\[(.*)\]$/, '$1');
      const socket = tlsConnect({ host, port: Number(target.url.port || 443), rejectUnauthorized: false, minVersion: 'TLSv1.2' });
      socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new ProxyError(595, 'Connection timed out', true)));
      socket.once('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof ProxyError) reject(err);
        else if (err.code === 'ECONNREFUSED') reject(new ProxyError(595, 'Connection refused', true));
        else if (err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH') reject(new ProxyError(595, 'No route to host', true));
        else reject(new ProxyError(socket.connecting ? 595 : 596, err.message, true));
      });
      socket.once('secureConnect', () => {
        const seen = socket.getPeerCertificate().fingerprint256 ?? '';
        if (seen.toUpperCase() !== target.fingerprint.toUpperCase()) {
          socket.destroy();
          reject(new ProxyError(596, `certificate fingerprint mismatch for node '${node}' (registered ${target.fingerprint}, presented ${seen})`, true));
          return;
        }
        socket.setTimeout(0);
        resolve(socket);
      });
    });
  }

  /**
   * Forward the request if `node` is another member and answer it (true), or leave it to this
   * server (false). Failures are answered with pveproxy's status and message.
   */
  async tryForward(
    req: IncomingMessage,
    res: ServerResponse,
    node: string,
    sendError: (res: ServerResponse, status: number, message: string) => void,
  ): Promise<boolean> {
    try {
      const target = await this.targetOf(node);
      if (!target) return false;
      if (header(req, PROXY_HEADER)) throw new ProxyError(500, 'proxy loop detected');
      try {
        await this.forward(req, res, node, target);
      } catch (err) {
        if (!(err instanceof ProxyError) || !err.beforeSend) throw err;
        // the node may have restarted (new address or certificate) or gone: look again, once
        const fresh = await this.targetOf(node, true);
        if (!fresh || (fresh.url.href === target.url.href && fresh.fingerprint === target.fingerprint)) throw err;
        await this.forward(req, res, node, fresh);
      }
    } catch (err) {
      if (!(err instanceof ProxyError)) throw err;
      if (res.headersSent) res.destroy(err);
      else sendError(res, err.status, err.message);
    }
    return true;
  }

  /**
   * Forward an API request and stream the answer back; resolves when the answer is sent. GETs
   * reuse pinned keep-alive connections (as pveproxy does for GET only: the others need not be
   * idempotent); a GET that finds its reused connection closed by the peer is sent once more
   * on a new one.
   */
  async forward(req: IncomingMessage, res: ServerResponse, node: string, target: Target): Promise<void> {
    const idempotent = req.method === 'GET' || req.method === 'HEAD';
    try {
      await this.send(req, res, node, target, idempotent);
    } catch (err) {
      if (!(err instanceof StaleConnection)) throw err;
      await this.send(req, res, node, target, false);
    }
  }

  private async send(req: IncomingMessage, res: ServerResponse, node: string, target: Target, keepAlive: boolean): Promise<void> {
    const connection = keepAlive
      ? { agent: this.agentFor(node, target) }
      : await this.connect(node, target).then((socket) => ({ createConnection: () => socket }));
    await new Promise<void>((resolve, reject) => {
      const upstream = httpRequest({ method: req.method, path: req.url, headers: forwardedHeaders(req), ...connection }, (answer) => {
        const headers: OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(answer.headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage ?? '', headers);
        answer.pipe(res);
        answer.on('error', (err) => res.destroy(err));
        res.on('close', () => {
          if (!answer.complete) upstream.destroy();
          resolve();
        });
      });
      upstream.setTimeout(IDLE_TIMEOUT_MS, () => upstream.destroy(new ProxyError(596, 'Connection timed out')));
      upstream.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof ProxyError) reject(err);
        else if (upstream.reusedSocket && !res.headersSent && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) reject(new StaleConnection());
        else reject(new ProxyError(596, err.message));
      });
      if (keepAlive) upstream.end();
      else req.pipe(upstream);
    });
  }

  /** The keep-alive agent of a node's registration: its connections are all pinned (a new registration, a new agent). */
  private agentFor(node: string, target: Target): Agent {
    const key = `${target.url.href}|${target.fingerprint}`;
    const known = this.agents.get(node);
    if (known?.key === key) return known.agent;
    known?.agent.destroy();
    const agent = new Agent({ keepAlive: true, maxSockets: 16, timeout: POOL_IDLE_MS });
    // each new connection is a pinned one (the peer checked before the agent gets it)
    (agent as unknown as { createConnection: unknown }).createConnection = (_opts: unknown, done: (err: Error | null, socket?: TLSSocket) => void) => {
      this.connect(node, target).then((socket) => done(null, socket), (err: Error) => done(err));
      return undefined;
    };
    this.agents.set(node, { key, agent });
    return agent;
  }

  /** Close the pooled connections (server shutdown). */
  close(): void {
    for (const { agent } of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  /** Tunnel a WebSocket upgrade to the node: the request as received plus the proxy headers, then bytes both ways. */
  async forwardUpgrade(req: IncomingMessage, client: Duplex, head: Buffer, node: string, target: Target): Promise<void> {
    const socket = await this.connect(node, target);
    const headers: OutgoingHttpHeaders = { ...forwardedHeaders(req) };
    for (const name of ['upgrade', 'connection', 'origin', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-protocol', 'sec-websocket-extensions']) {
      const value = header(req, name);
      if (value !== undefined) headers[name] = value;
    }
    const lines = Object.entries(headers).map(([name, value]) => `${name}: ${String(value).replace(/[\r\n]/g, '')}`);
    socket.write(`${req.method} ${req.url} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) socket.write(head);
    socket.pipe(client);
    client.pipe(socket);
    socket.on('error', () => client.destroy());
    client.on('error', () => socket.destroy());
    socket.on('close', () => client.destroy());
    client.on('close', () => socket.destroy());
  }
}
