/**
 * @module measure/vm-inputs
 * Turns a cvmctl VM (its config plus the QEMU argv `configToCommand` generates for it) into
 * the inputs of a launch-digest prediction: mode from `amd-sev` type, firmware from `-bios`
 * or the pflash0 code image, `-kernel/-initrd/-append` (measured only with kernel-hashes),
 * initial vCPU count from `-smp` plus cold-plugged `-device …-x86_64-cpu`, CPU model from `-cpu` (else the `cpu` key, default kvm64)
 * and the policy QEMU is given. Pure: reads the argv, never the files it names.
 */

import type { ConfigSection } from '../config/types.js';
import { CvmError } from '../errors.js';
import type { MeasureFileInput } from './files.js';
import { cpuSig, vcpuSignature } from './vcpu.js';

export type VmMeasureMode = 'sev' | 'seves' | 'snp';

export interface VmMeasurePlan extends MeasureFileInput {
  mode: VmMeasureMode;
  vcpus: number;
  vcpuModel: string;
  vcpuSig: number;
  /** The policy word on the sev(-snp)-guest object, or null when the argv has none. */
  policy: bigint | null;
  kernelHashes: boolean;
  /** Facts the user should know (e.g. a kernel that is not measured). */
  notes: string[];
}

/** Split a QEMU `key=value,…` option string; `,,` is an escaped comma. */
export function splitQemuOpts(value: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === ',') {
      if (value[i + 1] === ',') {
        cur += ',';
        i++;
        continue;
      }
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

function optsToMap(parts: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const p of parts) {
    const eq = p.indexOf('=');
    if (eq > 0) map.set(p.slice(0, eq), p.slice(eq + 1));
  }
  return map;
}

/** Every value given to `flag` in argv, in order. */
export function argValues(argv: readonly string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length - 1; i++) if (argv[i] === flag) out.push(argv[i + 1]!);
  return out;
}

function lastArg(argv: readonly string[], flag: string): string | undefined {
  const all = argValues(argv, flag);
  return all[all.length - 1];
}

/** Parse `[type=]std|es|snp,…` without the schema: only the keys measurement needs. */
export function parseAmdSevValue(value: string): { type: string; keys: Map<string, string> } {
  const parts = splitQemuOpts(value);
  const keys = optsToMap(parts);
  const bare = parts.find((p) => p !== '' && !p.includes('='));
  return { type: keys.get('type') ?? bare ?? '', keys };
}

const MODE_FOR_TYPE: Record<string, VmMeasureMode> = { std: 'sev', es: 'seves', snp: 'snp' };

function findFilename(node: unknown): string | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const obj = node as Record<string, unknown>;
  if (typeof obj.filename === 'string') return obj.filename;
  return findFilename(obj.file);
}

/** The firmware image QEMU encrypts and measures: `-bios`, else the pflash0 code image. */
export function firmwareFromArgv(argv: readonly string[]): { path: string; via: 'bios' | 'pflash' } | null {
  const bios = lastArg(argv, '-bios');
  if (bios) return { path: bios, via: 'bios' };
  for (const drive of argValues(argv, '-drive')) {
    const opts = optsToMap(splitQemuOpts(drive));
    if (opts.get('if') === 'pflash' && (opts.get('unit') ?? '0') === '0' && opts.get('file')) {
      return { path: opts.get('file')!, via: 'pflash' };
    }
  }
  let pflashNode: string | undefined;
  for (const m of argValues(argv, '-machine')) {
    const node = optsToMap(splitQemuOpts(m)).get('pflash0');
    if (node) pflashNode = node;
  }
  if (pflashNode) {
    for (const spec of argValues(argv, '-blockdev')) {
      let parsed: unknown;
      try {
        parsed = spec.trimStart().startsWith('{') ? JSON.parse(spec) : Object.fromEntries(optsToMap(splitQemuOpts(spec)));
      } catch {
        continue;
      }
      const obj = parsed as Record<string, unknown>;
      if (obj['node-name'] !== pflashNode) continue;
      const file = findFilename(obj) ?? (typeof obj['file.filename'] === 'string' ? (obj['file.filename'] as string) : undefined);
      if (file) return { path: file, via: 'pflash' };
    }
  }
  return null;
}

/**
 * vCPUs `-smp` creates at start, as QEMU's machine_parse_smp_config computes them: the
 * leading number or `cpus=`, else `maxcpus=`, else sockets*dies*clusters*cores*threads.
 */
export function vcpusFromSmp(smp: string): number | undefined {
  const parts = splitQemuOpts(smp);
  const first = parts[0] ?? '';
  if (/^\d+$/.test(first) && Number(first) > 0) return Number(first);
  const opts = optsToMap(parts);
  for (const key of ['cpus', 'maxcpus']) {
    const v = opts.get(key);
    if (v !== undefined && /^\d+$/.test(v) && Number(v) > 0) return Number(v);
  }
  const n = (k: string) => Number(opts.get(k) ?? '1');
  const total = n('sockets') * n('dies') * n('clusters') * n('cores') * n('threads');
  return Number.isInteger(total) && total > 0 ? total : undefined;
}

/**
 * vCPUs cold-plugged with `-device <model>-x86_64-cpu` (qemu-server's CPU hotplug starts with
 * `-smp 1` and adds one device per further vCPU): they exist before launch finish, so each
 * gets an initial VMSA just like the `-smp` ones.
 */
export function coldplugCpuCount(argv: readonly string[]): number {
  return argValues(argv, '-device').filter((d) => /-x86_64-cpu$/.test(splitQemuOpts(d)[0] ?? '')).length;
}

