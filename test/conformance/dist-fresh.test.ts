/**
 * @module test/conformance/dist-fresh
 * `npm run conformance` builds only when dist/ is out of date: the freshness check on a small
 * temporary tree with controlled mtimes.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { staleReason } from '../../scripts/dist-fresh.mjs';

let root: string;

/** Writes `rel` under root with its mtime `secondsAgo` in the past. */
function file(rel: string, secondsAgo: number): void {
  const path = join(root, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, '');
  const t = Date.now() / 1000 - secondsAgo;
  utimesSync(path, t, t);
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cvm-dist-fresh-'));
  file('tsconfig.json', 100);
  file('package-lock.json', 100);
  file('src/a.ts', 50);
  file('src/sub/b.ts', 50);
  file('src/sub/b.test.ts', 50);
  file('dist/a.js', 10);
  file('dist/sub/b.js', 10);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('staleReason', () => {
  it('is undefined when every output is newer than its source and the build inputs', () => {
    expect(staleReason(root)).toBeUndefined();
  });
  it('names a source edited after its output', () => {
    file('src/sub/b.ts', 1);
    expect(staleReason(root)).toBe('src/sub/b.ts changed');
  });
  it('names a source without output (new file, or never built)', () => {
    file('src/sub/c.ts', 60);
    expect(staleReason(root)).toBe('dist/sub/c.js missing');
  });
  it('sees a changed build configuration', () => {
    file('package-lock.json', 1);
    expect(staleReason(root)).toBe('build configuration changed');
  });
  it('ignores tests, which the build does not compile', () => {
    file('src/sub/b.test.ts', 1);
    expect(staleReason(root)).toBeUndefined();
  });
});
