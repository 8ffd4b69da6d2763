/**
 * @module store/status
 * Whether a VM is running, as far as the state root knows: `<root>/run/<vmid>.pid` judged by
 * store/liveness (a pid file naming a dead or unrelated process counts as stopped).
 * Also the per-VM numbers `list` shows (memory, boot disk size), taken from the config the
 * way qemu-server's vmstatus does.
 */

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { driveFile } from '../config/file/drives.js';
import { currentConfig, splitList } from '../config/file/views.js';
import type { ConfigSection, VmConfig } from '../config/types.js';
import { isValidDriveName, parseDrive } from '../config/drive.js';
import { runningPidFromFile } from './liveness.js';
import { stateLayout } from './root.js';

export type VmRunState = 'running' | 'stopped';

export interface VmStatus {
  status: VmRunState;
  pid?: number;
}

export function pidfilePath(root: string, vmid: number): string {
  return join(stateLayout(root).runDir, `${vmid}.pid`);
}

/** Running or stopped, by the one liveness check every command uses (store/liveness). */
export async function vmStatus(root: string, vmid: number): Promise<VmStatus> {
  const pid = await runningPidFromFile(pidfilePath(root, vmid));
  return pid === undefined ? { status: 'stopped' } : { status: 'running', pid };
}

/**
 * The VM ids with a pid file in the run dir: one `readdir` that lets a listing of many VMs
 * check liveness only for those (a VM without a pid file is stopped) instead of trying to read
 * a pid file per VM.
 */
export async function vmidsWithPidFile(root: string): Promise<Set<number>> {
  let names: string[];
  try {
    names = await readdir(stateLayout(root).runDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw err;
  }
  const out = new Set<number>();
  for (const name of names) {
    const m = /^(\d+)\.pid$/.exec(name);
    if (m) out.add(Number(m[1]));
  }
  return out;
}

/** Default of `memory` in qemu-server 9.2.6 (MiB): `$memory_fmt->{current}->{default}`. */
const DEFAULT_MEMORY_MIB = 512;

/** get_current_memory: `memory: 4096` or `memory: current=4096`. */
export function currentMemoryMiB(value: string | undefined): number {
  if (!value) return DEFAULT_MEMORY_MIB;
  for (const part of value.split(',')) {
    const m = /^(?:current=)?(\d+)$/.exec(part);
    if (m) return Number(m[1]);
  }
  return DEFAULT_MEMORY_MIB;
}

/** get_bootdisks: the `order=` list of `boot`, or the legacy `bootdisk`. */
export function bootDisks(conf: ConfigSection): string[] {
  const boot = conf.boot;
  let order: string | undefined;
  let legacy = boot === undefined;
  if (boot !== undefined) {
    for (const part of boot.split(',')) {
      if (part.startsWith('order=')) order = part.slice(6);
      else if (part.startsWith('legacy=') || !part.includes('=')) legacy = true;
    }
  }
  if (legacy) return conf.bootdisk ? [conf.bootdisk] : [];
  return splitList(order).filter((d) => isValidDriveName(d));
}

/** bootdisk_size: the size in bytes of the first non-cdrom boot disk, if known. */
export function bootDiskSize(conf: ConfigSection): number | undefined {
  for (const key of bootDisks(conf)) {
    if (!isValidDriveName(key) || !conf[key]) continue;
    const vol = driveFile(key, conf[key] as string);
    if (!vol || vol.media === 'cdrom' || !vol.file) continue;
    try {
      const size = parseDrive(key, conf[key] as string).size;
      return typeof size === 'number' ? size : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export interface VmListRow {
  vmid: number;
  name: string;
  status: VmRunState;
  /** MiB */
  maxmem: number;
  /** bytes */
  maxdisk: number;
  pid: number;
  lock?: string;
  template?: number;
}

/** `known`: the status when the caller has it already (a cluster VM on another node has no pid file here). */
export async function vmListRow(root: string, cfg: VmConfig, known?: VmStatus): Promise<VmListRow> {
  const conf = currentConfig(cfg, true);
  const { status, pid } = known ?? (await vmStatus(root, cfg.vmid));
  const row: VmListRow = {
    vmid: cfg.vmid,
    name: conf.name || `VM ${cfg.vmid}`,
    status,
    maxmem: currentMemoryMiB(conf.memory),
    maxdisk: bootDiskSize(conf) ?? 0,
    pid: pid ?? 0,
  };
  if (conf.lock) row.lock = conf.lock;
  if (conf.template === '1') row.template = 1;
  return row;
}
