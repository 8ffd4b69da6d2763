/**
 * @module scripts/bundle-cli
 * Second step of `npm run build` (after `tsc`, which type-checks and emits dist/): bundles the
 * CLI from src/cli/main.ts with esbuild into one file, dist/cli/main.js — the file bin/cvmctl
 * runs. Node 20 has no compile cache, and resolving, reading and compiling ~100 small ES modules
 * cost a cold `cvmctl showcmd` more than 30 ms. One file costs less than that, and less than
 * esbuild's code splitting (20-odd chunks for `cvmctl start`). Code that commands import
 * lazily stays lazy: esbuild runs a bundled module's top level only when it is first imported.
 * Everything else in dist/ stays as tsc wrote it (conformance runner, tests and library users
 * import those modules).
 *
 * What keeps the bundle equivalent to the unbundled CLI:
 * - `errors.js` stays a separate module (dist/errors.js). A few lazily loaded helpers import
 *   modules by computed path (measure/vm-load.ts), which Node resolves against dist/ at run
 *   time; with one shared errors module their `CvmError`s are still `instanceof CvmError` for
 *   the CLI's error reporting. main.js sits at the depth of dist/<domain>/, so such relative
 *   paths resolve exactly as they do from tsc's output.
 * - Packages that a module loads lazily with `import()` (write-file-atomic and proper-lockfile
 *   for config writes) are left to Node, as before: they are only needed by some commands, and
 *   write-file-atomic uses the CommonJS `__filename`, which does not exist in an ES module
 *   bundle. Packages imported statically (commander; proper-lockfile for the run lock) are bundled.
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

/** Packages a module loads with `import()` stay in node_modules (see above). */
const lazyPackagesFromNodeModules = {
  name: 'lazy-packages-from-node-modules',
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, (args) =>
      args.kind === 'dynamic-import' && !args.path.startsWith('node:') ? { path: args.path, external: true } : undefined,
    );
  },
};

await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts'],
  outfile: join(outdir, 'main.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  banner: {
    js: "import { createRequire as __cvmctlCreateRequire } from 'node:module';\nconst require = __cvmctlCreateRequire(import.meta.url);",
  },
  plugins: [sharedErrorsModule, lazyPackagesFromNodeModules],
  logLevel: 'warning',
  // measure/vm-load.ts imports by computed path on purpose (resolved against dist/ at run time)
  logOverride: { 'unsupported-dynamic-import': 'silent' },
});
