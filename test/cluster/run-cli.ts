/**
 * @module test/cluster/run-cli
 * The built CLI as the cluster tests run it: `bin/cvmctl --root ROOT …` in a child process with
 * the caller's environment minus CVMCTL_DEBUG/CVMCTL_ROOT (so a developer's shell cannot steer a
 * test), its exit code, stdout and stderr; never throws.
 */

import { execFile } from 'node:child_process';
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'cvmctl');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Killed after 90 s: a CLI call that waits on etcd without quorum gives up well before. */
export function cvmctl(root: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, '--root', root, ...args],
      { encoding: 'utf8', env: { ...process.env, CVMCTL_DEBUG: '', CVMCTL_ROOT: '' }, timeout: 90_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}
