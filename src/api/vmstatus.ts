/**
 * @module api/vmstatus
 * qemu-server's `vmstatus` object for one VM, as `GET /nodes/{node}/qemu`,
 * `…/status/current` and `/cluster/resources` return it: JSON numbers for `vmid`, `cpus`,
 * `maxmem` (bytes), `maxdisk`, `uptime` and the counters, `status` running or stopped from the
 * state root's pid file, `name` defaulting to `VM <vmid>`. Numbers cvmctl does not measure
 * (cpu load, guest memory use, network and disk counters) are 0, as PVE reports for a
 * stopped VM.
 */

import { availableParallelism } from 'node:os';
import { currentConfig } from '../config/file/views.js';
import type { VmConfig } from '../config/types.js';
import { processUptime } from '../run/runtime-files.js';
import { type VmStatus, vmListRow } from '../store/status.js';

export type VmStatusObject = Record<string, string | number>;

/** sockets × cores, or vcpus, capped at the host's CPU count (qemu-server's `cpus`). */
export function cpuCount(conf: Readonly<Record<string, string>>): number {
  const sockets = Number(conf.sockets ?? 1) || 1;
  const cores = Number(conf.cores ?? 1) || 1;
  let cpus = conf.vcpus ? Number(conf.vcpus) : sockets * cores;
  const host = availableParallelism();
  if (cpus > host) cpus = host;
  return cpus;
}

export async function vmStatusObject(root: string, cfg: VmConfig, known?: VmStatus): Promise<VmStatusObject> {
  const row = await vmListRow(root, cfg, known);
  const conf = currentConfig(cfg, true);
  const out: VmStatusObject = {
    vmid: cfg.vmid,
    name: row.name,
    status: row.status,
    cpus: cpuCount(conf),
    maxmem: row.maxmem * 1024 * 1024,
    maxdisk: row.maxdisk,
    disk: 0,
    mem: 0,
    cpu: 0,
    uptime: 0,
    netin: 0,
    netout: 0,
    diskread: 0,
    diskwrite: 0,
  };
  if (row.status === 'running' && row.pid) {
    out.pid = row.pid;
    out.uptime = (await processUptime(row.pid)) ?? 0;
  }
  if (row.template) out.template = 1;
  if (row.lock) out.lock = row.lock;
  if (conf.tags) out.tags = conf.tags;
  if (conf.serial0 || conf.serial1 || conf.serial2 || conf.serial3) out.serial = 1;
  return out;
}
