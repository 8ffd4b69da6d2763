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
import { trainShowcmdCache } from './train-code-cache.mjs';

const root = join(import.meta.dirname, '..');
const outdir = join(root, 'dist', 'cli');

// code-split chunks of earlier builds are not used any more
for (const name of readdirSync(outdir)) {
  if (/^chunk-.*\.js$/.test(name)) rmSync(join(outdir, name));
}

/**
 * Node built-ins as CommonJS modules required where they are first used. An ES module bundle
 * hoists every `import … from 'node:x'` of every bundled module to its top, so all of them
 * loaded at start-up, for every command: node:http and node:https (the API client), node:net,
 * child_process, async_hooks, … although `showcmd` needs few of them. Turned into `require()`
 * calls inside esbuild's lazily run module bodies, a built-in loads only when a module that
 * uses it runs.
 */
/**
 * Built-ins a CommonJS dependency requires at load time but uses only later, if ever:
 * commander's child_process (for executable subcommands, which cvmctl has none of) pulls in
 * node:net and the stream modules. Those requires get a proxy that loads the module on first
 * property access. (Only for `require()` callers: an ES import reads the properties at once.)
 */
const LOADED_ON_FIRST_USE = new Set(['node:child_process']);

const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => {
      // the wrapper's own require() is the real one
      if (args.namespace === 'lazy-builtin' || args.namespace === 'lazy-builtin-proxy') return { path: args.path, external: true };
      // esbuild keeps one module per (namespace, path): the proxy variant needs its own
      // namespace, or an ES import (which reads named exports at once, and a proxy has none)
      // gets the proxy whenever a require() of the same built-in was resolved first
      const onFirstUse = args.kind === 'require-call' && LOADED_ON_FIRST_USE.has(args.path);
      return { path: args.path, namespace: onFirstUse ? 'lazy-builtin-proxy' : 'lazy-builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin-proxy' }, (args) => ({
      contents: `let m; module.exports = new Proxy({}, { get: (_, key) => (m ??= require(${JSON.stringify(args.path)}))[key] });`,
      loader: 'js',
    }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

const common = {
  absWorkingDir: root,
  plugins: [lazyBuiltins],
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
await build({
  ...common,
  entryPoints: ['src/cli/showcmd-main.ts'],
  outfile: showcmdBundle,
  format: 'cjs',
  minify: true,
  // program.ts finds package.json next to the bundle's directory; the loader passes __dirname
  define: { 'import.meta.dirname': '__dirname' },
});
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
