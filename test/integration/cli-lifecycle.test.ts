/**
 * The lifecycle commands through the built CLI (`bin/cvmctl`, needs `npm run build`): start,
 * status (text, verbose, JSON), a refused second start with exit code 1, stop, and the
 * input/not-found errors with their exit codes.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { alive, makeTestRoot, QEMU_BINARY, SKIP_REASON, type TestRoot } from './helpers.js';

const exec = promisify(execFile);
const BIN = resolve('bin/cvmctl');

const roots: TestRoot[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) r.cleanup();
});

async function cli(root: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, '--root', root, ...args], { timeout: 90_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe.skipIf(!QEMU_BINARY)(
  `cvmctl start/status/stop${QEMU_BINARY ? '' : ` (skipped: ${SKIP_REASON})`}`,
  () => {
    it('runs a VM through the CLI', async () => {
      const r = makeTestRoot();
      roots.push(r);
      r.writeConfig(9401, 'name: cli-vm\nmemory: 64\ncores: 1\nkvm: 0\nvga: none\n');
      const start = await cli(r.root, 'start', '9401', '--json');
      // only WARN lines (e.g. the TCG notice on a host without KVM)
      expect(start.stderr.split('\n').filter((l) => l && !l.startsWith('WARN: '))).toEqual([]);
      expect(start.code).toBe(0);
      const res = JSON.parse(start.stdout) as { vmid: number; pid: number; qmpstatus: string };
      r.track(res.pid);
      expect(res).toMatchObject({ vmid: 9401, qmpstatus: 'running' });
      expect(alive(res.pid)).toBe(true);

      expect(await cli(r.root, 'status', '9401')).toMatchObject({ code: 0, stdout: 'status: running\n' });
      const verbose = await cli(r.root, 'status', '9401', '--verbose');
      expect(verbose.stdout).toContain(`pid: ${res.pid}\n`);
      expect(verbose.stdout).toMatch(/^qmpstatus: running$/m);
      const json = JSON.parse((await cli(r.root, 'status', '9401', '--json')).stdout) as Record<string, unknown>;
      expect(json).toMatchObject({ vmid: 9401, status: 'running', pid: res.pid, name: 'cli-vm', qmpstatus: 'running' });

      expect(await cli(r.root, 'start', '9401')).toMatchObject({ code: 1, stderr: 'VM 9401 already running\n' });

      expect(await cli(r.root, 'stop', '9401')).toMatchObject({ code: 0, stdout: 'VM 9401 stopped (quit)\n' });
      expect(alive(res.pid)).toBe(false);
      expect(readdirSync(join(r.root, 'run')).filter((n) => n !== 'efidisk')).toEqual([]);
      expect(await cli(r.root, 'status', '9401')).toMatchObject({ code: 0, stdout: 'status: stopped\n' });
      expect(await cli(r.root, 'reset', '9401')).toMatchObject({ code: 1, stderr: 'VM 9401 not running\n' });
    }, 120_000);

    it('reports bad input with exit 2 and unknown VMs with exit 1', async () => {
      const r = makeTestRoot();
      roots.push(r);
      const bad = await cli(r.root, 'start', 'abc');
      expect(bad.code).toBe(2);
      // one VM-id parser for every command (store/vmid.ts)
      expect(bad.stderr).toBe("vmid: invalid value 'abc' - type check ('integer') failed (allowed: integer between 100 and 999999999)\n");
      const missing = await cli(r.root, 'status', '9499');
      expect(missing.code).toBe(1);
      expect(missing.stderr).toBe(`Configuration file '${join(r.root, 'qemu-server', '9499.conf')}' does not exist\n`);
    }, 60_000);
  },
);
