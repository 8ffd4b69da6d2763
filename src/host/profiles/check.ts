/**
 * @module host/profiles/check
 * The shape of a JSON host profile, checked before its values reach the generator: every
 * top-level key must be a HostFacts field (or `base`/`$comment`), every `paths` key a HostPaths
 * field, each value of its field's JSON type, and `blockDevicePattern` a regex that compiles.
 * A failure is one line naming the field, what it holds and what is allowed.
 */
import { CvmError } from '../../errors.js';

type Kind =
  | 'string'
  | 'string-or-null'
  | 'boolean'
  | 'positive-integer'
  | 'integer'
  | 'number-or-null'
  | 'object'
  | 'string-array'
  | 'array'
  | 'regex';

/** HostFacts fields (src/host/facts.ts) and the JSON each holds. */
const FIELDS: Readonly<Record<string, Kind>> = {
  profile: 'string',
  flavor: 'string',
  nodename: 'string',
  arch: 'string',
  cpuVendor: 'string',
  cpuCount: 'positive-integer',
  cpuFlags: 'string',
  physAddrBits: 'positive-integer',
  qemuInstalledVersion: 'string',
  qemuVersion: 'string',
  qemuMachineTypes: 'string-array',
  kvmAvailable: 'boolean',
  kernelHasVhostNet: 'boolean',
  hwCapabilities: 'object',
  storage: 'object',
  firmware: 'object',
  pciDevices: 'array',
  pciMappings: 'object',
  usbMappings: 'object',
  customCpuModels: 'object',
  bridgeMtu: 'object',
  defaultBridgeMtu: 'number-or-null',
  iscsiInitiatorName: 'string',
  blockDevicePattern: 'regex',
  hugepagesSupported: 'boolean',
  paths: 'object',
  volumeChains: 'object',
  scsiInquiry: 'object',
  spicePort: 'integer',
  spiceAddress: 'string',
  missingRngSources: 'string-array',
  dirMappings: 'object',
  charDevices: 'string-array',
};

/** HostPaths fields: a path, or null where a host has none. */
const PATH_FIELDS: ReadonlySet<string> = new Set([
  'kvmBinary',
  'foreignBinary',
  'runDir',
  'qmeventdSocket',
  'bootSplash',
  'readconfigDir',
  'efivarsDir',
  'bridgeScript',
  'bridgeDownScript',
  'cdromPath',
]);

const PROFILE_KEYS = ['base', '$comment'];

const DESCRIBE: Record<Kind, string> = {
  string: 'a string',
  'string-or-null': 'a string or null',
  boolean: 'true or false',
  'positive-integer': 'a positive integer',
  integer: 'an integer',
  'number-or-null': 'a number or null',
  object: 'a JSON object',
  'string-array': 'an array of strings',
  array: 'an array',
  regex: 'a regular expression',
};

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Why `value` is not of `kind`, or undefined when it is. */
function mismatch(kind: Kind, value: unknown): string | undefined {
  switch (kind) {
    case 'string':
      return typeof value === 'string' ? undefined : DESCRIBE[kind];
    case 'string-or-null':
      return value === null || typeof value === 'string' ? undefined : DESCRIBE[kind];
    case 'boolean':
      return typeof value === 'boolean' ? undefined : DESCRIBE[kind];
    case 'positive-integer':
      return Number.isSafeInteger(value) && (value as number) >= 1 ? undefined : DESCRIBE[kind];
    case 'integer':
      return Number.isSafeInteger(value) ? undefined : DESCRIBE[kind];
    case 'number-or-null':
      return value === null || (typeof value === 'number' && Number.isFinite(value)) ? undefined : DESCRIBE[kind];
    case 'object':
      return isObject(value) ? undefined : DESCRIBE[kind];
    case 'string-array':
      return Array.isArray(value) && value.every((v) => typeof v === 'string') ? undefined : DESCRIBE[kind];
    case 'array':
      return Array.isArray(value) ? undefined : DESCRIBE[kind];
    case 'regex': {
      if (typeof value !== 'string') return DESCRIBE[kind];
      try {
        new RegExp(value);
        return undefined;
      } catch (err) {
        return `a regular expression that compiles (${(err as Error).message})`;
      }
    }
  }
}

function shown(value: unknown): string {
  const text = typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** Check the fields a JSON profile sets; throws PARAM_INVALID naming the first bad one. */
export function checkProfileJson(obj: Record<string, unknown>, source: string): void {
  const bad = (what: string): never => {
    throw new CvmError('PARAM_INVALID', `host profile '${source}': ${what}`, { details: { source } });
  };
  for (const [key, value] of Object.entries(obj)) {
    if (PROFILE_KEYS.includes(key)) continue;
    const kind = FIELDS[key];
    if (kind === undefined) bad(`unknown field '${key}' (allowed: base, ${Object.keys(FIELDS).sort().join(', ')})`);
    const why = mismatch(kind as Kind, value);
    if (why !== undefined) bad(`${key}: invalid value ${shown(value)} (expected ${why})`);
    if (key === 'paths') {
      for (const [sub, path] of Object.entries(value as Record<string, unknown>)) {
        if (!PATH_FIELDS.has(sub)) bad(`unknown field 'paths.${sub}' (allowed: ${[...PATH_FIELDS].sort().join(', ')})`);
        const whyPath = mismatch('string-or-null', path);
        if (whyPath !== undefined) bad(`paths.${sub}: invalid value ${shown(path)} (expected ${whyPath})`);
      }
    }
  }
}
