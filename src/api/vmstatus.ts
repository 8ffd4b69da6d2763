/**
 * @module api/vmstatus
 * qemu-server's `vmstatus` object for one VM, as `GET /nodes/{node}/qemu`,
 * `…/status/current` and `/cluster/resources` return it: JSON numbers for `vmid`, `cpus`,
 * `maxmem` (bytes), `maxdisk`, `uptime` and the counters, `status` running or stopped from the
 * state root's pid file, `name` defaulting to `VM <vmid>`. For a running VM `cpu`, `mem`/`memhost`,
 * `netin`/`netout` and `uptime` come from /proc as in qemu-server (run/proc-usage); the disk
 * counters, which qemu-server fills only from QMP for `status/current`, stay 0. What comes from
 * the config alone is computed once per shared (frozen) config: /cluster/resources lists
 * thousands of cached configs per request.
 */

import { availableParallelism } from 'node:os';
import { currentConfig } from '../config/file/views.js';
import type { VmConfig } from '../config/types.js';
import { CpuLoadSampler, type NetBytes, readPidStat, readSystemUptime, readTapTraffic, readVmRss, secondsRunning } from '../run/proc-usage.js';
import { type VmStatus, vmListRow, vmStatus } from '../store/status.js';

export type VmStatusObject = Record<string, string | number>;

/** qemu-server's `cpus`: sockets × cores capped at the host's CPU count; a `vcpus` value wins uncapped. */
export function cpuCount(conf: Readonly<Record<string, string>>, hostCpus = availableParallelism()): number {
  const sockets = Number(conf.sockets ?? 1) || 1;
  const cores = Number(conf.cores ?? 1) || 1;
  let cpus = sockets * cores;
  if (cpus > hostCpus) cpus = hostCpus;
  if (conf.vcpus && Number(conf.vcpus)) cpus = Number(conf.vcpus);
  return cpus;
}

/** One sampler per process: its previous samples are what makes a load out of tick counters. */
const cpuLoad = new CpuLoadSampler(availableParallelism());

/** What the status object takes from the config alone (no pid file, no /proc, no clock). */
interface ConfigFacts {
  name: string;
  cpus: number;
  maxmem: number;
  maxdisk: number;
  balloon_min?: number;
  shares?: number;
  template?: number;
  lock?: string;
  tags?: string;
  serial?: number;
}

/** Facts of frozen configs: a cluster listing hands out the same frozen object until the config changes. */
const factsOfShared = new WeakMap<VmConfig, ConfigFacts>();

async function configFacts(root: string, cfg: VmConfig): Promise<ConfigFacts> {
  const shared = Object.isFrozen(cfg);
  const hit = shared ? factsOfShared.get(cfg) : undefined;
  if (hit) return hit;
  const row = await vmListRow(root, cfg, { status: 'stopped' }); // the config's numbers; this status is not used
  const conf = currentConfig(cfg, true);
  const facts: ConfigFacts = { name: row.name, cpus: cpuCount(conf), maxmem: row.maxmem * 1024 * 1024, maxdisk: row.maxdisk };
  if (conf.balloon && Number(conf.balloon)) {
    facts.balloon_min = Number(conf.balloon) * 1024 * 1024;
    facts.shares = Number(conf.shares ?? 1000);
  }
  if (row.template) facts.template = 1;
  if (row.lock) facts.lock = row.lock;
  if (conf.tags) facts.tags = conf.tags;
  if (conf.serial0 || conf.serial1 || conf.serial2 || conf.serial3) facts.serial = 1;
  if (shared) factsOfShared.set(cfg, facts);
  return facts;
}

export async function vmStatusObject(root: string, cfg: VmConfig, known?: VmStatus): Promise<VmStatusObject> {
  const facts = await configFacts(root, cfg);
  const { status, pid } = known ?? (await vmStatus(root, cfg.vmid));
  const out: VmStatusObject = {
    vmid: cfg.vmid,
    name: facts.name,
    status,
    cpus: facts.cpus,
    maxmem: facts.maxmem,
    maxdisk: facts.maxdisk,
    disk: 0,
    mem: 0,
    memhost: 0,
    cpu: 0,
    uptime: 0,
    netin: 0,
    netout: 0,
    diskread: 0,
    diskwrite: 0,
  };
  if (facts.balloon_min !== undefined) {
    out.balloon_min = facts.balloon_min;
    out.shares = facts.shares as number;
  }
  if (status === 'running' && pid) await addUsage(out, cfg.vmid, pid);
  if (facts.template) out.template = 1;
  if (facts.lock) out.lock = facts.lock;
  if (facts.tags) out.tags = facts.tags;
  if (facts.serial) out.serial = 1;
  return out;
}

let taps: { at: number; traffic: Promise<Map<number, NetBytes>> } | undefined;

/** /proc/net/dev read at most once a second: a VM list asks for every running VM in one go. */
function tapTraffic(): Promise<Map<number, NetBytes>> {
  const now = Date.now();
  if (!taps || now - taps.at > 1000) taps = { at: now, traffic: readTapTraffic() };
  return taps.traffic;
}

async function addUsage(out: VmStatusObject, vmid: number, pid: number): Promise<void> {
  out.pid = pid;
  // one read of /proc/<pid>/stat gives both the uptime and the CPU ticks
  const [stat, systemUptime, rss, taps] = await Promise.all([readPidStat(pid), readSystemUptime(), readVmRss(pid), tapTraffic()]);
  out.uptime = stat && systemUptime !== undefined ? secondsRunning(stat, systemUptime) : 0;
  if (rss !== undefined) {
    out.memhost = rss;
    out.mem = rss;
  }
  if (stat) out.cpu = cpuLoad.sample(pid, stat.cpuTicks, out.cpus as number, Date.now() / 1000);
  const net = taps.get(vmid);
  if (net) {
    out.netin = net.netin;
    out.netout = net.netout;
  }
}
