/**
 * @module config/options
 * The complete option table of qemu-server 9.2.6: every top-level VM config key (with the
 * indexed keys net0…net31, scsi0…scsi30, unused0…unused255 … expanded) and every
 * property-string format, registered in the schema registry under qemu-server's names so
 * config parsing, `qm`-style CLI options, typetext and docs all read the same data.
 * Importing this module registers the formats (once).
 */

import { getFormat, registerFormat, type FormatValidator } from '../../schema/index.js';
import type { FormatSchema, FormatVerifier, PropertySchema, PropertyValues } from '../../schema/types.js';
import { CvmError } from '../../errors.js';
import { validateVmCpuConf } from '../cpu.js';
import { cloudinitFormats, cloudinitKeys, ipconfigKeys } from './cloudinit.js';
import { confidentialFormats, confidentialKeys } from './confidential.js';
import { cpuMemoryFormats, cpuMemoryKeys, MAX_NUMA, numaDesc } from './cpu-memory.js';
import { deviceFormats, deviceKeys } from './devices.js';
import { displayAudioFormats, displayAudioKeys } from './display-audio.js';
import { driveFormats, driveKeys } from './drives.js';
import { generalKeys } from './general.js';
import { networkFormats, networkKeys } from './network.js';
import { systemFormats } from './system-formats.js';
import { qemuServerVerifiers } from './verifiers.js';

export * from './cloudinit.js';
export * from './confidential.js';
export * from './cpu-memory.js';
export * from './devices.js';
export * from './display-audio.js';
export * from './drives.js';
export * from './general.js';
export * from './network.js';
export * from './system-formats.js';
export * from './verifiers.js';

/**
 * The table is built in an object without a prototype: V8 keeps such an object as a dictionary
 * from the start, where a spread into an object literal made V8 create a hidden class per key
 * for the first ~128 of the ~700 keys before giving up (about 2 ms of every cold start). It also
 * means `vmConfigKeys.constructor` or `vmConfigKeys.__proto__` is no key.
 */
function buildKeys(): Record<string, PropertySchema> {
  const keys: Record<string, PropertySchema> = Object.assign(
    Object.create(null) as Record<string, PropertySchema>,
    generalKeys,
    cpuMemoryKeys,
    confidentialKeys,
    displayAudioKeys,
    cloudinitKeys,
    networkKeys(),
    ipconfigKeys(),
    deviceKeys(),
    driveKeys(),
  );
  for (let i = 0; i < MAX_NUMA; i++) keys[`numa${i}`] = numaDesc;
  return keys;
}

/** Every top-level config key of qemu-server 9.2.6 → its schema. */
export const vmConfigKeys: Readonly<Record<string, PropertySchema>> = Object.freeze(buildKeys());

/**
 * The same table as a Map: with ~700 keys (net0…31, unused0…255 …) the frozen object is a
 * dictionary, and a Map lookup is cheaper than `Object.hasOwn` plus a keyed load on it.
 */
const configKeyMap: ReadonlyMap<string, PropertySchema> = new Map(Object.entries(vmConfigKeys));

/** Each key's spelling as the table object holds it (an internalised string, see configKeyName). */
const configKeySpelling: ReadonlyMap<string, string> = new Map(Object.keys(vmConfigKeys).map((key) => [key, key]));

/** The schema of a top-level key, or undefined for an unknown key (`unknown setting`). */
export function lookupConfigKey(key: string): PropertySchema | undefined {
  return configKeyMap.get(key);
}

/**
 * The same key as the option table spells it, or `key` itself when unknown. Parsers store values
 * under it: property names are internalised strings, and storing under a key freshly sliced out
 * of a line makes V8 look it up in its string table first.
 */
export function configKeyName(key: string): string {
  return configKeySpelling.get(key) ?? key;
}

/** All top-level key names, sorted byte-wise (as qemu-server writes them). */
export function configKeyNames(): string[] {
  return Object.keys(vmConfigKeys).sort();
}

/** Every property-string format defined here, by its registered name. */
export const qemuServerFormats: Readonly<Record<string, FormatSchema>> = Object.freeze({
  ...confidentialFormats,
  ...cpuMemoryFormats,
  ...driveFormats,
  ...networkFormats,
  ...deviceFormats,
  ...displayAudioFormats,
  ...cloudinitFormats,
  ...systemFormats,
});

/** `pve-cpu-conf` validator: a custom model definition must name its cputype. */
const validateCpuConf: FormatValidator = (cpu: PropertyValues) => {
  if (cpu.cputype === undefined || cpu.cputype === '') throw new CvmError('PARAM_INVALID', 'CPU is missing cputype');
  return cpu;
};

const formatValidators: Readonly<Record<string, FormatValidator>> = {
  'pve-vm-cpu-conf': (cpu) => validateVmCpuConf(cpu),
  'pve-cpu-conf': validateCpuConf,
};

function registerOnce(name: string, def: FormatSchema | FormatVerifier, validator?: FormatValidator): void {
  if (getFormat(name) !== undefined) return;
  registerFormat(name, def, validator);
}

/** Register every qemu-server format and verifier (idempotent; runs on import). */
export function registerQemuServerFormats(): void {
  for (const [name, format] of Object.entries(qemuServerFormats)) registerOnce(name, format, formatValidators[name]);
  for (const [name, verifier] of Object.entries(qemuServerVerifiers)) registerOnce(name, verifier);
}

registerQemuServerFormats();
