/**
 * @module test/api/helpers
 * One API server per test file: a temporary state root, the server's self-signed certificate,
 * `createApiServer` on 127.0.0.1 with an ephemeral port and a short 401 delay, and a small
 * HTTPS client that returns status, reason phrase and parsed body. Until src/access lands the
 * server is given `TestAccess`, a minimal AccessControl double (users with fixed privilege
 * sets, PVE-shaped tickets, CSRF on non-GET ticket requests, API tokens).
 */

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccessControl, AuthenticateRequest, Identity, LoginRequest, LoginResult } from '../../src/access/types.js';
import { createApiServer, type ApiServer, loadTls } from '../../src/api/index.js';
import { CvmError } from '../../src/errors.js';

export const ALL_PRIVS = [
  'VM.Audit',
  'VM.Allocate',
  'VM.PowerMgmt',
  'VM.Config.Disk',
  'VM.Config.CDROM',
  'VM.Config.CPU',
  'VM.Config.Memory',
  'VM.Config.Network',
  'VM.Config.HWType',
  'VM.Config.Options',
  'VM.Config.Cloudinit',
  'Sys.Audit',
  'Sys.Modify',
  'Datastore.Audit',
  'Datastore.AllocateSpace',
];

/** A stand-in for src/access: fixed users, privileges per user (any path), tickets and tokens in memory. */
export class TestAccess implements AccessControl {
  private readonly tickets = new Map<string, string>();
  readonly csrf = new Map<string, string>();
  constructor(
    readonly users: Record<string, { password: string; privs: string[] }>,
    readonly tokens: Record<string, { secret: string; privs: string[] }> = {},
  ) {}

  async login(req: LoginRequest): Promise<LoginResult> {
    const userid = req.realm ? `${req.username}@${req.realm}` : req.username;
    const user = this.users[userid];
    const renew = this.tickets.get(req.password) === userid;
    if (!user || (user.password !== req.password && !renew)) throw new CvmError('AUTH_FAILED', 'authentication failure');
    const stamp = Math.floor(Date.now() / 1000)
      .toString(16)
      .toUpperCase()
      .padStart(8, '0');
    const ticket = `PVE:${userid}:${stamp}::${randomBytes(12).toString('base64')}`;
    const csrf = `${stamp}:${randomBytes(12).toString('base64')}`;
    this.tickets.set(ticket, userid);
    this.csrf.set(ticket, csrf);
    return { username: userid, ticket, CSRFPreventionToken: csrf, cap: {} };
  }

  async authenticate(req: AuthenticateRequest): Promise<Identity> {
    const cookie = /(?:^|\s|;)PVEAuthCookie=([^;]*)/.exec(req.cookie ?? '')?.[1];
    if (cookie !== undefined) {
      const ticket = decodeURIComponent(cookie);
      const userid = this.tickets.get(ticket);
      if (!userid) throw new CvmError('AUTH_FAILED', 'Authentication failed!');
      if (req.method !== 'GET' && this.csrf.get(ticket) !== req.csrfToken) {
        throw new CvmError('AUTH_FAILED', 'Permission denied - invalid csrf token');
      }
      return { userid, authid: userid, via: 'ticket' };
    }
    const token = /^PVEAPIToken[= ](.+)=(.*)$/.exec(req.authorization ?? '');
    if (token) {
      const [, fullId, secret] = token as unknown as [string, string, string];
      if (this.tokens[fullId]?.secret !== secret) throw new CvmError('AUTH_FAILED', 'Authentication failed!');
      const [userid, tokenid] = fullId.split('!') as [string, string];
      return { userid, tokenid, authid: fullId, via: 'token' };
    }
    throw new CvmError('AUTH_FAILED', 'No ticket');
  }

  private privsOf(identity: Identity): Set<string> {
    if (identity.authid === 'root@pam') return new Set(ALL_PRIVS);
    const privs = identity.tokenid ? this.tokens[identity.authid]?.privs : this.users[identity.userid]?.privs;
    return new Set(privs ?? []);
  }

  async check(identity: Identity, path: string, privs: readonly string[], options?: { any?: boolean }): Promise<void> {
    const have = this.privsOf(identity);
    const ok = options?.any ? privs.some((p) => have.has(p)) : privs.every((p) => have.has(p));
    if (!ok) throw new CvmError('PERMISSION_DENIED', `Permission check failed (${path}, ${privs.join('|')})`);
  }

  async privileges(identity: Identity): Promise<Set<string>> {
    return this.privsOf(identity);
  }
}

export interface Reply {
  status: number;
  reason: string;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: { data?: unknown; message?: string; errors?: Record<string, string>; total?: number } | undefined;
}

