/**
 * @module qemu/cfg2cmd/cpu
 * The `-cpu` argument (CPUConfig::get_cpu_options): model resolution (built-in abstract
 * models, custom `custom-<name>` models from the host's cpu-models.conf, deprecated names),
 * the flag layers PVE → Hyper-V → built-in → custom → VM → forced, resolved with qemu-server's
 * override warnings and printed sorted, plus level and (guest-)phys-bits. Also the hotplug
 * `-device <model>-x86_64-cpu` strings and the 32-bit check used by the OVMF code.
 */

import { CvmError } from '../../errors.js';
import type { CustomCpuModelFact } from '../../host/facts.js';
import type { Cfg2CmdContext } from './context.js';
import {
  BUILTIN_MODELS_BY_ARCH,
  CPU_FLAG_ANY_RE,
  CPU_FLAG_SUPPORTED_RE,
  CPUTYPES_32BIT,
  cpuModelVendor,
  DEPRECATED_CPU_MAP,
} from './cpu-models.js';
import { propBool } from './props.js';
import { binaryAtLeast } from './version.js';
import { cpuFormat } from '../../config/options/cpu-memory.js';
import { readPropertyString } from '../../schema/reader.js';

interface CpuFlag {
  op: string;
  reason: string;
  value?: string | undefined;
}
type FlagSet = Map<string, CpuFlag>;

export function defaultCpuType(arch: string, kvm: boolean): string {
  if (arch === 'aarch64') return kvm ? 'host' : 'max';
  return kvm ? 'kvm64' : 'qemu64';
}

/** The VM's `cpu` option as qemu-server parses it ('pve-vm-cpu-conf'), validated. */
export function parseVmCpu(ctx: Pick<Cfg2CmdContext, 'conf' | 'host' | 'arch' | 'hostArch'>): Record<string, string> {
  const raw = ctx.conf.cpu;
  if (!raw) return {};
  const cpu = readPropertyString(cpuFormat, raw);
  const cputype = cpu.cputype;
  if (!cputype) throw new CvmError('GENERATE', 'CPU is missing cputype');
  if (cputype.startsWith('custom-')) {
    customModel(ctx.host.customCpuModels, cputype);
  } else if (!isKnownModel(cputype, ctx.hostArch)) {
    throw new CvmError('GENERATE', `Built-in cputype '${cputype}' is not defined (missing 'custom-' prefix?)`);
  }
  return cpu;
}

function isKnownModel(model: string, hostArch: string): boolean {
  if (model === 'host') return true;
  for (const arch of Object.keys(BUILTIN_MODELS_BY_ARCH)) if (BUILTIN_MODELS_BY_ARCH[arch]?.[model]) return true;
  return ['x86_64', 'aarch64'].some((a) => cpuModelVendor(a, hostArch, model) !== undefined);
}

/** get_custom_model: the custom model (only truthy properties), or die. */
export function customModel(models: Record<string, CustomCpuModelFact>, name: string): CustomCpuModelFact {
  const short = name.replace(/^custom-/, '');
  const entry = models[short];
  if (!entry) throw new CvmError('GENERATE', `Custom cputype '${short}' not found`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry)) if (v) out[k] = v;
  return out as CustomCpuModelFact;
}

/** The reported model name (after built-in/custom/deprecated mapping), as print_cpu_device uses it. */
function reportedModel(ctx: Cfg2CmdContext, cputype: string, mapDeprecated: boolean): string {
  let cpu = cputype;
  const builtin = BUILTIN_MODELS_BY_ARCH[ctx.arch]?.[cpu];
  if (builtin) cpu = builtin.reported;
  else if (cputype.startsWith('custom-')) cpu = customModel(ctx.host.customCpuModels, cpu)['reported-model'] ?? 'kvm64';
  if (mapDeprecated) cpu = DEPRECATED_CPU_MAP[cpu] ?? cpu;
  return cpu;
}

