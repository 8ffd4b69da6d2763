import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { formatSize, parsePropertyString, printPropertyString, type FormatSchema, type PropertySchema } from '../../schema/index.js';
import { qemuServerFormats } from './index.js';

type Values = Record<string, string | number>;

const safeText = fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/);
const hex2 = fc.integer({ min: 0, max: 255 }).map((n) => n.toString(16).padStart(2, '0'));
const storage = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}[a-z0-9]$/);
const volumeId = fc
  .tuple(storage, fc.integer({ min: 100, max: 999 }), fc.integer({ min: 0, max: 9 }))
  .map(([s, vmid, n]) => `${s}:vm-${vmid}-disk-${n}`);
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const ipv6 = fc
  .array(
    fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)),
    { minLength: 8, maxLength: 8 },
  )
  .map((p) => p.join(':'));

/** Values for the named string formats the option tables use. */
const namedFormat: Record<string, fc.Arbitrary<string>> = {
  'pve-volume-id': volumeId,
  'pve-volume-id-or-qm-path': fc.oneof(volumeId, fc.constantFrom('none', 'cdrom', '/dev/sdb', '/mnt/images/disk.raw')),
  'pve-volume-id-or-absolute-path': fc.oneof(volumeId, fc.constant('/var/tmp/source.qcow2')),
  'disk-size': fc.tuple(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 0, max: 4 })).map(([n, u]) => formatSize(n * 1024 ** u)),
  urlencoded: fc.stringMatching(/^[-%a-zA-Z0-9_.!~*'()]{1,20}$/),
  'mac-addr': fc
    .tuple(
      fc.constantFrom('0', '2', '4', 'a', 'b', 'e'),
      fc.constantFrom('0', '2', 'a', 'c', 'e'),
      fc.array(hex2, { minLength: 5, maxLength: 5 }),
    )
    .map(([a, b, rest]) => [`${a}${b}`, ...rest].join(':').toUpperCase()),
  'pve-bridge-id': fc.stringMatching(/^vmbr[0-9]{1,3}$/),
  'pve-configid': fc.stringMatching(/^[a-z][a-z0-9_-]{1,15}$/),
  ipv4,
  ipv6,
  'pve-ipv4-config': fc.oneof(
    fc.constant('dhcp'),
    fc.tuple(ipv4, fc.integer({ min: 8, max: 32 })).map(([a, m]) => `${a}/${m}`),
  ),
  'pve-ipv6-config': fc.oneof(
    fc.constantFrom('dhcp', 'auto'),
    fc.tuple(ipv6, fc.integer({ min: 8, max: 128 })).map(([a, m]) => `${a}/${m}`),
  ),
  'pve-phys-bits': fc.oneof(fc.constant('host'), fc.integer({ min: 8, max: 64 }).map(String)),
  'pve-qm-bootdev-list': fc
    .array(fc.constantFrom('scsi0', 'ide2', 'net0', 'virtio3', 'sata1', 'usb2', 'hostpci0'), { minLength: 1, maxLength: 4 })
    .map((devs) => devs.join(';')),
};

function stringValue(schema: PropertySchema, where: string): fc.Arbitrary<string> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (typeof schema.format === 'string') {
    const arb = namedFormat[schema.format];
    if (!arb) throw new Error(`no generator for format ${schema.format} (${where})`);
    return arb;
  }
  if (schema.format) return fc.constant('');
  if (schema.pattern) {
    const max = schema.maxLength ?? 200;
    return fc
      .stringMatching(new RegExp(`^(?:${schema.pattern})$`))
      .filter((s) => s.length > 0 && s.length <= max && !/[,\n\r]/.test(s) && s.trim() !== '');
  }
  return safeText;
}

function valueArb(schema: PropertySchema, where: string): fc.Arbitrary<string | number> {
  switch (schema.type) {
    case 'boolean':
      return fc.constantFrom(0, 1);
    case 'integer':
      return fc.integer({ min: schema.minimum ?? 0, max: Math.min(schema.maximum ?? 1e9, 2 ** 31 - 1) });
    case 'number': {
      const min = Math.round((schema.minimum ?? 0) * 1000);
      const max = Math.round((schema.maximum ?? 100000) * 1000);
      return fc.integer({ min, max }).map((n) => n / 1000);
    }
    default:
      return stringValue(schema, where);
  }
}

/** Random valid values of a format: required keys always, optional ones sometimes, aliases never. */
function formatValues(name: string, format: FormatSchema): fc.Arbitrary<Values> {
  const model: Record<string, fc.Arbitrary<string | number>> = {};
  const required: string[] = [];
  for (const [key, schema] of Object.entries(format)) {
    if (schema.alias !== undefined) continue;
    model[key] = valueArb(schema, `${name}.${key}`);
    if (!schema.optional || Object.values(format).some((s) => s.requires === key)) required.push(key);
  }
  return fc.record(model, { requiredKeys: required }) as fc.Arbitrary<Values>;
}

// Named formats with validators are exercised through their plain objects here.
const formats = Object.entries(qemuServerFormats);

describe('property-string round trip over every qemu-server format', () => {
  it('covers all formats', () => {
    expect(formats.length).toBeGreaterThanOrEqual(25);
  });

  for (const [name, format] of formats) {
    test.prop([formatValues(name, format)], { numRuns: 60 })(`${name}: parse(print(v)) equals v`, (values) => {
      const printed = printPropertyString(format, values);
      expect(parsePropertyString(format, printed)).toEqual(values);
    });
  }
});
