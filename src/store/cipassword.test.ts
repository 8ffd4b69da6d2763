/**
 * @module store/cipassword.test
 * `cipassword` is never stored in clear (issue 12, point 14): create and set store the SHA-256
 * crypt hash PVE::Tools::encrypt_pw makes (checked with the system's crypt(3)), keep a value
 * that already is a hash and keep Windows passwords as given, like update_vm; `config` shows
 * `**********`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseVmConfig } from '../config/file/parse.js';
import { createVm, updateVm } from './vm-ops.js';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'cvmctl-cipassword-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const stored = (vmid: number) =>
  parseVmConfig(`/x/qemu-server/${vmid}.conf`, readFileSync(join(root, 'qemu-server', `${vmid}.conf`), 'utf8'), { strict: true }).conf
    .cipassword;

/** crypt(3) of the system: the stored hash must verify the password. */
function systemCrypt(password: string, setting: string): string {
  const r = spawnSync('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', password, setting], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`perl crypt failed: ${r.stderr}`);
  return r.stdout;
}

describe('cipassword', () => {
  it('is stored as a $5$ crypt hash on create and on set, never in clear', async () => {
    await createVm({ root, vmid: 100, params: { cipassword: 'first secret', memory: '128' } });
    const first = stored(100) as string;
    expect(first).toMatch(/^\$5\$[A-Za-z0-9/]{8}\$[./0-9A-Za-z]{43}$/);
    expect(systemCrypt('first secret', first)).toBe(first);
    expect(readFileSync(join(root, 'qemu-server', '100.conf'), 'utf8')).not.toContain('first secret');

    await updateVm({ root, vmid: 100, params: { cipassword: 'second' } });
    const second = stored(100) as string;
    expect(second).not.toBe(first);
    expect(systemCrypt('second', second)).toBe(second);
  });

  it('keeps a value that already is a crypt hash', async () => {
    const hash = systemCrypt('pw', '$6$saltsalt$');
    await updateVm({ root, vmid: 100, params: { cipassword: hash } });
    expect(stored(100)).toBe(hash);
  });

  it('keeps the password of a Windows guest as given (cloudbase-init needs it)', async () => {
    await createVm({ root, vmid: 101, params: { ostype: 'win11', memory: '128' } });
    await updateVm({ root, vmid: 101, params: { cipassword: 'Passw0rd!' } });
    expect(stored(101)).toBe('Passw0rd!');
  });

  it('is shown as ********** by cvmctl config', () => {
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'cvmctl');
    const r = spawnSync(process.execPath, [bin, '--root', root, 'config', '100'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('cipassword: **********\n');
    expect(r.stdout).not.toContain('$5$');
  });
});