/** get_cpu_bitness. */
export function cpuBitness(ctx: Cfg2CmdContext): number {
  let cputype = defaultCpuType(ctx.arch, false);
  if (ctx.conf.cpu) cputype = reportedModel(ctx, parseVmCpu(ctx).cputype as string, false);
  if (ctx.arch === 'x86_64') return CPUTYPES_32BIT.has(cputype) ? 32 : 64;
  return 64;
}

/** print_cpu_device for CPU hotplug (`-device …-x86_64-cpu`). */
export function cpuDevice(ctx: Cfg2CmdContext, id: number): string {
  if (ctx.arch !== 'x86_64') throw new CvmError('GENERATE', 'Hotplug of non x86_64 CPU not yet supported');
  let cpu = defaultCpuType('x86_64', ctx.kvm);
  if (ctx.conf.cpu) cpu = reportedModel(ctx, parseVmCpu(ctx).cputype as string, true);
  const cores = Number(ctx.conf.cores) || 1;
  const core = (id - 1) % cores;
  const socket = Math.trunc((id - 1 - core) / cores);
  return `${cpu}-x86_64-cpu,id=cpu${id},socket-id=${socket},core-id=${core},thread-id=0`;
}

function parseFlagList(re: RegExp, reason: string, list: string | undefined): FlagSet {
  const res: FlagSet = new Map();
  if (!list) return res;
  for (const flag of list.split(';')) {
    const m = re.exec(flag);
    if (m) res.set(m[2] as string, { op: m[1] as string, reason });
  }
  return res;
}

function printFlag(name: string, flag: CpuFlag): string {
  let s = `'${flag.op}${name}`;
  if (flag.value !== undefined) s += `=${flag.value}`;
  s += `'`;
  s += ` (${flag.reason})`;
  return s;
}

/**
 * What `nested-virt` stands for on this host: qemu-server takes the first ` svm ` or ` vmx ` in
 * the host's /proc/cpuinfo flags; a profile without probed flags (pve-test) goes by the vendor.
 */
function nestedVirtFlag(host: Cfg2CmdContext['host']): string | undefined {
  if (host.cpuFlags !== undefined) return /\s(svm|vmx)\s/.exec(host.cpuFlags)?.[1];
  return host.cpuVendor === 'AuthenticAMD' ? 'svm' : host.cpuVendor === 'GenuineIntel' ? 'vmx' : undefined;
}

function resolveFlags(ctx: Cfg2CmdContext, layers: FlagSet[]): FlagSet {
  const flags: FlagSet = new Map();
  let nested: string | undefined | null = null;
  for (const layer of layers) {
    for (let [name, flag] of layer) {
      if (name === 'nested-virt') {
        if (nested === null) {
          nested = nestedVirtFlag(ctx.host);
          if (!nested) ctx.warnings.push("ignoring 'nested-virt' CPU flag - unable to resolve from host CPU flags");
        }
        if (!nested) continue;
        if (layer.has(nested)) ctx.perlWarnings.push(`warning: CPU flag '${name}' overrides '${nested}'`);
        name = nested;
      }
      const old = flags.get(name);
      if (old) {
        const changed = (flag.value === undefined) !== (old.value === undefined) || (flag.value !== undefined && flag.value !== old.value);
        if (old.op === flag.op && !changed) {
          old.reason += ` & ${flag.reason}`;
          continue;
        }
        ctx.perlWarnings.push(`warning: CPU flag/setting ${printFlag(name, flag)} overwrites ${printFlag(name, old)}`);
      }
      flags.set(name, { ...flag });
    }
  }
  return flags;
}

