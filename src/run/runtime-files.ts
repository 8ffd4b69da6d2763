/**
 * @module run/runtime-files
 * The files a running VM owns under the run dir (`<vmid>.qmp`, `.pid`, `.vnc`, `.serialN`,
 * `.qga`, …). Whether the VM runs is decided by store/liveness (pid, matching `-pidfile`,
 * process start time), the same check every other command uses.
 */

import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runningPidFromFile } from '../store/liveness.js';
import { readPidStat, readSystemUptime, secondsRunning } from './proc-usage.js';
import { makeDirs } from '../util/mkdirs.js';
import { procStat } from '../util/proc.js';

export { pidfileArg, processCmdline } from '../store/liveness.js';

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

/** True while `pid` exists and is not a zombie. */
export async function processAlive(pid: number): Promise<boolean> {
  const st = procStat(pid);
  return st !== undefined && st.state !== 'Z' && st.state !== 'X';
}

/** PID of the VM's QEMU when it runs, else undefined: the one liveness check (store/liveness). */
export function runningPid(paths: RuntimePaths): Promise<number | undefined> {
  return runningPidFromFile(paths.pid);
}

/** Seconds since the process started, from /proc (clock ticks are 100 Hz on Linux x86/arm). */
export async function processUptime(pid: number): Promise<number | undefined> {
  const [stat, up] = await Promise.all([readPidStat(pid), readSystemUptime()]);
  return stat && up !== undefined ? secondsRunning(stat, up) : undefined;
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
