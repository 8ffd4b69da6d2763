/**
 * @module schema/parse-memo.test
 * The property-string memo must be invisible: repeated parses give equal but independent
 * results, replayed failures are fresh errors with PVE's text and their own details, validators
 * still run on every call, skip lists and formats keep their outcomes apart, and clearing works.
 */
import { describe, expect, it } from 'vitest';
import { CvmError } from '../errors.js';
import { clearParseMemo, parsePropertyString, registerFormat } from './index.js';
import type { FormatSchema } from './types.js';
import { thrownCvmError } from '../../test/helpers/cvm-error.js';

const fmt: FormatSchema = {
  type: { type: 'string', enum: ['std', 'snp'], default_key: true },
  size: { type: 'integer', minimum: 1, optional: true },
  debug: { type: 'boolean', optional: true },
};

const caught = thrownCvmError;

describe('property-string parse memo', () => {
  it('hands every caller its own copy of a result', () => {
    const first = parsePropertyString(fmt, 'snp,size=4,debug=on');
    expect(first).toEqual({ type: 'snp', size: 4, debug: 1 });
    first.size = 99;
    delete first.type;
    const second = parsePropertyString(fmt, 'snp,size=4,debug=on');
    expect(second).toEqual({ type: 'snp', size: 4, debug: 1 });
    expect(second).not.toBe(first);
    expect(Object.keys(second)).toEqual(['type', 'size', 'debug']);
  });

  it('replays a collected-errors failure as a new error with its own details', () => {
    const first = caught(() => parsePropertyString(fmt, 'xyz,size=0'));
    const errors = first.details?.errors as Record<string, string>;
    expect(errors).toEqual({
      type: "value 'xyz' does not have a value in the enumeration 'std, snp'",
      size: 'value must have a minimum value of 1',
    });
    errors.type = 'tampered';
    const second = caught(() => parsePropertyString(fmt, 'xyz,size=0'));
    expect(second).not.toBe(first);
    expect(second.code).toBe('FORMAT_ERROR');
    expect(second.message).toBe(first.message);
    expect(second.details).toEqual({
      errors: {
        type: "value 'xyz' does not have a value in the enumeration 'std, snp'",
        size: 'value must have a minimum value of 1',
      },
    });
  });

  it('replays a plain die without details', () => {
    const first = caught(() => parsePropertyString(fmt, 'std,std'));
    const second = caught(() => parsePropertyString(fmt, 'std,std'));
    expect(second.message).toBe('duplicate key in comma-separated list property: type');
    expect(second.message).toBe(first.message);
    expect(second.details).toBeUndefined();
  });

  it('runs a named format validator on every call, on the caller copy', () => {
    let calls = 0;
    const name = 'test-parse-memo-validated';
    registerFormat(name, { a: { type: 'string', default_key: true } }, (values) => {
      calls++;
      if (values.a === 'bad') throw new CvmError('PARAM_INVALID', 'validator says no');
      values.seen = calls;
      return values;
    });
    expect(parsePropertyString(name, 'x')).toEqual({ a: 'x', seen: 1 });
    expect(parsePropertyString(name, 'x')).toEqual({ a: 'x', seen: 2 });
    expect(caught(() => parsePropertyString(name, 'bad')).code).toBe('PARAM_INVALID');
    expect(caught(() => parsePropertyString(name, 'bad')).code).toBe('PARAM_INVALID');
    expect(calls).toBe(4);
  });

  it('keeps skip lists, formats and values apart', () => {
    expect(parsePropertyString(fmt, 'std,size=2')).toEqual({ type: 'std', size: 2 });
    expect(parsePropertyString(fmt, 'std,size=2', { skip: ['size'] })).toEqual({ type: 'std' });
    expect(parsePropertyString(fmt, 'std,size=2', { skip: ['debug'] })).toEqual({ type: 'std', size: 2 });
    const other: FormatSchema = { ...fmt, size: { type: 'string', optional: true } };
    expect(parsePropertyString(other, 'std,size=2')).toEqual({ type: 'std', size: '2' });
  });

  it('gives the same answers after clearing', () => {
    const before = parsePropertyString(fmt, 'snp,debug=0');
    clearParseMemo();
    expect(parsePropertyString(fmt, 'snp,debug=0')).toEqual(before);
  });
});
