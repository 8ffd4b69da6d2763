/**
 * @module test/api/helpers
 * One API server per test file: a temporary state root, the server's self-signed certificate,
 * `createApiServer` on 127.0.0.1 with an ephemeral port and a short 401 delay, and a small
 * HTTPS client that returns status, reason phrase and parsed body. Access control is the real
 * one (src/access) on the same root, with a clock the tests can move forward: root@pam with a
 * password, `audit@pve` (PVEAuditor on /) and a root token `root@pam!ci` without privilege
 * separation.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AccessControlImpl, addToken, addUser, openAccessControl, setPassword, updateAcl } from '../../src/access/index.js';
import { createApiServer, type ApiServer, loadTls } from '../../src/api/index.js';

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
  access: AccessControlImpl;
  /** The secret of the `root@pam!ci` token (`root@pam!ci=<secret>` for `as: { token }`). */
  rootToken: string;
  /** Move the access-control clock (tickets, token expiry) by this many seconds. */
  advanceClock(seconds: number): void;
  /** A pve-realm user with a password and ACL roles on paths (`{ '/vms/100': ['PVEVMUser'] }`). */
  addUser(userid: string, password: string, acl?: Record<string, string[]>): Promise<void>;
  /** A token of a user; its ACL roles apply when privsep. Returns `userid!name=secret`. */
  addToken(userid: string, name: string, opts?: { privsep?: boolean; expire?: number; acl?: Record<string, string[]> }): Promise<string>;
  logs: string[];
  root_: Credentials;
  call(method: string, path: string, opts?: CallOptions): Promise<Reply>;
  login(username: string, password: string): Promise<Credentials>;
  /** Poll a task until it stops; returns its status data. */
  waitTask(upid: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export const NODE = 'testnode';

export const ROOT_PASSWORD = 'rootpw-secret';
export const AUDIT_PASSWORD = 'auditpw-secret';

export async function startTestServer(
  opts: {
    facts?: Parameters<typeof createApiServer>[0]['facts'];
    root?: string;
    node?: string;
    /** false: the root's users exist already (a cluster member sharing another node's); no `root@pam!ci` token. */
    seedAccess?: boolean;
  } = {},
): Promise<TestServer> {
  const root = opts.root ?? mkdtempSync(join(tmpdir(), 'cvmctl-api-'));
  const node = opts.node ?? NODE;
  let offset = 0;
  const access = openAccessControl(root, { now: () => Math.floor(Date.now() / 1000) + offset });
  const seed = opts.seedAccess ?? true;
  if (seed) await setPassword(access.state, 'root@pam', ROOT_PASSWORD);
  const grant = async (acl: Record<string, string[]>, who: { users?: string[]; tokens?: string[] }) => {
    for (const [path, roles] of Object.entries(acl)) await updateAcl(access.state, { path, roles, ...who });
  };
  const newUser = async (userid: string, password: string, acl: Record<string, string[]> = {}) => {
    await addUser(access.state, { userid, password });
    await grant(acl, { users: [userid] });
  };
  if (seed) await newUser('audit@pve', AUDIT_PASSWORD, { '/': ['PVEAuditor'] });
  const rootToken = seed ? `root@pam!ci=${(await addToken(access.state, 'root@pam', 'ci', { privsep: false })).value}` : '';
  const tls = await loadTls({ root, node });
  const logs: string[] = [];
  const server = createApiServer({
    root,
    node,
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
    rootToken,
    advanceClock(seconds) {
      offset += seconds;
    },
    addUser: newUser,
    async addToken(userid, name, o = {}) {
      const tok = await addToken(access.state, userid, name, {
        ...(o.privsep !== undefined ? { privsep: o.privsep } : {}),
        ...(o.expire !== undefined ? { expire: o.expire } : {}),
      });
      await grant(o.acl ?? {}, { tokens: [tok['full-tokenid']] });
      return `${tok['full-tokenid']}=${tok.value}`;
    },
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
  ts.root_ = await ts.login('root@pam', ROOT_PASSWORD);
  return ts;
}
