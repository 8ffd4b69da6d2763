/**
 * @module api/server
 * The HTTPS server of `cvmctl serve`: a small router over node:https, no framework, so the
 * reason phrase (PVE puts the first line of the error message there, and proxmoxer shows
 * nothing else) and the body limits are ours to control. One request goes: route lookup
 * (unknown path or method: 501), authentication unless the route is public (failures answered
 * after a delay with an empty body, as PVE does), parameters read and verified (400), the
 * route's permission check (403), the handler, and PVE's `{"data": …}` envelope. Plain HTTP
 * arriving on the TLS port is told to use https (301/308, as pve-http-server does). Every
 * request is logged as one line.
 */

import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { AccessControl, AuthenticateRequest, Identity } from '../access/types.js';
import { isClusterRoot } from '../cluster/cluster-file.js';
import { CvmError, isCvmError } from '../errors.js';
import type { HostFacts } from '../host/facts.js';
import type { LifecycleContext } from '../run/context.js';
import { TaskRunner } from '../tasks/runner.js';
import { ConfigCache } from './config-cache.js';
import { errorAnswer, notImplemented, reasonPhrase } from './errors.js';
import { checkParams, type RawParams } from './params.js';
import { NodeProxy } from './proxy.js';
import { decodeBody, decodeForm, hasBody, mergeParams, readBody } from './request.js';
import { Router } from './router.js';
import { attachSerialConsole } from './serial-console.js';
import { defaultUiRoot, serveUi } from './static.js';
import { warmVmResources } from './routes/cluster.js';
import { allRoutes } from './routes/index.js';
import { type ApiRequest, EncodedData, Envelope, type HttpMethod, type RouteDef, type ServerContext } from './types.js';

export interface ApiServerOptions {
  root: string;
  node: string;
  access: AccessControl;
  tls: { cert: Buffer | string; key: Buffer | string; fingerprint: string };
  /** Delay before a 401 answer (PVE: 3 s). */
  authFailureDelayMs?: number;
  /** One line per request and server notices (default: stderr). */
  log?: (line: string) => void;
  /** Host facts for starting VMs (default: probed once on first use). */
  facts?: HostFacts;
  /** Extra routes (tests, extensions). */
  routes?: readonly RouteDef[];
  /** The built web UI served at `/` (default: dist/ui of this package). */
  uiRoot?: string;
}

export interface ApiServer {
  readonly context: ServerContext;
  /** Listen on host:port (port 0: any free port); resolves with the bound port. */
  listen(host: string, port: number): Promise<number>;
  /** Stop accepting, let tasks finish within `graceMs`, end the rest as failed. */
  close(graceMs?: number): Promise<void>;
}

const NO_PARAMS: Readonly<Record<string, never>> = Object.freeze({});
const API_PATH = /^\/api2\/+([a-z][a-z0-9]+)(\/.*)?$/;
const JSON_TYPE = 'application/json;charset=UTF-8';

function percentDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    // like uri_unescape: a malformed escape stays as it is
    return path.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  }
}

/** The whole answer in one write: headers with Content-Length (never chunked) and the body. */
function send(res: ServerResponse, status: number, reason: string, body: string): void {
  res.writeHead(status, reason, ['Content-Type', JSON_TYPE, 'Content-Length', Buffer.byteLength(body), 'Cache-Control', 'max-age=0']);
  res.end(body);
}

/** PVE's `{"data": …}` envelope of a handler's result. */
function encodeEnvelope(result: unknown): string {
  if (result instanceof EncodedData) return `{"data":${result.json}}`;
  return JSON.stringify(result instanceof Envelope ? { data: result.data ?? null, ...result.extra } : { data: result ?? null });
}

function sendError(res: ServerResponse, status: number, message: string, errors?: Record<string, string>, emptyBody = false): void {
  const text = message.endsWith('\n') ? message : `${message}\n`;
  const body = emptyBody ? '' : JSON.stringify(errors ? { data: null, message: text, errors } : { data: null, message: text });
  send(res, status, reasonPhrase(message) || 'Error', body);
}

/** A header Node does not join (unknown names may come as a list): its first value. */
const firstValue = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Lines to stderr, written together once per event-loop turn: under load one write(2) carries
 * many request lines instead of one each (stderr to a file or pipe is a synchronous write).
 * Whatever is pending when the process exits is written then.
 */
