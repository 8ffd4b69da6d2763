/**
 * @module test/golden/cfg2cmd
 * Our own cfg2cmd golden cases (test/golden/cfg2cmd/*.conf with expected *.conf.cmd), run
 * through the conformance runner exactly like qemu-server's harness runs its cases. The
 * expected command lines were written from the spec and qemu-server's code, not produced
 * by this generator.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runFile } from '../../src/conformance/runner.js';

const dir = join(import.meta.dirname, 'cfg2cmd');
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.conf'))
  .sort();

describe('cfg2cmd golden cases', () => {
  it('has cases for every feature area', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });
  for (const file of cases) {
    it(file, async () => {
      const result = await runFile(join(dir, file));
      expect(result.detail ?? '').toBe('');
      expect(result.status).toBe('pass');
    });
  }
});
