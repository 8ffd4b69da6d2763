/**
 * @module host/local/devices.test
 * The edge probes behind config_to_command's host lookups, on real files: character devices
 * (symlinks followed, regular files not) and read_cpuinfo's `flags` text; and the built-in `pve`
 * profile carrying them for this machine.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadHostProfile } from '../profiles/load.js';
import { cpuFlagsFromCpuinfo, probeCharDevices, probeCpuFlags } from './devices.js';

const dir = mkdtempSync(join(tmpdir(), 'cvmctl-devices-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('probeCharDevices', () => {
  it('lists character devices three levels deep, following symlinks, skipping other files', async () => {
    mkdirSync(join(dir, 'serial', 'by-id'), { recursive: true });
    mkdirSync(join(dir, 'a', 'b', 'c'), { recursive: true });
    symlinkSync('/dev/null', join(dir, 'ttyX'));
    symlinkSync('/dev/null', join(dir, 'serial', 'by-id', 'usb-FTDI-port0'));
    symlinkSync('/dev/null', join(dir, 'a', 'b', 'c', 'too-deep'));
    symlinkSync(join(dir, 'missing'), join(dir, 'dangling'));
    writeFileSync(join(dir, 'regular'), 'x');
    expect(await probeCharDevices(dir)).toEqual([join(dir, 'serial', 'by-id', 'usb-FTDI-port0'), join(dir, 'ttyX')]);
    expect(await probeCharDevices(join(dir, 'nonexistent'))).toEqual([]);
  });

  it('finds the real /dev/null', async () => {
    expect(await probeCharDevices()).toContain('/dev/null');
  });
});

describe('CPU flags', () => {
  it('takes the first flags line after the colon, like read_cpuinfo', () => {
    const text = 'processor\t: 0\nflags\t\t: fpu vme vmx sse\nprocessor\t: 1\nflags\t\t: other\n';
    expect(cpuFlagsFromCpuinfo(text)).toBe('fpu vme vmx sse');
    expect(cpuFlagsFromCpuinfo('processor\t: 0\nFeatures\t: fp asimd\n')).toBeUndefined();
  });

  it('reads this host', async () => {
    const expected = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
    expect(await probeCpuFlags()).toBe(expected);
    expect(await probeCpuFlags(join(dir, 'nonexistent'))).toBe('');
  });
});

describe('the pve profile', () => {
  it("carries this host's devices and CPU flags for config_to_command", async () => {
    const facts = await loadHostProfile('pve');
    expect(facts.charDevices).toContain('/dev/null');
    expect(facts.cpuFlags).toBe(await probeCpuFlags());
    expect(facts.kernelHasVhostNet).toBe(facts.charDevices?.includes('/dev/vhost-net'));
  });
});
