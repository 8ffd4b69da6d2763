/**
 * @module test/cluster/etcd-harness
 * A real 3-member etcd (Debian etcd-server) for cluster tests: loopback only, ephemeral ports,
 * temporary data dirs, short heartbeat/election timers so elections take milliseconds, not
 * seconds. Started once per test file; tests may kill and restart single members (same data
 * dir, same ports) to lose and regain quorum, or pause and resume one (a hung host). `stop()` kills every member and removes the dirs.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BIN = '/usr/bin/etcd';

interface Member {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  proc: ChildProcess | undefined;
  log: string[];
}

/** A free loopback port (listen on 0, read it back, close). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export class EtcdCluster {
  private constructor(
    readonly dir: string,
    private readonly members: Member[],
  ) {}

  /** Start `size` members and wait until the cluster answers writes. */
  static async start(size = 3): Promise<EtcdCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'cvmctl-etcd-'));
    const members: Member[] = [];
    for (let i = 0; i < size; i++) {
      members.push({
        name: `m${i}`,
        clientUrl: `http://127.0.0.1:${await freePort()}`,
        peerUrl: `http://127.0.0.1:${await freePort()}`,
        dataDir: join(dir, `m${i}`),
        proc: undefined,
        log: [],
      });
    }
    const cluster = new EtcdCluster(dir, members);
    for (let i = 0; i < size; i++) cluster.spawnMember(i, 'new');
    await cluster.waitHealthy(30_000);
    return cluster;
  }

  /** Client URLs of all members (comma-joined this is the `--etcd` argument). */
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  endpoint(i: number): string {
    return (this.members[i] as Member).clientUrl;
  }

  private spawnMember(i: number, state: 'new' | 'existing'): void {
    const m = this.members[i] as Member;
    const initialCluster = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(',');
    const proc = spawn(
      ETCD_BIN,
      [
        '--name', m.name,
        '--data-dir', m.dataDir,
        '--listen-client-urls', m.clientUrl,
        '--advertise-client-urls', m.clientUrl,
        '--listen-peer-urls', m.peerUrl,
        '--initial-advertise-peer-urls', m.peerUrl,
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', state,
        '--initial-cluster-token', 'cvmctl-test',
        '--heartbeat-interval', '50',
        '--election-timeout', '500',
        '--snapshot-count', '100000',
        '--log-level', 'error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    proc.stderr?.on('data', (d: Buffer) => {
      m.log.push(d.toString());
      if (m.log.length > 50) m.log.shift();
    });
    m.proc = proc;
  }

  /** Kill member `i` (SIGKILL: a crash, not a clean leave). */
  async kill(i: number): Promise<void> {
    const m = this.members[i] as Member;
    const proc = m.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
    m.proc = undefined;
  }

  /** Freeze member `i` (SIGSTOP): its sockets stay open but it answers nothing, like a hung host. */
  pause(i: number): void {
    (this.members[i] as Member).proc?.kill('SIGSTOP');
  }

  /** Let a paused member run again (SIGCONT). */
  resume(i: number): void {
    (this.members[i] as Member).proc?.kill('SIGCONT');
  }

  /** Restart a killed member on its old data dir and ports. */
  restart(i: number): void {
    this.spawnMember(i, 'existing');
  }

  /** Wait until a write through any member succeeds. */
  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      for (const url of this.endpoints) {
        try {
          const res = await fetch(`${url}/v3/kv/put`, {
            method: 'POST',
            body: JSON.stringify({ key: Buffer.from('health').toString('base64'), value: '' }),
            signal: AbortSignal.timeout(2000),
          });
          if (res.ok) return;
          last = await res.text();
        } catch (err) {
          last = (err as Error).message;
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`etcd cluster not healthy after ${timeoutMs} ms: ${last}\n${this.members.map((m) => m.log.join('')).join('\n')}`);
  }

  async stop(): Promise<void> {
    for (let i = 0; i < this.members.length; i++) await this.kill(i);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
