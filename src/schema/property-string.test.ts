/**
 * @module schema/property-string.test
 * parse_property_string / print_property_string rules with PVE's exact texts, including the spec
 * §1.2 verified-examples table for amd-sev.
 */
import { describe, expect, it } from 'vitest';
import { CvmError } from '../errors.js';
import { parsePropertyString, printPropertyString, registerFormat } from './index.js';
import { driveFormat, netFormat, sevFormat, tdxFormat } from './test-support/formats.js';
import type { FormatSchema } from './types.js';
import { thrownCvmError } from '../../test/helpers/cvm-error.js';

const thrown = thrownCvmError;

function formatErrors(format: FormatSchema | string, value: string): Record<string, string> {
  const err = thrown(() => parsePropertyString(format, value));
  expect(err.code).toBe('FORMAT_ERROR');
  expect(err.message.startsWith('format error\n')).toBe(true);
  return err.details?.errors as Record<string, string>;
}

function plainDie(format: FormatSchema | string, value: string): string {
  const err = thrown(() => parsePropertyString(format, value));
  expect(err.code).toBe('FORMAT_ERROR');
  expect(err.details?.errors).toBeUndefined();
  return err.message;
}

describe('parsePropertyString: spec §1.2 verified examples (amd-sev)', () => {
  it.each([
    ['type=std', { type: 'std' }],
    ['std', { type: 'std' }],
    ['snp,no-debug=yes,allow-smt=off', { type: 'snp', 'no-debug': 1, 'allow-smt': 0 }],
  ])('%s parses', (input, expected) => {
    expect(parsePropertyString(sevFormat, input)).toEqual(expected);
  });

  it.each([
    ['no-debug=1', 'type', 'property is missing and it is not optional'],
    ['type=xyz', 'type', "value 'xyz' does not have a value in the enumeration 'std, es, snp'"],
    ['std,foo=1', 'foo', 'property is not defined in schema and the schema does not allow additional properties'],
    ['type=snp,no-debug=2', 'no-debug', "type check ('boolean') failed - got '2'"],
  ])('%s is a format error on %s', (input, key, message) => {
    const err = thrown(() => parsePropertyString(sevFormat, input));
    expect(err.message).toBe(`format error\n${key}: ${message}\n`);
    expect(err.details).toEqual({ errors: { [key]: message } });
  });

  it('std,std dies with the duplicate-key message (plain die)', () => {
    expect(plainDie(sevFormat, 'std,std')).toBe('duplicate key in comma-separated list property: type');
  });
});

describe('parsePropertyString: splitting and keys', () => {
  it('skips empty and whitespace-only parts', () => {
    expect(parsePropertyString(sevFormat, 'std,,no-debug=1')).toEqual({ type: 'std', 'no-debug': 1 });
    expect(parsePropertyString(sevFormat, ',  ,std, ,\t,')).toEqual({ type: 'std' });
  });

  it('a part with = but no key or no value dies with "missing key"', () => {
    expect(plainDie(sevFormat, 'std,no-debug=')).toBe('missing key in comma-separated list property');
    expect(plainDie(sevFormat, 'std,=1')).toBe('missing key in comma-separated list property');
  });

  it('the value may contain further = signs (split at the first)', () => {
    const fmt: FormatSchema = { opt: { type: 'string', optional: true } };
    expect(parsePropertyString(fmt, 'opt=a=b')).toEqual({ opt: 'a=b' });
  });

  it('bare value plus explicit default key, either order, is a duplicate', () => {
    expect(plainDie(sevFormat, 'std,type=es')).toBe('duplicate key in comma-separated list property: type');
    expect(plainDie(sevFormat, 'type=es,std')).toBe('duplicate key in comma-separated list property: type');
  });

  it('a repeated explicit key is a duplicate', () => {
    expect(plainDie(sevFormat, 'std,no-debug=1,no-debug=0')).toBe('duplicate key in comma-separated list property: no-debug');
  });

  it('a repeated unknown key is a duplicate too (checked before the schema lookup)', () => {
    expect(plainDie(sevFormat, 'std,foo=1,foo=2')).toBe('duplicate key in comma-separated list property: foo');
  });

  it('a bare value without a default key in the schema dies', () => {
    expect(plainDie({ a: { type: 'string', optional: true } }, 'x')).toBe('value without key, but schema does not define a default key');
  });

  it('an explicit falsy default-key value is silently replaced by a bare value (PVE truthiness quirk)', () => {
    const fmt: FormatSchema = { n: { type: 'integer', default_key: true } };
    expect(parsePropertyString(fmt, 'n=0,5')).toEqual({ n: 5 });
    expect(plainDie(fmt, 'n=1,5')).toBe('duplicate key in comma-separated list property: n');
  });

  it('keys named like Object.prototype members are just unknown keys', () => {
    const errors = formatErrors(sevFormat, 'std,constructor=1,__proto__=x,toString=2');
    expect(Object.keys(errors).sort()).toEqual(['__proto__', 'constructor', 'toString']);
  });

  it('an unknown key named "0" is reported under _root (Perl false path)', () => {
    expect(formatErrors(sevFormat, 'std,0=1')).toEqual({
      _root: 'property is not defined in schema and the schema does not allow additional properties',
    });
  });

  it('opts.skip ignores the listed key=value parts', () => {
    expect(parsePropertyString(sevFormat, 'std,foo=1', { skip: ['foo'] })).toEqual({ type: 'std' });
  });
});

