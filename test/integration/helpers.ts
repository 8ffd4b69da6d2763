/**
 * @module test/integration/helpers
 * Shared set-up for the real-QEMU integration tests: whether the binary exists (tests are
 * skipped with that reason when it does not), a throw-away state root with VM configs
 * written as files, the local host profile for it, and a clean-up that kills every QEMU the
 * root's run dir knows about, so a failing test never leaves a process behind.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { HostFacts } from '../../src/host/facts.js';
import { probeLocalHost } from '../../src/host/local/index.js';
import { QmpClient } from '../../src/qemu/qmp/index.js';
import { localLifecycleContext } from '../../src/run/local-context.js';
import type { LifecycleContext } from '../../src/run/index.js';

function which(bin: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const QEMU_BINARY = which('qemu-system-x86_64');
export const QEMU_IMG = which('qemu-img');
export const SKIP_REASON = 'qemu-system-x86_64 is not installed (run scripts/setup.sh)';
/** The TPM tests need swtpm and, for qcow2 TPM state, qemu-storage-daemon. */
export const TPM_TOOLS = Boolean(which('swtpm') && which('qemu-storage-daemon'));
export const TPM_SKIP_REASON = 'swtpm or qemu-storage-daemon is not installed (run scripts/setup.sh)';

export interface TestRoot {
  root: string;
  logs: string;
  writeConfig(vmid: number, text: string): void;
  context(facts?: Partial<HostFacts>): Promise<LifecycleContext>;
  /** Kill every QEMU whose pid file is in the run dir, and any pid registered; remove the root. */
  cleanup(): void;
  track(pid: number): void;
}

export function makeTestRoot(prefix = 'cvmctl-it-'): TestRoot {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const logs = join(root, 'logs');
  mkdirSync(join(root, 'qemu-server'), { recursive: true });
  mkdirSync(logs, { recursive: true });
  const tracked = new Set<number>();
  let baseFacts: HostFacts | undefined;
  return {
    root,
    logs,
    writeConfig(vmid, text) {
      writeFileSync(join(root, 'qemu-server', `${vmid}.conf`), text);
    },
    async context(overrides = {}) {
      baseFacts ??= await probeLocalHost(root);
      return localLifecycleContext(root, { facts: { ...baseFacts, ...overrides }, warn: () => {} });
    },
    track(pid) {
      tracked.add(pid);
    },
    cleanup() {
      const runDir = join(root, 'run');
      let names: string[] = [];
      try {
        names = readdirSync(runDir);
      } catch {
        // nothing ran
      }
      for (const n of names) {
        if (!n.endsWith('.pid')) continue;
        const pid = Number(readFileSync(join(runDir, n), 'utf8').trim());
        if (pid > 1) tracked.add(pid);
      }
      for (const pid of tracked) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Poll until `fn` returns a value or `timeoutMs` passes. */
export async function waitFor<T>(
  fn: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 200,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function readIfExists(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** True while a process with this pid exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The built CLI, run synchronously against a state root (exit code, stdout, stderr). */
export function cliSync(root: string, ...args: string[]): { code: number; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, [resolve('bin/cvmctl'), '--root', root, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: res.status ?? 1, stdout: res.stdout, stderr: res.stderr };
}

/** A VM config file split into its main section and [PENDING] (key → value). */
export function configSections(root: string, vmid: number): { main: Record<string, string>; pending: Record<string, string> } {
  const text = readFileSync(join(root, 'qemu-server', `${vmid}.conf`), 'utf8');
  const out = { main: {} as Record<string, string>, pending: {} as Record<string, string> };
  let section = out.main;
  for (const line of text.split('\n')) {
    if (line === '[PENDING]') section = out.pending;
    const m = /^([a-z0-9_-]+): (.*)$/.exec(line);
    if (m) section[m[1] as string] = m[2] as string;
  }
  return out;
}

/**
 * One QMP command on a VM's socket, connected for just this command: QEMU serves one QMP
 * client at a time, so a test that holds no connection lets cvmctl get in between.
 */
export async function qmpOnce<T>(root: string, vmid: number, command: string, args?: Record<string, unknown>): Promise<T> {
  const c = await QmpClient.connect(join(root, 'run', `${vmid}.qmp`));
  try {
    return await c.execute<T>(command, args);
  } finally {
    await c.close();
  }
}

interface QueryPciBus {
  devices: { qdev_id: string; pci_bridge?: { devices: { qdev_id: string }[] } }[];
}

/** The qdev ids of QEMU's PCI devices (query-pci), including those one bridge down. */
export async function pciQdevIds(root: string, vmid: number): Promise<string[]> {
  const buses = await qmpOnce<QueryPciBus[]>(root, vmid, 'query-pci');
  return buses.flatMap((b) => b.devices.flatMap((d) => [d.qdev_id, ...(d.pci_bridge?.devices ?? []).map((x) => x.qdev_id)]));
}

/** A qcow2 image `images/<vmid>/<file>` of a test root's `local` storage (for `local:<vmid>/<file>` in a config). */
export function createQcow2(root: string, vmid: number, file: string, size: string): string {
  const dir = join(root, 'images', String(vmid));
  mkdirSync(dir, { recursive: true });
  execFileSync(QEMU_IMG as string, ['create', '-q', '-f', 'qcow2', join(dir, file), size]);
  return join(dir, file);
}

/** `cvmctl start <vmid>` through the built CLI; its QEMU is tracked for the root's clean-up. */
export function startTracked(r: TestRoot, vmid: number): number {
  const res = cliSync(r.root, 'start', String(vmid), '--json');
  if (res.code !== 0) throw new Error(`start ${vmid} failed: ${res.stderr}`);
  const pid = (JSON.parse(res.stdout) as { pid: number }).pid;
  r.track(pid);
  return pid;
}
