/**
 * @module scripts/bundle-cli
 * Second step of `npm run build` (after `tsc`, which type-checks and emits dist/): bundles the
 * CLI from src/cli/main.ts with esbuild into one file, dist/cli/main.js — the file bin/cvmctl
 * runs — and `showcmd` alone from src/cli/showcmd-main.ts into dist/cli/showcmd-main.js (what
 * bin/cvmctl runs for `cvmctl showcmd`: a quarter of the code). Node 20 has no compile cache, and resolving, reading and compiling ~100 small ES modules
 * cost a cold `cvmctl showcmd` more than 30 ms. One file costs less than that, and less than
 * esbuild's code splitting (20-odd chunks for `cvmctl start`). Code that commands import
 * lazily stays lazy: esbuild runs a bundled module's top level only when it is first imported.
 * Everything else in dist/ stays as tsc wrote it (conformance runner, tests and library users
 * import those modules).
 *
 * What keeps the bundle equivalent to the unbundled CLI:
 * - commander is the only dependency; it is bundled. The lock module (util/lock) keeps its
 *   in-process queue in module state: a process must load it once, from this bundle or from dist/.
 * - commander is CommonJS and `require`s Node built-ins, so the bundle gets a real `require`
 *   (createRequire) in scope.
 */

import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

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

/** The full CLI, and the showcmd-only entry bin/cvmctl runs for `cvmctl showcmd`. */
const ENTRIES = [
  ['src/cli/main.ts', 'main.js'],
  ['src/cli/showcmd-main.ts', 'showcmd-main.js'],
];

for (const [entry, out] of ENTRIES) {
  await build({
    absWorkingDir: root,
    plugins: [lazyBuiltins],
    entryPoints: [entry],
    outfile: join(outdir, out),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    banner: {
      js: "import { createRequire as __cvmctlCreateRequire } from 'node:module';\nconst require = __cvmctlCreateRequire(import.meta.url);",
    },
    external: ['proper-lockfile', 'write-file-atomic'],
    logLevel: 'warning',
  });
}
