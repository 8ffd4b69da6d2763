/**
 * @module run/cgroup
 * `cpuunits` and `cpulimit` through the VM's cpu cgroup, as qemu-server gets them from the
 * systemd scope it starts QEMU in (`qemu.slice/<vmid>.scope`, CPUWeight/CPUShares and
 * CPUQuota). cvmctl has no systemd scope: once QEMU runs it creates that cgroup itself, moves
 * the QEMU process into it and writes the cgroup files (v2: `cpu.weight`, `cpu.max`; v1:
 * `cpu.shares`, `cpu.cfs_quota_us` with a 100 ms period), the way PVE::CGroup finds the cpu
 * controller (v2 when the unified hierarchy offers it, else the v1 `cpu` hierarchy) and
 * clamps shares. The state root `/var/lib/cvmctl` uses `qemu.slice`; any other state root a
 * slice of its own, so VMs of two roots with the same VMID never share a cgroup. Empty scopes
 * and slices of QEMUs that ended without a stop are swept when a VM stops.
 */

import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CvmError } from '../errors.js';

const CGROUP_FS = '/sys/fs/cgroup';
const PERIOD_US = 100_000;

export interface CpuCgroup {
  version: 1 | 2;
  /** cgroup_mode: 2 when /sys/fs/cgroup itself is cgroup2 (decides how shares are clamped). */
  mode: 1 | 2;
  /** Mount point of the hierarchy that has the cpu controller. */
  base: string;
  slice: string;
  /** `<base>/<slice>/<vmid>.scope`. */
  scope: string;
}

async function readText(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch(() => undefined);
}

/** The slice of a state root: qemu-server's for the system root, a root-specific one otherwise. */
export function sliceFor(root: string): string {
  if (root === '/var/lib/cvmctl') return 'qemu.slice';
  return `cvmctl-${createHash('sha256').update(root).digest('hex').slice(0, 12)}.slice`;
}

/** find_cgroup_controller('cpu') and cgroup_mode; undefined when this host has no cpu controller. */
export async function findCpuCgroup(root: string, vmid: number): Promise<CpuCgroup | undefined> {
  const mounts = (await readText('/proc/mounts')) ?? '';
  const top = mounts.split('\n').find((l) => l.split(' ')[1] === CGROUP_FS);
  const mode: 1 | 2 = top?.split(' ')[2] === 'cgroup2' ? 2 : 1;
  const v2Base = mode === 2 ? CGROUP_FS : join(CGROUP_FS, 'unified');
  const v2Controllers = ((await readText(join(v2Base, 'cgroup.controllers'))) ?? '').split(/\s+/);
  let version: 1 | 2;
  let base: string;
  if (v2Controllers.includes('cpu')) {
    version = 2;
    base = v2Base;
  } else {
    const own = (await readText('/proc/self/cgroup')) ?? '';
    const v1 = own.split('\n').some((l) => (l.split(':')[1] ?? '').split(',').includes('cpu'));
    if (!v1) return undefined;
    version = 1;
    base = join(CGROUP_FS, 'cpu');
  }
  // a hierarchy that is really mounted here (`ip netns exec` shows a fresh sysfs without it)
  if ((await readText(join(base, 'cgroup.procs'))) === undefined) return undefined;
  const slice = sliceFor(root);
  return { version, mode, base, slice, scope: join(base, slice, `${vmid}.scope`) };
}

/** clamp_cpu_shares: the default when unset, v2 at most 10000, v1 at least 2. */
export function clampCpuShares(shares: number | undefined, mode: 1 | 2): number {
  if (shares === undefined) return mode === 2 ? 100 : 1024;
  if (mode === 2) return Math.min(shares, 10000);
  return Math.max(shares, 2);
}

/** `cpulimit` (CPUs, 0 = unlimited) as a quota in µs per 100 ms period, undefined for none. */
export function cpuQuotaUs(cpulimit: string | undefined): number | undefined {
  const limit = Number(cpulimit ?? 0);
  // systemd's CPUQuota is int(cpulimit * 100) percent
  return limit ? Math.trunc(limit * 100) * (PERIOD_US / 100) : undefined;
}

