/**
 * @module measure/vm-load
 * The I/O edge for `cvmctl measure <vmid>` and `cvmctl attest verify --vmid`: reads the VM
 * config from the store (helper C's FsConfigStore), gets host facts (a named profile via
 * `loadHostProfile`, else `probeLocalHost(root)`), generates the QEMU argv with
 * `configToCommand(config, host)` and turns it into a measurement plan. The collaborating
 * modules are imported lazily so the pure measurement code never depends on them.
 */

import type { VmConfig } from '../config/types.js';
import { CvmError } from '../errors.js';
import type { HostFacts } from '../host/facts.js';
import { measureFiles } from './files.js';
import { planFromVm, type VmMeasurePlan } from './vm-inputs.js';

type AnyModule = Record<string, unknown>;

async function tryImport(spec: string): Promise<AnyModule | null> {
  try {
    return (await import(spec)) as AnyModule;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return null;
    throw err;
  }
}

/** First export named `name` found in the candidate modules. */
async function findExport<T>(name: string, candidates: string[]): Promise<T> {
  for (const spec of candidates) {
    const mod = await tryImport(spec);
    if (mod && typeof mod[name] === 'function') return mod[name] as T;
  }
  throw new CvmError('INTERNAL', `${name} is not available in this build (looked in ${candidates.join(', ')})`);
}

export async function readVmConfig(root: string, vmid: number): Promise<VmConfig> {
  const Store = await findExport<new (root: string) => { read(vmid: number): unknown }>('FsConfigStore', [
    '../store/fs-store.js',
    '../store/index.js',
  ]);
  const stored = (await new Store(root).read(vmid)) as VmConfig | { config: VmConfig };
  // FsConfigStore.read returns { raw, config }; accept a bare VmConfig too.
  return 'config' in stored && stored.config && typeof stored.config === 'object' ? stored.config : (stored as VmConfig);
}

export async function hostFactsFor(root: string, profile: string | undefined): Promise<HostFacts> {
  if (profile) {
    const load = await findExport<(name: string, opts: { root?: string }) => Promise<HostFacts>>('loadHostProfile', [
      '../host/profiles/index.js',
      '../host/profiles/load.js',
    ]);
    return await load(profile, { root });
  }
  const probe = await findExport<(root: string) => Promise<HostFacts>>('probeLocalHost', [
    '../host/local/index.js',
    '../host/local/probe.js',
  ]);
  return await probe(root);
}

/** Accept the shapes a generator may return: argv array, or an object carrying one. */
export function argvOf(result: unknown): string[] {
  if (Array.isArray(result)) return result.map(String);
  if (result && typeof result === 'object') {
    const obj = result as Record<string, unknown>;
    for (const key of ['argv', 'args', 'cmd', 'command']) if (Array.isArray(obj[key])) return (obj[key] as unknown[]).map(String);
  }
  throw new CvmError('INTERNAL', 'configToCommand returned no argument list');
}

export async function commandFor(config: VmConfig, host: HostFacts): Promise<string[]> {
  const generate = await findExport<(c: VmConfig, h: HostFacts) => unknown>('configToCommand', [
    '../qemu/cfg2cmd/index.js',
    '../qemu/cfg2cmd/generate.js',
  ]);
  return argvOf(await generate(config, host));
}

export interface VmMeasurement {
  vmid: number;
  plan: VmMeasurePlan;
  digest: Buffer;
  config: VmConfig;
}

export interface VmMeasureOptions {
  host?: string;
  guestFeatures?: bigint | number;
  /** Measure this firmware file instead of the path in the generated command. */
  ovmfPath?: string;
}

/** Collaborators, replaceable in tests; the defaults load the real modules lazily. */
export interface VmMeasureDeps {
  readConfig(root: string, vmid: number): Promise<VmConfig>;
  hostFacts(root: string, profile: string | undefined): Promise<HostFacts>;
  command(config: VmConfig, host: HostFacts): Promise<string[]>;
}

const DEFAULT_DEPS: VmMeasureDeps = { readConfig: readVmConfig, hostFacts: hostFactsFor, command: commandFor };

export async function measureVm(
  root: string,
  vmid: number,
  options: VmMeasureOptions = {},
  deps: VmMeasureDeps = DEFAULT_DEPS,
): Promise<VmMeasurement> {
  const config = await deps.readConfig(root, vmid);
  const host = await deps.hostFacts(root, options.host);
  const argv = await deps.command(config, host);
  const plan = planFromVm(config.conf, argv, { vmid, guestFeatures: options.guestFeatures });
  if (options.ovmfPath) plan.ovmfPath = options.ovmfPath;
  const digest = await measureFiles(plan);
  return { vmid, plan, digest, config };
}
