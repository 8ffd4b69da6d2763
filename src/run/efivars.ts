/**
 * @module run/efivars
 * The temporary EFI vars file of an OVMF VM without an efidisk. qemu-server copies the VARS
 * template to `<efivarsDir>/<vmid>-ovmf.fd` while generating the command ("no efidisk
 * configured! Using temporary efivars disk."); our generator is pure, so the copy is made
 * here, right before QEMU starts, from the template the firmware selection picks.
 */

import { copyFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CvmError } from '../errors.js';
import type { VmConfig } from '../config/types.js';
import type { HostFacts } from '../host/facts.js';
import type { FirmwareCvmType } from '../firmware/ovmf-table.js';
import { getOvmfFiles } from '../firmware/select.js';
import { getCvmType } from '../sev/object.js';
import { makeDirs } from '../util/mkdirs.js';
import { optValue } from '../qemu/cfg2cmd/opt-value.js';

export function tempEfivarsPath(facts: HostFacts, vmid: number): string {
  return join(facts.paths.efivarsDir, `${vmid}-ovmf.fd`);
}

/** Copy a fresh VARS template when the command uses the temporary efivars file. Returns its path or undefined. */
export async function prepareTempEfivars(facts: HostFacts, config: VmConfig, argv: readonly string[]): Promise<string | undefined> {
  const target = tempEfivarsPath(facts, config.vmid);
  // raw in -blockdev JSON, commas doubled in a legacy -drive option string
  const escaped = optValue(target);
  if (!argv.some((a) => a.includes(target) || a.includes(escaped))) return undefined;
  const conf = config.conf;
  const machine = /^(?:type=)?([^,]+)/.exec(conf.machine ?? '')?.[1];
  const files = getOvmfFiles(
    facts.firmware,
    conf.arch ?? facts.arch,
    undefined,
    /q35/.test(machine ?? ''),
    getCvmType(conf) as FirmwareCvmType,
    machine,
  );
  if (!files.vars) throw new CvmError('FIRMWARE_MISSING', `no EFI vars template for firmware '${files.code}'`);
  await makeDirs(dirname(target));
  await copyFile(files.vars, target);
  return target;
}
