/**
 * @module run/proc-usage.test
 * The /proc readers behind a running VM's cpu, mem and net numbers: parsers on captured text
 * (a command name with spaces and parentheses, tap devices of two VMs beside other devices) and
 * the load sampler's qemu-server rules (0 first, the previous value within 10 ticks, the
 * fraction of the VM's cpus otherwise); the readers once against this very process.
 */

import { describe, expect, it } from 'vitest';
import { parseProcStat } from '../util/proc.js';
import { CpuLoadSampler, parseTapTraffic, parseVmRss, readPidStat, readVmRss, secondsRunning } from './proc-usage.js';

const STAT =
  '4242 (qemu (x) y) S 1 4242 4242 0 -1 4194560 5120 0 0 0 1234 567 0 0 20 0 3 0 98765 1073741824 20480 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0';

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 9000      10    0    0    0     0          0         0     9000      10    0    0    0     0       0          0
tap100i0: 1500      3    0    0    0     0          0         0     7000       5    0    0    0     0       0          0
tap100i1:  500      1    0    0    0     0          0         0     1000       2    0    0    0     0       0          0
tap1001i0:   42      1    0    0    0     0          0         0       84       2    0    0    0     0       0          0
 fwpr100p0: 111     1    0    0    0     0          0         0      222       2    0    0    0     0       0          0
  eth0: 123456   100    0    0    0     0          0         0   654321     200    0    0    0     0       0          0
`;

describe('proc parsers', () => {
  it('reads utime + stime after a command name holding spaces and parentheses', () => {
    expect(parseProcStat(STAT)).toEqual({ state: 'S', starttime: 98765, cpuTicks: 1234 + 567 });
    // started 987.65 s after boot; at 1000.9 s of uptime it has run 13 whole seconds
    expect(secondsRunning({ starttime: 98765 }, 1000.9)).toBe(13);
    expect(parseProcStat('garbage')).toBeUndefined();
  });

  it('reads VmRSS in bytes', () => {
    expect(parseVmRss('Name:\tqemu\nVmRSS:\t   51200 kB\nThreads:\t3\n')).toBe(51200 * 1024);
    expect(parseVmRss('Name:\tkthreadd\n')).toBeUndefined();
  });

  it('sums tap<vmid>i<n> traffic per VM: a tap receive is the VM sending', () => {
    const t = parseTapTraffic(NET_DEV);
    expect([...t.keys()].sort()).toEqual([100, 1001]);
    expect(t.get(100)).toEqual({ netout: 2000, netin: 8000 });
    expect(t.get(1001)).toEqual({ netout: 42, netin: 84 });
  });
});

describe('CpuLoadSampler (qemu-server vmstatus)', () => {
  it('reports 0 first, keeps the last value within 10 ticks, then the fraction of the VM cpus', () => {
    const s = new CpuLoadSampler(2);
    expect(s.sample(7, 1000, 2, 100)).toBe(0);
    // 2 host cpus: 1000 ticks of wall time are 5 s; 4 s later nothing is recomputed
    expect(s.sample(7, 1300, 2, 104)).toBe(0);
    // 6 s after the first sample: 600 ticks of 1200 available, for a VM of 2 cpus -> 0.5
    expect(s.sample(7, 1600, 2, 106)).toBeCloseTo(0.5, 10);
    expect(s.sample(7, 1700, 2, 107)).toBeCloseTo(0.5, 10);
    // a 1-cpu VM busy on one host cpu for 10 s
    expect(s.sample(8, 0, 1, 0)).toBe(0);
    expect(s.sample(8, 1000, 1, 10)).toBeCloseTo(1, 10);
  });
});

describe('proc readers', () => {
  it('read this process', async () => {
    expect((await readPidStat(process.pid))?.cpuTicks).toBeGreaterThanOrEqual(0);
    expect(await readVmRss(process.pid)).toBeGreaterThan(1024 * 1024);
    expect(await readPidStat(2 ** 22 + 1)).toBeUndefined();
  });
});
