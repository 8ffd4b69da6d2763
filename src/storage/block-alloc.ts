/**
 * @module storage/block-alloc
 * Volumes on block storages, the way PVE's LvmThinPlugin and ZFSPoolPlugin allocate and free
 * them: the next free `vm-<vmid>-disk-N` among the storage's volumes (`lvs` / `zfs list`),
 * `lvcreate -aly -V <size>k --name <name> --thinpool <vg>/<pool>` or `zfs create [-s] [-b
 * <blocksize>] -V <size>k <pool>/<name>`, and `lvremove -f <vg>/<name>` / `zfs destroy -r
 * <pool>/<name>` to free. Only raw volumes exist there. The tools run through a CommandRunner
 * so the command lines are tested with a recording runner where the real tools cannot work
 * (no device-mapper or ZFS in a container).
 */

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CvmError } from '../errors.js';
import type { StorageDef } from './types.js';

export type CommandRunner = (bin: string, args: readonly string[]) => Promise<{ stdout: string }>;

const exec = promisify(execFile);

export const defaultRunner: CommandRunner = async (bin, args) => {
  try {
    const { stdout } = await exec(bin, [...args], { timeout: 120_000 });
    return { stdout };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const text = (e.stderr || e.message).trim().split('\n').filter(Boolean).join(' - ');
    throw new CvmError('STORAGE', `command '${bin} ${args.join(' ')}' failed: ${text}`, { cause: err });
  }
};

export const BLOCK_STORAGE_TYPES: ReadonlySet<string> = new Set(['lvmthin', 'zfspool']);

function setting(def: StorageDef, key: string, storeid: string): string {
  const v = def[key];
  if (typeof v !== 'string' || v === '') throw new CvmError('STORAGE', `storage '${storeid}': missing '${key}'`);
  return v;
}

/** Names of the volumes a block storage holds. */
async function volumeNames(def: StorageDef, storeid: string, run: CommandRunner): Promise<string[]> {
  if (def.type === 'lvmthin') {
    const vg = setting(def, 'vgname', storeid);
    const { stdout } = await run('lvs', [
      '--separator',
      ':',
      '--noheadings',
      '--units',
      'b',
      '--unbuffered',
      '--nosuffix',
      '--options',
      'vg_name,lv_name',
      vg,
    ]);
    return stdout
      .split('\n')
      .map((l) => l.trim().split(':'))
      .filter((f) => f[0] === vg && f[1])
      .map((f) => f[1] as string);
  }
  const pool = setting(def, 'pool', storeid);
  const { stdout } = await run('zfs', ['list', '-o', 'name', '-t', 'volume,filesystem', '-d1', '-Hp', pool]);
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((n) => n.startsWith(`${pool}/`))
    .map((n) => n.slice(pool.length + 1));
}

/** find_free_diskname on a block storage. */
async function freeName(def: StorageDef, storeid: string, vmid: number, run: CommandRunner): Promise<string> {
  const used = new Set<number>();
  const re = new RegExp(`^(?:vm|base)-${vmid}-disk-(\\d+)`);
  for (const n of await volumeNames(def, storeid, run)) {
    const m = re.exec(n);
    if (m) used.add(Number(m[1]));
  }
  for (let i = 0; i < 1000; i++) if (!used.has(i)) return `vm-${vmid}-disk-${i}`;
  throw new CvmError('STORAGE', `unable to allocate an image name for VM ${vmid} in storage '${storeid}'`);
}

/** alloc_image of the LVM-thin / ZFS pool plugin; returns the volume id and the device path. */
export async function allocateBlockVolume(
  args: { def: StorageDef; storeid: string; vmid: number; format: string; sizeKiB: number; name?: string },
  run: CommandRunner = defaultRunner,
): Promise<{ volid: string; path: string }> {
  const { def, storeid } = args;
  if (args.format !== 'raw') throw new CvmError('STORAGE', `unsupported format '${args.format}'`);
  // a given name (vm-<vmid>-cloudinit) is taken as is: lvcreate/zfs refuse an existing one
  const name = args.name ?? (await freeName(def, storeid, args.vmid, run));
  if (def.type === 'lvmthin') {
    const vg = setting(def, 'vgname', storeid);
    const pool = setting(def, 'thinpool', storeid);
    await run('lvcreate', ['-aly', '-V', `${args.sizeKiB}k`, '--name', name, '--thinpool', `${vg}/${pool}`]);
    return { volid: `${storeid}:${name}`, path: `/dev/${vg}/${name}` };
  }
  const pool = setting(def, 'pool', storeid);
  const opts: string[] = [];
  if (def.sparse === true || def.sparse === 1 || def.sparse === '1') opts.push('-s');
  if (typeof def.blocksize === 'string' && def.blocksize) opts.push('-b', def.blocksize);
  await run('zfs', ['create', ...opts, '-V', `${args.sizeKiB}k`, `${pool}/${name}`]);
  return { volid: `${storeid}:${name}`, path: `/dev/zvol/${pool}/${name}` };
}

/** free_image: remove one volume of a block storage. */
export async function freeBlockVolume(def: StorageDef, storeid: string, name: string, run: CommandRunner = defaultRunner): Promise<void> {
  if (def.type === 'lvmthin') await run('lvremove', ['-f', `${setting(def, 'vgname', storeid)}/${name}`]);
  else await run('zfs', ['destroy', '-r', `${setting(def, 'pool', storeid)}/${name}`]);
}
