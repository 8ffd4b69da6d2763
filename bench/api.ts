/**
 * @module bench/api
 * Speed of the REST API (issue 9, point 8): authenticated `GET /nodes/{node}/qemu/{vmid}/config`
 * requests per second with 16 concurrent keep-alive connections against the real `cvmctl serve`
 * (a child process on loopback, a throw-away root with a 30-line config), next to a bare Node
 * `https` server in its own process answering the same bytes with the same certificate and the
 * same client (target: >= 40% of the bare rate, p99 <= 20 ms), with ticket-cookie and API-token
 * auth; and `POST …/status/start` until the returned UPID's task status answers (target:
 * <= 50 ms). After a 1 s warm-up of each, the three are measured in interleaved bounded 3 s
 * rounds (bare, ticket, token, bare, …) and each is reported as the median of its rounds, so
 * load from other processes on a shared machine hits all three alike. Each line also gives the
 * server process's CPU time per request (user + system, from /proc/<pid>/stat over the round):
 * on a busy machine the rates move with the CPU share the scheduler grants, the cost per
 * request much less.
 */

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cvmctl, type RunningServer, rawRequest, startServer } from '../test/clients/harness.js';
import { CONFIG_30_LINES } from './config.js';

const CONCURRENCY = 16;
const WARMUP_MS = 1000;
const MEASURE_MS = 3000;
/** Interleaved rounds (bare, ticket, token, bare, …): drift on a shared machine hits all three alike. */
const LOAD_ROUNDS = 3;
const RATIO_TARGET = 0.4;
const P99_TARGET_MS = 20;
const TASK_VISIBLE_TARGET_MS = 50;
const START_ROUNDS = 5;
const CONFIG_VMID = 9920;
const START_VMID = 9921;

interface Target {
  host: string;
  port: number;
}

interface LoadResult {
  rate: number;
  p50: number;
  p99: number;
  count: number;
  failures: number;
  /** Server CPU time (user + system) per request, µs. */
  cpuUs: number;
}

/** The process's CPU time so far (user + system), µs; Linux /proc, clock ticks of 10 ms. */
function processCpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function get(agent: Agent, target: Target, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: target.host, port: target.port, path, method: 'GET', agent, headers }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** CONCURRENCY loops of sequential GETs over one keep-alive agent for `ms`; `pid` is the server's. */
async function load(target: Target, pid: number, path: string, headers: Record<string, string>, ms: number): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, rejectUnauthorized: false });
  const latencies: number[] = [];
  let failures = 0;
  const cpuBefore = processCpuUs(pid);
  const start = performance.now();
  const deadline = start + ms;
  const loop = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const status = await get(agent, target, path, headers).catch(() => 0);
      latencies.push(performance.now() - t0);
      if (status !== 200) failures++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  const elapsed = performance.now() - start;
  const cpuUs = (processCpuUs(pid) - cpuBefore) / latencies.length;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    rate: (latencies.length / elapsed) * 1000,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    count: latencies.length,
    failures,
    cpuUs,
  };
}

interface Measured {
  /** Median over the rounds of each round's rate, p50 and p99. */
  median: LoadResult;
  rounds: LoadResult[];
}

const medianOf = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );

/** Warm every target up once, then LOAD_ROUNDS interleaved rounds of MEASURE_MS each. */
async function measureInterleaved(
  targets: { target: Target; pid: number; path: string; headers: Record<string, string> }[],
): Promise<Measured[]> {
  for (const t of targets) await load(t.target, t.pid, t.path, t.headers, WARMUP_MS);
  const rounds: LoadResult[][] = targets.map(() => []);
  for (let r = 0; r < LOAD_ROUNDS; r++) {
    for (const [i, t] of targets.entries()) rounds[i]?.push(await load(t.target, t.pid, t.path, t.headers, MEASURE_MS));
  }
  return rounds.map((rs) => ({
    rounds: rs,
    median: {
      rate: medianOf(rs.map((x) => x.rate)),
      p50: medianOf(rs.map((x) => x.p50)),
      p99: medianOf(rs.map((x) => x.p99)),
      count: rs.reduce((a, x) => a + x.count, 0),
      failures: rs.reduce((a, x) => a + x.failures, 0),
      cpuUs: medianOf(rs.map((x) => x.cpuUs)),
    },
  }));
}

interface Baseline {
  port: number;
  pid: number;
  stop: () => Promise<void>;
}

