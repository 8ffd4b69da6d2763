/**
 * @module test/cluster/serve-harness
 * Real `cvmctl serve` processes (the built bin/cvmctl) on cluster roots for the cluster tests:
 * the first root gets root@pam's API token (`cvmctl user token add … --json`) and creates the
 * cluster, the others join it (`cluster init|join` through the library) and use that token (users
 * and tokens are shared through etcd), and its server listens on 127.0.0.1 port 0 (the
 * port is read back from the start-up line). Requests go with the token over HTTPS; tasks are
 * polled to their end. Tests signal the processes themselves (SIGKILL, SIGSTOP/SIGCONT);
 * `stop()` ends a server (continuing a stopped one first) and `kill()` is SIGKILL.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { clusterInit, clusterJoin } from '../../src/cluster/setup.js';
import { BIN, cvmctl, type RawResponse, rawRequest } from '../clients/harness.js';

export interface ClusterRoot {
  node: string;
  root: string;
  token: { id: string; secret: string };
}

/** A fresh root under `base` with an API token, made a member of cluster `name` (first one: init). */
export async function makeClusterRoot(
  base: string,
  node: string,
  etcd: string[],
  opts: { init?: boolean; name?: string; storageCfg?: string; prepare?: (root: string) => void; token?: ClusterRoot['token'] } = {},
): Promise<ClusterRoot> {
  const root = join(base, node);
  mkdirSync(join(root, 'qemu-server'), { recursive: true });
  if (opts.storageCfg !== undefined) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(root, 'storage.cfg'), opts.storageCfg);
  }
  opts.prepare?.(root);
  if (opts.init) {
    // users and tokens are shared by the cluster: the first root brings root@pam's token
    const r = cvmctl(root, ['user', 'token', 'add', 'root@pam', 'ci', '--privsep', '0', '--json']);
    if (r.code !== 0) throw new Error(`token add failed: ${r.stderr}`);
    const tok = JSON.parse(r.stdout) as Record<string, string>;
    await clusterInit({ root, etcd, node, name: opts.name ?? 'lab' });
    return { node, root, token: { id: String(tok['full-tokenid']), secret: String(tok.value) } };
  }
  if (!opts.token) throw new Error('a joining root needs the cluster token (from the first root)');
  await clusterJoin({ root, etcd, node });
  return { node, root, token: opts.token };
}

export interface ApiReply {
  status: number;
  reason: string;
  data: unknown;
  message?: string;
  errors?: Record<string, string>;
}

export interface ServeNode extends ClusterRoot {
  port: number;
  child: ChildProcess;
  output(): string;
  call(method: string, path: string, params?: Record<string, string | number>): Promise<ApiReply>;
  /** Run a task-returning call and wait for the task's end: its exit status and log lines. */
  task(
    method: string,
    path: string,
    params?: Record<string, string | number>,
    timeoutMs?: number,
  ): Promise<{ reply: ApiReply; exitstatus?: string; log: string[] }>;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

function parseReply(r: RawResponse): ApiReply {
  let json: { data?: unknown; message?: string; errors?: Record<string, string> } = {};
  try {
    json = r.body ? JSON.parse(r.body) : {};
  } catch {
    // an empty 401 body
  }
  return {
    status: r.status,
    reason: r.reason,
    data: json.data ?? null,
    ...(json.message ? { message: json.message.trim() } : {}),
    ...(json.errors ? { errors: json.errors } : {}),
  };
}

/** Start `cvmctl serve` on the root, listening on 127.0.0.1:0. */
export async function startServe(cr: ClusterRoot): Promise<ServeNode> {
  const child = spawn(process.execPath, [BIN, '--root', cr.root, 'serve', '--listen', '127.0.0.1:0', '--auth-failure-delay', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CVMCTL_DEBUG: '' },
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`serve on ${cr.node} did not start within 30 s:\n${out}`)), 30_000);
    const look = () => {
      const m = /listening on https:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) {
        clearTimeout(deadline);
        resolve(Number(m[1]));
      }
    };
    child.stdout?.on('data', look);
    child.once('exit', (code, sig) => {
      clearTimeout(deadline);
      reject(new Error(`serve on ${cr.node} exited (${code ?? sig}):\n${out}`));
    });
  });
  const auth = { authorization: `PVEAPIToken=${cr.token.id}=${cr.token.secret}` };
  const target = { host: '127.0.0.1', port };
  const call = async (method: string, path: string, params: Record<string, string | number> = {}): Promise<ApiReply> => {
    const form = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
    const withQuery = method === 'GET' || method === 'DELETE';
    const url = `/api2/json${path}${withQuery && form ? `?${form}` : ''}`;
    const r = await rawRequest(target, method, url, {
      headers: { ...auth, ...(withQuery ? {} : { 'content-type': 'application/x-www-form-urlencoded' }) },
      ...(withQuery ? {} : { body: form }),
    });
    return parseReply(r);
  };
  const node: ServeNode = {
    ...cr,
    port,
    child,
    output: () => out,
    call,
    async task(method, path, params = {}, timeoutMs = 120_000) {
      const reply = await call(method, path, params);
      if (reply.status !== 200 || typeof reply.data !== 'string') return { reply, log: [] };
      const upid = reply.data;
      const taskNode = upid.split(':')[1] as string;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const st = await call('GET', `/nodes/${taskNode}/tasks/${encodeURIComponent(upid)}/status`);
        const data = st.data as { status?: string; exitstatus?: string } | null;
        if (data?.status === 'stopped') {
          const logReply = await call('GET', `/nodes/${taskNode}/tasks/${encodeURIComponent(upid)}/log`, { limit: 10000 });
          const log = ((logReply.data as { t: string }[] | null) ?? []).map((l) => l.t);
          return { reply, ...(data.exitstatus !== undefined ? { exitstatus: data.exitstatus } : {}), log };
        }
        if (Date.now() > deadline) throw new Error(`task ${upid} still running after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
  return node;
}
