/**
 * @module test/api/parsers.property
 * Property and fuzz tests for what the API parses from the network: UPIDs (every valid field
 * combination round-trips, arbitrary text never throws), form and JSON bodies (arbitrary input
 * either decodes or raises a CvmError, never anything else; a form encodes back to the same
 * pairs), parameter verification (arbitrary names and values give a result or a 400-type
 * CvmError, unknown names are always refused) and the router (an encoded path never matches a
 * route with more or fewer segments).
 */

import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { checkParams } from '../../src/api/params.js';
import { decodeForm, decodeJson, mergeParams } from '../../src/api/request.js';
import { Router } from '../../src/api/router.js';
import { allRoutes } from '../../src/api/routes/index.js';
import { vmPath } from '../../src/api/schemas.js';
import { CvmError } from '../../src/errors.js';
import { decodeUpid, encodeUpid } from '../../src/tasks/upid.js';

const field = fc.stringMatching(/^[^:\s/]{1,12}$/);
const node = fc.stringMatching(/^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?$/);
const u32 = fc.integer({ min: 0, max: 0xffffffff });

/** Only CvmErrors may escape a parser fed with network input. */
function onlyCvmErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CvmError);
  }
}

describe('UPID', () => {
  test.prop([node, u32, u32, u32, field, fc.stringMatching(/^[^:\s/]{0,12}$/), field])(
    'encode then decode gives the same fields, nine colon fields, trailing colon',
    (n, pid, pstart, starttime, type, id, user) => {
      const u = { node: n, pid, pstart, starttime, type, id, user };
      const text = encodeUpid(u);
      expect(text.endsWith(':')).toBe(true);
      expect(text.split(':')).toHaveLength(9);
      expect(decodeUpid(text)).toEqual(u);
    },
  );

  test.prop([fc.string({ maxLength: 200 })])('arbitrary text decodes or is refused, never throws', (text) => {
    const u = decodeUpid(text);
    if (u) expect(encodeUpid(u).toUpperCase()).toBe(text.toUpperCase());
  });
});

describe('bodies', () => {
  test.prop([fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 40 })), { maxLength: 8 })])(
    'a form decodes back to its pairs (repeated keys as lists)',
    (pairs) => {
      const form = new URLSearchParams(pairs).toString();
      const decoded = decodeForm(form);
      const expected = new Map<string, string[]>();
      for (const [k, v] of pairs) expected.set(k, [...(expected.get(k) ?? []), v]);
      for (const [k, values] of expected) expect(decoded[k]).toEqual(values.length === 1 ? values[0] : values);
      expect(Object.keys(decoded).sort()).toEqual([...expected.keys()].sort());
    },
  );

  test.prop([fc.string({ maxLength: 300 })])('arbitrary form text never throws', (text) => {
    decodeForm(text);
  });

  test.prop([fc.oneof(fc.string({ maxLength: 300 }), fc.json({ maxDepth: 3 }))])(
    'arbitrary JSON text decodes or raises a CvmError',
    (text) => {
      onlyCvmErrors(() => decodeJson(text));
    },
  );

  test.prop([
    fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 })),
    fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 })),
  ])('query overrides body; _dc never survives', (body, query) => {
    onlyCvmErrors(() => {
      const merged = mergeParams(decodeForm(new URLSearchParams(body).toString()), decodeForm(new URLSearchParams(query).toString()), {});
      for (const [k, v] of Object.entries(query)) if (k !== '_dc') expect(merged[k]).toBe(v);
      expect(Object.hasOwn(merged, '_dc')).toBe(false);
    });
  });
});

describe('parameter verification', () => {
  const declared = vmPath({ current: { type: 'boolean', optional: true } });

  test.prop([
    fc.dictionary(
      fc.string({ maxLength: 12 }),
      fc.oneof(fc.string({ maxLength: 30 }), fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 })),
    ),
  ])('arbitrary parameters pass or fail as a 400 naming every unknown key', (raw) => {
    for (const configKeys of [false, true]) {
      try {
        const res = checkParams({ node: 'n1', vmid: '100', ...raw }, declared, configKeys);
        for (const k of Object.keys(res.params)) expect(Object.hasOwn(declared, k)).toBe(true);
      } catch (err) {
        expect(err).toBeInstanceOf(CvmError);
        expect((err as CvmError).code).toBe('PARAM_INVALID');
        const errors = (err as CvmError).details?.errors as Record<string, string>;
        if (!configKeys) {
          for (const k of Object.keys(raw)) if (!Object.hasOwn(declared, k)) expect(errors[k]).toMatch(/not defined in schema/);
        }
      }
    }
  });

  test.prop([fc.string({ maxLength: 8 }).filter((s) => s !== '0' && s !== '1')])('booleans other than 0/1 are refused', (value) => {
    expect(() => checkParams({ node: 'n1', vmid: '100', current: value }, declared, false)).toThrow(CvmError);
  });
});

describe('router', () => {
  const router = new Router(allRoutes);
  const segment = fc.oneof(
    fc.constantFrom('nodes', 'n1', 'qemu', '100', 'config', 'status', 'tasks', 'storage', 'content', 'cvm'),
    fc.string({ minLength: 1, maxLength: 8 }),
  );
  test.prop([
    fc.array(
      segment.filter((s) => !s.includes('/')),
      { maxLength: 8 },
    ),
    fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
  ])('a matched template with its captures filled in is exactly the requested path', (parts, method) => {
    const m = router.match(method, parts);
    if (!m) return;
    const rebuilt = m.route.path
      .split('/')
      .filter(Boolean)
      .map((seg) => (seg.startsWith('{') ? (m.pathParams[seg.slice(1, -1).replace(/\*$/, '')] as string) : seg));
    expect(rebuilt.join('/')).toBe(parts.join('/'));
    expect(m.route.method).toBe(method);
  });
});
