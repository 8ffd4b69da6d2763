/**
 * @module scripts/bundle-cli
 * Second step of `npm run build` (after `tsc`, which type-checks and emits dist/): bundles the
 * CLI from src/cli/main.ts with esbuild into dist/cli/main.js — the file bin/cvmctl runs — plus
 * dist/cli/chunk-*.js for the code commands load lazily. Node 20 has no compile cache, and
 * resolving, reading and compiling ~100 small ES modules cost a cold `cvmctl showcmd` more
 * than 30 ms; a handful of bundled files do not. Everything else in dist/ stays as tsc wrote
 * it (conformance runner, tests and library users import those modules).
 *
 * Two things keep the bundle equivalent to the unbundled CLI:
 * - `errors.js` stays a separate module (dist/errors.js). A few lazily loaded helpers import
 *   modules by computed path (measure/vm-load.ts), which Node resolves against dist/ at run
 *   time; with one shared errors module their `CvmError`s are still `instanceof CvmError` for
 *   the CLI's error reporting. Chunks sit next to main.js, at the depth of dist/<domain>/, so
 *   such relative paths resolve exactly as they do from tsc's output.
 * - Only commander, which every command needs, is bundled from node_modules. The other
 *   dependencies are CommonJS packages that modules load lazily with `import()`; esbuild gives
 *   a split-out CommonJS module only a default export there, while Node also offers its named
 *   exports (`const { lock } = await import('proper-lockfile')`), so Node loads them as before.
 * - commander is CommonJS and `require`s Node built-ins, so every output file gets a real
 *   `require` (createRequire) in scope.
 */

import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const outdir = join(root, 'dist', 'cli');

// chunk names change with their content: drop the previous build's chunks
for (const name of readdirSync(outdir)) {
  if (/^chunk-.*\.js$/.test(name)) rmSync(join(outdir, name));
}

/** Every import of src/errors.ts becomes an import of dist/errors.js (see above). */
const sharedErrorsModule = {
  name: 'shared-errors-module',
  setup(builder) {
    const errorsModule = join(root, 'src', 'errors.js');
    builder.onResolve({ filter: /(^|\/)errors\.js$/ }, (args) =>
      join(args.resolveDir, args.path) === errorsModule ? { path: '../errors.js', external: true } : undefined,
    );
  },
};

/** Dependencies bundled into the CLI; all others load from node_modules at run time (see above). */
const BUNDLED_PACKAGES = new Set(['commander']);

const runtimePackages = {
  name: 'runtime-packages',
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, (args) => {
      const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
      return BUNDLED_PACKAGES.has(name) ? undefined : { path: args.path, external: true };
    });
  },
};

await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/cli/main.ts' },
  outdir,
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  banner: {
    js: "import { createRequire as __cvmctlCreateRequire } from 'node:module';\nconst require = __cvmctlCreateRequire(import.meta.url);",
  },
  plugins: [sharedErrorsModule, runtimePackages],
  logLevel: 'warning',
  // measure/vm-load.ts imports by computed path on purpose (resolved against dist/ at run time)
  logOverride: { 'unsupported-dynamic-import': 'silent' },
});