function vcpusFromConfig(conf: ConfigSection): number {
  if (conf.vcpus && /^\d+$/.test(conf.vcpus) && Number(conf.vcpus) > 0) return Number(conf.vcpus);
  const sockets = Number(conf.sockets ?? conf.smp ?? '1') || 1;
  const cores = Number(conf.cores ?? '1') || 1;
  return sockets * cores;
}

function cpuModelFromConfig(conf: ConfigSection): string {
  const cpu = conf.cpu;
  if (!cpu) return 'kvm64';
  const parts = splitQemuOpts(cpu);
  const keys = optsToMap(parts);
  return keys.get('cputype') ?? parts.find((p) => p !== '' && !p.includes('=')) ?? 'kvm64';
}

/** Versioned machine type from `-machine type=pc-q35-X.Y…` (last one wins), as [major, minor]. */
export function machineVersionFromArgv(argv: readonly string[]): [number, number] | undefined {
  let version: [number, number] | undefined;
  for (const m of argValues(argv, '-machine')) {
    const parts = splitQemuOpts(m);
    const type = optsToMap(parts).get('type') ?? (parts[0]?.includes('=') ? undefined : parts[0]);
    const match = /^pc-(?:q35|i440fx)-(\d+)\.(\d+)/.exec(type ?? '');
    if (match) version = [Number(match[1]), Number(match[2])];
  }
  return version;
}

/**
 * CPUID signature of the guest model. qemu64 changed from family 6 model 6 stepping 3 to
 * 15/107/1 in QEMU 6.1; machine types up to 6.0 keep the old values as compat properties.
 */
function guestCpuSignature(model: string, argv: readonly string[]): number {
  if (model === 'qemu64') {
    const v = machineVersionFromArgv(argv);
    if (v && (v[0] < 6 || (v[0] === 6 && v[1] === 0))) return cpuSig(6, 6, 3);
  }
  return vcpuSignature(model);
}

/** The sev(-snp)-guest `-object` options, if the argv has one. */
export function sevObjectFromArgv(argv: readonly string[]): Map<string, string> | null {
  for (const obj of argValues(argv, '-object')) {
    const parts = splitQemuOpts(obj);
    const type = parts[0] === 'sev-guest' || parts[0] === 'sev-snp-guest' ? parts[0] : optsToMap(parts).get('qom-type');
    if (type === 'sev-guest' || type === 'sev-snp-guest') {
      const map = optsToMap(parts);
      map.set('qom-type', type);
      return map;
    }
  }
  return null;
}

export interface PlanOptions {
  vmid?: number | string;
  /** SEV_FEATURES for SNP VMSAs (default 0x1: QEMU + OVMF on Linux ≥ 6.8). */
  guestFeatures?: bigint | number;
}

/** Everything `cvmctl measure <vmid>` needs, derived from the config and its QEMU argv. */
export function planFromVm(conf: ConfigSection, argv: readonly string[], options: PlanOptions = {}): VmMeasurePlan {
  const label = options.vmid === undefined ? 'VM' : `VM ${options.vmid}`;
  if (!conf['amd-sev']) {
    const tdx = conf['intel-tdx'] ? ' (Intel TDX measurement is not supported)' : '';
    throw new CvmError('MEASURE', `${label} has no 'amd-sev' setting: nothing to measure${tdx}`);
  }
  const sev = parseAmdSevValue(conf['amd-sev']);
  const mode = MODE_FOR_TYPE[sev.type];
  if (!mode) {
    throw new CvmError('MEASURE', `${label}: amd-sev type '${sev.type}' is not measurable (allowed: std, es, snp)`);
  }
  const firmware = firmwareFromArgv(argv);
  if (!firmware) {
    throw new CvmError('MEASURE', `${label}: the generated QEMU command has no -bios and no pflash0 firmware image`);
  }
  const notes: string[] = [];
  const object = sevObjectFromArgv(argv);
  const kernelHashesOn = object
    ? ['on', 'true', 'yes'].includes(object.get('kernel-hashes') ?? '')
    : ['1', 'on', 'true', 'yes'].includes(sev.keys.get('kernel-hashes') ?? '');
  const kernel = lastArg(argv, '-kernel');
  const initrd = lastArg(argv, '-initrd');
  const append = lastArg(argv, '-append');
  const measureKernel = Boolean(kernel) && kernelHashesOn;
  if (kernel && !kernelHashesOn) notes.push('-kernel is given but kernel-hashes is off: the kernel is not part of the measurement');

  const smp = lastArg(argv, '-smp');
  const smpVcpus = smp ? vcpusFromSmp(smp) : undefined;
  const vcpus = smpVcpus === undefined ? vcpusFromConfig(conf) : smpVcpus + coldplugCpuCount(argv);
  const cpuArg = lastArg(argv, '-cpu');
  const vcpuModel = (cpuArg ? splitQemuOpts(cpuArg)[0] : undefined) || cpuModelFromConfig(conf);
  const vcpuSig = mode === 'sev' ? 0 : guestCpuSignature(vcpuModel, argv);
  const policyText = object?.get('policy');
  let policy: bigint | null = null;
  if (policyText !== undefined && /^(0x[0-9a-f]+|\d+)$/i.test(policyText)) policy = BigInt(policyText);

  return {
    mode,
    ovmfPath: firmware.path,
    vcpus,
    vcpuModel,
    vcpuSig,
    vmmType: 'QEMU',
    guestFeatures: mode === 'snp' ? (options.guestFeatures ?? 0x1) : 0,
    kernelPath: measureKernel ? kernel : null,
    initrdPath: measureKernel ? (initrd ?? null) : null,
    append: measureKernel ? (append ?? null) : null,
    policy,
    kernelHashes: measureKernel,
    notes,
  };
}