/** The `data` of a reply (fails the test when there is none). */
export function dataOf<T = Record<string, unknown>>(r: Reply): T {
  if (r.body?.data === undefined) throw new Error(`no data in reply: ${r.status} ${r.reason}`);
  return r.body.data as T;
}

export interface CallOptions {
  /** Query parameters. */
  query?: Record<string, string>;
  /** Form body (POST/PUT). */
  form?: Record<string, string | string[]>;
  /** Raw body with its content type. */
  raw?: { type?: string; body: string | Buffer };
  json?: unknown;
  headers?: Record<string, string>;
  /** Use the path as given, without the /api2/json prefix. */
  rawPath?: boolean;
  /** Send no credentials. */
  anonymous?: boolean;
  /** Credentials other than the default root ticket. */
  as?: Credentials;
}

export interface Credentials {
  ticket?: string;
  csrf?: string;
  token?: string;
}

export interface TestServer {
  root: string;
  port: number;
  server: ApiServer;
  access: TestAccess;
  logs: string[];
  root_: Credentials;
  call(method: string, path: string, opts?: CallOptions): Promise<Reply>;
  login(username: string, password: string): Promise<Credentials>;
  /** Poll a task until it stops; returns its status data. */
  waitTask(upid: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export const NODE = 'testnode';

export async function startTestServer(
  opts: { access?: TestAccess; facts?: Parameters<typeof createApiServer>[0]['facts'] } = {},
): Promise<TestServer> {
  const root = mkdtempSync(join(tmpdir(), 'cvmctl-api-'));
  const access =
    opts.access ??
    new TestAccess(
      {
        'root@pam': { password: 'rootpw', privs: [] },
        'audit@pve': { password: 'auditpw', privs: ['VM.Audit', 'Sys.Audit', 'Datastore.Audit'] },
      },
      { 'root@pam!ci': { secret: 'tok-secret', privs: ALL_PRIVS } },
    );
  const tls = await loadTls({ root, node: NODE });
  const logs: string[] = [];
  const server = createApiServer({
    root,
    node: NODE,
    access,
    tls,
    authFailureDelayMs: 50,
    log: (line) => logs.push(line),
    ...(opts.facts ? { facts: opts.facts } : {}),
  });
  const port = await server.listen('127.0.0.1', 0);
  const agent = new Agent({ keepAlive: true, maxSockets: 8, rejectUnauthorized: false });

  const call = (method: string, path: string, o: CallOptions = {}): Promise<Reply> => {
    const creds = o.anonymous ? {} : (o.as ?? ts.root_);
    const headers: Record<string, string> = { ...o.headers };
    if (creds.ticket) headers.Cookie = `PVEAuthCookie=${creds.ticket}`;
    if (creds.csrf && method !== 'GET') headers.CSRFPreventionToken = creds.csrf;
    if (creds.token) headers.Authorization = `PVEAPIToken=${creds.token}`;
    let body: string | Buffer | undefined;
    if (o.form) {
      const form = new URLSearchParams();
      for (const [k, v] of Object.entries(o.form)) for (const item of Array.isArray(v) ? v : [v]) form.append(k, item);
      body = form.toString();
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
    } else if (o.json !== undefined) {
      body = JSON.stringify(o.json);
      headers['Content-Type'] = 'application/json';
    } else if (o.raw) {
      body = o.raw.body;
      if (o.raw.type) headers['Content-Type'] = o.raw.type;
    }
    if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
    const query = o.query ? `?${new URLSearchParams(o.query).toString()}` : '';
    const fullPath = o.rawPath || path.startsWith('/api2/') ? path : `/api2/json${path}`;
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path: `${fullPath}${query}`, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Reply['body'];
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', headers: res.headers, text, body: parsed });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  };

  const ts: TestServer = {
    root,
    port,
    server,
    access,
    logs,
    root_: {},
    call,
    async login(username, password) {
      const r = await call('POST', '/access/ticket', { anonymous: true, form: { username, password } });
      if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.reason}`);
      const data = r.body?.data as { ticket: string; CSRFPreventionToken: string };
      return { ticket: data.ticket, csrf: data.CSRFPreventionToken };
    },
    async waitTask(upid, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await call('GET', `/nodes/${NODE}/tasks/${encodeURIComponent(upid)}/status`);
        const data = r.body?.data as Record<string, unknown> | undefined;
        if (r.status !== 200) throw new Error(`task status ${r.status} ${r.reason}`);
        if (data?.status === 'stopped') return data;
        if (Date.now() > deadline) throw new Error(`task ${upid} still running after ${timeoutMs} ms`);
        await new Promise((res) => setTimeout(res, 50));
      }
    },
    async close() {
      agent.destroy();
      await server.close(10_000);
      rmSync(root, { recursive: true, force: true });
    },
  };
  ts.root_ = await ts.login('root@pam', 'rootpw');
  return ts;
}
