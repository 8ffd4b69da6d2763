/**
 * @module test/api/params-lists.property
 * Array parameters (`command` of `…/agent/exec`): any list of strings, from repeated form keys
 * or a JSON array, arrives item for item (order, commas, quotes, newlines kept, never joined or
 * split); a single value is a list of one, as RESTHandler turns a www-form scalar into an array;
 * an item failing the item schema is reported under the parameter's name; a missing required
 * list is `property is missing`.
 */

import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { checkParams, MISSING, PARAM_VERIFICATION_FAILED } from '../../src/api/params.js';
import { decodeForm, decodeJson } from '../../src/api/request.js';
import { vmPath } from '../../src/api/schemas.js';
import { CvmError } from '../../src/errors.js';

const declared = vmPath();
const lists = { command: { type: 'string' as const, optional: true } };
const base = { node: 'n1', vmid: '100' };

function errorsOf(fn: () => unknown): Record<string, string> | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(CvmError);
    expect((err as CvmError).message).toBe(PARAM_VERIFICATION_FAILED);
    return (err as CvmError).details?.errors as Record<string, string>;
  }
}

describe('array parameters', () => {
  test.prop([fc.array(fc.string(), { minLength: 2, maxLength: 8 })])('repeated form keys keep every item as sent', (argv) => {
    const form = new URLSearchParams();
    for (const a of argv) form.append('command', a);
    const res = checkParams({ ...base, ...decodeForm(form.toString()) }, declared, false, lists);
    expect(res.lists.command).toEqual(argv);
    expect(res.params.command).toBeUndefined();
  });

  test.prop([fc.array(fc.string(), { minLength: 1, maxLength: 8 })])('a JSON array keeps every item as sent', (argv) => {
    const res = checkParams({ ...base, ...decodeJson(JSON.stringify({ command: argv })) }, declared, false, lists);
    expect(res.lists.command).toEqual(argv);
  });

  test.prop([fc.string()])('a single value is a list of one', (value) => {
    expect(checkParams({ ...base, command: value }, declared, false, lists).lists.command).toEqual([value]);
  });

  test.prop([fc.array(fc.integer({ min: -1000, max: 1000 }).map(String)), fc.string().filter((s) => !/^[+-]?\d+$/.test(s.trim()))])(
    'an item failing the item schema is reported under the parameter',
    (good, bad) => {
      const items = { pid: { type: 'integer' as const } };
      expect(checkParams({ ...base, pid: [...good, '7'] }, declared, false, items).lists.pid).toEqual([...good, '7']);
      const errors = errorsOf(() => checkParams({ ...base, pid: [...good, bad] }, declared, false, items));
      expect(Object.keys(errors ?? {})).toEqual(['pid']);
    },
  );

  test('a required list that is missing, and a list where a scalar is declared', () => {
    expect(errorsOf(() => checkParams(base, declared, false, { command: { type: 'string' } }))).toEqual({ command: MISSING });
    expect(errorsOf(() => checkParams({ ...base, command: ['a', 'b'] }, { ...declared, command: { type: 'string' } }, false))).toEqual({
      command: "type check ('string') failed - got ARRAY",
    });
  });
});
