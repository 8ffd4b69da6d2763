/**
 * @module schema/config-value.test
 * qemu-server check_type for top-level config values, check_format's -list/-opt handling, and
 * check_prop's per-value order of checks.
 */
import { describe, expect, it } from 'vitest';
import { checkConfigValue, checkFormat, checkValue } from './index.js';
import { sevFormat } from './test-support/formats.js';
import type { PropertySchema } from './types.js';
import { thrownCvmError } from '../../test/helpers/cvm-error.js';

const failure = thrownCvmError;

const bool: PropertySchema = { type: 'boolean', optional: true };
const int: PropertySchema = { type: 'integer', optional: true, minimum: 16 };
const num: PropertySchema = { type: 'number', optional: true, minimum: 1 };
const plain: PropertySchema = { type: 'string', optional: true, maxLength: 3, enum: ['std', 'es', 'snp'] };
const sev: PropertySchema = { type: 'string', optional: true, format: sevFormat };

describe('checkConfigValue (qemu-server check_type)', () => {
  it('normalises booleans to 1/0', () => {
    for (const t of ['1', 'on', 'Yes', 'TRUE']) expect(checkConfigValue('numa', bool, t)).toBe('1');
    for (const f of ['0', 'off', 'No', 'FALSE']) expect(checkConfigValue('numa', bool, f)).toBe('0');
  });

  it('reports the spec verify-snapshot boolean error text, with key and value in details', () => {
    const err = failure(() => checkConfigValue('numa', bool, 'verify meee~ :)'));
    expect(err.message).toBe("type check ('boolean') failed - got 'verify meee~ :)'");
    expect(err.details).toMatchObject({ key: 'numa', value: 'verify meee~ :)' });
  });

  it('integers must be plain digits and are stored as Perl int() prints them', () => {
    expect(checkConfigValue('memory', int, '2048')).toBe('2048');
    expect(checkConfigValue('memory', int, '0128')).toBe('128');
    expect(checkConfigValue('memory', int, '18446744073709551615')).toBe('18446744073709551615');
    expect(checkConfigValue('memory', int, '99999999999999999999')).toBe('1e+20');
    for (const bad of ['x', '+5', '-1', '1.0', ' 5', '']) {
      expect(failure(() => checkConfigValue('memory', int, bad)).message).toBe(`type check ('integer') failed - got '${bad}'`);
    }
  });

  it('numbers match ^\\d+(\\.\\d+)?$ and are stored verbatim', () => {
    expect(checkConfigValue('cpulimit', num, '0.50')).toBe('0.50');
    for (const bad of ['.5', '1.', '1e3', '-1']) {
      expect(failure(() => checkConfigValue('cpulimit', num, bad)).message).toBe(`type check ('number') failed - got '${bad}'`);
    }
  });

  it('does not check enum/minimum/maxLength for top-level values (like parse_vm_config)', () => {
    expect(checkConfigValue('memory', int, '8')).toBe('8');
    expect(checkConfigValue('x', plain, 'xyz1')).toBe('xyz1');
  });

  it('with { full: true } applies the API constraints with PVE texts', () => {
    expect(failure(() => checkConfigValue('memory', int, '8', { full: true })).message).toBe('value must have a minimum value of 16');
    expect(failure(() => checkConfigValue('x', plain, 'xyz', { full: true })).message).toBe(
      "value 'xyz' does not have a value in the enumeration 'std, es, snp'",
    );
    expect(failure(() => checkConfigValue('x', plain, 'abcd', { full: true })).message).toBe('value may only be 3 characters long');
    expect(checkConfigValue('numa', bool, 'yes', { full: true })).toBe('1');
  });

  it('strips surrounding double quotes from plain strings only', () => {
    expect(checkConfigValue('name', { type: 'string' }, '"my vm"')).toBe('my vm');
    expect(checkConfigValue('name', { type: 'string' }, '"a"b"')).toBe('a"b');
    expect(checkConfigValue('name', { type: 'string' }, '"open')).toBe('"open');
    expect(checkConfigValue('cicustom', { type: 'string', format: 'string' }, '"kept"')).toBe('"kept"');
  });

  it('rejects CR/LF before anything else', () => {
    expect(failure(() => checkConfigValue('name', { type: 'string' }, 'a\nb')).message).toBe('property contains a line feed');
    expect(failure(() => checkConfigValue('numa', bool, '1\r')).message).toBe('property contains a line feed');
  });

  it('validates property strings but returns them verbatim', () => {
    expect(checkConfigValue('amd-sev', sev, 'snp,no-debug=YES')).toBe('snp,no-debug=YES');
    const err = failure(() => checkConfigValue('amd-sev', sev, 'type=xyz,no-debug=2'));
    expect(err.message).toBe(
      'format error\n' +
        "no-debug: type check ('boolean') failed - got '2'\n" +
        "type: value 'xyz' does not have a value in the enumeration 'std, es, snp'\n",
    );
    expect(err.details).toEqual({
      key: 'amd-sev',
      value: 'type=xyz,no-debug=2',
      errors: {
        'no-debug': "type check ('boolean') failed - got '2'",
        type: "value 'xyz' does not have a value in the enumeration 'std, es, snp'",
      },
    });
    expect(failure(() => checkConfigValue('amd-sev', sev, 'std,std')).message).toBe('duplicate key in comma-separated list property: type');
  });

  it('named string formats die with the verifier text (no "invalid format" prefix at top level)', () => {
    const volume: PropertySchema = { type: 'string', format: 'pve-volume-id' };
    expect(checkConfigValue('unused0', volume, 'local-lvm:vm-100-disk-1')).toBe('local-lvm:vm-100-disk-1');
    expect(failure(() => checkConfigValue('unused0', volume, 'nocolon')).message).toBe("unable to parse volume ID 'nocolon'");
    const tags: PropertySchema = { type: 'string', format: 'pve-tag-list' };
    expect(checkConfigValue('tags', tags, 'foo bar;baz')).toBe('foo bar;baz');
    expect(failure(() => checkConfigValue('tags', tags, 'foo b@r')).message).toBe('invalid characters in tag');
  });
});