function pveFlags(ctx: Cfg2CmdContext, cputype: string): FlagSet {
  const f: FlagSet = new Map();
  const msg = 'set by PVE;';
  const x86 = ctx.arch === 'x86_64';
  if (cputype === 'kvm64' && x86) f.set('lahf_lm', { op: '+', reason: `${msg} to support Windows 8.1+` });
  if (ctx.conf.ostype === 'solaris') f.set('x2apic', { op: '-', reason: `${msg} incompatible with Solaris` });
  if (cputype === 'kvm64' || cputype === 'kvm32')
    f.set('sep', {
      op: '+',
      reason: `${msg} to support Windows 8+ and improve Windows XP+`,
    });
  if (cputype.startsWith('Opteron')) f.set('rdtscp', { op: '-', reason: `${msg} broken on AMD Opteron` });
  if (ctx.versionGuard(2, 3) && ctx.kvm && x86) {
    f.set('kvm_pv_unhalt', {
      op: '+',
      reason: `${msg} to improve Linux guest spinlock performance`,
    });
    f.set('kvm_pv_eoi', {
      op: '+',
      reason: `${msg} to improve Linux guest interrupt performance`,
    });
  }
  const qemu11 = binaryAtLeast(ctx.kvmVersion, 11, 0);
  if (x86 && qemu11 && ctx.winVersion >= 11) {
    const reason = `${msg} to avoid issues with certain Windows configurations like VBS`;
    f.set('cet-ibt', { op: '-', reason });
    f.set('cet-ss', { op: '-', reason });
  }
  if (x86 && qemu11 && cputype === 'host' && !ctx.versionGuard(11, 0)) {
    f.set('vmx-mbec', {
      op: '-',
      reason: `${msg} for backwards compatibility with older kernel and QEMU`,
    });
  }
  return f;
}

function hypervFlags(ctx: Cfg2CmdContext, gpuPassthrough: boolean, hvVendorId: string | undefined): FlagSet {
  const f: FlagSet = new Map();
  const win = ctx.winVersion;
  if (win < 6) return f;
  if (ctx.conf.bios === 'ovmf' && win < 8) return f;
  const def = 'automatic Hyper-V enlightenment for Windows';
  const set = (name: string, value?: string, reason?: string) => f.set(name, { op: '', reason: reason ?? def, value });
  if (gpuPassthrough || hvVendorId !== undefined) {
    set(
      'hv_vendor_id',
      hvVendorId ?? 'proxmox',
      hvVendorId !== undefined ? 'custom hv_vendor_id set' : 'NVIDIA workaround for GPU passthrough',
    );
  }
  if (ctx.versionGuard(2, 3)) {
    set('hv_spinlocks', '0x1fff');
    set('hv_vapic');
    set('hv_time');
  } else {
    set('hv_spinlocks', '0xffff');
  }
  if (ctx.versionGuard(2, 6)) {
    set('hv_reset');
    set('hv_vpindex');
    set('hv_runtime');
  }
  if (win >= 7) {
    const r7 = `${def} 7 and higher`;
    set('hv_relaxed', undefined, r7);
    if (ctx.versionGuard(2, 12)) {
      set('hv_synic', undefined, r7);
      set('hv_stimer', undefined, r7);
    }
    if (ctx.versionGuard(3, 1)) set('hv_ipi', undefined, r7);
  }
  if (ctx.host.cpuVendor === 'GenuineIntel' && win >= 11 && ctx.versionGuard(11, 0, 2)) {
    set('hv_evmcs', undefined, `${def} for Windows 11 on Intel host`);
  }
  return f;
}

