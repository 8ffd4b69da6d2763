/**
 * @module util/proc
 * Who a process is, from /proc: its pid alone is not an identity (pids are recycled), the pair
 * (pid, start time in clock ticks since boot, field 22 of `/proc/<pid>/stat`) is. Locks record
 * that pair for their holder and pid files are checked against it, so "is the holder still
 * alive" never mistakes a new, unrelated process for the old one. Synchronous and tiny: one
 * read of a /proc file, no child processes.
 */

import { readFileSync } from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: start time in clock ticks after boot. */
  starttime: number;
}

export interface ProcStat {
  /** One-letter state (R, S, D, Z, X, …). */
  state: string;
  starttime: number;
  /** utime + stime (fields 14 and 15): CPU clock ticks the process used. */
  cpuTicks: number;
}

/** Parse /proc/<pid>/stat; the command name (field 2) may contain spaces and parentheses. */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // fields after the name start with field 3 (state); utime/stime are 14/15, starttime is 22
  const fields = text.slice(close + 2).split(' ');
  const state = fields[0];
  const starttime = Number(fields[19]);
  const cpuTicks = Number(fields[11]) + Number(fields[12]);
  if (!state || !Number.isSafeInteger(starttime) || !Number.isSafeInteger(cpuTicks)) return undefined;
  return { state, starttime, cpuTicks };
}

/** /proc/<pid>/stat of a process, or undefined when there is no such process. */
export function procStat(pid: number): ProcStat | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return undefined;
  }
}

let self: ProcessIdentity | undefined;

/** This process's identity (read once). */
export function selfIdentity(): ProcessIdentity {
  if (!self) {
    const st = procStat(process.pid);
    if (!st) throw new Error('cannot read /proc/self/stat - cvmctl needs a mounted /proc');
    self = { pid: process.pid, starttime: st.starttime };
  }
  return self;
}

/** True while the process `id` names exists (same pid AND same start time) and is not a zombie. */
export function identityAlive(id: ProcessIdentity): boolean {
  const st = procStat(id.pid);
  return st !== undefined && st.starttime === id.starttime && st.state !== 'Z' && st.state !== 'X';
}