function stderrLineWriter(): (line: string) => void {
  let pending: string[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    process.stderr.write(text);
  };
  process.once('exit', flush);
  return (line) => {
    if (pending.push(`${line}\n`) === 1) setImmediate(flush);
  };
}

export function createApiServer(opts: ApiServerOptions): ApiServer {
  const log = opts.log ?? stderrLineWriter();
  const authDelay = opts.authFailureDelayMs ?? 3000;
  const tasks = new TaskRunner(opts.root, opts.node);
  let facts: Promise<HostFacts> | undefined;
  const context: ServerContext = {
    root: opts.root,
    node: opts.node,
    access: opts.access,
    tasks,
    fingerprint: opts.tls.fingerprint,
    configs: new ConfigCache(opts.root),
    async facts(): Promise<HostFacts> {
      if (opts.facts) return opts.facts;
      facts ??= import('../host/local/index.js').then((m) => m.probeLocalHost(opts.root));
      facts.catch(() => {
        facts = undefined; // a failed probe is tried again by the next request
      });
      // the host is probed once; storage.cfg is the root's and may change while the server runs
      const { loadLocalStorage } = await import('../host/local/probe.js');
      const [base, storage] = await Promise.all([facts, loadLocalStorage(opts.root)]);
      return { ...base, storage };
    },
    async lifecycle(warn?: (m: string) => void): Promise<LifecycleContext> {
      const { localLifecycleContext } = await import('../run/local-context.js');
      return localLifecycleContext(opts.root, { facts: await context.facts(), warn: warn ?? ((m) => log(`WARN: ${m}`)) });
    },
  };
  const uiRoot = opts.uiRoot ?? defaultUiRoot();
  // a cluster member forwards `/nodes/<other>/…` to the node named, like pveproxy
  const proxy = isClusterRoot(opts.root) ? new NodeProxy(opts.root, opts.node) : undefined;
  context.proxy = proxy;
  const router = new Router([...allRoutes, ...(opts.routes ?? [])]);

  async function authenticate(req: IncomingMessage, method: string): Promise<Identity> {
    const request: AuthenticateRequest = { method };
    const { cookie, authorization } = req.headers;
    const csrfToken = firstValue(req.headers.csrfpreventiontoken);
    if (cookie !== undefined) request.cookie = cookie;
    if (authorization !== undefined) request.authorization = authorization;
    if (csrfToken !== undefined) request.csrfToken = csrfToken;
    return opts.access.authenticate(request);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<string> {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q === -1 ? url : url.slice(0, q);
    const m = API_PATH.exec(rawPath);
    if (!m && (await serveUi(req, res, rawPath, uiRoot))) return '-';
    if (!m) {
      sendError(res, 501, 'no such uri');
      return '-';
    }
    // PVE splits on `/+`: empty segments do not count
    const parts = percentDecode(m[2] ?? '')
      .split('/')
      .filter(Boolean);
    const relPath = `/${parts.join('/')}`;
    if (m[1] !== 'json') {
      sendError(res, 501, `no formatter for uri ${relPath}`);
      return '-';
    }
    const found = router.match(method, parts);
    if (!found) {
      const err = notImplemented(method, relPath);
      sendError(res, 501, err.message);
      return '-';
    }
    const { route, pathParams } = found;
    let identity: Identity | undefined;
    if (!route.noAuth) {
      try {
        identity = await authenticate(req, method);
      } catch (err) {
        if (!isCvmError(err) || err.code !== 'AUTH_FAILED') throw err;
        await sleep(authDelay);
        sendError(res, 401, err.message, undefined, true);
        return '-';
      }
    }
    let user = identity?.authid ?? '-';
    if (proxy && pathParams.node !== undefined && (await proxy.tryForward(req, res, pathParams.node, sendError))) return user;
    let raw: RawParams | undefined;
    try {
      const query = q === -1 ? {} : decodeForm(url.slice(q + 1));
      let body: RawParams = {};
      if (method === 'GET' || method === 'DELETE') {
        if (hasBody(req)) throw new CvmError('NOT_IMPLEMENTED', `Unexpected content for method '${method}'`);
      } else if (!route.rawBody) {
        body = decodeBody(req.headers['content-type'], await readBody(req));
      }
      raw = mergeParams(body, query, pathParams);
      const checked = checkParams(raw, route.params ?? NO_PARAMS, route.configKeys === true, route.lists ?? NO_PARAMS);
      // a single-node system: any other node name is unknown
      if (checked.params.node !== undefined && checked.params.node !== opts.node) {
        throw new CvmError('VM_NOT_FOUND', `no such cluster node '${checked.params.node}'`);
      }
      const request: ApiRequest = {
        server: context,
        identity,
        params: checked.params,
        configParams: checked.configParams,
        lists: checked.lists,
        ...(route.rawBody ? { body: req } : {}),
        method: method as HttpMethod,
        headers: req.headers,
      };
      if (route.permissions) await route.permissions(request);
      const result = await route.handler(request);
      // a login: the log names who logged in
      const loggedIn = (result as { username?: unknown } | null)?.username;
      if (!identity && typeof loggedIn === 'string') user = loggedIn;
      send(res, 200, 'OK', encodeEnvelope(result));
    } catch (err) {
      const answer = errorAnswer(err, opts.node, new Set(raw ? Object.keys(raw) : []));
      if (answer.status === 500 && !isCvmError(err)) log(`internal error on ${method} ${relPath}: ${(err as Error)?.stack ?? err}`);
      if (answer.status === 401) await sleep(authDelay); // login failure: JSON body, same delay
      if (answer.status === 501 && req.readableEnded === false) res.setHeader('Connection', 'close');
      sendError(res, answer.status, answer.message, answer.errors);
    }
    return user;
  }

  let inFlight = 0;
  let drained: (() => void) | undefined;
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const t0 = performance.now();
    inFlight++;
    res.on('close', () => {
      if (--inFlight === 0) drained?.();
    });
    handle(req, res).then(
      (user) => {
        const ms = (performance.now() - t0).toFixed(1);
        log(`${new Date().toISOString()} ${user} ${req.method} ${(req.url ?? '').split('?', 1)[0]} ${res.statusCode} ${ms}ms`);
      },
      (err) => {
        log(`internal error: ${(err as Error)?.stack ?? err}`);
        if (!res.headersSent) sendError(res, 500, (err as Error)?.message ?? 'internal error');
        else res.destroy();
      },
    );
  };

  const https = createHttpsServer(
    { cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', keepAliveTimeout: 30_000 },
    onRequest,
  );
  attachSerialConsole(https, context, log);
  // plain HTTP on the TLS port: PVE redirects (301 for GET/HEAD, 308 otherwise) and disconnects
  const plain = createHttpServer((req, res) => {
    const host = req.headers.host ?? `${opts.node}:8006`;
    res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 301 : 308, {
      Location: `https://${host}${req.url ?? '/'}`,
      Connection: 'close',
    });
    res.end();
  });
  const sockets = new Set<Socket>();
  const front = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.once('readable', () => {
      const first = socket.read(1) as Buffer | null;
      if (!first) return;
      socket.unshift(first);
      // 0x16: a TLS handshake record
      (first[0] === 0x16 ? https : plain).emit('connection', socket);
    });
  });

  let registration: { stop(): Promise<void> } | undefined;
  return {
    context,
    async listen(host, port) {
      const bound = await new Promise<number>((resolve, reject) => {
        front.once('error', reject);
        front.listen(port, host, () => {
          front.off('error', reject);
          resolve((front.address() as AddressInfo).port);
        });
      });
      // a cluster member announces itself (URL, fingerprint, running VMs) while it serves
      if (isClusterRoot(opts.root)) {
        const { startClusterMembership } = await import('../cluster/serve-hook.js');
        registration = await startClusterMembership({
          root: opts.root,
          node: opts.node,
          host,
          port: bound,
          fingerprint: opts.tls.fingerprint,
          warn: log,
          tasks,
        });
      } else void warmVmResources(context).catch(() => undefined); // so the first /cluster/resources answers from memory too
      return bound;
    },
    async close(graceMs = 30_000) {
      await registration?.stop();
      proxy?.close();
      const closed = new Promise<void>((resolve) => front.close(() => resolve()));
      https.closeIdleConnections();
      await tasks.shutdown(graceMs);
      // requests being answered (a synchronous PUT) get a few seconds; idle keep-alive
      // connections and whatever is left then are cut
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(graceMs, 5000));
          drained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
