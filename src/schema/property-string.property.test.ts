/**
 * @module schema/property-string.property.test
 * fast-check properties: print/parse round trips over generated values of representative formats,
 * and that parsing arbitrary text only ever fails with CvmError('FORMAT_ERROR').
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CvmError } from '../errors.js';
import { formatSize, parsePropertyString, printPropertyString } from './index.js';
import { driveFormat, netFormat, nicModels, sevFormat, tdxFormat } from './test-support/formats.js';
import type { FormatSchema, PropertySchema, PropertyValues } from './types.js';

const hex = fc.constantFrom(...'0123456789abcdefABCDEF');
const unicastMac = fc
  .tuple(hex, fc.constantFrom(...'02468aceACE'), fc.array(fc.tuple(hex, hex), { minLength: 5, maxLength: 5 }))
  .map(([a, b, rest]) => [a + b, ...rest.map(([x, y]) => x + y)].join(':'));
const bridge = fc.stringMatching(/^[-_.a-zA-Z0-9]{1,12}$/);
const volume = fc.oneof(
  fc.constantFrom('none', 'cdrom'),
  fc.stringMatching(/^\/[a-z0-9/._-]{1,20}$/),
  fc
    .tuple(fc.stringMatching(/^[a-z][a-z0-9._-]{0,8}[a-z0-9]$/), fc.stringMatching(/^[a-zA-Z0-9/._:-]{1,20}$/))
    .map(([s, v]) => `${s}:${v}`),
);
const diskSize = fc
  .tuple(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 0, max: 4 }))
  .map(([n, shift]) => formatSize(n * 1024 ** shift));
const trunks = fc.array(fc.integer({ min: 1, max: 4094 }), { minLength: 1, maxLength: 4 }).map((a) => a.join(';'));
// an empty value cannot round-trip (PVE prints "k=", which its parser rejects)
const serial = fc.stringMatching(/^[-%a-zA-Z0-9_.!~*'()]{1,60}$/);
const finiteNumber = (min?: number) =>
  fc.double({ noNaN: true, noDefaultInfinity: true, min: min ?? -1e12, max: 1e12 }).map((n) => (Object.is(n, -0) ? 0 : n));

/** A value generator for one key of the representative test formats. */
function valueArb(key: string, schema: PropertySchema): fc.Arbitrary<string | number> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case 'boolean':
      return fc.constantFrom(0, 1);
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000_000 });
    case 'number':
      return finiteNumber(schema.minimum);
    default:
      break;
  }
  const byFormat: Record<string, fc.Arbitrary<string>> = {
    'mac-addr': unicastMac,
    'pve-bridge-id': bridge,
    'pve-volume-id-or-qm-path': volume,
    'disk-size': diskSize,
    urlencoded: serial,
  };
  if (typeof schema.format === 'string' && byFormat[schema.format]) return byFormat[schema.format] as fc.Arbitrary<string>;
  if (key === 'trunks') return trunks;
  throw new Error(`no generator for ${key}`);
}

/** Value objects valid for a format: required keys always, optional ones sometimes. */
function valuesArb(format: FormatSchema): fc.Arbitrary<PropertyValues> {
  const model: Record<string, fc.Arbitrary<string | number>> = {};
  const requiredKeys: string[] = [];
  for (const [key, schema] of Object.entries(format)) {
    if (schema.alias) continue;
    model[key] = valueArb(key, schema);
    if (!schema.optional) requiredKeys.push(key);
  }
  return fc.record(model, { requiredKeys }).filter((v) => {
    // keep only objects that satisfy `requires`
    return Object.entries(format).every(([k, s]) => s.requires === undefined || v[k] === undefined || v[s.requires] !== undefined);
  }) as fc.Arbitrary<PropertyValues>;
}

const formats: [string, FormatSchema][] = [
  ['amd-sev', sevFormat],
  ['intel-tdx', tdxFormat],
  ['net', netFormat],
  ['drive', driveFormat],
];

describe.each(formats)('property-string round trip: %s', (_name, format) => {
  it('parse(print(x)) deep-equals x', () => {
    fc.assert(
      fc.property(valuesArb(format), (values) => {
        const text = printPropertyString(format, values);
        expect(parsePropertyString(format, text)).toEqual(values);
      }),
      { numRuns: 1000 },
    );
  });

  it('print(parse(s)) is a fixed point', () => {
    fc.assert(
      fc.property(valuesArb(format), fc.boolean(), (values, shuffle) => {
        // start from a differently spelled string: keys in reverse order, booleans as words
        const spelled = Object.entries(values).map(([k, v]) => `${k}=${format[k]?.type === 'boolean' ? (v ? 'on' : 'No') : String(v)}`);
        const source = (shuffle ? spelled.reverse() : spelled).join(',');
        const once = printPropertyString(format, parsePropertyString(format, source));
        const twice = printPropertyString(format, parsePropertyString(format, once));
        expect(twice).toBe(once);
        expect(parsePropertyString(format, once)).toEqual(parsePropertyString(format, source));
      }),
      { numRuns: 500 },
    );
  });
});

/** Strings built from the format's own vocabulary, so many of them are nearly valid. */
function noisyString(format: FormatSchema): fc.Arbitrary<string> {
  const words = [
    ...Object.keys(format),
    ...nicModels,
    'std',
    'snp',
    'tdx',
    '1',
    '0',
    'yes',
    'x',
    ' ',
    '',
    '=',
    'a:b',
    'BC:24:11:00:00:01',
    '32G',
    '-1',
    '1e3',
    '__proto__',
    'constructor',
    '0',
    '\n',
    '\r',
    'ä',
  ];
  const token = fc.oneof(fc.constantFrom(...words), fc.string({ maxLength: 4 }), fc.string({ unit: 'binary', maxLength: 3 }));
  const part = fc.oneof(
    token,
    fc.tuple(token, token).map(([k, v]) => `${k}=${v}`),
  );
  return fc.array(part, { maxLength: 6 }).map((parts) => parts.join(','));
}

describe.each(formats)('parse never fails with anything but CvmError: %s', (_name, format) => {
  it('arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(noisyString(format), fc.string({ unit: 'grapheme', maxLength: 30 })), (text) => {
        try {
          const parsed = parsePropertyString(format, text);
          // whatever parses must print and re-parse to the same values
          expect(parsePropertyString(format, printPropertyString(format, parsed))).toEqual(parsed);
        } catch (err) {
          expect(err).toBeInstanceOf(CvmError);
          expect((err as CvmError).code).toBe('FORMAT_ERROR');
        }
      }),
      { numRuns: 5000 },
    );
  });
});
