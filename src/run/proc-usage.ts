/**
 * @module run/proc-usage
 * What a running VM uses, read from /proc the way qemu-server's `vmstatus` reads it: CPU load
 * as the QEMU process's utime+stime delta between two samples (the first sample of a process
 * reports 0, a sample less than 10 ticks after the previous one repeats the last value), host
 * memory of the process, and network bytes of its `tap<vmid>i<n>` devices from /proc/net/dev
 * (a tap's receive is the VM's `netout`). qemu-server takes host memory from the VM's cgroup
 * (`qemu.slice/<vmid>.scope`); cvmctl does not place QEMU in a scope of its own, so it reports
 * the process's resident set (VmRSS), which is the same quantity for one process.
 * /proc/<pid>/stat is parsed by util/proc; the other parsers are pure and tested on captured
 * text; the readers are the only I/O.
 */

import { readFile } from 'node:fs/promises';
import { type ProcStat, parseProcStat } from '../util/proc.js';

/** Linux's USER_HZ on x86 and arm (qemu-server's `$cpuinfo->{user_hz}`). */
const USER_HZ = 100;

/** More running VMs than one node ever has; older entries belong to stopped processes. */
const MAX_SAMPLES = 4096;

/** Whole seconds a process has run, from its start ticks and the system uptime (seconds). */
export function secondsRunning(stat: Pick<ProcStat, 'starttime'>, systemUptime: number): number {
  return Math.max(0, Math.floor(systemUptime - stat.starttime / USER_HZ));
}

/** `VmRSS:` of `/proc/<pid>/status`, in bytes. */
export function parseVmRss(text: string): number | undefined {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

export interface NetBytes {
  netin: number;
  netout: number;
}

/** Per VM id, the summed bytes of its `tap<vmid>i<n>` devices in `/proc/net/dev` text. */
export function parseTapTraffic(text: string): Map<number, NetBytes> {
  const out = new Map<number, NetBytes>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const m = /^tap([1-9]\d*)i/.exec(line.slice(0, colon).trim());
    if (!m) continue;
    const fields = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    // receive bytes is the first column, transmit bytes the ninth
    const receive = fields[0] ?? 0;
    const transmit = fields[8] ?? 0;
    const vmid = Number(m[1]);
    const acc = out.get(vmid) ?? { netin: 0, netout: 0 };
    acc.netout += receive;
    acc.netin += transmit;
    out.set(vmid, acc);
  }
  return out;
}

interface CpuSample {
  time: number;
  used: number;
  cpu: number;
}

/**
 * qemu-server's `$last_proc_pid_stat` logic: load of one process as a fraction of the VM's
 * `cpus`, from the ticks it used since the previous sample of the same pid.
 */
export class CpuLoadSampler {
  private readonly last = new Map<number, CpuSample>();

  constructor(private readonly hostCpus: number) {}

  /** Load for `pid` now (seconds, fractional), given its ticks used and the VM's cpus. */
  sample(pid: number, used: number, vmCpus: number, nowSec: number): number {
    const old = this.last.get(pid);
    if (!old) {
      this.remember(pid, { time: nowSec, used, cpu: 0 });
      return 0;
    }
    const hostCpus = this.hostCpus || 1;
    const dtime = (nowSec - old.time) * hostCpus * USER_HZ;
    if (dtime <= 1000) return old.cpu;
    const cpu = (((used - old.used) / dtime) * hostCpus) / (vmCpus || 1);
    this.remember(pid, { time: nowSec, used, cpu });
    return cpu;
  }

  /** Bounded memory on a long-running server: the oldest samples (of VMs long stopped) go first. */
  private remember(pid: number, sample: CpuSample): void {
    this.last.delete(pid);
    this.last.set(pid, sample);
    if (this.last.size > MAX_SAMPLES) this.last.delete(this.last.keys().next().value as number);
  }
}

/** `/proc/<pid>/stat` through util/proc's parser (the one reader of that file). */
export async function readPidStat(pid: number): Promise<ProcStat | undefined> {
  try {
    return parseProcStat(await readFile(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return undefined;
  }
}

/** Seconds since boot, from /proc/uptime. */
export async function readSystemUptime(): Promise<number | undefined> {
  try {
    const up = Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]);
    return Number.isFinite(up) ? up : undefined;
  } catch {
    return undefined;
  }
}

export async function readVmRss(pid: number): Promise<number | undefined> {
  try {
    return parseVmRss(await readFile(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Tap traffic of every VM; empty when /proc/net/dev cannot be read. */
export async function readTapTraffic(): Promise<Map<number, NetBytes>> {
  try {
    return parseTapTraffic(await readFile('/proc/net/dev', 'utf8'));
  } catch {
    return new Map();
  }
}
