/**
 * @module qemu/cfg2cmd/machine-options
 * Smaller pieces of config_to_command around the machine: `-smbios type=1`, the created-version
 * `-global` fixup, the S3/S4 power-state globals, `smm=off`, the machine property checks and
 * the `running-nets-host-mtu` list. Each mirrors one qemu-server helper, named in its comment.
 */

import type { ConfigSection } from '../../config/types.js';
import { CvmError } from '../../errors.js';
import type { Cfg2CmdContext } from './context.js';
import { perlTrue, propBool } from './props.js';
import { extractVersion, minVersion } from './version.js';
import { machineFormat } from '../../config/options/cpu-memory.js';
import { metaInfoFormat, smbios1Format } from '../../config/options/system-formats.js';
import { readPropertyString } from '../../schema/reader.js';

const die = (msg: string): never => {
  throw new CvmError('GENERATE', msg);
};

/** `net0=1500,net1=9000` (split_list) → { net0: 1500, … }. */
export function netsHostMtu(value: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of (value ?? '').split(/[;, \0]+/).filter(Boolean)) {
    const [name, mtu] = item.split('=');
    if (name && mtu !== undefined) out[name] = Number(mtu);
  }
  return out;
}

/** `-smbios type=1,…`: sorted keys, base64 values decoded, commas doubled, empty values skipped. */
export function smbiosString(value: string): string {
  const props = readPropertyString(smbios1Format, value);
  const base64 = propBool(props.base64) === true;
  delete props.base64;
  let out = 'type=1';
  for (const key of Object.keys(props).sort()) {
    let v = props[key] as string;
    if (base64 && key !== 'uuid') v = Buffer.from(v, 'base64').toString('latin1');
    v = v.replace(/,/g, ',,');
    if (perlTrue(v)) out += `,${key}=${v}`;
  }
  return out;
}

/** qemu_created_version_fixups. */
export function createdVersionFixups(ctx: Cfg2CmdContext, forceMachine: string | undefined): string[] | undefined {
  const conf = ctx.conf;
  const meta = readPropertyString(metaInfoFormat, conf.meta);
  const forced = forceMachine ? extractVersion(forceMachine) : undefined;
  const type = readPropertyString(machineFormat, conf.machine).type;
  const creation = meta['creation-qemu'];
  if (
    (type === undefined || /^(?:pc|q35|virt)$/.test(type)) &&
    (creation === undefined || !minVersion(creation, 6, 1)) &&
    (!forced || minVersion(forced, 6, 1)) &&
    minVersion(ctx.kvmVersion, 6, 1)
  ) {
    if (ctx.q35 && conf.ostype === 'l26') return ['-global', 'ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off'];
  }
  return undefined;
}

/** Machine::get_power_state_flags. */
export function powerStateFlags(ctx: Cfg2CmdContext, machineConf: Record<string, string>): string[] {
  const machine = machineConf.type || (ctx.arch === 'aarch64' ? 'virt' : 'pc');
  if (machine.startsWith('virt')) return [];
  const object = machine.includes('q35') ? 'ICH9-LPC' : 'PIIX4_PM';
  const def = !ctx.versionGuard(9, 2, 1);
  const s3 = machineConf['enable-s3'] !== undefined ? propBool(machineConf['enable-s3']) : def;
  const s4 = machineConf['enable-s4'] !== undefined ? propBool(machineConf['enable-s4']) : def;
  const out: string[] = [];
  if (!s3) out.push('-global', `${object}.disable_s3=1`);
  if (!s4) out.push('-global', `${object}.disable_s4=1`);
  return out;
}

/** `smm=off` for SeaBIOS VMs with a serial or no display (never on `virt`). */
export function shouldDisableSmm(conf: ConfigSection, vgaType: string, machineType: string): boolean {
  if (machineType.startsWith('virt')) return false;
  return (conf.bios === undefined || conf.bios === 'seabios') && /^(serial\d+|none)$/.test(vgaType);
}

/** Machine::assert_valid_machine_property. */
export function assertValidMachineProperty(mc: Record<string, string>): void {
  const aw = mc['aw-bits'] === undefined ? 0 : Number(mc['aw-bits']);
  if (mc.viommu === 'intel') {
    if (!mc.type?.includes('q35')) die('to use Intel vIOMMU please set the machine type to q35');
    if (aw && aw !== 39 && aw !== 48) die('Intel vIOMMU supports only 39 or 48 bits as address width');
  }
  if (aw && !mc.viommu) die('cannot set aw-bits if no vIOMMU is configured');
}