describe('parsePropertyString: value checks', () => {
  it('booleans accept 1|on|yes|true and 0|off|no|false case-insensitively', () => {
    for (const t of ['1', 'on', 'YES', 'True']) {
      expect(parsePropertyString(sevFormat, `std,no-debug=${t}`)['no-debug']).toBe(1);
    }
    for (const f of ['0', 'OFF', 'no', 'faLse']) {
      expect(parsePropertyString(sevFormat, `std,no-debug=${f}`)['no-debug']).toBe(0);
    }
    expect(formatErrors(sevFormat, 'std,no-debug=y')).toEqual({ 'no-debug': "type check ('boolean') failed - got 'y'" });
    expect(formatErrors(sevFormat, 'std,no-debug= 1')).toEqual({ 'no-debug': "type check ('boolean') failed - got ' 1'" });
  });

  it('values are not trimmed: " std" fails on maxLength, which is checked before enum', () => {
    expect(formatErrors(sevFormat, ' std')).toEqual({ type: 'value may only be 3 characters long' });
  });

  it('enum is case-sensitive', () => {
    expect(formatErrors(sevFormat, 'STD')).toEqual({
      type: "value 'STD' does not have a value in the enumeration 'std, es, snp'",
    });
  });

  it('integers follow is_integer and minimum/maximum use PVE texts', () => {
    expect(parsePropertyString(tdxFormat, 'tdx,attestation=1,vsock-cid=+3,vsock-port=0080')).toEqual({
      type: 'tdx',
      attestation: 1,
      'vsock-cid': 3,
      'vsock-port': 80,
    });
    expect(formatErrors(tdxFormat, 'tdx,attestation=1,vsock-cid=1')).toEqual({
      'vsock-cid': 'value must have a minimum value of 2',
    });
    expect(formatErrors(tdxFormat, 'tdx,attestation=1,vsock-cid=2.0')).toEqual({
      'vsock-cid': "type check ('integer') failed - got '2.0'",
    });
    expect(formatErrors(netFormat, 'virtio,tag=4095')).toEqual({ tag: 'value must have a maximum value of 4094' });
  });

  it('numbers follow the perlretut number regex', () => {
    for (const [text, value] of [
      ['1.', 1],
      ['.5', 0.5],
      ['1e3', 1000],
      ['0.25', 0.25],
      ['+2E-1', 0.2],
    ] as const) {
      expect(parsePropertyString(netFormat, `virtio,rate=${text}`).rate).toBe(value);
    }
    expect(formatErrors(netFormat, 'virtio,rate=1e')).toEqual({ rate: "type check ('number') failed - got '1e'" });
    expect(formatErrors(netFormat, 'virtio,rate=-1')).toEqual({ rate: 'value must have a minimum value of 0' });
  });

  it('pattern is anchored', () => {
    expect(parsePropertyString(netFormat, 'virtio,trunks=1;5-7').trunks).toBe('1;5-7');
    expect(formatErrors(netFormat, 'virtio,trunks=1;x')).toEqual({ trunks: 'value does not match the regex pattern' });
    expect(formatErrors(netFormat, 'virtio,trunks=x1')).toEqual({ trunks: 'value does not match the regex pattern' });
  });

  it('named string formats report "invalid format - <verifier text>" with the die newline', () => {
    expect(formatErrors(netFormat, 'virtio,macaddr=01:00:00:00:00:00')).toEqual({
      macaddr: 'invalid format - value does not look like a valid unicast MAC address\n',
    });
    const err = thrown(() => parsePropertyString(netFormat, 'virtio,bridge=vm br0'));
    expect(err.message).toBe("format error\nbridge: invalid format - invalid bridge ID 'vm br0'\n\n");
  });

  it('the required-key check reports every missing key, errors sorted by key in the message', () => {
    const err = thrown(() => parsePropertyString(tdxFormat, 'vsock-cid=x'));
    expect(err.message).toBe(
      'format error\n' +
        'attestation: property is missing and it is not optional\n' +
        'type: property is missing and it is not optional\n' +
        "vsock-cid: type check ('integer') failed - got 'x'\n",
    );
  });

  it('intel-tdx: a bare "tdx" lacks the required attestation key (spec §1.3)', () => {
    expect(formatErrors(tdxFormat, 'tdx')).toEqual({ attestation: 'property is missing and it is not optional' });
    expect(parsePropertyString(tdxFormat, 'tdx,attestation=0')).toEqual({ type: 'tdx', attestation: 0 });
  });

  it('defaults are not materialised', () => {
    const parsed = parsePropertyString(sevFormat, 'snp');
    expect(parsed).toEqual({ type: 'snp' });
    expect('allow-smt' in parsed).toBe(false);
  });

  it('requires: a set key whose required partner is missing is an error on the partner', () => {
    expect(formatErrors(driveFormat, 'none,iothread=1')).toEqual({ aio: "missing property required by 'iothread'" });
    expect(parsePropertyString(driveFormat, 'none,iothread=1,aio=native')).toEqual({
      file: 'none',
      iothread: 1,
      aio: 'native',
    });
  });
});

