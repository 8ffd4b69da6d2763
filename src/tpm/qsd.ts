/**
 * @module tpm/qsd
 * The qemu-storage-daemon that makes a non-raw (or iSCSI) `tpmstate0` volume a plain file for
 * swtpm, the way qemu-server's QSD.pm does it: a daemon per VM with its QMP monitor on
 * `<runDir>/<vmid>.qsd` and pid file `<runDir>/qsd-<vmid>.pid`; the drive's blockdev chain (the
 * JSON the generator makes for a drive, with its throttle group) is attached over QMP and
 * exported through FUSE on the empty 0600 file `<runDir>/qsd-<vmid>-tpmstate0.fuse`. Stopping
 * asks the daemon to `quit` (60 s), then SIGTERM (10 s), then SIGKILL, and removes the pid file,
 * the socket and every `qsd-<vmid>-*.fuse` (unmounted first if still mounted). A failed start
 * stops what it started, so it leaves no daemon, mount or file behind.
 */

import { readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CvmError } from '../errors.js';
import { QmpClient } from '../qemu/qmp/index.js';
import { attachBlockdev } from '../run/hotplug/qmp-devices.js';
import { processAlive, processCmdline } from '../run/runtime-files.js';
import { waitForExit } from '../run/wait.js';
import { readPid, runTool, toolMessage } from './swtpm.js';

export interface QsdPaths {
  /** The daemon's QMP socket (qemu-server's `qmp_socket` of a `qsd` peer). */
  qmp: string;
  pid: string;
}

export function qsdPaths(runDir: string, vmid: number): QsdPaths {
  return { qmp: join(runDir, `${vmid}.qsd`), pid: join(runDir, `qsd-${vmid}.pid`) };
}

/** The FUSE mountpoint file of export `name` (qsd_fuse_export_path). */
export function qsdFuseExportPath(runDir: string, vmid: number, name: string): string {
  return join(runDir, `qsd-${vmid}-${name}.fuse`);
}

/** `qemu-storage-daemon` arguments: daemonizing, QMP monitor on the socket, pid file. */
export function qsdDaemonArgs(paths: QsdPaths): string[] {
  return [
    '--daemonize',
    '--chardev',
    `socket,id=qmp,path=${paths.qmp},server=on,wait=off`,
    '--monitor',
    'chardev=qmp,mode=control',
    '--pidfile',
    paths.pid,
  ];
}

/** `block-export-add` arguments of a FUSE export of node `nodeName` on `mountpoint`. */
export function fuseExportArgs(name: string, nodeName: string, mountpoint: string, writable: boolean): Record<string, unknown> {
  return {
    type: 'fuse',
    id: name,
    mountpoint,
    'node-name': nodeName,
    writable,
    growable: false,
    'allow-other': 'off',
  };
}

/** The daemon of this VM if it runs: the pid its pid file names, checked against its command line. */
export async function runningQsd(runDir: string, vmid: number): Promise<number | undefined> {
  const paths = qsdPaths(runDir, vmid);
  const pid = await readPid(paths.pid);
  if (!pid || !(await processAlive(pid))) return undefined;
  const cmdline = await processCmdline(pid);
  return cmdline?.some((a) => a.endsWith('qemu-storage-daemon')) && cmdline.includes(paths.pid) ? pid : undefined;
}

/** /proc/self/mounts escapes blanks and backslashes as octal (`\040`). */
function mountPoints(text: string): Set<string> {
  return new Set(
    text
      .split('\n')
      .map((l) => l.split(' ')[1])
      .filter((p): p is string => Boolean(p))
      .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)))),
  );
}

/** qsd_fuse_export_cleanup_files: unmount (if still mounted) and remove every `qsd-<vmid>-*.fuse`. */
export async function cleanupQsdFuseFiles(runDir: string, vmid: number): Promise<void> {
  // the mount table names the resolved directory
  const dir = await realpath(runDir).catch(() => undefined);
  if (!dir) return;
  const mounted = mountPoints(await readFile('/proc/self/mounts', 'utf8').catch(() => ''));
  const prefix = `qsd-${vmid}-`;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(prefix) || !name.endsWith('.fuse')) continue;
    const path = join(dir, name);
    if (mounted.has(path)) {
      const res = await runTool('umount', [path], 30_000);
      if (res.code !== 0)
        throw new CvmError(
          'QEMU_FAILED',
          `unable to unmount left-over FUSE export '${path}': ${toolMessage(res.output) || res.error?.message}`,
        );
    }
    await rm(path, { force: true });
  }
}

