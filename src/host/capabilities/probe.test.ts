import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { probeHwCapabilities } from './probe.js';
import { parseHwCapabilitiesText } from './reader.js';

interface HostFixture {
  description: string;
  cpuid?: Record<string, string[]>;
  msr?: Record<string, string>;
  sysfs: Record<string, string>;
  dev: string[];
  cpuinfo: string;
  noCpuDevice?: boolean;
  expected: string;
}

const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/cpuid');
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function load(name: string): HostFixture {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as HostFixture;
}

/** Write the fixture as a fake host: sparse device files where offset = leaf / MSR index. */
async function materialise(fx: HostFixture) {
  const root = mkdtempSync(join(tmpdir(), 'cvmctl-cpuid-'));
  roots.push(root);
  const paths = {
    cpuidDevice: join(root, 'dev/cpu/0/cpuid'),
    msrDevice: join(root, 'dev/cpu/0/msr'),
    sysfsRoot: join(root, 'sys'),
    devRoot: join(root, 'dev'),
    procCpuinfo: join(root, 'cpuinfo'),
  };
  mkdirSync(paths.devRoot, { recursive: true });
  if (!fx.noCpuDevice) {
    mkdirSync(dirname(paths.cpuidDevice), { recursive: true });
    const cpuid = await open(paths.cpuidDevice, 'w');
    for (const [leaf, regs] of Object.entries(fx.cpuid ?? {})) {
      const b = Buffer.alloc(16);
      regs.forEach((r, i) => {
        b.writeUInt32LE(Number(r) >>> 0, i * 4);
      });
      await cpuid.write(b, 0, 16, Number(leaf));
    }
    await cpuid.close();
    if (fx.msr) {
      const msr = await open(paths.msrDevice, 'w');
      for (const [index, value] of Object.entries(fx.msr)) {
        const b = Buffer.alloc(8);
        b.writeBigUInt64LE(BigInt(value));
        await msr.write(b, 0, 8, Number(index));
      }
      await msr.close();
    }
  }
  for (const [rel, text] of Object.entries(fx.sysfs)) {
    const p = join(paths.sysfsRoot, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  for (const d of fx.dev) writeFileSync(join(paths.devRoot, d), '');
  writeFileSync(paths.procCpuinfo, fx.cpuinfo);
  return paths;
}

describe('probeHwCapabilities on fixture hosts', () => {
  const names = readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.replace(/\.json$/, ''));

  it('covers the required hosts', () => {
    expect(names).toEqual(expect.arrayContaining(['amd-milan', 'amd-turin', 'intel-tdx', 'intel-no-tdx', 'no-cpu-device']));
  });

  it.each(names)('%s writes the qemu-server line', async (name) => {
    const fx = load(name);
    const r = await probeHwCapabilities({ ...(await materialise(fx)), arch: 'x86_64' });
    expect(r.line).toBe(fx.expected);
    // the reader understands what the probe writes
    expect(parseHwCapabilitiesText(r.line)).toEqual(r.json);
  });

  it('Milan: SEV/ES/SNP, cbitpos 51, reduced 1, kernel agrees', async () => {
    const r = await probeHwCapabilities({ ...(await materialise(load('amd-milan'))), arch: 'x86_64' });
    expect(r.json).toEqual({
      'amd-sev': { cbitpos: 51, 'reduced-phys-bits': 1, 'sev-support': true, 'sev-support-es': true, 'sev-support-snp': true },
    });
    expect(r.vendor).toBe('AuthenticAMD');
    expect(r.vendorSource).toBe('cpuid');
    expect(r.kernel).toMatchObject({ module: 'kvm_amd', params: { sev: true, sev_es: true, sev_snp: true }, devSev: true });
    expect(r.sevExtras).toMatchObject({ maxGuests: 509, minSevAsid: 100, vmpls: 4, vmplSupport: true });
    expect(r.notes).toEqual([]);
  });

  it('Turin: notes that kvm_amd has SNP disabled', async () => {
    const r = await probeHwCapabilities({ ...(await materialise(load('amd-turin'))), arch: 'x86_64' });
    expect(r.json['amd-sev']).toMatchObject({ cbitpos: 51, 'reduced-phys-bits': 6 });
    expect(r.notes).toContain('CPU supports SEV-SNP but kvm_amd sev_snp=N (not enabled by firmware/BIOS or kernel)');
  });

  it('AMD without SEV: a negative answer, not an error', async () => {
    const r = await probeHwCapabilities({ ...(await materialise(load('amd-no-sev'))), arch: 'x86_64' });
    expect(r.json['amd-sev']?.['sev-support']).toBe(false);
    expect(r.notes).toContain('kvm_amd module is not loaded: KVM cannot run SEV guests');
  });

  it('Intel: TDX from the three MSRs', async () => {
    const yes = await probeHwCapabilities({ ...(await materialise(load('intel-tdx'))), arch: 'x86_64' });
    expect(yes.json).toEqual({ 'intel-tdx': { 'tdx-support': true } });
    expect(yes.kernel.params.tdx).toBe(true);
    const no = await probeHwCapabilities({ ...(await materialise(load('intel-no-tdx'))), arch: 'x86_64' });
    expect(no.json).toEqual({ 'intel-tdx': { 'tdx-support': false } });
  });

  it('no /dev/cpu: vendor from /proc/cpuinfo, section omitted, module loading asked only when allowed', async () => {
    const paths = await materialise(load('no-cpu-device'));
    const r = await probeHwCapabilities({ ...paths, arch: 'x86_64' });
    expect(r.vendor).toBe('GenuineIntel');
    expect(r.vendorSource).toBe('cpuinfo');
    expect(r.json).toEqual({});
    expect(r.notes).toContain('Intel TDX support undetermined');
    const asked: string[] = [];
    const r2 = await probeHwCapabilities({
      ...paths,
      arch: 'x86_64',
      loadModule: async (name) => {
        asked.push(name);
        return false;
      },
    });
    expect(asked).toEqual(['cpuid', 'msr']);
    expect(r2.line).toBe('{ }\n');
    expect(r2.notes).toContain("could not load kernel module 'cpuid'");
  });

  it('loads a module only when the device is missing, then retries', async () => {
    const fx = load('amd-milan');
    const paths = await materialise(fx);
    const real = paths.cpuidDevice;
    const asked: string[] = [];
    const r = await probeHwCapabilities({
      ...paths,
      cpuidDevice: `${real}.notyet`,
      arch: 'x86_64',
      loadModule: async (name) => {
        asked.push(name);
        // "loading" makes the device appear
        symlinkSync(real, `${real}.notyet`);
        return true;
      },
    });
    expect(asked).toEqual(['cpuid']);
    expect(r.line).toBe(fx.expected);
    const again = await probeHwCapabilities({
      ...paths,
      arch: 'x86_64',
      loadModule: async (n) => {
        asked.push(n);
        return true;
      },
    });
    expect(again.line).toBe(fx.expected);
    expect(asked).toEqual(['cpuid']);
  });

  it('aarch64: arm-caps from /proc/cpuinfo', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cvmctl-arm-'));
    roots.push(root);
    writeFileSync(join(root, 'cpuinfo'), 'processor\t: 0\nFeatures\t: fp asimd aes pmull sha1 sha2\nCPU implementer\t: 0x41\n');
    const r = await probeHwCapabilities({ procCpuinfo: join(root, 'cpuinfo'), arch: 'aarch64' });
    expect(r.line).toBe('{ "arm-caps": { "vendor": "ARM Limited", "aes": true, "sha2": true } }\n');
  });
});

describe('probe on this machine', () => {
  it.skipIf(process.arch !== 'x64')('gives an answer (negative without SEV), never throws', async () => {
    const r = await probeHwCapabilities();
    expect(r.line.endsWith(' }\n')).toBe(true);
    expect(parseHwCapabilitiesText(r.line)).toEqual(r.json);
  });
});
