import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CvmError } from '../errors.js';
import { descriptorFromJson, discoverFirmwareDescriptors, getOvmfFiles, machineCandidate } from './index.js';
import type { DescriptorFirmware } from './types.js';

const FIXTURES = join(import.meta.dirname, '../../test/fixtures/firmware-descriptors');
const IMAGE_SIZES: Record<string, number> = {
  'OVMF_CODE_4M.secboot.fd': 3653632,
  'OVMF_CODE_4M.fd': 3653632,
  'OVMF_VARS_4M.fd': 540672,
  'OVMF_VARS_4M.ms.fd': 540672,
  'OVMF.amdsev.fd': 4194304,
  'OVMF.inteltdx.secboot.fd': 4194304,
  'OVMF_SEV_CODE.fd': 2097152,
  'OVMF_SEV_VARS.fd': 131072,
  'AAVMF_CODE.fd': 67108864,
  'AAVMF_VARS.fd': 67108864,
};

let root = '';
let images = '';
let facts: DescriptorFirmware;
let dirs: string[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cvmctl-fw-'));
  images = join(root, 'images');
  mkdirSync(images);
  for (const [name, size] of Object.entries(IMAGE_SIZES)) {
    writeFileSync(join(images, name), '');
    truncateSync(join(images, name), size);
  }
  dirs = ['usr', 'etc', 'user'].map((d) => join(root, d));
  for (const d of ['usr', 'etc', 'user']) {
    cpSync(join(FIXTURES, d), join(root, d), { recursive: true });
    for (const f of readdirSync(join(root, d))) {
      const p = join(root, d, f);
      writeFileSync(p, readFileSync(p, 'utf8').replaceAll('@IMAGES@', images));
    }
  }
  facts = await discoverFirmwareDescriptors([...dirs, join(root, 'does-not-exist')]);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('discoverFirmwareDescriptors', () => {
  it('sorts by file name, overrides by later folders, masks with empty files, skips junk', () => {
    expect(facts.descriptors.map((d) => d.name)).toEqual([
      '40-ovmf-x64-secure-enrolled.json',
      '50-ovmf-x64-secure.json',
      '60-ovmf-x64-amdsev.json',
      '60-ovmf-x64.json',
      '70-ovmf-x64-sev-es.json',
      '80-aavmf.json',
    ]);
    const secure = facts.descriptors.find((d) => d.name === '50-ovmf-x64-secure.json')!;
    expect(secure.path).toBe(join(root, 'etc', '50-ovmf-x64-secure.json'));
    expect(secure.description).toBe('site override of the secure build');
    const sevEs = facts.descriptors.find((d) => d.name === '70-ovmf-x64-sev-es.json')!;
    expect(sevEs.path).toBe(join(root, 'user', '70-ovmf-x64-sev-es.json'));
    expect(sevEs.executable.filename).toBe(join(images, 'OVMF_SEV_CODE.fd'));
    expect(facts.problems).toHaveLength(1);
    expect(facts.problems![0]).toContain('90-broken.json');
    expect(facts.searched).toHaveLength(4);
  });

  it('masks with a symlink to /dev/null and ignores a directory of the same name', async () => {
    const extra = join(root, 'mask-extra');
    mkdirSync(extra);
    symlinkSync('/dev/null', join(extra, '60-ovmf-x64-amdsev.json'));
    mkdirSync(join(extra, '60-ovmf-x64.json'));
    const masked = await discoverFirmwareDescriptors([...dirs, extra]);
    const names = masked.descriptors.map((d) => d.name);
    expect(names).not.toContain('60-ovmf-x64-amdsev.json');
    expect(names).toContain('60-ovmf-x64.json');
  });

  it('records image sizes', () => {
    expect(facts.files[join(images, 'OVMF_VARS_4M.fd')]).toBe(540672);
    expect(facts.files[join(images, 'OVMF.amdsev.fd')]).toBe(4194304);
    const amdsev = facts.descriptors.find((d) => d.name === '60-ovmf-x64-amdsev.json')!;
    expect(amdsev).toMatchObject({
      device: 'flash',
      mode: 'stateless',
      features: ['amd-sev', 'amd-sev-es', 'amd-sev-snp', 'verbose-dynamic'],
    });
    expect(amdsev.nvramTemplate).toBeUndefined();
  });
});

describe('descriptor selection by features', () => {
  const pick = (cvm: 'std' | 'es' | 'snp' | 'tdx' | undefined, efidisk?: Record<string, string | number>, smm = false, machine?: string) =>
    getOvmfFiles(facts, 'x86_64', efidisk, smm, cvm, machine);

  it('SNP: the stateless AmdSev image via -bios', () => {
    expect(pick('snp', undefined, true, 'q35')).toEqual({
      code: join(images, 'OVMF.amdsev.fd'),
      mapping: 'bios',
      warnings: [],
      source: '60-ovmf-x64-amdsev.json',
      codeFormat: 'raw',
    });
  });

  it('SEV std/es: split flash without SMM and with the needed feature', () => {
    const std = pick('std', { efitype: '4m', 'pre-enrolled-keys': 1 }, true, 'pc-q35-10.0+pve1');
    expect(std).toMatchObject({ source: '60-ovmf-x64.json', mapping: 'pflash', varsSize: 540672 });
    const es = pick('es');
    expect(es).toMatchObject({ source: '70-ovmf-x64-sev-es.json', code: join(images, 'OVMF_SEV_CODE.fd'), varsSize: 131072 });
  });

  it('plain and secure-boot VMs', () => {
    expect(pick(undefined, { efitype: '4m', 'pre-enrolled-keys': 1 }, true, 'q35').source).toBe('40-ovmf-x64-secure-enrolled.json');
    expect(pick(undefined, { efitype: '4m' }, true, 'q35').source).toBe('60-ovmf-x64.json');
    expect(pick(undefined, undefined, false).source).toBe('60-ovmf-x64.json');
    // i440fx has no SMM: the enrolled build requires it and only targets q35
    const e = (() => {
      try {
        pick(undefined, { efitype: '4m', 'pre-enrolled-keys': 1 }, false);
      } catch (err) {
        return err as CvmError;
      }
      throw new Error('expected failure');
    })();
    expect(e.code).toBe('FIRMWARE_MISSING');
    expect(e.message).toContain("feature 'enrolled-keys'");
  });

  it('TDX masked by the empty /etc file: FIRMWARE_MISSING naming the feature and the fix', () => {
    let err: unknown;
    try {
      pick('tdx', undefined, true, 'q35');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CvmError);
    const e = err as CvmError;
    expect(e.code).toBe('FIRMWARE_MISSING');
    expect(e.message).toMatch(/^no firmware descriptor with feature 'intel-tdx' for x86_64 \(machine q35\) \(searched /);
    expect(e.message).toContain('install an Intel TDX OVMF build (OVMF.inteltdx.fd) and its descriptor');
    expect(e.details?.rejected).toEqual(expect.arrayContaining([{ name: '60-ovmf-x64-amdsev.json', reason: "lacks feature 'intel-tdx'" }]));
  });

  it('rejects descriptors whose images are missing, and unknown machines', () => {
    const noImage: DescriptorFirmware = { ...facts, files: {} };
    expect(() => getOvmfFiles(noImage, 'x86_64', undefined, false, 'snp')).toThrow(/amd-sev-snp/);
    expect(() => getOvmfFiles(facts, 'aarch64', undefined, false, 'snp')).toThrow(/for aarch64/);
    expect(getOvmfFiles(facts, 'aarch64', undefined, false, undefined).source).toBe('80-aavmf.json');
  });

  it('maps machine aliases to glob candidates', () => {
    expect(machineCandidate(undefined, 'x86_64')).toBe('pc-i440fx-99.0');
    expect(machineCandidate('q35', 'x86_64')).toBe('pc-q35-99.0');
    expect(machineCandidate('pc-q35-9.2+pve1', 'x86_64')).toBe('pc-q35-9.2');
    expect(machineCandidate('pc-i440fx-8.1', 'x86_64')).toBe('pc-i440fx-8.1');
    expect(machineCandidate(undefined, 'aarch64')).toBe('virt-99.0');
  });

  it('reads memory-mapped descriptors', () => {
    const d = descriptorFromJson('x.json', '/x.json', {
      'interface-types': ['uefi'],
      mapping: { device: 'memory', filename: '/fw/OVMF.inteltdx.fd' },
      targets: [{ architecture: 'x86_64', machines: ['pc-q35-*'] }],
      features: ['intel-tdx'],
    });
    expect(d).toMatchObject({ device: 'memory', executable: { filename: '/fw/OVMF.inteltdx.fd', format: 'raw' } });
    expect(descriptorFromJson('y.json', '/y.json', { mapping: { device: 'floppy' } })).toContain('unknown mapping device');
  });
});

describe('this machine', () => {
  it.skipIf(!existsSync('/usr/share/qemu/firmware'))('discovers the installed descriptors and picks a plain firmware', async () => {
    const real = await discoverFirmwareDescriptors();
    expect(real.descriptors.length).toBeGreaterThan(0);
    for (const d of real.descriptors) expect(d.name.endsWith('.json')).toBe(true);
    const names = real.descriptors.map((d) => d.name);
    expect([...names].sort()).toEqual(names);
    const plain = getOvmfFiles(real, 'x86_64', { efitype: '4m' }, false, undefined);
    expect(plain.mapping).toBe('pflash');
    expect(plain.varsSize).toBeGreaterThan(0);
  });
});
