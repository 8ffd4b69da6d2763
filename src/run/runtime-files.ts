/**
 * @module run/runtime-files
 * The files a running VM owns under the run dir (`<vmid>.qmp`, `.pid`, `.vnc`, `.serialN`,
 * `.qga`, …) and the "is it really running" test. Like qemu-server's `vm_running_locally`,
 * a pid file only counts when that process is alive and its command line names the same
 * `-pidfile`, so a recycled pid never makes a stopped VM look running.
 */

import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeDirs } from '../util/mkdirs.js';

export interface RuntimePaths {
  runDir: string;
  qmp: string;
  pid: string;
  vnc: string;
}

export function runtimePaths(runDir: string, vmid: number): RuntimePaths {
  return {
    runDir,
    qmp: join(runDir, `${vmid}.qmp`),
    pid: join(runDir, `${vmid}.pid`),
    vnc: join(runDir, `${vmid}.vnc`),
  };
}

/** The NUL-separated command line of a process, or undefined when it is gone. */
export async function processCmdline(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((a, i, all) => !(a === '' && i === all.length - 1));
  } catch {
    return undefined;
  }
}

/** True while `pid` exists and is not a zombie. */
export async function processAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The value following `-pidfile` (or `-pidfile=`) in an argv. */
export function pidfileArg(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '-pidfile' || a === '--pidfile') return argv[i + 1];
    const m = /^--?pidfile=(.*)$/.exec(a);
    if (m) return m[1];
  }
  return undefined;
}

/** PID of the VM's QEMU when it runs, else undefined (stale pid files do not count). */
export async function runningPid(paths: RuntimePaths): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(paths.pid, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^(\d+)\s*$/.exec(text);
  if (!m) return undefined;
  const pid = Number(m[1]);
  const cmdline = await processCmdline(pid);
  if (!cmdline || pidfileArg(cmdline) !== paths.pid) return undefined;
  return (await processAlive(pid)) ? pid : undefined;
}

/** Seconds since the process started, from /proc (clock ticks are 100 Hz on Linux x86/arm). */
export async function processUptime(pid: number, clockTicks = 100): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = Number(fields[19]);
    const uptime = Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]);
    if (!Number.isFinite(startTicks) || !Number.isFinite(uptime)) return undefined;
    return Math.max(0, Math.floor(uptime - startTicks / clockTicks));
  } catch {
    return undefined;
  }
}

/** Remove every `<vmid>.*` entry of the run dir (sockets, pid file, logs of a stopped VM). */
export async function removeRuntimeFiles(runDir: string, vmid: number): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(runDir);
  } catch {
    return [];
  }
  const prefix = `${vmid}.`;
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    await rm(join(runDir, name), { force: true, recursive: false }).catch(() => undefined);
    removed.push(name);
  }
  return removed;
}

export async function ensureRunDir(runDir: string): Promise<void> {
  await makeDirs(runDir, 0o750);
}
