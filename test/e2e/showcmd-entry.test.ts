/**
 * @module test/e2e/showcmd-entry
 * bin/cvmctl runs `showcmd` from its own bundle (dist/cli/showcmd-main.cjs with its code cache,
 * faster to start; run directly it compiles from source):
 * the answers (output, warnings, usage errors, exit codes) must be the full CLI's, and only a
 * `showcmd` command (after an optional --root) may take that path. Needs `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'cvmctl');
const FULL = join(ROOT, 'dist', 'cli', 'main.js');
const ENTRY = join(ROOT, 'dist', 'cli', 'showcmd-main.cjs');

function run(script: string, args: string[]) {
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('showcmd entry of bin/cvmctl', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cvm-showcmd-entry-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, '8006.conf');
  writeFileSync(file, 'bios: ovmf\nmemory: 1024\nname: demo\nscsi0: local:8006/vm-8006-disk-0.qcow2,size=8G\nnet0: virtio=BC:24:11:00:00:01,bridge=vmbr0\n');

  const cases: string[][] = [
    ['showcmd', '--file', file, '--host', 'pve-test'],
    ['showcmd', '--file', file, '--host', 'pve-test', '--pretty'],
    ['showcmd', '--file', file, '--host', 'pve-test', '--json'],
    ['--root', dir, 'showcmd', '--file', file, '--host', 'pve-test'],
    [`--root=${dir}`, 'showcmd', '--file', file, '--host', 'pve-test'],
    ['showcmd', '--file', join(dir, 'missing.conf'), '--host', 'pve-test'],
    ['showcmd', '--bogus'],
    ['showcmd', '--help'],
  ];
  it.each(cases.map((c) => [c.join(' '), c]))('answers like the full CLI: %s', (_label, args) => {
    const viaBin = run(BIN, args as string[]);
    const full = run(FULL, args as string[]);
    expect(viaBin).toEqual(full);
    expect(run(ENTRY, args as string[])).toEqual(full);
    expect(viaBin.stdout.length + viaBin.stderr.length).toBeGreaterThan(0);
  });

  it('leaves everything else to the full program (top-level help lists every command)', () => {
    const help = run(BIN, ['--help', 'showcmd']);
    expect(help.stdout).toContain('showcmd');
    expect(help.stdout).toContain('measure');
    expect(help.stdout).toContain('attest');
  });
});
