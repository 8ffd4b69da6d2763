/**
 * @module test/e2e/lazy-builtins
 * The esbuild plugin the CLI bundles are built with (scripts/lazy-builtins.mjs): a bundled
 * module's built-ins load only when that module first runs, and with `esmExports` (the showcmd
 * bundle) an ES import binds the built-in's functions by name, without esbuild's per-module
 * namespace copy; an accessor such as `fs.promises` cannot be imported that way (the build
 * fails instead of the program getting `undefined`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { lazyBuiltins } from '../../scripts/lazy-builtins.mjs';

const dir = mkdtempSync(join(tmpdir(), 'cvm-lazy-builtins-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function bundle(files: Record<string, string>, esmExports: boolean) {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const outfile = join(dir, `out-${esmExports}.cjs`);
  const result = await build({
    absWorkingDir: dir,
    entryPoints: ['entry.ts'],
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    plugins: [lazyBuiltins({ esmExports })],
    logLevel: 'silent',
  });
  return { outfile, result };
}

const FILES = {
  'entry.ts': [
    "import { basename } from 'node:path';",
    'async function main() {',
    "  const before = process.moduleLoadList.includes('NativeModule zlib');",
    "  const { crc } = await import('./uses-zlib.ts');",
    "  const after = process.moduleLoadList.includes('NativeModule zlib');",
    "  console.log(JSON.stringify({ before, after, crc: crc(), base: basename('/a/b.c') }));",
    '}',
    'main();',
  ].join('\n'),
  'uses-zlib.ts': "import * as zlib from 'node:zlib';\nimport { constants } from 'node:zlib';\nexport const crc = () => [zlib.deflateSync('x').length > 0, constants.Z_OK];\n",
};

describe('lazy-builtins plugin', () => {
  it.each([false, true])('esmExports=%s: a built-in loads when its module first runs, and works', async (esmExports) => {
    const { outfile } = await bundle(FILES, esmExports);
    const r = spawnSync(process.execPath, [outfile], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ before: false, after: true, crc: [true, 0], base: 'b.c' });
  });

  it('esmExports: no namespace copy of a built-in, unused exports dropped', async () => {
    const { outfile } = await bundle(FILES, true);
    const text = readFileSync(outfile, 'utf8');
    expect(text).not.toMatch(/__toESM\(require_node_(zlib|path)/);
    expect(text).toContain('"deflateSync"');
    expect(text).not.toContain('"gunzipSync"');
  });

  it('esmExports: importing an accessor property fails the build', async () => {
    const files = { 'entry.ts': "import { promises } from 'node:fs';\nconsole.log(typeof promises);\n" };
    await expect(bundle(files, true)).rejects.toThrow(/No matching export/);
    const ns = { 'entry.ts': "import * as fs from 'node:fs';\nconsole.log(typeof fs.promises);\n" };
    const { result } = await bundle(ns, true);
    expect(result.warnings.map((w) => w.text).join('\n')).toContain('will always be undefined');
  });
});