/** get_cpu_options: returns the `-cpu` value. */
export function cpuOptions(ctx: Cfg2CmdContext, kvmOffIn: boolean, gpuPassthrough: boolean): string {
  const arch = ctx.arch;
  let cputype = defaultCpuType(arch, ctx.kvm);
  let cpu: Record<string, string> = {};
  let custom: CustomCpuModelFact | undefined;
  let builtinFlags: string | undefined;
  let hvVendorId: string | undefined;
  let kvmOff = kvmOffIn;
  if (ctx.conf.cpu) {
    cpu = parseVmCpu(ctx);
    cputype = cpu.cputype as string;
    const builtin = BUILTIN_MODELS_BY_ARCH[arch]?.[cputype];
    if (builtin) {
      cputype = builtin.reported;
      builtinFlags = builtin.flags;
    } else if (cputype.startsWith('custom-')) {
      custom = customModel(ctx.host.customCpuModels, cputype);
      cputype = custom['reported-model'] ?? 'kvm64';
      if (custom.hidden !== undefined) kvmOff = Boolean(custom.hidden);
      hvVendorId = custom['hv-vendor-id'];
    }
    cputype = DEPRECATED_CPU_MAP[cputype] ?? cputype;
    if (cpu.hidden !== undefined) kvmOff = propBool(cpu.hidden) ?? false;
    if (cpu['hv-vendor-id'] !== undefined) hvVendorId = cpu['hv-vendor-id'];
  }
  const vendor = cpuModelVendor(arch, ctx.hostArch, cputype);
  if (vendor === undefined) {
    throw new CvmError('GENERATE', `CPU model '${cputype}' does not exist for configured vCPU architecture '${arch}'`);
  }
  const layers: FlagSet[] = [pveFlags(ctx, cputype)];
  if (ctx.kvm && arch === 'x86_64') layers.push(hypervFlags(ctx, gpuPassthrough, hvVendorId));
  layers.push(parseFlagList(CPU_FLAG_ANY_RE, 'set by builtin CPU model', builtinFlags));
  layers.push(parseFlagList(CPU_FLAG_ANY_RE, 'set by custom CPU model', custom?.flags));
  layers.push(parseFlagList(CPU_FLAG_SUPPORTED_RE, 'manually set for VM', cpu.flags));
  const forced: FlagSet = new Map();
  if (cputype !== 'host' && ctx.kvm && arch === 'x86_64')
    forced.set('enforce', {
      op: '',
      reason: 'error if requested CPU settings not available',
    });
  if (kvmOff && arch === 'x86_64')
    forced.set('kvm', {
      op: '',
      value: 'off',
      reason: 'hide KVM virtualization from guest',
    });
  if (arch === 'x86_64' && vendor !== 'default') forced.set('vendor', { op: '', value: vendor, reason: 'unknown origin' });
  layers.push(forced);

  let cpuStr = cputype;
  const level = cpu.level ?? (custom as Record<string, unknown> | undefined)?.level;
  if (level !== undefined) {
    if (arch === 'x86_64') cpuStr += `,level=${level}`;
    else ctx.perlWarnings.push(`CPU 'level' property is ignored for architecture '${arch}'`);
  }
  const resolved = resolveFlags(ctx, layers);
  for (const name of [...resolved.keys()].sort()) {
    const flag = resolved.get(name) as CpuFlag;
    cpuStr += `,${flag.op}${name}`;
    if (flag.value) cpuStr += `=${flag.value}`;
  }

  let above40 = false;
  for (const opt of ['guest-phys-bits', 'phys-bits'] as const) {
    let physBits = '';
    for (const conf of [custom as Record<string, unknown> | undefined, cpu as Record<string, unknown>]) {
      if (!conf) continue;
      const val = conf[opt];
      if (!val || val === '0') continue;
      if (val === 'host') {
        if (opt === 'guest-phys-bits') throw new CvmError('GENERATE', "unexpected value 'host' for guest-phys-bits");
        physBits = ',host-phys-bits=true';
        if (ctx.host.physAddrBits > 40) above40 = true;
      } else {
        physBits = `,${opt}=${val}`;
        if (opt === 'phys-bits' && Number(val) > 40) above40 = true;
      }
    }
    cpuStr += physBits;
  }
  if (above40 && (cputype === 'qemu64' || cputype === 'kvm64') && ctx.conf.bios === 'ovmf') {
    const pdpe = resolved.get('pdpe1gb');
    if (!pdpe || pdpe.op === '-') {
      ctx.warnings.push("OVMF firmware might limit CPU 'phys-bits' to 40 - enable the 'pdpe1gb' CPU flag to avoid this");
    }
  }
  return cpuStr;
}
