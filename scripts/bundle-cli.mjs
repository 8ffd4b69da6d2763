/**
 * @module scripts/bundle-cli
 * Second step of `npm run build` (after `tsc`, which type-checks and emits dist/): bundles the
 * CLI from src/cli/main.ts with esbuild into one file, dist/cli/main.js — the file bin/cvmctl
 * runs — and `showcmd` alone from src/cli/showcmd-main.ts into dist/cli/showcmd-main.cjs (what
 * bin/cvmctl runs for `cvmctl showcmd`: a quarter of the code, CommonJS and minified, with a V8
 * code cache made by scripts/train-code-cache.mjs; see docs/performance.md). Node 20 has no
 * compile cache, and resolving, reading and compiling ~100 small ES modules cost a cold
 * `cvmctl showcmd` more than 30 ms. One file costs less than that, and less than esbuild's code
 * splitting (20-odd chunks for `cvmctl start`). Code that commands import lazily stays lazy:
 * esbuild runs a bundled module's top level only when it is first imported.
 * Everything else in dist/ stays as tsc wrote it (conformance runner, tests and library users
 * import those modules).
 *
 * What keeps the bundle equivalent to the unbundled CLI:
 * - commander is the only dependency; it is bundled. The lock module (util/lock) keeps its
 *   in-process queue in module state: a process must load it once, from this bundle or from dist/.
 * - commander is CommonJS and `require`s Node built-ins, so the bundle gets a real `require`
 *   (createRequire) in scope.
 */

import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { lazyBuiltins } from './lazy-builtins.mjs';
import { trainShowcmdCache } from './train-code-cache.mjs';

const root = join(import.meta.dirname, '..');
const outdir = join(root, 'dist', 'cli');

// code-split chunks of earlier builds are not used any more
for (const name of readdirSync(outdir)) {
  if (/^chunk-.*\.js$/.test(name)) rmSync(join(outdir, name));
}

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  // non-ASCII is escaped: bin/code-cache.js reads the showcmd bundle as latin1 (cheaper than utf8)
  charset: 'ascii',
  external: ['proper-lockfile', 'write-file-atomic'],
  logLevel: 'warning',
};

// the full CLI: an ES module (it imports dist/ modules at run time, see docs/performance.md)
await build({
  ...common,
  plugins: [lazyBuiltins()],
  entryPoints: ['src/cli/main.ts'],
  outfile: join(outdir, 'main.js'),
  format: 'esm',
  banner: {
    js: "import { createRequire as __cvmctlCreateRequire } from 'node:module';\nconst require = __cvmctlCreateRequire(import.meta.url);",
  },
});

// `cvmctl showcmd`: CommonJS, minified, run by bin/cvmctl through vm.Script with a code cache
const showcmdBundle = join(outdir, 'showcmd-main.cjs');
rmSync(join(outdir, 'showcmd-main.js'), { force: true });
const showcmdBuild = await build({
  ...common,
  plugins: [lazyBuiltins({ esmExports: true })],
  entryPoints: ['src/cli/showcmd-main.ts'],
  outfile: showcmdBundle,
  format: 'cjs',
  minify: true,
  // program.ts finds package.json next to the bundle's directory; the loader passes __dirname
  define: { 'import.meta.dirname': '__dirname' },
});
// a built-in's accessor property read through a namespace import (see scripts/lazy-builtins.mjs)
const undefinedImports = showcmdBuild.warnings.filter((w) => w.text.includes('will always be undefined'));
if (undefinedImports.length > 0) throw new Error(`${showcmdBundle}: ${undefinedImports.map((w) => w.text).join('; ')}`);
const text = readFileSync(showcmdBundle, 'latin1');
// vm.Script gets no dynamic-import hook, the loader decodes latin1 and gives the bundle its own
// require(): a bundle that needs more must fail the build, not a user's run
if (/\bimport\s*\(|import\.meta/.test(text)) throw new Error(`${showcmdBundle}: import() or import.meta left in the CommonJS bundle`);
if (/[^\x00-\x7f]/.test(text)) throw new Error(`${showcmdBundle}: not ASCII`);
// bin/code-cache.js gives the bundle its own require(), which resolves built-ins only the same way
const required = [...text.matchAll(/\brequire\("([^"]*)"\)/g)].map((m) => m[1]).filter((name) => !name.startsWith('node:'));
if (required.length > 0) throw new Error(`${showcmdBundle}: requires ${required.join(', ')} (only node: built-ins can be required there)`);
const codes = trainShowcmdCache(root, showcmdBundle);
if (!codes.some((c) => c === 0)) throw new Error(`code cache training: every run failed (exit codes ${codes.join(', ')})`);
