/**
 * @module store/liveness
 * The one answer to "is this VM's QEMU running", used by every command (status, list, set,
 * destroy, start, stop, the API). `<run>/<vmid>.pid` counts only when all of these hold, like
 * qemu-server's vm_running_locally and more: the pid file is a small regular file (never a
 * symlink) holding a pid; that process exists and is not a zombie; its command line names
 * this very pid file after `-pidfile`; and it started no later than the pid file was written
 * (a recycled pid belongs to a process younger than the file). Anything else is "stopped".
 */

import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { procStat } from '../util/proc.js';
import { READ_LIMITS, readRegularFile } from '../util/read-file.js';

/** Start times come from /proc/stat's whole-second boot time plus ticks; allow for that rounding and clock noise. */
const START_SLACK_MS = 2000;
/** USER_HZ: 100 on every Linux architecture cvmctl runs on. */
const CLOCK_TICKS = 100;

/** The NUL-separated command line of a process, or undefined when it is gone. */
export function processCmdline(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((a, i, all) => !(a === '' && i === all.length - 1));
  } catch {
    return undefined;
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

function bootTimeMs(): number | undefined {
  try {
    const m = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'));
    return m ? Number(m[1]) * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** When a process started (ms since the epoch), from its /proc start time. */
export function processStartMs(starttime: number): number | undefined {
  const boot = bootTimeMs();
  return boot === undefined ? undefined : boot + (starttime * 1000) / CLOCK_TICKS;
}

/** PID of the QEMU that owns `pidfile` when it runs, else undefined. */
export async function runningPidFromFile(pidfile: string): Promise<number | undefined> {
  let text: string;
  let mtimeMs: number;
  try {
    text = (await readRegularFile(pidfile, { what: 'pid file', maxBytes: READ_LIMITS.pidfile, noFollow: true })).toString('latin1');
    mtimeMs = (await stat(pidfile)).mtimeMs;
  } catch {
    return undefined;
  }
  const m = /^(\d{1,10})\s*$/.exec(text);
  if (!m) return undefined;
  const pid = Number(m[1]);
  const st = procStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return undefined;
  const cmdline = processCmdline(pid);
  if (!cmdline || pidfileArg(cmdline) !== pidfile) return undefined;
  const started = processStartMs(st.starttime);
  if (started !== undefined && started > mtimeMs + START_SLACK_MS) return undefined;
  return pid;
}