/** The bare server as a child process; resolves with its port. */
async function startBaseline(cert: string, key: string, bodyFile: string): Promise<Baseline> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'api-baseline.ts'), cert, key, bodyFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.once('exit', (code) => reject(new Error(`bare https server exited (${code})`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    port,
    pid: child.pid as number,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function apiJson(server: RunningServer, method: string, path: string, auth: Record<string, string>, body?: string): Promise<unknown> {
  const r = await rawRequest(server, method, `/api2/json${path}`, {
    headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    ...(body !== undefined ? { body } : {}),
  });
  if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${r.reason}`);
  return (JSON.parse(r.body) as { data: unknown }).data;
}

async function waitTask(server: RunningServer, upid: string, auth: Record<string, string>): Promise<string> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const s = (await apiJson(server, 'GET', `/nodes/${server.node}/tasks/${upid}/status`, auth)) as { status: string; exitstatus?: string };
    if (s.status === 'stopped') return s.exitstatus ?? '';
    if (Date.now() > deadline) throw new Error(`task ${upid} still running after 120 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** POST status/start, then GET the UPID's status until it answers 200: ms from sending the POST. */
async function startToTaskVisible(server: RunningServer, auth: Record<string, string>): Promise<number[]> {
  const times: number[] = [];
  const base = `/nodes/${server.node}/qemu/${START_VMID}`;
  for (let i = 0; i < START_ROUNDS; i++) {
    const t0 = performance.now();
    const upid = (await apiJson(server, 'POST', `${base}/status/start`, auth, '')) as string;
    for (;;) {
      const r = await rawRequest(server, 'GET', `/api2/json/nodes/${server.node}/tasks/${upid}/status`, { headers: auth });
      if (r.status === 200) break;
      if (performance.now() - t0 > 30_000) throw new Error(`task ${upid} not visible after 30 s (${r.status} ${r.reason})`);
    }
    times.push(performance.now() - t0);
    const started = await waitTask(server, upid, auth);
    if (started !== 'OK') throw new Error(`start task ended with ${started}`);
    const stopUpid = (await apiJson(server, 'POST', `${base}/status/stop`, auth, '')) as string;
    const stopped = await waitTask(server, stopUpid, auth);
    if (stopped !== 'OK') throw new Error(`stop task ended with ${stopped}`);
  }
  return times;
}

export async function run(): Promise<void> {
  const certDir = mkdtempSync(join(tmpdir(), 'cvmctl-bench-api-'));
  let server: RunningServer | undefined;
  let baseline: Baseline | undefined;
  try {
    const cert = join(certDir, 'cert.pem');
    const key = join(certDir, 'key.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1'],
      {
        stdio: 'ignore',
      },
    );
    server = await startServer({
      prefix: 'cvmctl-bench-api-',
      node: 'bench',
      serveArgs: ['--cert', cert, '--key', key],
      logFile: join(certDir, 'serve.log'),
    });
    writeFileSync(join(server.root, 'qemu-server', `${CONFIG_VMID}.conf`), CONFIG_30_LINES);
    const made = cvmctl(server.root, [
      'create',
      String(START_VMID),
      '--name',
      'bench-start',
      '--memory',
      '64',
      '--kvm',
      '0',
      '--vga',
      'none',
    ]);
    if (made.code !== 0) throw new Error(`cvmctl create: ${made.stderr.trim()}`);

    const tokenAuth = { authorization: `PVEAPIToken=${server.token.fullTokenId}=${server.token.secret}` };
    const login = (await apiJson(
      server,
      'POST',
      '/access/ticket',
      {},
      new URLSearchParams({ username: server.user, password: server.password }).toString(),
    )) as { ticket: string };
    const ticketAuth = { cookie: `PVEAuthCookie=${encodeURIComponent(login.ticket)}` };

    const path = `/api2/json/nodes/${server.node}/qemu/${CONFIG_VMID}/config`;
    const sample = await rawRequest(server, 'GET', path, { headers: tokenAuth });
    if (sample.status !== 200) throw new Error(`GET config: ${sample.status} ${sample.reason}`);
    const bodyFile = join(certDir, 'body.json');
    writeFileSync(bodyFile, sample.body);
    baseline = await startBaseline(cert, key, bodyFile);
    const bare: Target = { host: '127.0.0.1', port: baseline.port };

    const [bareRuns, ticketRuns, tokenRuns] = (await measureInterleaved([
      { target: bare, pid: baseline.pid, path, headers: {} },
      { target: server, pid: server.child.pid as number, path, headers: ticketAuth },
      { target: server, pid: server.child.pid as number, path, headers: tokenAuth },
    ])) as [Measured, Measured, Measured];
    const bareRate = bareRuns.median.rate;
    const visible = await startToTaskVisible(server, tokenAuth);

    const n = (x: number) => x.toFixed(0).padStart(7);
    const ms = (x: number) => `${x.toFixed(1)} ms`.padStart(9);
    const line = (label: string, m: Measured) =>
      `${label.padEnd(30)}${n(m.median.rate)} req/s  p50 ${ms(m.median.p50)}  p99 ${ms(m.median.p99)}  server CPU ${m.median.cpuUs.toFixed(0).padStart(3)} µs/req  (rounds: ${m.rounds.map((x) => x.rate.toFixed(0)).join(', ')} req/s)${m.median.failures ? `  (${m.median.failures} non-200!)` : ''}`;
    const verdict = (r: LoadResult) => {
      const ratio = r.rate / bareRate;
      return `  ${(ratio * 100).toFixed(0).padStart(3)}% of bare (target >= ${RATIO_TARGET * 100}% ${ratio >= RATIO_TARGET ? 'OK' : 'UNDER'}), p99 target <= ${P99_TARGET_MS} ms ${r.p99 <= P99_TARGET_MS ? 'OK' : 'OVER'}`;
    };
    console.log(
      `== API: authenticated GET …/qemu/{vmid}/config (${sample.body.length}-byte answer), ${CONCURRENCY} keep-alive connections, median of ${LOAD_ROUNDS} interleaved ${MEASURE_MS / 1000} s rounds`,
    );
    console.log(line('bare Node https', bareRuns));
    console.log(line('cvmctl serve, ticket cookie', ticketRuns) + verdict(ticketRuns.median));
    console.log(line('cvmctl serve, API token', tokenRuns) + verdict(tokenRuns.median));
    const sorted = [...visible].sort((a, b) => a - b);
    const med = percentile(sorted, 50);
    console.log(
      `== API: POST …/status/start until its task status answers (${START_ROUNDS} rounds)   median ${ms(med)}  max ${ms(sorted.at(-1) as number)}   target <= ${TASK_VISIBLE_TARGET_MS} ms ${med <= TASK_VISIBLE_TARGET_MS ? 'OK' : 'OVER'}`,
    );
  } finally {
    await baseline?.stop();
    await server?.stop();
    rmSync(certDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
