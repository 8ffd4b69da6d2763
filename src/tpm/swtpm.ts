/**
 * @module tpm/swtpm
 * The software TPM of a VM with `tpmstate0`, run like qemu-server's `start_swtpm`: the state
 * lives on the VM's tpmstate volume (`--tpmstate file://<volume>`), `swtpm_setup` manufactures
 * it once (EK and platform certificates, NVRAM locked, `--not-overwrite` keeps an existing
 * state; a fresh FUSE-exported state is manufactured beside it and written in), then `swtpm
 * socket --daemon --terminate` listens on `<runDir>/<vmid>.swtpm`, the socket the generated `-chardev socket,id=tpmchar` connects to, and exits when QEMU disconnects.
 * Failures carry swtpm's own output. `stopSwtpm` ends an instance that outlived its QEMU (or a
 * failed start) and is a no-op otherwise, so it is safe in every clean-up path.
 */

import { execFile } from 'node:child_process';
import { open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CvmError } from '../errors.js';
import { processAlive, processCmdline } from '../run/runtime-files.js';
import { sleep, waitForExit } from '../run/wait.js';

export interface SwtpmPaths {
  /** Control socket QEMU's `tpmchar` chardev connects to. */
  socket: string;
  pid: string;
  /** swtpm's log (kept after stop, like `/run/qemu-server/<vmid>-swtpm.log`). */
  log: string;
}

export function swtpmPaths(runDir: string, vmid: number): SwtpmPaths {
  return {
    socket: join(runDir, `${vmid}.swtpm`),
    pid: join(runDir, `${vmid}.swtpm.pid`),
    log: join(runDir, `${vmid}-swtpm.log`),
  };
}

export type TpmVersion = 'v1.2' | 'v2.0';

/** `swtpm_setup` arguments, as start_swtpm builds them (`--runas 0` only when we are root, as qemu-server always is). */
export function swtpmSetupArgs(statePath: string, version: TpmVersion, asRoot: boolean): string[] {
  const args = ['--tpmstate', `file://${statePath}`, '--createek', '--create-ek-cert', '--create-platform-cert', '--lock-nvram'];
  // the system config, never an XDG one from the caller's environment
  args.push('--config', '/etc/swtpm_setup.conf');
  if (asRoot) args.push('--runas', '0');
  args.push('--not-overwrite');
  if (version === 'v2.0') args.push('--tpm2', '--ecc');
  return args;
}

/** `swtpm socket` arguments (daemonizing, terminating when QEMU disconnects). */
export function swtpmSocketArgs(statePath: string, paths: SwtpmPaths, version: TpmVersion, logPrefix: string): string[] {
  const args = [
    'socket',
    '--tpmstate',
    `backend-uri=file://${statePath},mode=0600`,
    '--ctrl',
    `type=unixio,path=${paths.socket},mode=0600`,
    '--pid',
    `file=${paths.pid}`,
    '--terminate',
    '--daemon',
    '--log',
    `file=${paths.log},level=1,prefix=${logPrefix}`,
  ];
  if (version === 'v2.0') args.push('--tpm2');
  return args;
}

/** Run a tool without a shell; never rejects: exit code (null: killed or not started), output, error. */
export function runTool(bin: string, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string; error?: Error }> {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      const output = `${stderr}\n${stdout}`;
      if (!err) return resolve({ code: 0, output });
      const e = err as NodeJS.ErrnoException & { code?: unknown };
      resolve({ code: typeof e.code === 'number' ? e.code : null, output, error: err });
    });
  });
}

/** The last meaningful lines of a tool's output, joined into one line. */
export function toolMessage(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.slice(-3).join(' - ');
}

function toolFailure(what: string, bin: string, res: { code: number | null; output: string; error?: Error }): CvmError {
  const e = res.error as NodeJS.ErrnoException | undefined;
  if (e?.code === 'ENOENT')
    return new CvmError('HOST_UNSUPPORTED', `${what}: ${bin} is not installed (Debian package swtpm-tools / swtpm)`);
  const text = toolMessage(res.output);
  const status = res.code !== null ? `exit code ${res.code}` : (e?.message ?? 'killed');
  return new CvmError('QEMU_FAILED', `${what}: ${bin} failed (${status})${text ? `: ${text}` : ''}`, { cause: res.error });
}

/** The pid a pid file names (undefined: no file or no number). */
export async function readPid(file: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  const m = /^\s*(\d+)/.exec(text ?? '');
  return m ? Number(m[1]) : undefined;
}

function isOurSwtpm(cmdline: string[] | undefined, paths: SwtpmPaths): boolean {
  return Boolean(cmdline?.some((a) => a.endsWith('swtpm')) && cmdline.includes(`file=${paths.pid}`));
}

/**
 * The swtpm process of this VM, if one runs: the pid its pid file names, or else (swtpm removes
 * its pid file while it shuts down after QEMU went away) the process whose command line has
 * this VM's pid file path, found in /proc.
 */
