/**
 * @module host/profiles/load.test
 * Host profiles: the pve-test facts and the JSON profile loader.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadHostProfile, profileFromJson } from './load.js';
import { pveTestProfile } from './pve-test.js';

describe('host profiles', () => {
  it('pve-test matches the cfg2cmd harness environment', () => {
    const p = pveTestProfile();
    expect([p.nodename, p.cpuCount, p.physAddrBits, p.qemuInstalledVersion, p.cpuVendor]).toEqual([
      'localhost',
      64,
      46,
      '11.0.2',
      'GenuineIntel',
    ]);
    expect(Object.keys(p.storage).sort()).toEqual(
      [
        'btrfs-store',
        'cifs-store',
        'krbd-store',
        'local',
        'local-lvm',
        'localsnapext',
        'lvm-store',
        'noimages',
        'rbd-store',
        'zfs-over-iscsi-store',
      ].sort(),
    );
    expect(p.pciDevices).toHaveLength(18);
    expect(p.iscsiInitiatorName).toBe('iqn.1993-08.org.debian:01:aabbccddeeff');
    expect(p.firmware).toMatchObject({ kind: 'pve-table', files: '*' });
    expect(p.hwCapabilities).toEqual({
      'amd-sev': {
        cbitpos: 0,
        'reduced-phys-bits': 0,
        'sev-support': false,
        'sev-support-es': false,
        'sev-support-snp': false,
      },
    });
  });
  it('returns independent copies', () => {
    const a = pveTestProfile();
    a.storage.local = { type: 'dir', content: [], path: '/elsewhere' };
    expect(pveTestProfile().storage.local?.path).toBe('/var/lib/vz');
  });
  it('loads a JSON profile on top of its base, merging paths', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cvm-profile-'));
    const file = join(dir, 'lab.json');
    writeFileSync(
      file,
      JSON.stringify({
        base: 'pve',
        nodename: 'lab1',
        cpuCount: 8,
        paths: { runDir: '/run/lab' },
      }),
    );
    const p = await loadHostProfile(file);
    expect(p.nodename).toBe('lab1');
    expect(p.cpuCount).toBe(8);
    expect(p.paths.runDir).toBe('/run/lab');
    expect(p.paths.kvmBinary).toBe('/usr/bin/kvm');
    expect(p.profile).toBe(file);
  });
  it('rejects bad profiles with the key, value and what is allowed', async () => {
    expect(() => profileFromJson({ flavor: 'xen' }, 'f.json')).toThrow("host profile 'f.json': flavor 'xen' (allowed: pve, local)");
    expect(() => profileFromJson({ base: 'nope' }, 'f.json')).toThrow("base 'nope' is not one of pve, pve-test");
    expect(() => profileFromJson([], 'f.json')).toThrow('expected a JSON object');
    await expect(loadHostProfile('/nonexistent/profile.json')).rejects.toThrow(/not a built-in profile/);
  });
});

describe('JSON profile fields (issue 12, point 13)', () => {
  const message = (json: Record<string, unknown>) => {
    try {
      profileFromJson(json, 'lab.json');
    } catch (err) {
      expect((err as { code?: string }).code).toBe('PARAM_INVALID');
      return (err as Error).message;
    }
    throw new Error('accepted');
  };

  it('rejects an unknown field, naming it', () => {
    expect(message({ base: 'pve', cpuCnt: 8 })).toMatch(/^host profile 'lab\.json': unknown field 'cpuCnt' \(allowed: base, /);
    expect(message({ paths: { runDir: '/run/x', rundir: '/run/y' } })).toMatch(
      /^host profile 'lab\.json': unknown field 'paths\.rundir' \(allowed: /,
    );
  });

  it('rejects a blockDevicePattern that is no regex, naming the field', () => {
    expect(message({ blockDevicePattern: '^/dev/(' })).toMatch(
      /^host profile 'lab\.json': blockDevicePattern: invalid value '\^\/dev\/\(' \(expected a regular expression that compiles \(.+\)\)$/,
    );
  });

  it('rejects values of the wrong JSON type, naming the field', () => {
    expect(message({ kvmAvailable: 'yes' })).toBe("host profile 'lab.json': kvmAvailable: invalid value 'yes' (expected true or false)");
    expect(message({ cpuCount: 1.5 })).toBe("host profile 'lab.json': cpuCount: invalid value 1.5 (expected a positive integer)");
    expect(message({ charDevices: ['/dev/ttyS0', 1] })).toBe(
      'host profile \'lab.json\': charDevices: invalid value ["/dev/ttyS0",1] (expected an array of strings)',
    );
    expect(message({ paths: { bootSplash: 3 } })).toBe(
      "host profile 'lab.json': paths.bootSplash: invalid value 3 (expected a string or null)",
    );
  });

  it('accepts every field a profile can set', () => {
    const facts = profileFromJson(
      {
        base: 'pve',
        $comment: 'lab',
        cpuCount: 8,
        blockDevicePattern: '^/dev/(sd|nvme)',
        paths: { bootSplash: null },
        cpuFlags: 'fpu vmx sse',
      },
      'lab.json',
    );
    expect([facts.cpuCount, facts.blockDevicePattern, facts.paths.bootSplash, facts.paths.runDir]).toEqual([
      8,
      '^/dev/(sd|nvme)',
      null,
      '/var/run/qemu-server',
    ]);
  });
});
