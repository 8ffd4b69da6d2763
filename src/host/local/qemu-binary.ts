/**
 * @module host/local/qemu-binary
 * Facts about the installed QEMU binary: its path, real version and machine types. Asking
 * QEMU for `-machine help` costs tens of milliseconds, so the answer is cached under
 * `<root>/cache/` keyed by the binary's path, size and mtime; a package upgrade changes the
 * mtime and so refreshes the cache.
 */

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { stat, access, constants } from 'node:fs/promises';
import { join, delimiter } from 'node:path';
import { promisify } from 'node:util';
import { CvmError } from '../../errors.js';
import { parseMachineHelp, parseQemuVersion } from './parse.js';
import { writeFileAtomic } from '../../util/fs.js';
import { READ_LIMITS, readRegularFile } from '../../util/read-file.js';

const run = promisify(execFile);

export interface QemuBinaryFacts {
  path: string;
  version: string;
  machines: string[];
}

/** Locate `qemu-system-<arch>`: `$CVMCTL_QEMU` first, then `$PATH`, then /usr/bin. */
export async function findQemuBinary(arch: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const name = `qemu-system-${arch}`;
  const candidates = [
    ...(env.CVMCTL_QEMU ? [env.CVMCTL_QEMU] : []),
    ...(env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, name)),
    `/usr/bin/${name}`,
  ];
  for (const c of candidates) {
    try {
      await access(c, constants.X_OK);
      return c;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** Version and machine types of `binary`, from the cache when the binary did not change. */
export async function qemuBinaryFacts(binary: string, cacheDir: string | undefined): Promise<QemuBinaryFacts> {
  const st = await stat(binary);
  const key = createHash('sha1').update(`${binary}\0${st.size}\0${st.mtimeMs}`).digest('hex').slice(0, 16);
  const cacheFile = cacheDir ? join(cacheDir, `qemu-${key}.json`) : undefined;
  if (cacheFile) {
    try {
      // a state-root file: regular, small, never through a symlink
      const text = await readRegularFile(cacheFile, { what: 'QEMU facts cache', maxBytes: READ_LIMITS.small, noFollow: true });
      const cached = JSON.parse(text.toString('utf8')) as QemuBinaryFacts;
      if (cached.path === binary && cached.version && Array.isArray(cached.machines)) return cached;
    } catch {
      // no cache yet
    }
  }
  let versionOut: string;
  let machineOut: string;
  try {
    [versionOut, machineOut] = await Promise.all([
      run(binary, ['--version'], { timeout: 10_000 }).then((r) => r.stdout),
      run(binary, ['-machine', 'help'], { timeout: 10_000 }).then((r) => r.stdout),
    ]);
  } catch (err) {
    throw new CvmError('HOST_UNSUPPORTED', `unable to query QEMU binary '${binary}' - ${(err as Error).message}`, { cause: err });
  }
  const version = parseQemuVersion(versionOut);
  if (!version) throw new CvmError('HOST_UNSUPPORTED', `unable to parse QEMU version from '${versionOut.split('\n')[0]}'`);
  const facts: QemuBinaryFacts = { path: binary, version, machines: parseMachineHelp(machineOut) };
  if (cacheFile && cacheDir) {
    try {
      await writeFileAtomic(cacheFile, `${JSON.stringify(facts)}\n`, 0o644);
    } catch {
      // a read-only root only costs speed
    }
  }
  return facts;
}
