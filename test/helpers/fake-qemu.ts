/**
 * @module test/helpers/fake-qemu
 * A stand-in for a running QEMU, for tests of the "is it running" logic that need no VM: a
 * live process whose command line names the VM's pid file after `-pidfile`, as QEMU's does,
 * with that pid file written. `stop()` kills it and removes the pid file.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface FakeQemu {
  pid: number;
  stop(): void;
}

export async function fakeQemu(pidfile: string, opts: { writePidfile?: boolean } = {}): Promise<FakeQemu> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)', '--', '-pidfile', pidfile], { stdio: 'ignore' });
  await new Promise((r) => child.once('spawn', r));
  const pid = child.pid as number;
  if (opts.writePidfile !== false) {
    mkdirSync(dirname(pidfile), { recursive: true });
    writeFileSync(pidfile, `${pid}\n`);
  }
  return {
    pid,
    stop() {
      child.kill('SIGKILL');
      rmSync(pidfile, { force: true });
    },
  };
}
