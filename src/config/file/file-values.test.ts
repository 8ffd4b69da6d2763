/**
 * Values read from a config file are validated against the whole option table before any of
 * them reaches a QEMU argument (issue 12, point 8): qemu-server's parser applies only the type
 * and format check, so an enum value such as `scsihw: lsi,rombar=0,multifunction=on` went into
 * `-device` verbatim and survived `set`. Now such a value is a clear error naming the key
 * (strict) or dropped with qemu-server's "unable to parse value" warning (non-strict).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CvmError } from '../../errors.js';
import { pveTestProfile } from '../../host/profiles/pve-test.js';
import { configToCommand } from '../../qemu/cfg2cmd/index.js';
import { updateVm } from '../../store/vm-ops.js';
import { parseVmConfig } from './parse.js';

const FN = '/etc/pve/qemu-server/100.conf';
const HOSTILE = 'memory: 512\nscsihw: lsi,rombar=0,multifunction=on\nkeyboard: de,x=y\ncores: 0\nscsi0: local:100/vm-100-disk-0.raw\n';
const SCSIHW_WARNING =
  "vm 100 - unable to parse value of 'scsihw' - value 'lsi,rombar=0,multifunction=on' does not have a value in the enumeration 'lsi, lsi53c810, virtio-scsi-pci, virtio-scsi-single, megasas, pvscsi'";

const root = mkdtempSync(join(tmpdir(), 'cvmctl-values-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('hand-written values outside the option table', () => {
  it('non-strict: are dropped with a warning naming key and value, and never reach the command line', () => {
    const warnings: string[] = [];
    const cfg = parseVmConfig(FN, HOSTILE, { strict: false, warn: (m) => warnings.push(m) });
    expect(warnings[0]).toBe(SCSIHW_WARNING);
    expect(warnings[1]).toMatch(/^vm 100 - unable to parse value of 'keyboard' - value 'de,x=y' does not have a value in the enumeration 'de, /);
    expect(warnings[2]).toMatch(/^vm 100 - unable to parse value of 'cores' - value must have a minimum value of 1$/);
    expect(warnings).toHaveLength(3);
    expect(cfg.conf).toEqual({ memory: '512', scsi0: 'local:100/vm-100-disk-0.raw' });
    const { argv } = configToCommand(cfg, pveTestProfile());
    const line = argv.join(' ');
    expect(line).not.toContain('rombar=0');
    expect(line).not.toContain('multifunction=on');
    expect(line).not.toContain('x=y');
    expect(argv).toContain('lsi,id=scsihw0,bus=pci.0,addr=0x5');
    expect(argv).not.toContain('-k');
  });

  it('strict: the first one is an error naming the key', () => {
    let err: unknown;
    try {
      parseVmConfig(FN, HOSTILE, { strict: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CvmError);
    expect((err as CvmError).message).toBe(SCSIHW_WARNING);
  });

  it('set does not carry an invalid stored value forward silently: it warns and the value is gone', async () => {
    mkdirSync(join(root, 'qemu-server'), { recursive: true });
    writeFileSync(join(root, 'qemu-server', '100.conf'), HOSTILE);
    const warnings: string[] = [];
    await updateVm({ root, vmid: 100, params: { name: 'web' }, warn: (m) => warnings.push(m) });
    expect(warnings).toContain(SCSIHW_WARNING);
    const text = readFileSync(join(root, 'qemu-server', '100.conf'), 'utf8');
    expect(text).not.toContain('scsihw');
    expect(text).not.toContain('keyboard');
    expect(text).toContain('name: web\n');
  });
});
