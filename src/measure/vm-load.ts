/**
 * @module measure/vm-load
 * The I/O edge for `cvmctl measure <vmid>` and `cvmctl attest verify --vmid`: reads the VM
 * config from the store (openConfigStore), gets host facts (a named profile via
 * `loadHostProfile`, else `probeLocalHost(root)`), generates the QEMU argv with
 * `configToCommand(config, host)` and turns it into a measurement plan. The collaborating
 * modules are imported lazily: `cvmctl measure --mode …` (flags only) never loads them.
 */

import type { VmConfig } from '../config/types.js';
import type { HostFacts } from '../host/facts.js';
import { measureFiles } from './files.js';
import { planFromVm, type VmMeasurePlan } from './vm-inputs.js';

export async function readVmConfig(root: string, vmid: number): Promise<VmConfig> {
  const { openConfigStore } = await import('../store/open.js');
  return (await openConfigStore(root).read(vmid)).config;
}

export async function hostFactsFor(root: string, profile: string | undefined): Promise<HostFacts> {
  if (profile) {
    const { loadHostProfile } = await import('../host/profiles/index.js');
    return await loadHostProfile(profile, { root });
  }
  const { probeLocalHost } = await import('../host/local/index.js');
  return await probeLocalHost(root);
}

export async function commandFor(config: VmConfig, host: HostFacts): Promise<string[]> {
  const { configToCommand } = await import('../qemu/cfg2cmd/index.js');
  return configToCommand(config, host).argv;
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

/** The inputs a VM measurement used, as `measure <vmid> --json` and the API report them. */
export function vmMeasurementInputs(result: VmMeasurement): Record<string, unknown> {
  const { plan } = result;
  return {
    vmid: result.vmid,
    mode: plan.mode,
    ovmf: plan.ovmfPath,
    vcpus: plan.vcpus,
    vcpuModel: plan.vcpuModel,
    vcpuSig: `0x${plan.vcpuSig.toString(16)}`,
    vmmType: plan.vmmType,
    kernelHashes: plan.kernelHashes,
    kernel: plan.kernelPath,
    initrd: plan.initrdPath,
    append: plan.append,
    guestFeatures: `0x${BigInt(plan.guestFeatures ?? 0).toString(16)}`,
    policy: plan.policy === null ? null : `0x${plan.policy.toString(16)}`,
  };
}
