/**
 * @module cloudinit/image
 * Writing a VM's cloud-init volume (qemu-server's commit_cloudinit_disk and
 * generate_cloudinit_config): the `cicustom` snippets are read from their `snippets` storage
 * (1 MiB each at most), the files go to a private temporary directory, `genisoimage -quiet
 * -iso-level 3 -J -R -V <label>` builds the ISO and `qemu-img convert -n` writes it into the
 * existing volume in the volume's format. (qemu-server pipes genisoimage into Proxmox's patched
 * `qemu-img dd … isize=0 osize=<size>`; stock QEMU's `dd` knows neither operand, so the ISO goes
 * through a temporary file.) A missing or empty volume is allocated first, 4 MiB, as qemu-server
 * does. Both tools run without a shell; every path and the label are single argv entries.
 */

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile, mkdir, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { driveFile, isDriveKey } from '../config/file/drives.js';
import type { ConfigSection } from '../config/types.js';
import { CvmError } from '../errors.js';
import { volumePath } from '../storage/path.js';
import type { StorageConfig } from '../storage/types.js';
import { checkedVolumeFormat, parseVolname, parseVolumeId } from '../storage/volume.js';
import { type CloudinitImage, type CustomKind, cloudinitImage } from './files.js';
import { type HostResolv, parseResolvConf } from './userdata.js';
import { cicustomFormat } from '../config/options/cloudinit.js';
import { parsePropertyString } from '../schema/index.js';

const run = promisify(execFile);
const SNIPPET_MAX_BYTES = 1024 * 1024;

/** The drive key and volume id of the VM's cloud-init drive (`vm-<vmid>-cloudinit…`), if it has one. */
export function cloudinitDrive(conf: ConfigSection, vmid: number): { key: string; volid: string } | undefined {
  let found: { key: string; volid: string } | undefined;
  for (const key of Object.keys(conf).sort()) {
    if (!isDriveKey(key) || /^unused\d+$/.test(key)) continue;
    const file = driveFile(key, conf[key] as string)?.file;
    const volname = file ? parseVolumeId(file)?.volname : undefined;
    if (file && volname && new RegExp(`vm-${vmid}-cloudinit`).test(volname)) found = { key, volid: file };
  }
  return found;
}

/** The host's resolv.conf as PVE::INotify reads it (empty when the file is missing). */
export async function hostResolv(path = '/etc/resolv.conf'): Promise<HostResolv> {
  return parseResolvConf(await readFile(path, 'utf8').catch(() => ''));
}

/** read_cloudinit_snippets_file for each `cicustom` entry. */
export async function readCustomFiles(conf: ConfigSection, storage: StorageConfig): Promise<Partial<Record<CustomKind, string>>> {
  if (!conf.cicustom) return {};
  const spec = parsePropertyString(cicustomFormat, conf.cicustom) as Partial<Record<CustomKind, string>>;
  const out: Partial<Record<CustomKind, string>> = {};
  for (const kind of ['network', 'user', 'meta', 'vendor'] as const) {
    const volid = spec[kind];
    if (!volid) continue;
    if (parseVolname(storage, volid).vtype !== 'snippets') throw new CvmError('PARAM_INVALID', `${volid} is not in the snippets directory`);
    const path = volumePath(storage, volid);
    const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
      throw new CvmError('IO', `unable to open file '${path}' - ${err.code === 'ENOENT' ? 'No such file or directory' : err.message}`);
    });
    try {
      const buf = Buffer.alloc(SNIPPET_MAX_BYTES + 1);
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      if (bytesRead > SNIPPET_MAX_BYTES) throw new CvmError('PARAM_INVALID', `file '${path}' too long - aborting`);
      out[kind] = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  }
  return out;
}

export interface GenerateArgs {
  conf: ConfigSection;
  vmid: number;
  storage: StorageConfig;
  /** Host DNS settings (default: /etc/resolv.conf). */
  resolv?: HostResolv;
  warn?: (message: string) => void;
  /** Allocates the volume when it is missing (storage/alloc, passed in to keep this module light). */
  allocate: (volid: string, format: string) => Promise<void>;
}

async function qemuImgSize(path: string, format: string): Promise<number | undefined> {
  try {
    const { stdout } = await run(process.env.CVMCTL_QEMU_IMG || 'qemu-img', ['info', '--output=json', '-f', format, path], {
      timeout: 60_000,
    });
    return Number((JSON.parse(stdout) as { 'virtual-size': number })['virtual-size']);
  } catch {
    return undefined;
  }
}

async function tool(bin: string, args: string[], what: string): Promise<void> {
  try {
    await run(bin, args, { timeout: 120_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT')
      throw new CvmError(
        'HOST_UNSUPPORTED',
        `${what}: '${bin}' is not installed (Debian package ${bin === 'genisoimage' ? 'genisoimage' : 'qemu-utils'})`,
      );
    throw new CvmError('STORAGE', `${what} - ${(e.stderr || e.message).trim()}`, { cause: err });
  }
}

/** Write `image` into the volume `volid` (allocated first when missing). */
export async function commitCloudinitImage(image: CloudinitImage, volid: string, args: GenerateArgs): Promise<void> {
  const format = checkedVolumeFormat(args.storage, volid);
  const path = volumePath(args.storage, volid);
  const size = await stat(path).then(
    () => qemuImgSize(path, format),
    () => undefined,
  );
  if (!size) await args.allocate(volid, format);
  const dir = await mkdtemp(join(tmpdir(), `cvmctl-cloudinit-${args.vmid}-`));
  try {
    const tree = join(dir, 'tree');
    for (const [name, contents] of Object.entries(image.files)) {
      const target = join(tree, name);
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      await writeFile(target, contents, { mode: 0o600 });
    }
    await mkdir(tree, { recursive: true, mode: 0o700 });
    const iso = join(dir, 'cloudinit.iso');
    await tool('genisoimage', ['-quiet', '-iso-level', '3', '-J', '-R', '-V', image.label, '-o', iso, tree], 'generating cloud-init ISO');
    await tool(
      process.env.CVMCTL_QEMU_IMG || 'qemu-img',
      ['convert', '-n', '-f', 'raw', '-O', format, iso, path],
      `writing cloud-init ISO to '${volid}'`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * generate_cloudinit_config: write the image of the VM's cloud-init drive from `conf`.
 * Returns the drive, or undefined when the VM has none.
 */
export async function generateCloudinit(args: GenerateArgs): Promise<{ key: string; volid: string; image: CloudinitImage } | undefined> {
  const drive = cloudinitDrive(args.conf, args.vmid);
  if (!drive) return undefined;
  const image = cloudinitImage(args.conf, args.vmid, {
    host: args.resolv ?? (await hostResolv()),
    custom: await readCustomFiles(args.conf, args.storage),
    warn: args.warn ?? ((m) => process.stderr.write(`WARN: ${m}\n`)),
  });
  await commitCloudinitImage(image, drive.volid, args);
  return { ...drive, image };
}