/**
 * QSD::quit: `quit` over QMP and up to 60 s for the daemon to end, then SIGTERM and 10 s more,
 * then SIGKILL; the pid file, socket and export files are removed in any case. No-op when no
 * daemon runs (apart from removing leftovers). Returns the pid that was stopped.
 */
export async function stopQsd(runDir: string, vmid: number, graceMs = { quit: 60_000, term: 10_000 }): Promise<number | undefined> {
  const paths = qsdPaths(runDir, vmid);
  const pid = await runningQsd(runDir, vmid);
  if (pid) {
    let quitSent = false;
    try {
      const qmp = await QmpClient.connect(paths.qmp);
      try {
        await qmp.execute('quit');
        quitSent = true;
      } finally {
        qmp.destroy();
      }
    } catch {
      // signals below
    }
    if (!(quitSent && (await waitForExit(pid, graceMs.quit)))) {
      signal(pid, 'SIGTERM');
      if (!(await waitForExit(pid, graceMs.term))) {
        signal(pid, 'SIGKILL');
        await waitForExit(pid, 2000);
      }
    }
  }
  await rm(paths.pid, { force: true });
  await rm(paths.qmp, { force: true });
  await cleanupQsdFuseFiles(runDir, vmid);
  return pid;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone meanwhile
  }
}

export interface QsdExportOptions {
  runDir: string;
  vmid: number;
  /** Export name (`tpmstate0`), also the mountpoint file's name part. */
  name: string;
  /** The drive's blockdev chain (top node is exported) and its throttle group, as the generator makes them. */
  blockdev: Record<string, unknown>;
  throttleGroup?: Record<string, unknown>;
  /** Binary (tests; default from $PATH). */
  qsdBin?: string;
}

/** add_fuse_export on a connected daemon: attach the chain, create the 0600 mountpoint file, export the top node. */
export async function attachAndExport(
  qmp: Pick<QmpClient, 'execute'>,
  opts: Pick<QsdExportOptions, 'name' | 'blockdev' | 'throttleGroup'>,
  mountpoint: string,
): Promise<void> {
  await attachBlockdev(qmp, opts.throttleGroup, opts.blockdev);
  // the mountpoint file has to exist before the export
  await writeFile(mountpoint, '', { mode: 0o600 });
  const writable = opts.blockdev['read-only'] !== true;
  await qmp.execute('block-export-add', fuseExportArgs(opts.name, String(opts.blockdev['node-name']), mountpoint, writable));
}

/** QSD::start + add_fuse_export: returns the path of the file that is the volume's content. */
export async function startQsdFuseExport(opts: QsdExportOptions): Promise<string> {
  const paths = qsdPaths(opts.runDir, opts.vmid);
  const bin = opts.qsdBin ?? 'qemu-storage-daemon';
  // a left-over mount would keep the new daemon from exporting on the same file
  await cleanupQsdFuseFiles(opts.runDir, opts.vmid);
  await rm(paths.pid, { force: true });
  const res = await runTool(bin, qsdDaemonArgs(paths), 30_000);
  if (res.code !== 0) {
    await stopQsd(opts.runDir, opts.vmid);
    if ((res.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
      throw new CvmError('HOST_UNSUPPORTED', `${opts.name}: ${bin} is not installed (Debian package qemu-system-common)`);
    const text = toolMessage(res.output);
    throw new CvmError('QEMU_FAILED', `${opts.name}: unable to start ${bin}${text ? `: ${text}` : ''}`, { cause: res.error });
  }
  const mountpoint = qsdFuseExportPath(opts.runDir, opts.vmid, opts.name);
  try {
    const qmp = await QmpClient.connect(paths.qmp);
    try {
      await attachAndExport(qmp, opts, mountpoint);
    } finally {
      qmp.destroy();
    }
  } catch (err) {
    await stopQsd(opts.runDir, opts.vmid).catch(() => undefined);
    throw new CvmError('QEMU_FAILED', `${opts.name}: unable to export the volume through qemu-storage-daemon - ${(err as Error).message}`, {
      cause: err,
    });
  }
  return mountpoint;
}