async function write(cg: CpuCgroup, file: string, value: string): Promise<void> {
  try {
    await writeFile(join(cg.scope, file), value);
  } catch (err) {
    throw new CvmError('IO', `unable to write '${value}' to '${join(cg.scope, file)}' - ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
    });
  }
}

async function assertScope(cg: CpuCgroup, vmid: number): Promise<void> {
  const ok = await stat(cg.scope).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!ok) throw new CvmError('IO', `VM ${vmid} has no cgroup ('${cg.scope}' does not exist)`);
}

/** change_cpu_shares: `cpu.weight` (v2, 1..10000) or `cpu.shares` (v1); undefined = the default. */
export async function changeCpuShares(cg: CpuCgroup, vmid: number, shares: number | undefined): Promise<void> {
  await assertScope(cg, vmid);
  if (cg.version === 2) {
    const weight = shares ?? 100;
    if (weight < 1 || weight > 10000) throw new CvmError('PARAM_INVALID', 'cpu weight (shares) must be in range [1, 10000]');
    await write(cg, 'cpu.weight', String(weight));
  } else {
    await write(cg, 'cpu.shares', String(shares ?? 1024));
  }
}

/** change_cpu_quota: µs per 100 ms period; undefined = unlimited. */
export async function changeCpuQuota(cg: CpuCgroup, vmid: number, quotaUs: number | undefined): Promise<void> {
  await assertScope(cg, vmid);
  if (cg.version === 2) {
    await write(cg, 'cpu.max', `${quotaUs ?? 'max'} ${PERIOD_US}`);
  } else {
    await write(cg, 'cpu.cfs_period_us', String(PERIOD_US));
    await write(cg, 'cpu.cfs_quota_us', String(quotaUs ?? -1));
  }
}

async function mkdirOne(dir: string): Promise<void> {
  await mkdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
}

/**
 * What enter_systemd_scope does for cvmctl: the VM's cgroup with the config's shares and
 * quota, and the QEMU process (all its threads) moved into it.
 */
export async function placeInCgroup(cg: CpuCgroup, vmid: number, pid: number, conf: Record<string, string>): Promise<void> {
  // one level at a time: a recursive mkdir never returns on a sysfs without cgroups (Node 20);
  // again when another cvmctl's sweep removed the empty slice in between
  for (let attempt = 0; ; attempt++) {
    await mkdirOne(join(cg.base, cg.slice));
    if (cg.version === 2) {
      // the cpu controller must be enabled down to the scope's parent
      for (const dir of [cg.base, join(cg.base, cg.slice)]) await writeFile(join(dir, 'cgroup.subtree_control'), '+cpu');
    }
    try {
      await mkdirOne(cg.scope);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 2) throw err;
    }
  }
  // the process first: a scope with a process in it is never swept as empty
  await write(cg, 'cgroup.procs', String(pid));
  await changeCpuShares(cg, vmid, clampCpuShares(conf.cpuunits === undefined ? undefined : Number(conf.cpuunits), cg.mode));
  await changeCpuQuota(cg, vmid, cpuQuotaUs(conf.cpulimit));
}

/**
 * The scope (and a root-specific slice left empty) once QEMU is gone; busy or missing is fine.
 * Scopes of QEMUs that died without a stop (killed, their state root deleted) are swept too:
 * the kernel refuses to remove a cgroup that still has a process or a child, so only empty
 * `cvmctl-*.slice` scopes and slices go.
 */
export async function removeCgroup(cg: CpuCgroup): Promise<void> {
  await rmdir(cg.scope).catch(() => undefined);
  const slices = (await readdir(cg.base).catch(() => [] as string[])).filter((n) => /^cvmctl-[0-9a-f]{12}\.slice$/.test(n));
  for (const slice of slices) {
    for (const scope of (await readdir(join(cg.base, slice)).catch(() => [] as string[])).filter((n) => /^\d+\.scope$/.test(n))) {
      await rmdir(join(cg.base, slice, scope)).catch(() => undefined);
    }
    await rmdir(join(cg.base, slice)).catch(() => undefined);
  }
}
