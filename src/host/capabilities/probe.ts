/**
 * @module host/capabilities/probe
 * Our `query-machine-capabilities`: reads CPUID through `/dev/cpu/0/cpuid` (pread at offset =
 * leaf, subleaf in the high 32 bits, 16 bytes EAX EBX ECX EDX) and Intel MSRs through
 * `/dev/cpu/0/msr` (offset = MSR index, 8 bytes), exactly the facts the C helper uses, and
 * renders its byte-exact line. Adds what the helper does not say: the vendor from /proc/cpuinfo
 * when /dev/cpu is absent, and kvm_amd/kvm_intel parameters and /dev/sev as cross-check notes.
 * Kernel modules (`cpuid`, `msr`) are loaded only through the caller's `loadModule`, only when
 * the device is missing.
 */
import { type FileHandle, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { perlTruthyJson } from '../../schema/perl.js';
import type { CapabilityFlag, HwCapabilities } from '../facts.js';
import {
  type CpuidRegs,
  amdSevFromLeaf,
  amdSevLeafExtras,
  armVendorName,
  formatCapabilitiesLine,
  parseCpuinfo,
  tdxFromMsrs,
  vendorFromLeaf0,
} from './decode.js';

export interface ProbeOptions {
  cpuidDevice?: string;
  msrDevice?: string;
  sysfsRoot?: string;
  devRoot?: string;
  procCpuinfo?: string;
  /** Load a kernel module (`cpuid`, `msr`); resolve true when it is loaded. Absent: never load. */
  loadModule?: (name: string) => Promise<boolean>;
  /** Host architecture; defaults to this process's. */
  arch?: 'x86_64' | 'aarch64' | string;
}

/** kvm module parameters and device nodes seen on the host, for cross-checks. */
export interface KernelSevState {
  module: 'kvm_amd' | 'kvm_intel' | null;
  params: Record<string, boolean | undefined>;
  devSev: boolean;
  cpuinfoFlags: string[];
}

export interface ProbeResult {
  json: HwCapabilities;
  line: string;
  notes: string[];
  vendor: string | undefined;
  /** Where the vendor came from. */
  vendorSource: 'cpuid' | 'cpuinfo' | 'none';
  /** Extra CPUID 0x8000001F facts (AMD with a readable cpuid device). */
  sevExtras?: ReturnType<typeof amdSevLeafExtras> & { maxExtendedLeaf: number };
  kernel: KernelSevState;
}

class DeviceError extends Error {
  constructor(
    readonly errno: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

async function preadExact(path: string, position: bigint, length: number): Promise<Buffer> {
  if (position > BigInt(Number.MAX_SAFE_INTEGER)) throw new DeviceError('EINVAL', `${path}: offset 0x${position.toString(16)} too large`);
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new DeviceError(e.code, `failed to open ${path}: ${e.message}`);
  }
  try {
    const buf = Buffer.alloc(length);
    // Node 20's FileHandle.read mishandles BigInt positions; every offset we use is a safe integer
    const { bytesRead } = await fh.read(buf, 0, length, Number(position));
    if (bytesRead !== length) throw new DeviceError('EIO', `${path}: short read at 0x${position.toString(16)}`);
    return buf;
  } catch (err) {
    if (err instanceof DeviceError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new DeviceError(e.code, `${path}: pread at 0x${position.toString(16)}: ${e.message}`);
  } finally {
    await fh.close();
  }
}

export async function readCpuid(device: string, leaf: number, subleaf = 0): Promise<CpuidRegs> {
  const position = (BigInt(subleaf >>> 0) << 32n) | BigInt(leaf >>> 0);
  const b = await preadExact(device, position, 16);
  return { eax: b.readUInt32LE(0), ebx: b.readUInt32LE(4), ecx: b.readUInt32LE(8), edx: b.readUInt32LE(12) };
}

export async function readMsr(device: string, index: number): Promise<bigint> {
  return (await preadExact(device, BigInt(index >>> 0), 8)).readBigUInt64LE(0);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readParam(path: string): Promise<boolean | undefined> {
  try {
    const v = (await readFile(path, 'utf8')).trim();
    return v === 'Y' || v === 'y' || v === '1';
  } catch {
    return undefined;
  }
}

/** Open-or-load: when the device node is missing and loading is allowed, load the module and retry once. */
async function withModule<T>(device: string, module: string, opts: ProbeOptions, notes: string[], read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    const missing = err instanceof DeviceError && err.errno === 'ENOENT';
    if (!missing || !opts.loadModule) throw err;
    const loaded = await opts.loadModule(module).catch(() => false);
    notes.push(loaded ? `loaded kernel module '${module}' for ${device}` : `could not load kernel module '${module}'`);
    if (!loaded) throw err;
    return read();
  }
}

function hostArch(opts: ProbeOptions): string {
  if (opts.arch) return opts.arch;
  return process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch;
}

/** Probe the host like `query-machine-capabilities` and return its JSON, its exact line and notes. */
export async function probeHwCapabilities(opts: ProbeOptions = {}): Promise<ProbeResult> {
  const cpuidDevice = opts.cpuidDevice ?? '/dev/cpu/0/cpuid';
  const msrDevice = opts.msrDevice ?? '/dev/cpu/0/msr';
  const sysfsRoot = opts.sysfsRoot ?? '/sys';
  const devRoot = opts.devRoot ?? '/dev';
  const cpuinfoPath = opts.procCpuinfo ?? '/proc/cpuinfo';
  const notes: string[] = [];
  const json: HwCapabilities = {};
  const cpuinfo = parseCpuinfo(await readFile(cpuinfoPath, 'utf8').catch(() => ''));
  const kernel: KernelSevState = { module: null, params: {}, devSev: false, cpuinfoFlags: [] };
  const arch = hostArch(opts);

  if (arch === 'aarch64') {
    const vendor = armVendorName(cpuinfo.implementer ?? 0);
    json['arm-caps'] = { vendor, aes: cpuinfo.features.includes('aes'), sha2: cpuinfo.features.includes('sha2') };
    return { json, line: formatCapabilitiesLine(json), notes, vendor, vendorSource: 'cpuinfo', kernel };
  }
  if (arch !== 'x86_64') {
    notes.push(`no capability probing for architecture '${arch}'`);
    return { json, line: formatCapabilitiesLine(json), notes, vendor: undefined, vendorSource: 'none', kernel };
  }

  let vendor: string | undefined;
  let vendorSource: ProbeResult['vendorSource'] = 'none';
  let cpuidUsable = false;
  try {
    vendor = vendorFromLeaf0(await withModule(cpuidDevice, 'cpuid', opts, notes, () => readCpuid(cpuidDevice, 0)));
    vendorSource = 'cpuid';
    cpuidUsable = true;
  } catch (err) {
    notes.push(`CPUID device unavailable: ${(err as Error).message}`);
    if (cpuinfo.vendor) {
      vendor = cpuinfo.vendor;
      vendorSource = 'cpuinfo';
      notes.push(`CPU vendor '${vendor}' taken from ${cpuinfoPath}`);
    }
  }

  let sevExtras: ProbeResult['sevExtras'];
  if (vendor === 'AuthenticAMD') {
    if (cpuidUsable) {
      const leaf = await readCpuid(cpuidDevice, 0x8000001f);
      json['amd-sev'] = amdSevFromLeaf(leaf);
      const maxExtendedLeaf = await readCpuid(cpuidDevice, 0x80000000).then(
        (r) => r.eax,
        () => 0,
      );
      sevExtras = { ...amdSevLeafExtras(leaf), maxExtendedLeaf };
      if (maxExtendedLeaf < 0x8000001f) {
        notes.push(
          `CPUID max extended leaf is 0x${maxExtendedLeaf.toString(16)}: leaf 0x8000001f is not implemented, its values are meaningless`,
        );
      }
    } else {
      notes.push(
        `AMD SEV capabilities undetermined: CPUID leaf 0x8000001f needs ${cpuidDevice} (modprobe cpuid); no amd-sev section written`,
      );
    }
  } else if (vendor === 'GenuineIntel') {
    try {
      const readAll = async () => [await readMsr(msrDevice, 0x982), await readMsr(msrDevice, 0xa0), await readMsr(msrDevice, 0x1401)];
      const [tme, a0, tdx] = await withModule(msrDevice, 'msr', opts, notes, readAll);
      json['intel-tdx'] = { 'tdx-support': tdxFromMsrs(tme!, a0!, tdx!) };
    } catch (err) {
      notes.push(`rdmsr: ${(err as Error).message}`);
      notes.push('Intel TDX support undetermined');
    }
  } else if (vendor !== undefined) {
    notes.push(`CPU vendor '${vendor}' has no confidential-computing probe`);
  } else {
    notes.push('CPU vendor unknown');
  }

  await crossCheck(json, vendor, sysfsRoot, devRoot, cpuinfo.flags, kernel, notes);
  const result: ProbeResult = { json, line: formatCapabilitiesLine(json), notes, vendor, vendorSource, kernel };
  if (sevExtras) result.sevExtras = sevExtras;
  return result;
}

async function crossCheck(
  json: HwCapabilities,
  vendor: string | undefined,
  sysfsRoot: string,
  devRoot: string,
  flags: string[],
  kernel: KernelSevState,
  notes: string[],
): Promise<void> {
  kernel.cpuinfoFlags = flags.filter((f) => /^(sme|sev|sev_es|sev_snp|tdx_host_platform|tdx_guest|tme)$/.test(f));
  if (vendor === 'AuthenticAMD') {
    kernel.module = 'kvm_amd';
    const base = join(sysfsRoot, 'module', 'kvm_amd', 'parameters');
    for (const p of ['sev', 'sev_es', 'sev_snp']) kernel.params[p] = await readParam(join(base, p));
    kernel.devSev = await exists(join(devRoot, 'sev'));
    const amd = json['amd-sev'];
    // the probe's own JSON holds booleans; perlTruthyJson keeps the type honest
    const flag = (v: CapabilityFlag | undefined) => (v === undefined ? undefined : perlTruthyJson(v));
    const pairs: [string, boolean | undefined, string][] = [
      ['sev', flag(amd?.['sev-support']), 'SEV'],
      ['sev_es', flag(amd?.['sev-support-es']), 'SEV-ES'],
      ['sev_snp', flag(amd?.['sev-support-snp']), 'SEV-SNP'],
    ];
    if (!(await exists(join(sysfsRoot, 'module', 'kvm_amd')))) {
      notes.push('kvm_amd module is not loaded: KVM cannot run SEV guests');
    } else {
      for (const [param, cpu, label] of pairs) {
        const kvm = kernel.params[param];
        if (cpu && kvm === false) notes.push(`CPU supports ${label} but kvm_amd ${param}=N (not enabled by firmware/BIOS or kernel)`);
        if (cpu === false && kvm === true) notes.push(`kvm_amd ${param}=Y although CPUID reports no ${label}`);
      }
    }
    if (amd?.['sev-support'] && !kernel.devSev)
      notes.push(`${join(devRoot, 'sev')} is missing: the SEV firmware (ccp) driver is not available`);
  } else if (vendor === 'GenuineIntel') {
    kernel.module = 'kvm_intel';
    kernel.params.tdx = await readParam(join(sysfsRoot, 'module', 'kvm_intel', 'parameters', 'tdx'));
    const tdx = json['intel-tdx']?.['tdx-support'];
    if (tdx && kernel.params.tdx === false) notes.push('CPU supports TDX but kvm_intel tdx=N');
    if (tdx === false && kernel.params.tdx === true) notes.push('kvm_intel tdx=Y although the MSRs report no TDX');
  }
}
