/**
 * @module host/profiles/load
 * `loadHostProfile(nameOrPath)`: the built-in profiles by name (`pve-test`, `pve`, `local`)
 * or a JSON profile file. A file is an object with an optional `base` (a built-in profile
 * name, default `pve`) and any HostFacts fields, which replace the base's values; `paths`
 * and `firmware` are merged key by key. The format is documented in docs/host-profiles.md.
 * `local` is probed on this machine by src/host/local (needs the state root); `pve` takes its
 * capability file and config_to_command's own host lookups (CPU, devices, KVM) from this machine.
 */

import { CvmError } from '../../errors.js';
import { READ_LIMITS, readRegularFile } from '../../util/read-file.js';
import type { HostFacts } from '../facts.js';
import { checkProfileJson } from './check.js';
import { pveProfile } from './pve.js';
import { pveTestProfile } from './pve-test.js';

export const BUILTIN_PROFILES = ['pve-test', 'pve', 'local'] as const;

/** A built-in profile that needs no probing. */
export function builtinProfile(name: string): HostFacts | undefined {
  if (name === 'pve-test') return pveTestProfile();
  if (name === 'pve') return pveProfile();
  return undefined;
}

const OBJECT_MERGED = new Set(['paths']);

/** Apply a parsed JSON profile object on top of its base. */
export function profileFromJson(json: unknown, source: string): HostFacts {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new CvmError('PARAM_INVALID', `host profile '${source}': expected a JSON object`);
  }
  const obj = json as Record<string, unknown>;
  checkProfileJson(obj, source);
  const baseName = obj.base === undefined ? 'pve' : String(obj.base);
  const base = builtinProfile(baseName);
  if (!base) {
    throw new CvmError('PARAM_INVALID', `host profile '${source}': base '${baseName}' is not one of pve, pve-test`);
  }
  const out = base as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'base' || key === '$comment') continue;
    if (OBJECT_MERGED.has(key) && value && typeof value === 'object') {
      out[key] = { ...(out[key] as object), ...(value as object) };
    } else {
      out[key] = value;
    }
  }
  if (obj.profile === undefined) out.profile = source;
  checkProfile(out as unknown as HostFacts, source);
  return out as unknown as HostFacts;
}

function checkProfile(facts: HostFacts, source: string): void {
  const bad = (what: string) => {
    throw new CvmError('PARAM_INVALID', `host profile '${source}': ${what}`);
  };
  if (facts.flavor !== 'pve' && facts.flavor !== 'local') bad(`flavor '${String(facts.flavor)}' (allowed: pve, local)`);
  if (facts.arch !== 'x86_64' && facts.arch !== 'aarch64') bad(`arch '${String(facts.arch)}' (allowed: x86_64, aarch64)`);
  if (!/^\d+\.\d+(\.\d+)?$/.test(String(facts.qemuVersion))) bad(`qemuVersion '${String(facts.qemuVersion)}' (expected X.Y[.Z])`);
  if (!/^\d+\.\d+(\.\d+)?$/.test(String(facts.qemuInstalledVersion))) {
    bad(`qemuInstalledVersion '${String(facts.qemuInstalledVersion)}' (expected X.Y[.Z])`);
  }
  if (!Number.isInteger(facts.cpuCount) || facts.cpuCount < 1) bad(`cpuCount '${String(facts.cpuCount)}' (expected a positive integer)`);
}

/**
 * Load a host profile: `pve-test`, `pve` (with this host's
 * /run/qemu-server/host-hw-capabilities.json), `local` (probed; `root` is the cvmctl state root)
 * or the path of a JSON profile file.
 */
export async function loadHostProfile(nameOrPath: string, opts: { root?: string } = {}): Promise<HostFacts> {
  if (nameOrPath === 'pve') {
    // a real Proxmox host: its capabilities are what query-machine-capabilities wrote at boot
    // (or qemu-server's missing-file error, raised only when a CVM needs them)
    // and what config_to_command itself looks up on the host: read_cpuinfo (vendor, CPU count,
    // the flags nested-virt resolves from), `-c` of serial/parallel paths and /dev/vhost-net,
    // and kvm_version (/dev/kvm)
    // node:fs/promises too: loading it costs a cold `showcmd --host pve-test` about a millisecond
    const [{ readHwCapabilities }, devices, local, { readFile }] = await Promise.all([
      import('../capabilities/index.js'),
      import('../local/devices.js'),
      import('../local/index.js'),
      import('node:fs/promises'),
    ]);
    const [hwCapabilities, charDevices, cpuText, kvmAvailable] = await Promise.all([
      readHwCapabilities(),
      devices.probeCharDevices(),
      readFile('/proc/cpuinfo', 'utf8').catch(() => ''),
      local.kvmUsable(),
    ]);
    const facts: HostFacts = { ...pveProfile(), hwCapabilities, charDevices, kvmAvailable };
    facts.kernelHasVhostNet = charDevices.includes('/dev/vhost-net');
    facts.cpuFlags = devices.cpuFlagsFromCpuinfo(cpuText) ?? '';
    const cpu = local.parseCpuInfo(cpuText);
    if (cpu.vendor) facts.cpuVendor = cpu.vendor;
    if (cpu.count > 0) facts.cpuCount = cpu.count;
    return facts;
  }
  const builtin = builtinProfile(nameOrPath);
  if (builtin) return builtin;
  if (nameOrPath === 'local') {
    const { probeLocalHost } = await import('../local/index.js');
    return probeLocalHost(opts.root ?? '/var/lib/cvmctl');
  }
  let text: string;
  try {
    text = (await readRegularFile(nameOrPath, { what: 'host profile', maxBytes: READ_LIMITS.small })).toString('utf8');
  } catch (err) {
    if (err instanceof CvmError) throw err;
    throw new CvmError(
      'PARAM_INVALID',
      `host profile '${nameOrPath}': not a built-in profile (pve-test, pve, local) and not a readable file`,
      { cause: err },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CvmError('PARAM_INVALID', `host profile '${nameOrPath}': invalid JSON - ${(err as Error).message}`, { cause: err });
  }
  return profileFromJson(json, nameOrPath);
}
