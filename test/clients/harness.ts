/**
 * @module test/clients/harness
 * Runs the real `cvmctl serve` (the built bin/cvmctl) for the client tests and the API bench:
 * a throw-away state root, `root@pam`'s API password set through `cvmctl passwd` (stdin), an
 * API token from `cvmctl user token add … --json`, and the server on a loopback port. Also
 * runs the Python client scripts under Debian's /usr/bin/python3 (proxmoxer 1.2.0) and
 * ansible-playbook with a private HOME and temp dirs, and offers a raw HTTPS request for
 * checks the clients cannot express. `stop()` ends the server with SIGTERM (SIGKILL after a
 * grace period), kills any QEMU left in the root's run dir and removes the root.
 */

import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestRoot, type TestRoot } from '../integration/helpers.js';

export const REPO = join(import.meta.dirname, '..', '..');
export const BIN = join(REPO, 'bin', 'cvmctl');
export const PYTHON = '/usr/bin/python3';
export const CLIENTS_DIR = import.meta.dirname;

export interface ApiToken {
  /** `root@pam!ci` */
  fullTokenId: string;
  user: string;
  name: string;
  secret: string;
}

export interface RunningServer {
  root: string;
  host: string;
  port: number;
  node: string;
  user: string;
  password: string;
  token: ApiToken;
  /** `https://127.0.0.1:PORT/api2/json` */
  baseUrl: string;
  /** Everything the server printed so far (stdout and stderr interleaved). */
  output(): string;
  /** The server process (tests may signal it). */
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run bin/cvmctl synchronously against a root (for set-up steps). */
export function cvmctl(root: string, args: string[], input?: string): Run {
  const r = spawnSync(process.execPath, [BIN, '--root', root, ...args], {
    encoding: 'utf8',
    input: input ?? '',
    env: { ...process.env, CVMCTL_DEBUG: '' },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function mustRun(root: string, args: string[], input?: string): string {
  const r = cvmctl(root, args, input);
  if (r.code !== 0) throw new Error(`cvmctl ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** A port the kernel just handed out on 127.0.0.1 (closed again before the server binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface RawResponse {
  status: number;
  reason: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTPS request to the server, certificate not verified (self-signed), no keep-alive. */
export function rawRequest(
  server: Pick<RunningServer, 'host' | 'port'>,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: server.host,
        port: server.port,
        method,
        path,
        rejectUnauthorized: false,
        agent: false,
        headers: { ...(options.body !== undefined ? { 'content-length': Buffer.byteLength(options.body) } : {}), ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            reason: res.statusMessage ?? '',
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
    req.end(options.body);
  });
}

async function waitUntilServing(server: RunningServer, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`cvmctl serve exited (${child.exitCode ?? child.signalCode}) before serving:\n${server.output()}`);
    }
    try {
      // the unauthenticated ticket route answers without the 401 delay
      const r = await rawRequest(server, 'GET', '/api2/json/access/ticket');
      if (r.status > 0) return;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`cvmctl serve did not answer on ${server.host}:${server.port} within ${timeoutMs} ms (${last}):\n${server.output()}`);
}

export interface StartOptions {
  node?: string;
  /** Node options for the server process (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  nodeArgs?: string[];
  /** Extra arguments for `cvmctl serve`. */
  serveArgs?: string[];
  /** Environment additions for the server process. */
  env?: Record<string, string>;
  prefix?: string;
  /**
   * Write the server's output (one line per request) to this file instead of a pipe to this
   * process: under load a pipe the test process is too busy to drain would block the server.
   */
  logFile?: string;
}

/** A fresh root with root@pam's password and a privsep-0 token, and `cvmctl serve` on it. */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  if (!existsSync(join(REPO, 'dist', 'cli', 'main.js'))) throw new Error('run `npm run build` before the client tests');
  const testRoot: TestRoot = makeTestRoot(options.prefix ?? 'cvmctl-clients-');
  const root = testRoot.root;
  const node = options.node ?? 'cinode';
  const password = `pw-${Math.random().toString(36).slice(2)}-Ö ok`;
  try {
    mustRun(root, ['passwd', 'root@pam'], `${password}\n`);
    const tokenJson = JSON.parse(mustRun(root, ['user', 'token', 'add', 'root@pam', 'ci', '--privsep', '0', '--json'])) as Record<
      string,
      unknown
    >;
    const fullTokenId = String(tokenJson['full-tokenid']);
    const secret = String(tokenJson['value']);
    const [user, name] = fullTokenId.split('!') as [string, string];
    const token: ApiToken = { fullTokenId, user, name, secret };

    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      let out = '';
      const logFd = options.logFile ? openSync(options.logFile, 'a') : undefined;
      const child = spawn(
        process.execPath,
        [
          ...(options.nodeArgs ?? []),
          BIN,
          '--root',
          root,
          'serve',
          '--listen',
          `127.0.0.1:${port}`,
          '--node',
          node,
          ...(options.serveArgs ?? []),
        ],
        {
          stdio: ['ignore', logFd ?? 'pipe', logFd ?? 'pipe'],
          env: { ...process.env, CVMCTL_DEBUG: '', ...options.env },
        },
      );
      if (logFd !== undefined) closeSync(logFd);
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString('utf8');
      });
      child.stderr?.on('data', (d: Buffer) => {
        out += d.toString('utf8');
      });
      const output = () => (options.logFile ? readFileSync(options.logFile, 'utf8') : out);
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const server: RunningServer = {
        root,
        host: '127.0.0.1',
        port,
        node,
        user: 'root@pam',
        password,
        token,
        baseUrl: `https://127.0.0.1:${port}/api2/json`,
        output,
        child,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
            await exited;
            clearTimeout(timer);
          }
          testRoot.cleanup();
        },
      };
      try {
        await waitUntilServing(server, child, 30_000);
        return server;
      } catch (err) {
        lastError = err;
        child.kill('SIGKILL');
        await exited;
        // a port taken between freePort() and bind: try another one
        if (!/EADDRINUSE/.test(output())) break;
      }
    }
    throw lastError;
  } catch (err) {
    testRoot.cleanup();
    throw err;
  }
}

/** Environment for client processes: a private HOME and temp dir, no proxy for loopback. */
export function clientEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(tmpdir(), 'cvmctl-client-home-'));
  mkdirSync(join(home, 'tmp'), { recursive: true });
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    TMPDIR: join(home, 'tmp'),
    LANG: 'C.UTF-8',
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
    PYTHONDONTWRITEBYTECODE: '1',
    ...extra,
  };
}

/** Run a command asynchronously (the server runs in this process's event loop's children). */
export function runAsync(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Remove a HOME made by clientEnv. */
export function removeClientEnv(env: NodeJS.ProcessEnv): void {
  if (env.HOME?.startsWith(tmpdir())) rmSync(env.HOME, { recursive: true, force: true });
}
