import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalPrettyJson } from './canonical-json.js';

const perlOk = spawnSync('perl', ['-MJSON', '-e', '1']).status === 0;

/** What `qm` prints: Perl's to_json(pretty, canonical) of the same data. */
function perlPretty(values: unknown[]): string[] {
  const script =
    'use JSON; my $j = JSON->new->utf8; while (my $l = <STDIN>) { print to_json($j->decode($l), {pretty => 1, canonical => 1, utf8 => 1}), "\\0" }';
  const res = spawnSync('perl', ['-e', script], { input: values.map((v) => `${JSON.stringify(v)}\n`).join(''), encoding: 'utf8' });
  return res.stdout.split('\0').slice(0, values.length);
}

describe('canonicalPrettyJson', () => {
  it('prints nested values with three-space indent and " : "', () => {
    expect(canonicalPrettyJson({ b: [1, { x: 'y' }], a: {}, c: [], d: true })).toBe(
      '{\n   "a" : {},\n   "b" : [\n      1,\n      {\n         "x" : "y"\n      }\n   ],\n   "c" : [],\n   "d" : true\n}',
    );
    expect(canonicalPrettyJson('thawed')).toBe('"thawed"');
  });

  it.skipIf(!perlOk)('matches Perl JSON for arbitrary agent answers', () => {
    const value = fc.letrec((tie) => ({
      leaf: fc.oneof(fc.string({ unit: 'grapheme-ascii' }), fc.integer(), fc.boolean(), fc.constant(null)),
      node: fc.oneof(
        { depthSize: 'small' },
        tie('leaf'),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(fc.string({ unit: 'grapheme-ascii', maxLength: 8 }), tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    const samples = fc.sample(
      fc.oneof(
        fc.array(value, { minLength: 1, maxLength: 3 }),
        fc.dictionary(fc.string({ maxLength: 6 }), value, { minKeys: 1, maxKeys: 4 }),
      ),
      150,
    );
    const expected = perlPretty(samples);
    samples.forEach((v, i) => {
      expect(`${canonicalPrettyJson(v)}\n`).toBe(expected[i]);
    });
  });
});