describe('parsePropertyString: aliases', () => {
  it('an alias key stores under its target', () => {
    expect(parsePropertyString(driveFormat, 'volume=local:vm-100-disk-0,size=4G')).toEqual({
      file: 'local:vm-100-disk-0',
      size: '4G',
    });
  });

  it('alias plus its target is a die, in either order', () => {
    expect(plainDie(driveFormat, 'volume=a:b,file=c:d')).toBe('duplicate key in comma-separated list property: file');
    expect(plainDie(driveFormat, 'file=a:b,volume=c:d')).toBe("key 'file' is already defined (via alias)");
    expect(plainDie(driveFormat, 'a:b,volume=c:d')).toBe("key 'file' is already defined (via alias)");
  });

  it('keyAlias: "virtio=MAC" sets model and macaddr', () => {
    expect(parsePropertyString(netFormat, 'virtio=BC:24:11:00:00:01,bridge=vmbr0')).toEqual({
      model: 'virtio',
      macaddr: 'BC:24:11:00:00:01',
      bridge: 'vmbr0',
    });
    expect(plainDie(netFormat, 'virtio=BC:24:11:00:00:01,e1000=BC:24:11:00:00:02')).toBe("key alias 'model' is already defined");
    expect(plainDie(netFormat, 'virtio=BC:24:11:00:00:01,virtio')).toBe('duplicate key in comma-separated list property: model');
  });

  it('an alias whose target is not in the schema is an invalid key', () => {
    const fmt: FormatSchema = { a: { type: 'string', alias: 'missing' } };
    expect(plainDie(fmt, 'a=1')).toBe('invalid key in comma-separated list property: missing');
  });
});

describe('parsePropertyString: named formats', () => {
  it('accepts registered object formats by name and rejects verifiers', () => {
    registerFormat('test-sev-by-name', sevFormat);
    expect(parsePropertyString('test-sev-by-name', 'es')).toEqual({ type: 'es' });
    expect(plainDie('no-such-format', 'x')).toBe('unknown format: no-such-format');
    expect(plainDie('mac-addr', 'x')).toBe('parse_property_string only accepts hash based named formats');
  });

  it('runs an attached validator after a clean parse', () => {
    registerFormat('test-validated', tdxFormat, (v) => {
      if (v.attestation === 1 && v['vsock-cid'] === undefined) {
        throw new CvmError('FORMAT_ERROR', 'Missing cid for vsock.');
      }
      return v;
    });
    expect(plainDie('test-validated', 'tdx,attestation=1')).toBe('Missing cid for vsock.');
    expect(parsePropertyString('test-validated', 'tdx,attestation=1,vsock-cid=2')['vsock-cid']).toBe(2);
  });

  it('refuses to register a name twice', () => {
    registerFormat('test-once', sevFormat);
    expect(() => registerFormat('test-once', sevFormat)).toThrow("JSON schema format 'test-once' already registered");
  });
});

