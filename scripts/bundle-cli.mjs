/**
 * @module scripts/bundle-cli
 * Second step of `npm run build` (after `tsc`, which type-checks and emits dist/): bundles the
 * CLI from src/cli/main.ts with esbuild into one file twice: dist/cli/main.cjs, CommonJS and
 * minified with a V8 code cache, which bin/cvmctl runs for every command but `showcmd`, and
 * dist/cli/main.js, the same program as an ES module (what the tests run as "the full CLI", and
 * `node dist/cli/main.js` works as before); and `showcmd` alone from src/cli/showcmd-main.ts into
 * dist/cli/showcmd-main.cjs (what bin/cvmctl runs for `cvmctl showcmd`: a quarter of the code,
 * CommonJS and minified, with its own code cache). The caches are made by
 * scripts/train-code-cache.mjs; see docs/performance.md. Node 20 has no
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
import { isBuiltin } from 'node:module';
import { lazyBuiltins } from './lazy-builtins.mjs';
import { trainCliCache, trainShowcmdCache } from './train-code-cache.mjs';

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

/**
 * A CommonJS bundle for bin/code-cache.js (vm.Script with a code cache): minified, ASCII, no
 * `import()` or `import.meta` (vm.Script has no dynamic-import hook; program.ts and
 * routes/version find package.json from `__dirname`, which the loader passes), and requiring
 * only what resolves the same from bin/ (the loader gives the bundle its own `require`):
 * built-ins, and the optional native helpers `optional` names (ws tries them in a try/catch).
 */
async function commonJsBundle(entry, outfile, optional = []) {
  const result = await build({
    ...common,
    plugins: [lazyBuiltins({ esmExports: true })],
    entryPoints: [entry],
    outfile,
    format: 'cjs',
    minify: true,
    define: { 'import.meta.dirname': '__dirname' },
  });
  // a built-in's accessor property read through a namespace import (see scripts/lazy-builtins.mjs)
  const undefinedImports = result.warnings.filter((w) => w.text.includes('will always be undefined'));
  if (undefinedImports.length > 0) throw new Error(`${outfile}: ${undefinedImports.map((w) => w.text).join('; ')}`);
  const text = readFileSync(outfile, 'latin1');
  // a bundle that needs more than the loader gives must fail the build, not a user's run
  if (/\bimport\s*\(|import\.meta/.test(text)) throw new Error(`${outfile}: import() or import.meta left in the CommonJS bundle`);
  if (/[^\x00-\x7f]/.test(text)) throw new Error(`${outfile}: not ASCII`);
  const required = [...text.matchAll(/\brequire\("([^"]*)"\)/g)].map((m) => m[1]).filter((name) => !isBuiltin(name) && !optional.includes(name));
  if (required.length > 0) throw new Error(`${outfile}: requires ${required.join(', ')} (only built-ins can be required there)`);
}

// `cvmctl showcmd`: run by bin/cvmctl through vm.Script with a code cache
const showcmdBundle = join(outdir, 'showcmd-main.cjs');
rmSync(join(outdir, 'showcmd-main.js'), { force: true });
await commonJsBundle('src/cli/showcmd-main.ts', showcmdBundle);
const showcmdCodes = trainShowcmdCache(root, showcmdBundle);
if (!showcmdCodes.some((c) => c === 0)) throw new Error(`showcmd code cache training: every run failed (exit codes ${showcmdCodes.join(', ')})`);

// every other command: the full CLI, the same way
const mainBundle = join(outdir, 'main.cjs');
await commonJsBundle('src/cli/main.ts', mainBundle, ['bufferutil', 'utf-8-validate']);
const mainCodes = trainCliCache(root, mainBundle);
if (mainCodes.some((c) => c !== 0)) throw new Error(`CLI code cache training: a run failed (exit codes ${mainCodes.join(', ')})`);