describe('checkFormat (-list / -opt / unknown)', () => {
  it('-list splits with split_list and checks every item, empty lists allowed', () => {
    expect(() => checkFormat('pve-configid-list', 'net0,scsi0;ide2 virtio1')).not.toThrow();
    expect(() => checkFormat('pve-configid-list', '')).not.toThrow();
    expect(() => checkFormat('pve-configid-list', 'net0,0bad')).toThrow("invalid configuration ID '0bad'");
  });

  it('-opt checks only a Perl-true value', () => {
    expect(() => checkFormat('pve-storage-id-opt', '')).not.toThrow();
    expect(() => checkFormat('pve-storage-id-opt', '0')).not.toThrow();
    expect(() => checkFormat('pve-storage-id-opt', 'x')).toThrow("storage ID 'x' cannot be shorter than 2 characters");
  });

  it('unknown formats and -list on object formats die like PVE', () => {
    expect(() => checkFormat('no-such', 'x')).toThrow("undefined format 'no-such'");
    expect(() => checkFormat('regex', '(')).not.toThrow();
  });
});

describe('checkValue (check_prop for one property-string value)', () => {
  it('returns typed values', () => {
    expect(checkValue({ type: 'boolean' }, 'on')).toEqual({ value: 1 });
    expect(checkValue({ type: 'integer' }, '-12')).toEqual({ value: -12 });
    expect(checkValue({ type: 'number' }, '1.5e1')).toEqual({ value: 15 });
    expect(checkValue({ type: 'string' }, ' x ')).toEqual({ value: ' x ' });
  });

  it('checks format, pattern, maxLength, minLength, maximum, minimum, enum in that order', () => {
    const schema: PropertySchema = {
      type: 'string',
      format: 'pve-configid',
      pattern: '[a-z]+\\d*',
      maxLength: 5,
      minLength: 3,
      maximum: 10,
      minimum: 5,
      enum: ['abc', 'abcd'],
    };
    expect(checkValue(schema, '9x')).toEqual({ error: "invalid format - invalid configuration ID '9x'\n" });
    expect(checkValue(schema, 'a_b')).toEqual({ error: 'value does not match the regex pattern' });
    expect(checkValue(schema, 'abcdef')).toEqual({ error: 'value may only be 5 characters long' });
    expect(checkValue(schema, 'ab')).toEqual({ error: 'value must be at least 3 characters long' });
    expect(checkValue(schema, 'abcde')).toEqual({ error: "value 'abcde' does not have a value in the enumeration 'abc, abcd'" });
    expect(checkValue(schema, 'abcd')).toEqual({ value: 'abcd' });
    const numeric: PropertySchema = { type: 'integer', minimum: 5, maximum: 10 };
    expect(checkValue(numeric, '11')).toEqual({ error: 'value must have a maximum value of 10' });
    expect(checkValue(numeric, '4')).toEqual({ error: 'value must have a minimum value of 5' });
  });

  it('pattern is interpolated unanchored-group like PVE (m/^$pattern$/)', () => {
    // "a|b" becomes /^a|b$/: anything starting with a, or ending with b
    const schema: PropertySchema = { type: 'string', pattern: 'a|b' };
    expect(checkValue(schema, 'axx')).toEqual({ value: 'axx' });
    expect(checkValue(schema, 'xxb')).toEqual({ value: 'xxb' });
    expect(checkValue(schema, 'xax')).toEqual({ error: 'value does not match the regex pattern' });
  });

  it('lengths count UTF-8 bytes, as Perl does on config file bytes', () => {
    expect(checkValue({ type: 'string', maxLength: 3 }, 'äöb')).toEqual({ error: 'value may only be 3 characters long' });
    expect(checkValue({ type: 'string', maxLength: 3 }, 'äa')).toEqual({ value: 'äa' });
  });

  it('alias schemas are not validated', () => {
    expect(checkValue({ type: 'string', alias: 'x', enum: ['a'] }, 'zzz')).toEqual({ value: 'zzz' });
  });
});
