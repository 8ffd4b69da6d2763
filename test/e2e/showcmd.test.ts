/**
 * @module test/e2e/showcmd
 * `cvmctl showcmd` end to end through bin/cvmctl (needs `npm run build`).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'cvmctl');

async function cvmctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('cvmctl showcmd', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cvm-showcmd-'));
  const file = join(dir, '8006.conf');
  writeFileSync(file, 'bios: ovmf\nmemory: 1024\nname: demo\n');

  it('prints the one-line command for --file on the pve-test host', async () => {
    const r = await cvmctl(['showcmd', '--file', file, '--host', 'pve-test']);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('/usr/bin/kvm -id 8006 -name demo -no-shutdown ')).toBe(true);
    expect(r.stdout.trimEnd().endsWith("-machine 'pflash0=pflash0,pflash1=drive-efidisk0,type=pc+pve0'")).toBe(true);
    expect(r.stderr).toBe('WARN: no efidisk configured! Using temporary efivars disk.\n');
  });
  it('--pretty breaks before every option', async () => {
    const r = await cvmctl(['showcmd', '--file', file, '--host', 'pve-test', '--pretty']);
    expect(r.stdout.split('\n')[1]).toBe('  -id 8006 \\');
    expect(r.stdout.endsWith("type=pc+pve0'\n")).toBe(true);
  });
  it('--json gives argv', async () => {
    const r = await cvmctl(['showcmd', '--file', file, '--host', 'pve-test', '--json']);
    const out = JSON.parse(r.stdout) as { argv: string[]; vmid: number };
    expect(out.vmid).toBe(8006);
    expect(out.argv[out.argv.indexOf('-m') + 1]).toBe('1024');
  });
  it('reads <vmid> from the store under --root, with --snapshot', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cvm-root-'));
    mkdirSync(join(root, 'qemu-server'));
    writeFileSync(join(root, 'qemu-server', '104.conf'), 'memory: 2048\nparent: pre\n\n[pre]\nmemory: 1024\n');
    const r = await cvmctl(['--root', root, 'showcmd', '104', '--host', 'pve-test', '--json']);
    expect(r.code).toBe(0);
    const argv = (JSON.parse(r.stdout) as { argv: string[] }).argv;
    expect(argv.slice(0, 3)).toEqual(['/usr/bin/kvm', '-id', '104']);
    expect(argv[argv.indexOf('-m') + 1]).toBe('2048');
    const snap = JSON.parse(
      (await cvmctl(['--root', root, 'showcmd', '104', '--host', 'pve-test', '--snapshot', 'pre', '--json'])).stdout,
    ) as {
      argv: string[];
    };
    expect(snap.argv[snap.argv.indexOf('-m') + 1]).toBe('1024');
    const missing = await cvmctl(['--root', root, 'showcmd', '999', '--host', 'pve-test']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('999.conf');
  });
  it('--vmid names a file that is not <vmid>.conf; errors exit 2 for usage and 1 for generation', async () => {
    const other = join(dir, 'vm.conf');
    writeFileSync(other, 'amd-sev: type=std\n');
    expect((await cvmctl(['showcmd', '--file', other, '--host', 'pve-test'])).code).toBe(2);
    const r = await cvmctl(['showcmd', '--file', other, '--vmid', '120', '--host', 'pve-test']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Your CPU does not support AMD SEV.\n');
  });
});