export async function runningSwtpm(paths: SwtpmPaths): Promise<number | undefined> {
  const pid = await readPid(paths.pid);
  if (pid && (await processAlive(pid)) && isOurSwtpm(await processCmdline(pid), paths)) return pid;
  const entries = await readdir('/proc').catch(() => [] as string[]);
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const candidate = Number(entry);
    if (isOurSwtpm(await processCmdline(candidate), paths) && (await processAlive(candidate))) return candidate;
  }
  return undefined;
}

export interface StartSwtpmOptions {
  runDir: string;
  vmid: number;
  statePath: string;
  version: TpmVersion;
  /** `statePath` is a file that cannot be replaced, only written in place (a qemu-storage-daemon FUSE export). */
  fixedFile?: boolean;
  /** Binaries (tests; default from $PATH). */
  swtpmBin?: string;
  swtpmSetupBin?: string;
}

/** swtpm's linear-file header is 8 bytes; all zero means no state (what swtpm_setup itself writes to clear a block device). */
async function hasStateHeader(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const header = Buffer.alloc(8);
    const { bytesRead } = await fh.read(header, 0, header.length, 0);
    return header.subarray(0, bytesRead).some((b) => b !== 0);
  } finally {
    await fh.close();
  }
}

/**
 * swtpm_setup `--not-overwrite`. To start a fresh state, swtpm_setup unlinks a regular state file
 * (it only zeroes block devices), which a FUSE export's mountpoint refuses (EBUSY): a fresh
 * exported state is manufactured into a temporary file in the run dir and written into the
 * export in place; an exported state that exists goes to swtpm_setup directly, which keeps it.
 */
async function manufactureState(opts: StartSwtpmOptions, setupBin: string, asRoot: boolean): Promise<void> {
  const what = `tpmstate0: unable to set up TPM state '${opts.statePath}'`;
  const setup = async (path: string) => {
    const res = await runTool(setupBin, swtpmSetupArgs(path, opts.version, asRoot), 120_000);
    if (res.code !== 0) throw toolFailure(what, setupBin, res);
  };
  if (!opts.fixedFile || (await hasStateHeader(opts.statePath))) return setup(opts.statePath);
  const scratch = join(opts.runDir, `${opts.vmid}.swtpm-setup.tmp`);
  try {
    await rm(scratch, { force: true });
    await setup(scratch);
    const state = await readFile(scratch);
    const fh = await open(opts.statePath, 'r+');
    try {
      await fh.write(state, 0, state.length, 0);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof CvmError) throw err;
    throw new CvmError('QEMU_FAILED', `${what}: ${(err as Error).message}`, { cause: err });
  } finally {
    await rm(scratch, { force: true });
  }
}

/** Manufacture the state if needed and start the daemon; returns its pid once the pid file exists. */
export async function startSwtpm(opts: StartSwtpmOptions): Promise<number> {
  const paths = swtpmPaths(opts.runDir, opts.vmid);
  const setupBin = opts.swtpmSetupBin ?? 'swtpm_setup';
  const swtpmBin = opts.swtpmBin ?? 'swtpm';
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  await manufactureState(opts, setupBin, asRoot);

  await rm(paths.pid, { force: true });
  // distinguishes the invocations in the shared log, like qemu-server's "[id=<time>] "
  const prefix = `[id=${Math.floor(Date.now() / 1000)}] `;
  const run = await runTool(swtpmBin, swtpmSocketArgs(opts.statePath, paths, opts.version, prefix), 30_000);
  if (run.code !== 0) throw toolFailure('tpmstate0: unable to start swtpm', swtpmBin, run);
  // swtpm may take a moment before it writes the pid file; qemu-server waits up to 5 s
  for (let tries = 100; ; tries--) {
    const pid = await runningSwtpm(paths);
    if (pid) return pid;
    if (tries === 0) {
      const log = toolMessage(await readFile(paths.log, 'utf8').catch(() => ''));
      throw new CvmError('QEMU_FAILED', `failed to start swtpm: pid file '${paths.pid}' wasn't created.${log ? ` swtpm log: ${log}` : ''}`);
    }
    await sleep(50);
  }
}

/**
 * End the VM's swtpm if one still runs (SIGTERM, then SIGKILL after `graceMs`) and remove its
 * pid file and socket. Returns the pid that was stopped.
 */
export async function stopSwtpm(runDir: string, vmid: number, graceMs = 5000): Promise<number | undefined> {
  const paths = swtpmPaths(runDir, vmid);
  const pid = await runningSwtpm(paths);
  if (pid) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone meanwhile
    }
    if (!(await waitForExit(pid, graceMs))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
      await waitForExit(pid, 2000);
    }
  }
  await rm(paths.pid, { force: true });
  await rm(paths.socket, { force: true });
  return pid;
}