describe('printPropertyString', () => {
  it('prints the default key bare first, then required keys, then the rest sorted', () => {
    expect(printPropertyString(sevFormat, { 'no-debug': 1, type: 'snp', 'allow-smt': 0 })).toBe('snp,allow-smt=0,no-debug=1');
    expect(printPropertyString(tdxFormat, { 'vsock-port': 4050, type: 'tdx', 'vsock-cid': 2, attestation: 1 })).toBe(
      'tdx,attestation=1,vsock-cid=2,vsock-port=4050',
    );
  });

  it('combines keyAlias pairs into "model=MAC"', () => {
    expect(printPropertyString(netFormat, { bridge: 'vmbr0', macaddr: 'BC:24:11:00:00:01', model: 'virtio' })).toBe(
      'virtio=BC:24:11:00:00:01,bridge=vmbr0',
    );
    expect(printPropertyString(netFormat, { model: 'e1000', tag: 5 })).toBe('e1000,tag=5');
  });

  it('maps alias keys to their target, renders disk-size via format_size', () => {
    expect(printPropertyString(driveFormat, { volume: 'local:vm-100-disk-0', size: 34359738368 })).toBe('local:vm-100-disk-0,size=32G');
    expect(printPropertyString(driveFormat, { file: 'none', size: '1.5G' })).toBe('none,size=1536M');
    expect(printPropertyString(driveFormat, { file: 'none', size: 1536 })).toBe('none,size=1536');
  });

  it('skips undefined values and opts.skip keys', () => {
    const values = { type: 'snp', 'no-debug': 1 } as Record<string, string | number>;
    values['allow-smt'] = undefined as unknown as number;
    expect(printPropertyString(sevFormat, values)).toBe('snp,no-debug=1');
    expect(printPropertyString(sevFormat, { type: 'snp', 'no-debug': 1 }, { skip: ['no-debug'] })).toBe('snp');
  });

  it('validates before printing', () => {
    const err = thrown(() => printPropertyString(sevFormat, { type: 'xyz' }));
    expect(err.message).toBe("format error\ntype: value 'xyz' does not have a value in the enumeration 'std, es, snp'\n");
    expect(thrown(() => printPropertyString(sevFormat, { 'no-debug': 1 })).details?.errors).toEqual({
      type: 'property is missing and it is not optional',
    });
  });

  it('dies on unknown keys and on values with commas', () => {
    expect(thrown(() => printPropertyString(sevFormat, { type: 'std', foo: 1 })).message).toBe("invalid key 'foo'");
    const fmt: FormatSchema = { a: { type: 'string', optional: true } };
    expect(thrown(() => printPropertyString(fmt, { a: 'x,y' })).message).toBe('illegal value with commas for a');
  });
});

// check_object walks the schema's keys; the engine visits only the named and required ones but
// must keep that order, which callers see as the key order of results and of collected errors.
describe('parsePropertyString: schema key order', () => {
  const ordered: FormatSchema = {
    zeta: { type: 'integer', optional: true },
    alpha: { type: 'string', default_key: true },
    mid: { type: 'boolean', optional: true },
    need: { type: 'string' },
  };

  it('returns keys in schema order, whatever order the value names them', () => {
    const parsed = parsePropertyString(ordered, 'need=x,mid=on,a,zeta=3');
    expect(Object.keys(parsed)).toEqual(['zeta', 'alpha', 'mid', 'need']);
  });

  it('collects errors of named and missing keys in schema order', () => {
    const err = thrown(() => parsePropertyString(ordered, 'mid=maybe,zeta=x'));
    expect(Object.keys(err.details?.errors as object)).toEqual(['zeta', 'alpha', 'mid', 'need']);
    expect(err.message).toBe(
      'format error\nalpha: property is missing and it is not optional\n' +
        "mid: type check ('boolean') failed - got 'maybe'\n" +
        'need: property is missing and it is not optional\n' +
        "zeta: type check ('integer') failed - got 'x'\n",
    );
  });
});
